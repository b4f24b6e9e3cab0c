"""Speech signals on the video frame grid: loudness envelope and onsets.

Frame ``t`` of a clip at ``fps`` covers the samples ``[t·sr/fps, (t+1)·sr/fps)`` (at 25 fps and
16 kHz, 640 samples: the same grid SyncNet uses).
"""
from __future__ import annotations

import numpy as np


def frame_envelope(samples: np.ndarray, sample_rate: int, n_frames: int, fps: float = 25.0) -> np.ndarray:
    """RMS amplitude of the speech in each video frame, ``[n_frames]`` (zero-padded past the end)."""
    hop = sample_rate / fps
    s = np.asarray(samples, dtype=np.float64).ravel()
    edges = np.round(np.arange(n_frames + 1) * hop).astype(int)
    need = edges[-1]
    if len(s) < need:
        s = np.pad(s, (0, need - len(s)))
    sq = np.concatenate([[0.0], np.cumsum(s[:need] ** 2)])
    counts = np.maximum(np.diff(edges), 1)
    return np.sqrt((sq[edges[1:]] - sq[edges[:-1]]) / counts)


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
