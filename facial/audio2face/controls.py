"""User controls on generated tracks: head-motion strength and blink rate.

- **Head motion**: the pose is ``mean + strength · gain · z · std`` (``z`` the network's
  normalised pose, ``gain`` the model's calibrated per-axis pose gain, mean/std the target
  speaker's). ``strength = 0`` gives a still head at the speaker's mean pose; 1 reproduces the
  speaker's own spread.
- **One-shot mouth** (:func:`one_shot_mouth`): a speaker that cannot be personalised (a photo,
  footage under 2 s) gets the generic model's expression motion scaled to a personalised model's
  mouth-opening spread.
- **Blink rate**: blinks cannot be predicted from speech frame by frame, and a regression
  network averages them away. The network's blink output is therefore used as the *propensity*
  of a blink at each frame: ``round(rate × minutes)`` blink events (stochastic rounding, seeded)
  are placed at frames drawn with probability ∝ propensity^sharpness, at least
  ``blink_min_gap_s`` apart, each shaped like the speaker's own median blink. The network's
  sub-threshold lid motion is kept underneath. The default rate is the speaker's own.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from facial.types import FaceParams, SpeakerProfile

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


#: Mouth-opening std (face heights) of the one-shot path: the generic FACIAL-GAN's is ~0.0125 for
#: any speaker, personalised models give 0.016–0.022 on the same speech (docs/RENDERING.md, one-shot).
ONE_SHOT_MOUTH_STD = 0.022
ONE_SHOT_MAX_GAIN = 2.0


def one_shot_mouth(params: FaceParams, profile: SpeakerProfile, basis) -> FaceParams:
    """Expression motion of the generic FACIAL-GAN scaled to a personalised model's amplitude.

    A photo (or footage under 2 s) cannot personalise FACIAL-GAN, and the generic model's mouth
    moves less than any fine-tuned one; the expression deviation from its mean over the clip is
    scaled so that the mouth-opening std reaches :data:`ONE_SHOT_MOUTH_STD` (gain 1 … 2).
    """
    from facial.face_render.mesh import posed_landmarks
    from facial.types import FaceParams
    from facial.speaker.face_model import mouth_opening

    std = float(mouth_opening(posed_landmarks(profile, params, basis)).std())
    gain = float(np.clip(ONE_SHOT_MOUTH_STD / max(std, 1e-6), 1.0, ONE_SHOT_MAX_GAIN))
    if gain <= 1.0:
        return params
    mean = params.expression.mean(0, keepdims=True)
    log.info("one-shot speaker: mouth motion of the generic FACIAL-GAN scaled ×%.2f (opening std %.4f → %.4f)",
             gain, std, std * gain)
    return FaceParams(params.pose, (mean + gain * (params.expression - mean)).astype(np.float32), params.blink, params.fps)
