"""animate(): lengths, long-audio windowing, smoothing and the user controls."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from a2f_synthetic import FPS, make_speaker, tiny_config
from facial.audio2face import FacialGAN, SmoothingConfig, animate
from facial.audio2face.inference import predict_normalised, window_starts
from facial.audio2face.smoothing import gaussian, savgol
from facial.speaker.blink import blink_rate_per_min
from facial.types import AudioClip


@pytest.fixture(scope="module")
def speaker():
    return make_speaker(12.0, seed=3)


def test_window_starts_cover_and_align_to_end():
    assert window_starts(10, 32, 8) == [0]
    starts = window_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 32 - 8 for a, b in zip(starts, starts[1:]))


def test_output_length_and_fps(trained_tiny, speaker):
    profile, audio = speaker
    clip = AudioClip(audio.samples[: int(3.3 * 16000)], 16000)
    out = animate(trained_tiny, clip, profile)
    assert len(out) == round(3.3 * FPS) and out.fps == profile.fps
    assert out.n_expression == trained_tiny.config.n_expression
    assert np.all((out.blink >= 0) & (out.blink <= 1))


def test_audio_shorter_than_a_frame_is_refused(trained_tiny, speaker):
    profile, _ = speaker
    with pytest.raises(ValueError, match="shorter than one video frame"):
        animate(trained_tiny, AudioClip(np.zeros(100, np.float32), 16000), profile)


def test_expression_size_mismatch_is_refused(speaker):
    profile, audio = speaker
    with pytest.raises(ValueError, match="expression coefficients"):
        animate(FacialGAN(tiny_config(n_expression=5)), audio, profile)


def _border_vs_inside(overlap: int) -> tuple[float, float]:
    """Largest frame-to-frame step near window borders vs the 99th percentile of steps elsewhere.

    The model is untrained but made strongly dependent on its seed frame, so a window that is not
    blended with its predecessor starts with a visible jump.
    """
    torch.manual_seed(0)
    model = FacialGAN(tiny_config(inference={"overlap": overlap})).eval()
    cfg = model.config
    with torch.no_grad():
        model.context.join[0].weight[:, -cfg.param_dim:] *= 30
    rng = np.random.default_rng(0)
    n = 10 * cfg.seq_len + 5
    feats = (np.cumsum(rng.normal(size=(n, cfg.audio.window, cfg.audio.n_mels)), 0) * 0.02).astype(np.float32)
    out = predict_normalised(model, feats, np.zeros(cfg.param_dim, np.float32))
    steps = np.abs(np.diff(out, axis=0)).mean(1)
    near = np.zeros(len(steps), bool)
    for s in window_starts(n, cfg.seq_len, overlap)[1:]:
        near[s - 1:s + overlap + 1] = True
    return float(steps[near].max()), float(np.percentile(steps[~near], 99))


def test_long_audio_has_no_jump_at_window_borders():
    border, inside = _border_vs_inside(tiny_config().inference.overlap)
    assert border <= inside
    hard_border, hard_inside = _border_vs_inside(1)  # one shared frame, no cross-fade: the jump shows
    assert hard_border > hard_inside


def test_head_motion_zero_gives_constant_pose(trained_tiny, speaker):
    profile, audio = speaker
    still = animate(trained_tiny, audio, profile, head_motion=0.0)
    assert np.ptp(still.pose, axis=0).max() < 1e-4
    np.testing.assert_allclose(still.pose[0], profile.params.pose.mean(0), rtol=1e-4, atol=1e-4)
    normal = animate(trained_tiny, audio, profile, head_motion=1.0)
    strong = animate(trained_tiny, audio, profile, head_motion=2.0)
    assert strong.pose.std(0)[0] > normal.pose.std(0)[0] > 0
    with pytest.raises(ValueError):
        animate(trained_tiny, audio, profile, head_motion=-1)


def test_blink_rate_control_moves_the_detected_rate(trained_tiny):
    profile, audio = make_speaker(60.0, seed=5, blink_rate=20.0)
    low = animate(trained_tiny, audio, profile, blink_rate=6.0)
    high = animate(trained_tiny, audio, profile, blink_rate=40.0)
    own = animate(trained_tiny, audio, profile)
    r_low, r_high, r_own = (blink_rate_per_min(p.blink, p.fps) for p in (low, high, own))
    assert r_low < r_own < r_high
    assert abs(r_low - 6) <= 2 and abs(r_high - 40) <= 3
    assert abs(r_own - profile.stats["blink_rate_per_min"]) <= 3
    none = animate(trained_tiny, audio, profile, blink_rate=0.0)
    assert blink_rate_per_min(none.blink, none.fps) == 0


def test_seed_makes_outputs_reproducible(trained_tiny, speaker):
    profile, audio = speaker
    a = animate(trained_tiny, audio, profile, seed=1)
    b = animate(trained_tiny, audio, profile, seed=1)
    c = animate(trained_tiny, audio, profile, seed=2)
    np.testing.assert_array_equal(a.blink, b.blink)
    np.testing.assert_array_equal(a.expression, b.expression)
    assert not np.array_equal(a.blink, c.blink)


def test_smoothing_presets_and_filters(trained_tiny, speaker):
    profile, audio = speaker
    raw = animate(trained_tiny, audio, profile, smoothing="none")
    smooth = animate(trained_tiny, audio, profile, smoothing="strong")
    rough = lambda x: np.abs(np.diff(x, 2, axis=0)).mean()
    assert rough(smooth.expression) < rough(raw.expression)
    assert rough(smooth.pose) < rough(raw.pose)
    custom = animate(trained_tiny, audio, profile, smoothing=SmoothingConfig(name="x", expression_window=3, expression_order=1, pose_sigma=0))
    assert len(custom) == len(raw)
    with pytest.raises(ValueError, match="unknown smoothing"):
        animate(trained_tiny, audio, profile, smoothing="wobbly")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    assert savgol(x, 7, 3).shape == x.shape and gaussian(x[:1], 1.0).shape == (1, 3)


def test_short_profile_uses_typical_statistics(trained_tiny):
    profile, audio = make_speaker(2.0, seed=9)
    out = animate(trained_tiny, audio, profile)
    assert len(out) == 50 and np.isfinite(out.pose).all()


def test_one_frame_profile_a_photo_still_moves(trained_tiny):
    from dataclasses import replace

    profile, audio = make_speaker(8.0, seed=10)
    photo = replace(profile, params=profile.params.slice(0, 1), landmarks=profile.landmarks[:1], valid=profile.valid[:1], stats={})
    out = animate(trained_tiny, audio, photo)
    assert len(out) == 200 and np.isfinite(out.to_array()).all()
    assert out.pose.std(0).max() > 0  # typical head motion, not a frozen head
