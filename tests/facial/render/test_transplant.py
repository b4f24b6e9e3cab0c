"""Mouth and eye transplants on a real dev clip: the regions, and pasting another frame's region."""
import numpy as np
import pytest

from facial.face_render import mesh, mesh_warp, transplant
from facial.face_render.raster import rasterize
from facial.face_render.warp import WarpConfig
from facial.speaker import face_model as fm

pytestmark = pytest.mark.shared_data


def _base(clip_profile, clip_frames, t=10):
    lm = clip_profile.landmarks[t]
    r = rasterize(lm, mesh.all_triangles()[0], clip_profile.size)
    img = mesh_warp.warp_frame(clip_frames[t], r, lm, lm, float(mesh.face_height(lm)), falloff=0.55)
    return lm, r, img


def test_regions_surround_the_mouth_and_the_eyes(clip_profile):
    lm = clip_profile.landmarks[10]
    cfg = WarpConfig()
    mouth = transplant.mouth_region(lm, cfg.mouth_margin)
    lips = lm[fm.LIPS_OUTER, :2]
    assert mouth.shape == lips.shape
    assert np.ptp(mouth[:, 0]) > np.ptp(lips[:, 0]) and mouth[:, 1].max() > lips[:, 1].max()
    assert mouth[:, 1].min() > lm[2, 1]  # stays below the nose
    eyes = transplant.eye_regions(lm, cfg.eye_patch_scale)
    assert len(eyes) == 2
    for poly in eyes:
        centre = poly.mean(0)
        assert min(np.linalg.norm(lm[fm.EYE_REGION, :2] - centre, axis=1)) < 0.1 * float(mesh.face_height(lm))


def test_pasting_a_frame_onto_itself_changes_nothing(clip_profile, clip_frames):
    lm, r, img = _base(clip_profile, clip_frames)
    poly = transplant.mouth_region(lm, WarpConfig().mouth_margin)
    out = transplant.paste_from(img.copy(), r, clip_frames[10], lm, [poly], 5.0, 1.0)
    assert np.abs(out - img).max() < 0.01


def test_pasting_another_frame_changes_only_the_region(clip_profile, clip_frames):
    lm, r, img = _base(clip_profile, clip_frames)
    poly = transplant.mouth_region(lm, WarpConfig().mouth_margin)
    feather = 5.0
    out = transplant.paste_from(img.copy(), r, clip_frames[30], clip_profile.landmarks[30], [poly], feather, 1.0)
    changed = np.abs(out - img).max(-1) > 0
    assert changed.any()
    ys, xs = np.nonzero(changed)
    pad = 2 * feather + 2
    assert xs.min() >= poly[:, 0].min() - pad and xs.max() <= poly[:, 0].max() + pad
    assert ys.min() >= poly[:, 1].min() - pad and ys.max() <= poly[:, 1].max() + pad
