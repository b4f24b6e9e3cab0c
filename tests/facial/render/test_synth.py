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
