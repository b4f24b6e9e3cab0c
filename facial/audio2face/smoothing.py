"""Named, configurable smoothing of generated FaceParams (FACIAL filters its test-time output).

- expression: Savitzky–Golay over time per coefficient (reference: window 7, order 3);
- pose: Gaussian over time per axis (reference: σ = 1 frame, radius 3);
- blink: optional Savitzky–Golay (off by default: blinks are short events).

Presets live in :data:`facial.audio2face.config.SMOOTHING_PRESETS`.
"""
from __future__ import annotations

import numpy as np

from facial.audio2face.config import SmoothingConfig
from facial.types import FaceParams

GAUSSIAN_TRUNCATE = 3.0  # the filter's radius in σ


def savgol(x: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky–Golay along axis 0; the window shrinks (odd, > order) for short tracks; 0 = off."""
    from scipy.signal import savgol_filter

    x = np.asarray(x, np.float32)
    n = x.shape[0]
    window = min(int(window), n if n % 2 == 1 else n - 1)
    if window <= order or window < 3:
        return x.copy()
    if window % 2 == 0:
        window -= 1
    if window <= order:
        return x.copy()
    return savgol_filter(x, window, order, axis=0, mode="interp").astype(np.float32)


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 (edges: nearest value); σ ≤ 0 = off."""
    from scipy.ndimage import gaussian_filter1d

    x = np.asarray(x, np.float32)
    if sigma <= 0 or x.shape[0] < 2:
        return x.copy()
    return gaussian_filter1d(x, sigma, axis=0, mode="nearest", truncate=GAUSSIAN_TRUNCATE).astype(np.float32)


def smooth_params(params: FaceParams, config: SmoothingConfig) -> FaceParams:
    """Apply ``config``'s filters to each track of ``params`` (a new object)."""
    expression = savgol(params.expression, config.expression_window, config.expression_order)
    pose = gaussian(params.pose, config.pose_sigma)
    blink = savgol(params.blink[:, None], config.blink_window, config.blink_order)[:, 0] if config.blink_window else params.blink.copy()
    return FaceParams(pose, expression, np.clip(blink, 0.0, 1.0), params.fps)
