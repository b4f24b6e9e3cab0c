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
    """Savitzky–Golay along axis 0; the window shrinks (odd, > order) for short tracks; 0 = off.

    The numbers of ``scipy.signal.savgol_filter(x, window, order, axis=0, mode="interp")`` (tested),
    in numpy: importing ``scipy.signal`` costs about a second at start-up.
    """
    x = np.asarray(x, np.float32)
    n = x.shape[0]
    window = min(int(window), n if n % 2 == 1 else n - 1)
    if window <= order or window < 3:
        return x.copy()
    if window % 2 == 0:
        window -= 1
    if window <= order:
        return x.copy()
    xd = x.astype(np.float64)
    half = window // 2
    k = np.arange(-half, half + 1, dtype=np.float64)
    centre = np.linalg.pinv(np.vander(k, order + 1, increasing=True))[0]  # the fitted polynomial's value at 0
    out = np.empty_like(xd)
    windows = np.lib.stride_tricks.sliding_window_view(xd, window, axis=0)  # [n - window + 1, ..., window]
    out[half:n - half] = windows @ centre
    # edges ("interp"): the polynomial fitted to the first / last window, evaluated there
    pos = np.arange(window, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(pos, order + 1, increasing=True))  # [order + 1, window]
    ends = np.vander(pos, order + 1, increasing=True)
    out[:half] = (ends[:half] @ fit @ xd[:window].reshape(window, -1)).reshape((half,) + xd.shape[1:])
    out[n - half:] = (ends[window - half:] @ fit @ xd[n - window:].reshape(window, -1)).reshape((half,) + xd.shape[1:])
    return out.astype(np.float32)


def gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 (edges: nearest value); σ ≤ 0 = off.

    The numbers of ``scipy.ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest",
    truncate=GAUSSIAN_TRUNCATE)`` (tested), in numpy.
    """
    x = np.asarray(x, np.float32)
    if sigma <= 0 or x.shape[0] < 2:
        return x.copy()
    radius = int(GAUSSIAN_TRUNCATE * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / float(sigma)) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x.astype(np.float64), [(radius, radius)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=0)
    return (windows @ kernel).astype(np.float32)


def smooth_params(params: FaceParams, config: SmoothingConfig) -> FaceParams:
    """Apply ``config``'s filters to each track of ``params`` (a new object)."""
    expression = savgol(params.expression, config.expression_window, config.expression_order)
    pose = gaussian(params.pose, config.pose_sigma)
    blink = savgol(params.blink[:, None], config.blink_window, config.blink_order)[:, 0] if config.blink_window else params.blink.copy()
    return FaceParams(pose, expression, np.clip(blink, 0.0, 1.0), params.fps)
