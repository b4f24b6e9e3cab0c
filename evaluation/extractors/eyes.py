"""Eye blinks: per-speaker normalised blink track and blink events.

The aperture of an eye is its lid gap over its width (:func:`facial.speaker.blink.eye_aperture`).
The track is normalised per speaker (:func:`facial.speaker.blink.normalize_blink`: 0 = as open as
this speaker's eyes usually are — the 90th percentile of the aperture —, 1 = closed), so one
threshold on it is a per-speaker calibrated threshold on the raw aperture. Events are runs above
the threshold (:func:`facial.speaker.blink.detect_blinks`; runs over 1 s are eye closures, not
blinks).
"""
from __future__ import annotations

import numpy as np


def blink_track(aperture: np.ndarray, calibration: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """``[T]`` or ``[T, 2]`` aperture → (``[T]`` blink in [0, 1], ``(open, closed)`` calibration)."""
    from facial.speaker.blink import blink_calibration, normalize_blink

    cal = calibration or blink_calibration(aperture)
    return normalize_blink(aperture, cal), cal


def blink_events(blink: np.ndarray, fps: float, threshold: float = 0.5) -> list[tuple[int, int]]:
    """Blink events ``[(start, end), …]`` (end exclusive) of a normalised blink track."""
    from facial.speaker.blink import detect_blinks

    return detect_blinks(np.asarray(blink), fps, threshold=threshold)
