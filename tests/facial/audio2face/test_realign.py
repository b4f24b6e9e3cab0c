"""Audio-video offsets of footage (facial.audio2face.realign): known lags on synthetic speakers
whose loudness envelope is the mouth track (a2f_synthetic)."""
from __future__ import annotations

import numpy as np
import pytest

from a2f_synthetic import K, make_clips, tiny_config
from facial.audio2face.data import ClipData
from facial.audio2face.realign import (estimate_offset, lag_correlations, model_offset, probe_offsets, shift_clip)


def _late(clip: ClipData, lag: int) -> ClipData:
    """The clip as footage whose face is ``lag`` frames late: speech of frame t, mouth of frame t + lag."""
    return ClipData(f"{clip.name}-late{lag}", clip.speaker, clip.features[lag:], clip.params[:len(clip) - lag], clip.fps,
                    clip.pose_mean, clip.pose_std, clip.style)


def test_estimate_offset_finds_a_known_lag_and_leaves_weak_ones_alone():
    rng = np.random.default_rng(0)
    pred = np.convolve(rng.normal(size=600), np.ones(5) / 5, mode="same")
    real = np.roll(pred, 3) + 0.05 * rng.normal(size=600)  # real[t + 3] = pred[t]: the face is 3 frames late
    lag, r_best, r0 = estimate_offset(pred, real, max_lag=8)
    assert lag == 3 and r_best > 0.9 > r0
    assert estimate_offset(pred, np.roll(pred, -2), max_lag=8)[0] == -2
    assert estimate_offset(pred, pred + 0.01 * rng.normal(size=600), max_lag=8)[0] == 0
    noise = rng.normal(size=600)
    assert estimate_offset(pred, noise, max_lag=8, min_gain=0.5)[0] == 0  # no lag is convincingly better than 0
    r = lag_correlations(pred, real, max_lag=4)
    assert len(r) == 9 and np.nanargmax(r) == 4 + 3
    valid = np.ones(600, bool)
    valid[:592] = False  # 8 tracked frames
    assert np.isnan(lag_correlations(pred, real, valid, max_lag=2)).all()  # too few tracked frames to say anything


def test_shift_clip_pairs_each_frame_of_speech_with_its_mouth():
    n = 50
    feats = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    params = np.zeros((n, 7 + K), np.float32)
    params[:, 7] = np.arange(n)
    clip = ClipData("c", "s", feats, params, 25.0, np.zeros(6), np.ones(6), valid=np.arange(n) % 7 != 0)
    late = shift_clip(clip, 3)  # the face was 3 frames late: speech t goes with face t + 3
    assert len(late) == n - 3
    np.testing.assert_array_equal(late.params[:, 7] - late.features[:, 0, 0], 3)
    np.testing.assert_array_equal(late.valid, clip.valid[3:])
    early = shift_clip(clip, -2)
    np.testing.assert_array_equal(early.params[:, 7] - early.features[:, 0, 0], -2)
    assert shift_clip(clip, 0) is clip
    with pytest.raises(ValueError, match="leaves nothing"):
        shift_clip(clip, 49)


def test_probe_finds_the_late_clip_among_aligned_ones_from_other_speakers():
    cfg = tiny_config()
    clips = make_clips(20.0, [1, 2, 3, 4, 5, 6], cfg)
    clips[2] = _late(clips[2], 3)
    clips[5] = ClipData(clips[5].name, clips[5].speaker, clips[5].features[:-2], clips[5].params[2:], clips[5].fps,
                        clips[5].pose_mean, clips[5].pose_std)  # the face 2 frames early
    direction = np.eye(K, dtype=np.float32)[0]  # expression 0 is the mouth in the synthetic speakers
    offsets = [lag for lag, _, _ in probe_offsets(clips, direction, max_lag=6)]
    assert offsets == [0, 0, 3, 0, 0, -2]
    aligned = shift_clip(clips[2], offsets[2])
    assert probe_offsets([*clips[:2], aligned, *clips[3:5]], direction, max_lag=6)[2][0] == 0
    with pytest.raises(ValueError, match="two speakers"):
        probe_offsets([clips[0], clips[2]], direction)


def test_the_generic_model_finds_the_offset_of_a_new_speakers_clip(trained_tiny):
    cfg = trained_tiny.config
    clip = make_clips(20.0, [21], cfg)[0]  # a speaker the tiny model never saw
    assert model_offset(trained_tiny, clip, max_lag=6)[0] == 0
    assert model_offset(trained_tiny, _late(clip, 4), max_lag=6)[0] == 4
