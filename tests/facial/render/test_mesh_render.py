"""The textured mesh render (input of the neural renderer) on a real dev clip."""
import numpy as np
import pytest

from facial.face_render import render_mesh
from facial.face_render.render import MOUTH_COLOUR, MeshRenderer, crop_frames, face_box, reference_frame_index
from facial.speaker import face_model as fm
from facial.types import RenderedFaces
from tests.facial.render.conftest import psnr

pytestmark = pytest.mark.shared_data


def test_render_shapes_mask_and_background(clip_profile):
    params = clip_profile.params.slice(0, 6)
    r = render_mesh(clip_profile, params, (128, 96))
    assert isinstance(r, RenderedFaces) and len(r) == 6
    assert r.images.shape == (6, 96, 128, 3) and r.images.dtype == np.uint8
    assert r.eye_map.shape == (6, 96, 128) and r.mask.shape == (6, 96, 128) and r.mask.dtype == bool
    assert 0.05 < r.mask.mean() < 0.6
    assert (r.images[~r.mask] == 0).all()
    # the face sits where the landmarks say
    lm = clip_profile.landmarks[0]
    cx, cy = lm[:, 0].mean() * 128 / 512, lm[:, 1].mean() * 96 / 512
    assert r.mask[0, int(cy), int(cx)]


def test_texture_frame_renders_like_the_real_frame(clip_profile, clip_frames):
    k = reference_frame_index(clip_profile)
    r = render_mesh(clip_profile, clip_profile.params.slice(k, k + 1))
    m = r.mask[0]
    # inside the mesh the render is the real frame re-sampled (model fit + bilinear resampling errors only)
    assert psnr(r.images[0][m], clip_frames[k][m]) > 27


def test_eye_map_carries_blink_and_mouth_interior_is_explicit(clip_profile):
    p = clip_profile.params
    t_blink = int(np.argmax(p.blink))
    opening = fm.mouth_opening(clip_profile.landmarks)
    t_open, t_closed = int(np.argmax(opening)), int(np.argmin(opening))
    idx = [t_blink, t_open, t_closed]
    params = type(p)(p.pose[idx], p.expression[idx], p.blink[idx], p.fps)
    r = render_mesh(clip_profile, params, 256)
    assert r.eye_map[0].max() == pytest.approx(float(p.blink[t_blink]), abs=1e-5)
    assert np.all(r.eye_map <= params.blink[:, None, None] + 1e-6)
    mouth_px = (r.images == MOUTH_COLOUR).all(-1).sum((1, 2))
    assert mouth_px[1] > 20 and mouth_px[1] > 3 * mouth_px[2]


def test_box_renders_a_crop_at_any_size(clip_profile, clip_frames):
    box = (96, 64, 416, 384)
    mr = MeshRenderer(clip_profile, 64, box=box)
    r = mr.render(clip_profile.params.slice(0, 2))
    assert r.images.shape == (2, 64, 64, 3)
    full = render_mesh(clip_profile, clip_profile.params.slice(0, 2))
    small = crop_frames(full.mask[..., None].repeat(3, -1).astype(np.uint8) * 255, box, (64, 64))[..., 0] > 127
    assert (small == r.mask).mean() > 0.97


def test_face_box_is_square_and_inside_the_frame(clip_profile):
    x0, y0, x1, y1 = face_box(clip_profile, margin=0.3)
    assert x1 - x0 == y1 - y0 and x0 >= 0 and y0 >= 0 and x1 <= 512 and y1 <= 512
    lm = clip_profile.landmarks
    assert lm[..., 0].min() >= x0 - 5 and lm[..., 0].max() <= x1 + 5
