"""Synthesis where the footage lacks it, on a real dev clip's face: mouth interior, lash line, closed lids."""
import numpy as np
import pytest

from facial.face_render import mesh, synth, transplant
from facial.face_render.warp import WarpConfig
from facial.speaker import face_model as fm

pytestmark = pytest.mark.shared_data


def _near(changed: np.ndarray, pts: np.ndarray, pad: float) -> bool:
    ys, xs = np.nonzero(changed)
    return (xs.min() >= pts[:, 0].min() - pad and xs.max() <= pts[:, 0].max() + pad
            and ys.min() >= pts[:, 1].min() - pad and ys.max() <= pts[:, 1].max() + pad)


def test_mouth_interior_is_painted_inside_the_mouth_region_only(clip_profile, clip_frames):
    lm = clip_profile.landmarks[10]
    img = clip_frames[10].astype(np.float32)
    region = transplant.mouth_region(lm, WarpConfig().mouth_margin)
    assert np.array_equal(synth.paint_mouth_interior(img.copy(), lm, region, 0.0), img)
    opened = lm.copy()
    opened[fm.LIPS_INNER[10:], 1] += 12.0  # drop the inner lower lip: an open mouth
    out = synth.paint_mouth_interior(img.copy(), opened, region, 1.0)
    changed = np.abs(out - img).max(-1) > 0
    assert changed.sum() > 50 and _near(changed, region, 1.0)


def test_lash_line_darkens_and_lids_close_around_the_eyes(clip_profile, clip_frames):
    lm = clip_profile.landmarks[10]
    img = clip_frames[10].astype(np.float32)
    eyes = lm[fm.EYE_REGION, :2]
    pad = 0.1 * float(mesh.face_height(lm)) + 2
    lash = synth.paint_lash_line(img.copy(), lm, 1.0)
    assert (lash - img).min() < -30 and _near(np.abs(lash - img).max(-1) > 0, eyes, pad)
    lids = synth.close_lids(img.copy(), lm, 1.0)
    assert np.abs(lids - img).max() > 30 and _near(np.abs(lids - img).max(-1) > 0, eyes, pad)


# --------------------------------------------------------------------------- issue #14: no white bars
def _mouth(gap: float, cross: float = 0.0, width: float = 60.0) -> np.ndarray:
    """Landmarks [478, 2] with only the inner lips set: corners at (20, 50) and (20 + width, 50),
    lips ``gap`` px apart in the middle; ``cross`` > 0 makes them cross by 2·cross px at the corners."""
    lm = np.zeros((478, 2))
    u = np.linspace(0.0, 1.0, len(mesh.MOUTH_UPPER))
    bulge = np.sin(np.pi * u)
    x = 20.0 + width * u
    lm[mesh.MOUTH_UPPER] = np.stack([x, 50.0 - 0.5 * gap * bulge + cross * (1 - bulge)], 1)
    lm[mesh.MOUTH_LOWER] = np.stack([x, 50.0 + 0.5 * gap * bulge - cross * (1 - bulge)], 1)
    return lm


SKIN = np.array([200.0, 150.0, 130.0])


def _luma(c: np.ndarray) -> np.ndarray:
    return c @ np.array([0.299, 0.587, 0.114])


def test_crossing_lips_get_no_interior_and_no_blown_out_colour():
    # FACIAL-GAN can close the lips past each other near the corners; the inner-lip contour then
    # folds and its fold used to be filled with an unbounded "depth" colour: white bars (issue #14)
    lm = _mouth(gap=3.0, cross=4.0)  # nearly closed (5 % of the width), crossed at the corners
    colour, alpha = synth.mouth_interior(lm, (100, 100), SKIN)
    assert colour.max() <= 255.0 and colour.min() >= 0.0
    upper, lower = lm[mesh.MOUTH_UPPER], lm[mesh.MOUTH_LOWER]
    crossed_x = upper[:, 0][upper[:, 1] > lower[:, 1] + 0.5]
    assert len(crossed_x) >= 2  # both corners cross
    cols = np.zeros(100, bool)
    for x in crossed_x:  # the columns at the crossed contour points (the fold): nothing painted
        cols[int(round(x)) - 1:int(round(x)) + 2] = True
    assert alpha[:, cols].max() < 0.2
    lit = alpha > 0.05
    assert lit.any() and _luma(colour[lit]).max() < _luma(SKIN)  # what is painted is dark: cavity, no teeth


def test_teeth_show_only_through_parted_lips():
    nearly_closed = synth.mouth_interior(_mouth(gap=2.4), (100, 100), SKIN)  # 4 % of the mouth width
    wide = synth.mouth_interior(_mouth(gap=20.0), (100, 100), SKIN)  # 33 %
    c, a = nearly_closed
    assert a.max() > 0.5 and _luma(c[a > 0.5]).max() < 0.6 * _luma(SKIN)  # a dark slit
    c, a = wide
    assert _luma(c[a > 0.5]).max() > _luma(SKIN)  # upper teeth, brighter than the skin


def test_interior_band_keeps_the_footage_at_the_lips():
    lm = _mouth(gap=20.0)
    _, full = synth.mouth_interior(lm, (100, 100), SKIN)
    _, band = synth.mouth_interior(lm, (100, 100), SKIN, band=0.4)
    column = 50  # the middle of the mouth: lips at y = 40 and 60
    assert full[43:58, column].min() > 0.9 and band[48:53, column].min() > 0.95
    assert band[41:44, column].max() < 0.05 and band[57:60, column].max() < 0.05
