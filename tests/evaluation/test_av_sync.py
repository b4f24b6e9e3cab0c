"""The weights-free AV sync measure: synthetic shifts and a real clip with its audio shifted."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.extractors.audio import frame_envelope
from evaluation.metrics.av_sync import av_sync


def _smooth_noise(n: int, seed: int) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.random.default_rng(seed).normal(size=n), 1.5)


@pytest.mark.parametrize("k", [-7, -1, 0, 3, 12])
def test_recovers_a_known_audio_delay(k):
    n = 200
    base = _smooth_noise(n + 40, 0)
    mouth = 0.05 + 0.02 * base[20:20 + n]
    envelope = 1.0 + 0.3 * base[20 - k:20 - k + n]  # envelope(t) = mouth(t − k): audio late by k
    res = av_sync(mouth, envelope)
    assert res["offset"] == k
    assert res["corr"] > 0.5


def test_still_mouth_is_zero_correlation_without_offset():
    res = av_sync(np.full(100, 0.05), np.abs(_smooth_noise(100, 1)))
    assert res["offset"] is None and res["corr"] == 0.0


def test_frame_envelope_grid():
    sr, fps = 16000, 25.0
    s = np.zeros(sr, dtype=np.float32)
    s[640 * 3:640 * 4] = 0.5  # exactly video frame 3
    env = frame_envelope(s, sr, 30, fps)
    assert env.shape == (30,) and np.argmax(env) == 3
    assert env[3] == pytest.approx(0.5) and env[2] == 0 and env[4] == 0 and env[-1] == 0  # padded past the end


@pytest.mark.shared_data
def test_real_clip_with_audio_shifted_by_k_frames(clip_a, tmp_path):
    """Delaying the audio of a real, in-sync clip by k frames moves av_offset by exactly k."""
    from evaluation.scoring import score_clip
    from evaluation.types import ClipInput, EvalConfig
    from facial import media
    from facial.types import AudioClip

    audio = media.load_audio(clip_a)
    config = EvalConfig(max_seconds=5.0)
    cache = tmp_path / "cache"

    def offset(samples: np.ndarray, name: str) -> float:
        wav = media.save_wav(tmp_path / f"{name}.wav", AudioClip(samples.astype(np.float32), audio.sample_rate))
        res = score_clip(ClipInput(clip_a, audio=wav), ["av_offset", "av_corr"], config, cache_dir=cache).by_name()
        assert res["av_offset"].is_ok, res["av_offset"].reason
        return res["av_offset"].value

    hop = 640
    base = offset(audio.samples, "orig")
    assert abs(base) <= 1, "the clip is in sync"
    for k in (5, -3):
        shifted = np.concatenate([np.zeros(k * hop), audio.samples]) if k > 0 else audio.samples[-k * hop:]
        assert offset(shifted, f"shift{k}") - base == k
