"""Seam-free patch blending: soft masks and colour-matched pasting."""
import numpy as np
import pytest

from facial.face_render import blend


def test_paste_with_colour_matching_leaves_no_seam():
    rng = np.random.default_rng(0)
    h, w = 80, 80
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    texture = 6 * np.sin(xx / 3)[..., None] + rng.normal(0, 1, (h, w, 1))
    base = np.dstack([120 + 0.3 * xx, 90 + 0.2 * yy, np.full((h, w), 80.0)]).astype(np.float32) + texture
    patch = (base * 0.8 + np.array([30, -20, 10], np.float32)).astype(np.float32)  # other exposure and tint
    poly = np.array([[20, 20], [60, 20], [60, 60], [20, 60]], float)
    alpha = blend.soft_polygon_mask([poly], (h, w), 6.0)
    out = blend.paste(base, patch, alpha)
    hard = np.where((blend.soft_polygon_mask([poly], (h, w), 0.0) > 0.5)[..., None], patch, base)

    def seam(img):  # largest horizontal step across the left border of the patch, minus the texture's own
        step = np.abs(np.diff(img[25:55, 12:30], axis=1)).max(axis=2)
        return float(step.max())

    own = float(np.abs(np.diff(base[25:55, 12:30], axis=1)).max())
    assert seam(hard) > own + 15
    assert seam(out) < own + 3
    # the patch keeps its own detail in the middle (it is not replaced by the base)
    assert np.abs(out[40, 40] - base[40, 40]).max() < 15


def test_soft_mask_is_one_inside_and_zero_far_outside():
    poly = np.array([[20, 20], [60, 20], [60, 60], [20, 60]], float)
    m = blend.soft_polygon_mask([poly], (80, 80), 4.0)
    assert m[40, 40] == pytest.approx(1.0, abs=1e-3)
    assert m[5, 5] == 0.0 and 0.3 < m[40, 20] < 0.7
