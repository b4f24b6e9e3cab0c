"""Mouth and eye transplants on a real dev clip: the regions, and pasting another frame's region."""
import numpy as np
import pytest

from facial.face_render import mesh, mesh_warp, transplant
from facial.face_render.eye_map import make_eye_map
from facial.face_render.raster import rasterize
from facial.face_render.warp import WarpConfig
from facial.speaker import face_model as fm

pytestmark = pytest.mark.shared_data


def _base(clip_profile, clip_frames, t=10):
    lm = clip_profile.landmarks[t]
    r = rasterize(lm, mesh.all_triangles()[0], clip_profile.size)
    img = mesh_warp.warp_frame(clip_frames[t], r, lm, lm, float(mesh.face_height(lm)), falloff=0.55).astype(np.float32)
    return lm, r, img


def test_regions_surround_the_mouth_and_the_eyes(clip_profile):
    lm = clip_profile.landmarks[10]
    cfg = WarpConfig()
    mouth = transplant.mouth_region(lm, cfg.mouth_margin)
    lips = lm[fm.LIPS_OUTER, :2]
    assert mouth.shape == lips.shape
    assert np.ptp(mouth[:, 0]) > np.ptp(lips[:, 0]) and mouth[:, 1].max() > lips[:, 1].max()
    assert mouth[:, 1].min() > lm[2, 1]  # stays below the nose
    # the eyes' region is the eye attention map's (make_eye_map with blink 1): 1 at both eyes, 0 far off
    box = transplant.eye_box(lm, size=clip_profile.size)
    region = transplant.eye_region(lm, box)
    x0, y0, x1, y1 = box
    full = make_eye_map(lm[None], np.ones(1, np.float32), clip_profile.size)[0]
    assert np.allclose(region, full[y0:y1, x0:x1], atol=1e-6) and full.sum() == pytest.approx(region.sum(), rel=1e-4)
    for c0, c1 in (fm.RIGHT_EYE_CORNERS, fm.LEFT_EYE_CORNERS):
        cx, cy = np.round(0.5 * (lm[c0, :2] + lm[c1, :2])).astype(int)
        assert full[cy, cx] == 1.0


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


def test_eyes_are_blended_over_the_eye_map_with_the_plan_weight(clip_profile, clip_frames):
    lm, r, img = _base(clip_profile, clip_frames)
    other = 30
    assert np.array_equal(transplant.paste_eyes(img.copy(), r, clip_frames[other], clip_profile.landmarks[other], lm, 0.0), img)
    full = transplant.paste_eyes(img.copy(), r, clip_frames[other], clip_profile.landmarks[other], lm, 1.0)
    half = transplant.paste_eyes(img.copy(), r, clip_frames[other], clip_profile.landmarks[other], lm, 0.5)
    # alpha = make_eye_map(target, weight): the change is linear in the weight, and only inside the map
    assert np.abs(half - 0.5 * (full + img)).max() < 0.01
    eye = make_eye_map(lm[None], np.ones(1, np.float32), clip_profile.size)[0]
    changed = np.abs(full - img).max(-1) > 0.01
    assert changed.any() and not (changed & (eye == 0)).any()
