"""Eye blinks from FaceMesh landmarks: lid aperture, per-speaker normalisation, blink events.

The aperture of one eye is the mean of three lid gaps divided by the eye width (an eye aspect
ratio, Soukupová & Čech 2016, on FaceMesh points). :func:`normalize_blink` maps it to [0, 1]
per speaker (0 = open as usual, 1 = closed): ``open`` is the 90th percentile of the aperture,
``closed`` the lower of its 1st percentile and 35 % of ``open``. :func:`detect_blinks` finds
events as runs above a threshold, so the threshold is calibrated per speaker by construction.
"""
from __future__ import annotations

import numpy as np

# (corner a, corner b, [(upper, lower) lid pairs]) per eye; right = the subject's right eye.
_EYES = (
    (33, 133, ((160, 144), (159, 145), (158, 153))),
    (362, 263, ((385, 380), (386, 374), (387, 373))),
)
OPEN_PERCENTILE = 90.0
CLOSED_PERCENTILE = 1.0
CLOSED_FRACTION = 0.35


def eye_aperture(landmarks: np.ndarray) -> np.ndarray:
    """``[T, 478, 2|3]`` landmarks → ``[T, 2]`` aperture (lid gap / eye width) of the right and left eye.

    With 3-D landmarks the distances are 3-D, so the ratio does not change when the head turns.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    out = []
    for a, b, pairs in _EYES:
        width = np.linalg.norm(lm[:, a] - lm[:, b], axis=-1)
        gap = np.mean([np.linalg.norm(lm[:, u] - lm[:, d], axis=-1) for u, d in pairs], axis=0)
        out.append(gap / np.maximum(width, 1e-6))
    return np.stack(out, axis=1).astype(np.float32)


def blink_calibration(aperture: np.ndarray) -> tuple[float, float]:
    """Per-speaker ``(open, closed)`` reference apertures from a ``[T]`` or ``[T, 2]`` aperture track."""
    r = np.asarray(aperture, dtype=np.float64)
    r = r.mean(axis=1) if r.ndim == 2 else r
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("no finite eye apertures to calibrate blinks")
    open_ = float(np.percentile(r, OPEN_PERCENTILE))
    closed = float(min(np.percentile(r, CLOSED_PERCENTILE), CLOSED_FRACTION * open_))
    return open_, closed


def normalize_blink(aperture: np.ndarray, calibration: tuple[float, float] | None = None) -> np.ndarray:
    """Aperture ``[T]``/``[T, 2]`` → blink ``[T]`` in [0, 1] (1 = closed), calibrated per speaker."""
    r = np.asarray(aperture, dtype=np.float64)
    r = r.mean(axis=1) if r.ndim == 2 else r
    open_, closed = calibration or blink_calibration(r)
    return np.clip((open_ - r) / max(open_ - closed, 1e-6), 0.0, 1.0).astype(np.float32)


def running_median(x: np.ndarray, size: int) -> np.ndarray:
    """Median over a centred window of odd ``size``, edges extended with the end values: the numbers
    of ``scipy.ndimage.median_filter(x, size, mode="nearest")`` for 1-D ``x`` (tested), without
    importing ``scipy.ndimage`` (a few tenths of a second at start-up)."""
    half = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size), axis=1)


def detect_blinks(blink: np.ndarray, fps: float = 25.0, threshold: float = 0.5, min_frames: int = 1,
                  max_duration_s: float = 1.0, min_prominence: float = 0.3, baseline_s: float = 1.0) -> list[tuple[int, int]]:
    """Blink events ``[(start, end), …]`` (start inclusive, end exclusive) in a ``[T]`` blink track.

    An event is a run of frames with ``blink > threshold`` lasting at least ``min_frames``; runs
    separated by a single frame are merged; runs longer than ``max_duration_s`` are eye closures,
    not blinks, and are dropped. A blink is a transient: its peak must rise at least
    ``min_prominence`` above the local baseline (running median over ``baseline_s``), which
    rejects squints and looking down, where the lids stay half-closed for a while.
    """
    values = np.asarray(blink, dtype=np.float64)
    if len(values) == 0:
        return []
    baseline = running_median(values, max(3, int(round(baseline_s * fps)) | 1))
    b = (values > threshold) & (values - baseline > 0.5 * min_prominence)
    events: list[list[int]] = []
    t = 0
    n = len(b)
    while t < n:
        if b[t]:
            start = t
            while t < n and b[t]:
                t += 1
            if events and start - events[-1][1] <= 1:
                events[-1][1] = t
            else:
                events.append([start, t])
        else:
            t += 1
    max_frames = max_duration_s * fps
    return [(s, e) for s, e in events
            if min_frames <= e - s <= max_frames and (values[s:e] - baseline[s:e]).max() >= min_prominence]


def blink_rate_per_min(blink: np.ndarray, fps: float, **kwargs) -> float:
    """Blinks per minute of a ``[T]`` blink track."""
    minutes = len(blink) / fps / 60.0
    return len(detect_blinks(blink, fps, **kwargs)) / minutes if minutes > 0 else float("nan")
