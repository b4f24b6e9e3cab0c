"""User controls on generated tracks: head-motion strength and blink rate.

- **Head motion**: the pose is ``mean + strength · gain · z · std`` (``z`` the network's
  normalised pose, ``gain`` the model's calibrated per-axis pose gain, mean/std the target
  speaker's). ``strength = 0`` gives a still head at the speaker's mean pose; 1 reproduces the
  speaker's own spread.
- **Blink rate**: blinks cannot be predicted from speech frame by frame, and a regression
  network averages them away. The network's blink output is therefore used as the *propensity*
  of a blink at each frame: ``round(rate × minutes)`` blink events (stochastic rounding, seeded)
  are placed at frames drawn with probability ∝ propensity^sharpness, at least
  ``blink_min_gap_s`` apart, each shaped like the speaker's own median blink. The network's
  sub-threshold lid motion is kept underneath. The default rate is the speaker's own.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

PROPENSITY_EPS = 1e-3


def apply_head_motion(z_pose: np.ndarray, pose_mean: np.ndarray, pose_std: np.ndarray, gain: np.ndarray, strength: float) -> np.ndarray:
    """Normalised pose ``[T, 6]`` → pose in the speaker's units with deviations scaled by ``strength``."""
    if strength < 0:
        raise ValueError(f"head_motion must be ≥ 0, got {strength}")
    z = np.asarray(z_pose, np.float32)
    return (np.asarray(pose_mean, np.float32) + strength * z * np.asarray(gain, np.float32) * np.asarray(pose_std, np.float32)).astype(np.float32)


def place_blinks(propensity: np.ndarray, fps: float, rate_per_min: float, template: np.ndarray, rng: np.random.Generator, *,
                 threshold: float, min_gap_s: float, baseline_fraction: float, sharpness: float) -> np.ndarray:
    """A blink track ``[T]`` with about ``rate_per_min`` blinks per minute (see the module docstring)."""
    if rate_per_min < 0:
        raise ValueError(f"blink_rate must be ≥ 0 blinks/min, got {rate_per_min}")
    p = np.clip(np.asarray(propensity, np.float64), 0.0, 1.0)
    n = len(p)
    out = np.minimum(p, baseline_fraction * threshold).astype(np.float32)
    expected = rate_per_min * n / fps / 60.0
    count = int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected))
    half = len(template) // 2
    gap = max(int(round(min_gap_s * fps)), len(template) + 2)
    weights = (p - p.min() + PROPENSITY_EPS) ** sharpness
    allowed = np.ones(n, bool)
    placed = 0
    for _ in range(count):
        w = np.where(allowed, weights, 0.0)
        if w.sum() <= 0:
            break
        t = int(rng.choice(n, p=w / w.sum()))
        allowed[max(0, t - gap):t + gap + 1] = False
        lo, hi = max(0, t - half), min(n, t + half + 1)
        seg = template[lo - (t - half):len(template) - ((t + half + 1) - hi)]
        out[lo:hi] = np.maximum(out[lo:hi], seg)
        placed += 1
    if placed < count:
        log.warning("placed %d of %d blinks: %.0f blinks/min does not fit with a %.2f s minimum gap", placed, count, rate_per_min, min_gap_s)
    return out.astype(np.float32)
