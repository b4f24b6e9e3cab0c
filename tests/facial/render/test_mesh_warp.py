"""Mesh warping on a real dev clip: a frame warped onto its own landmarks comes back unchanged."""
import numpy as np
import pytest

from facial.face_render import mesh, mesh_warp
from facial.face_render.raster import rasterize

pytestmark = pytest.mark.shared_data


def test_warping_a_frame_onto_its_own_landmarks_is_the_identity(clip_profile, clip_frames):
    lm = clip_profile.landmarks[10]
    r = rasterize(lm, mesh.all_triangles()[0], clip_profile.size)
    fh = float(mesh.face_height(lm))
    maps = mesh_warp.base_map(r, lm, lm, fh, falloff=0.55)
    w, h = clip_profile.size
    yy, xx = np.mgrid[0:h, 0:w]
    assert maps.shape == (h, w, 2) and maps.dtype == np.float32
    assert np.abs(maps[..., 0] - xx).max() < 0.01 and np.abs(maps[..., 1] - yy).max() < 0.01
    img = mesh_warp.warp_frame(clip_frames[10], r, lm, lm, fh, falloff=0.55)
    assert img.dtype == np.uint8 and np.abs(img.astype(int) - clip_frames[10]).max() <= 1


def test_a_region_is_warped_from_the_source_frame_onto_the_target_mesh(clip_profile, clip_frames):
    target, src = clip_profile.landmarks[10], clip_profile.landmarks[30]
    r = rasterize(target, mesh.all_triangles()[0], clip_profile.size)
    x0, y0, x1, y1 = r.box
    box = (x0 + 20, y0 + 30, x1 - 20, y1 - 10)
    patch, valid = mesh_warp.warp_region(r, clip_frames[30], src, box)
    assert patch.shape == (box[3] - box[1], box[2] - box[0], 3) and valid.shape == patch.shape[:2]
    assert valid.mean() > 0.5 and set(np.unique(valid)) <= {0.0, 1.0}
    # the patch is frame 30 seen through the whole-frame warp onto frame 10's landmarks
    full = mesh_warp.warp_frame(clip_frames[30].astype(np.float32), r, target, src, float(mesh.face_height(target)), falloff=0.55)
    inside = valid > 0
    ref = full[box[1]:box[3], box[0]:box[2]]
    assert np.median(np.abs(patch - ref).max(-1)[inside]) < 1.0
