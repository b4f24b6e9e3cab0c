"""The warp renderer on a real dev clip (self-reconstruction, held-out frames, mouth control) and on
a photo (one-shot: synthesised mouth interior and closed eyes). Its source path: test_path_planning.py."""
import numpy as np
import pytest

from facial import layout
from facial.face_render import WarpRenderer, synth
from facial.speaker import blink as blink_mod
from facial.speaker import face_model as fm
from facial.speaker.landmarks import track_frames
from facial.types import FaceParams
from tests.facial.render.conftest import psnr

pytestmark = pytest.mark.shared_data

# Measured on mimictalk__May_5s (docs/BENCHMARKS.md, "Rendering"): self-reconstruction 44.0 dB,
# held-out (sources = first 90 %, frames = last 10 %) 26.1 dB vs 22.5 dB for the unwarped source frames.
SELF_PSNR_MIN = 38.0
HELDOUT_PSNR_MIN = 24.0


def test_self_reconstruction_reproduces_the_clip(clip_profile, clip_frames):
    r = WarpRenderer(clip_profile, frames=clip_frames)
    params = clip_profile.params.slice(0, 40)
    out = r.render(params)
    assert out.frames.shape == (40, 512, 512, 3) and out.fps == clip_profile.fps
    assert np.mean([psnr(a, b) for a, b in zip(out.frames, clip_frames[:40])]) > SELF_PSNR_MIN


def test_render_workers_and_streaming_give_the_same_frames(clip_profile, clip_frames):
    params = clip_profile.params.slice(10, 30)
    one = WarpRenderer(clip_profile, frames=clip_frames)
    plan = one.plan(params)
    ref = one.render(params, plan=plan).frames
    two = WarpRenderer(clip_profile, frames=clip_frames, workers=2)
    assert np.array_equal(two.render(params, plan=plan).frames, ref)
    assert np.array_equal(np.stack(list(two.iter_frames(params, plan=plan))), ref)
    with pytest.raises(ValueError, match="workers"):
        WarpRenderer(clip_profile, frames=clip_frames, workers=0)


def test_footage_streams_in_the_background_with_the_same_frames(clip_profile):
    from facial.face_render.footage import StreamedFrames, load_speaker_frames

    params = clip_profile.params.slice(5, 25)
    decoded = WarpRenderer(clip_profile, frames=load_speaker_frames(clip_profile))
    plan = decoded.plan(params)
    streamed = WarpRenderer(clip_profile, workers=2)  # no frames given: iter_frames streams the ones the plan uses
    assert np.array_equal(np.stack(list(streamed.iter_frames(params, plan=plan))), decoded.render(params, plan=plan).frames)
    with StreamedFrames(clip_profile, [3, 40]) as frames:
        assert np.array_equal(frames[40], decoded.frames[40]) and np.array_equal(frames[3], decoded.frames[3])
        with pytest.raises(KeyError, match="not among"):
            frames[7]


def test_held_out_frames_are_rebuilt_from_other_frames(clip_profile, clip_frames):
    n = len(clip_profile)
    n_train = int(0.9 * n)
    r = WarpRenderer(clip_profile, pool=range(n_train), frames=clip_frames)
    params = clip_profile.params.slice(n_train, n)
    plan = r.plan(params)
    assert plan.source.max() < n_train and plan.mouth.max() < n_train
    out = r.render(params, plan=plan)
    real = clip_frames[n_train:]
    warped = np.mean([psnr(a, b) for a, b in zip(out.frames, real)])
    unwarped = np.mean([psnr(clip_frames[s], b) for s, b in zip(plan.source, real)])
    assert warped > HELDOUT_PSNR_MIN
    assert warped > unwarped + 2.0


def _mouth_sweep(profile, n=50):
    """Params with the clip's pose and a mouth opening and closing twice (between its own extremes)."""
    p = profile.params
    opening = fm.mouth_opening(profile.landmarks)
    closed, wide = p.expression[np.argmin(opening)], p.expression[np.argmax(opening)]
    w = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / 25.0)).astype(np.float32)
    expr = closed[None] * (1 - w[:, None]) + wide[None] * w[:, None]
    return FaceParams(p.pose[:n], expr, np.zeros(n, np.float32), p.fps)


def test_mouth_opening_of_the_output_follows_the_params(clip_profile, clip_frames):
    r = WarpRenderer(clip_profile, frames=clip_frames)
    params = _mouth_sweep(clip_profile)
    out = r.render(params)
    wanted = fm.mouth_opening(r.landmarks(params))
    track = track_frames(iter([out.frames]), 25.0, progress=False)
    assert track.valid_fraction == 1.0
    measured = fm.mouth_opening(track.landmarks)
    assert np.corrcoef(wanted, measured)[0, 1] > 0.85
    assert np.abs(measured - wanted).mean() < 0.02


def test_one_shot_photo_opens_mouth_and_closes_eyes(photo_profile, clip_profile):
    n = 24
    pose = np.repeat(photo_profile.params.pose, n, axis=0)
    pose[:, layout.YAW] += 0.06 * np.sin(np.arange(n) / 4.0)  # a little head turn
    opening = fm.mouth_opening(clip_profile.landmarks)
    wide = clip_profile.params.expression[np.argmax(opening)]
    open_mouth = (np.arange(n) // 6) % 2 == 1
    expr = np.where(open_mouth[:, None], 1.3 * wide[None], 0.0).astype(np.float32)
    closed_eyes = np.isin(np.arange(n), [3, 4, 5, 15, 16, 17])
    params = FaceParams(pose, expr, closed_eyes.astype(np.float32), 25.0)
    r = WarpRenderer(photo_profile)
    plan = r.plan(params)
    assert plan.mouth_synthesis[open_mouth].min() > 0 or plan.mouth_synthesis[open_mouth].max() == 0
    assert synth.lid_alpha(plan.lids[closed_eyes]).min() > 0  # a photo shows no closed lids: all synthesised
    assert plan.lids[~closed_eyes].max() == 0
    out = r.render(params, plan=plan)
    assert out.frames.shape[0] == n
    track = track_frames(iter([out.frames]), 25.0, progress=False)
    assert track.valid_fraction == 1.0
    measured = fm.mouth_opening(track.landmarks)
    assert measured[open_mouth].mean() > measured[~open_mouth].mean() + 0.02
    aperture = blink_mod.eye_aperture(track.landmarks).mean(1)
    assert aperture[closed_eyes].mean() < 0.6 * aperture[~closed_eyes].mean()
