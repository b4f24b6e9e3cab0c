"""Speech signals on the video frame grid: loudness envelope and onsets.

Frame ``t`` of a clip at ``fps`` covers the samples ``[t·sr/fps, (t+1)·sr/fps)`` (at 25 fps and
16 kHz, 640 samples: the same grid SyncNet uses).
"""
from __future__ import annotations

import numpy as np

from facial.audio.features import frame_envelope  # the one speech envelope

__all__ = ["frame_envelope", "onset_frames"]


def onset_frames(samples: np.ndarray, sample_rate: int, fps: float = 25.0, n_frames: int | None = None) -> np.ndarray:
    """Speech onsets (librosa's spectral-flux onset detector, 10 ms hop) as video-frame indices."""
    import librosa

    y = np.asarray(samples, dtype=np.float32).ravel()
    if y.size == 0 or not np.any(y):
        return np.zeros(0, dtype=int)
    hop = max(1, int(round(sample_rate / 100)))
    times = librosa.onset.onset_detect(y=y, sr=sample_rate, hop_length=hop, units="time")
    frames = np.unique(np.round(np.asarray(times) * fps).astype(int))
    if n_frames is not None:
        frames = frames[(frames >= 0) & (frames < n_frames)]
    return frames
