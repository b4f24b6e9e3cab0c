"""The eye attention map (blink inside the eyes, 0 outside) and seam-free patch blending."""
import numpy as np
import pytest

from facial.face_render import blend
from facial.face_render.eye_map import EYE_FEATHER, eye_ellipses, make_eye_map
from facial.speaker import face_model as fm


def _eye_landmarks(t: int = 3) -> np.ndarray:
    lm = np.zeros((t, 478, 3), np.float32)
    for (a, b), x0 in ((fm.RIGHT_EYE_CORNERS, 30.0), (fm.LEFT_EYE_CORNERS, 90.0)):
        lm[:, a, :2] = (x0, 50.0)
        lm[:, b, :2] = (x0 + 30.0, 52.0)
    return lm


def test_eye_map_equals_blink_inside_and_zero_outside():
    blink = np.array([0.0, 0.4, 1.0], np.float32)
    lm = _eye_landmarks(3)
    m = make_eye_map(lm, blink, (160, 100))
    assert m.shape == (3, 100, 160) and m.dtype == np.float32
    ell = eye_ellipses(lm)
    ys, xs = np.mgrid[0:100, 0:160]
    for t in range(3):
        inside = np.zeros((100, 160), bool)
        outside = np.ones((100, 160), bool)
        for cx, cy, a, b, ang in ell[t]:
            c, s = np.cos(ang), np.sin(ang)
            u, v = (xs - cx) * c + (ys - cy) * s, -(xs - cx) * s + (ys - cy) * c
            r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
            inside |= r <= 1.0
            outside &= r >= 1.0 + EYE_FEATHER + 1e-3
        assert inside.sum() > 100
        assert np.allclose(m[t][inside], blink[t])
        assert np.all(m[t][outside] == 0)
        assert m[t].max() <= blink[t] + 1e-6 and m[t].min() >= 0


def test_eye_map_does_not_shrink_when_lids_close():
    lm = _eye_landmarks(2)
    lm[1, fm.RIGHT_EYE_UPPER, 1] = 51.0  # lids moved: the region depends on the corners only
    m = make_eye_map(lm, np.ones(2, np.float32), (160, 100))
    assert np.array_equal(m[0] > 0, m[1] > 0)


def test_eye_map_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="blink"):
        make_eye_map(_eye_landmarks(3), np.zeros(2), (160, 100))


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
