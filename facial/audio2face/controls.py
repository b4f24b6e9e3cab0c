"""User controls on generated tracks: head-motion strength and blink rate.

- **Head motion**: the pose is ``mean + strength · gain · z · std`` (``z`` the network's
  normalised pose, ``gain`` the model's calibrated per-axis pose gain, mean/std the target
  speaker's). ``strength = 0`` gives a still head at the speaker's mean pose; 1 reproduces the
  speaker's own spread.
- **Head-motion calibration** (:func:`match_head_motion`, on by default): the network's pose
  regresses to the mean on people it never saw (and a gain fitted on training clips cannot know by
  how much), so the generated deviation is calibrated to the *speaker's own* footage at generation:
  a Gaussian σ is chosen so that the ratio angular speed / spread matches the speaker's, then each
  axis is scaled to the spread the speaker shows over a window as long as the speech (both × the
  strength). Uses the profile only (the speaker part), never the speech being animated.
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


#: Pose Gaussian σ (frames) searched by :func:`match_head_motion` when the smoothing is the model's default.
MOTION_SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)


def angular_speed_deg_s(pose: np.ndarray, fps: float, valid: np.ndarray | None = None) -> float:
    """Mean geodesic angular speed (deg/s) of the rotation part of a ``[T, 6]`` pose track (0 for T < 2);
    with ``valid [T]`` only the steps between two valid frames count."""
    from facial.layout import ROTATION
    from facial.speaker.face_model import euler_to_matrix

    pose = np.asarray(pose, np.float64)
    if len(pose) < 2:
        return 0.0
    r = euler_to_matrix(pose[:, ROTATION])
    rel = np.einsum("tji,tjk->tik", r[:-1], r[1:])
    cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    step = np.degrees(np.arccos(cos))
    if valid is not None:
        valid = np.asarray(valid, bool)
        step = step[valid[:-1] & valid[1:]]
        if len(step) == 0:
            return 0.0
    return float(step.mean() * fps)


def window_std(track: np.ndarray, n: int) -> np.ndarray:
    """Expected per-axis std of ``track [T, D]`` over a window of ``n`` frames (mean over windows;
    the whole-track std when ``n ≥ T``). Real head motion drifts, so a short utterance shows less
    spread than a long clip: this is the spread to aim at for ``n`` generated frames."""
    track = np.asarray(track, np.float64)
    t = len(track)
    if n >= t or n < 2:
        return track.std(0)
    step = max(1, n // 4)
    return np.mean([track[s:s + n].std(0) for s in range(0, t - n + 1, step)], axis=0)


def match_head_motion(pose: np.ndarray, pose_mean: np.ndarray, own_track: np.ndarray, fps: float, strength: float, *,
                      sigmas=MOTION_SIGMAS, max_gain: float = 25.0, own_valid: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Calibrate a generated pose track ``[T, 6]`` to the speaker's own motion (``own_track [T', 6]``).

    1. For each σ in ``sigmas`` the deviation from ``pose_mean`` is Gaussian-smoothed and scaled per
       axis to :func:`window_std` of the speaker's track; the σ whose angular speed is closest (in
       log ratio) to the speaker's own is kept.
    2. When no σ hits the speed (e.g. a nearly static prediction that even σ = 0 leaves too slow),
       the rotation deviation is scaled by ``sqrt(target speed / speed)``, splitting the error evenly
       between spread and speed.
    The result is ``pose_mean + strength × calibrated deviation``; per-axis gains are capped at
    ``max_gain``. ``own_valid [T']`` marks the speaker's frames with a tracked face (spread from those,
    speed from steps between two of them). Returns ``(pose, info)`` with the chosen σ, gains and
    target/achieved statistics.
    """
    from facial.audio2face.smoothing import gaussian
    from facial.layout import ROTATION

    pose = np.asarray(pose, np.float64)
    mean = np.asarray(pose_mean, np.float64)
    n = len(pose)
    if strength < 0:
        raise ValueError(f"head_motion must be ≥ 0, got {strength}")
    if n < 3 or len(own_track) < 3:
        return (mean + strength * (pose - mean)).astype(np.float32), {"calibrated": False}
    own_track = np.asarray(own_track, np.float64)
    target_std = window_std(own_track if own_valid is None else own_track[np.asarray(own_valid, bool)], n)
    target_speed = angular_speed_deg_s(own_track, fps, own_valid)
    dev = pose - mean
    best = None
    for sigma in sigmas:
        d = gaussian(dev.astype(np.float32), float(sigma)).astype(np.float64)
        d -= d.mean(0)
        gain = np.minimum(target_std / np.maximum(d.std(0), 1e-9), max_gain)
        gain = np.where(target_std > 0, gain, 0.0)
        cand = d * gain
        speed = angular_speed_deg_s(mean + cand, fps)
        err = abs(np.log(max(speed, 1e-9) / max(target_speed, 1e-9))) if target_speed > 0 else 0.0
        if best is None or err < best[0] - 1e-9:
            best = (err, float(sigma), cand, gain, speed)
    _, sigma, cand, gain, speed = best
    balance = 1.0
    if target_speed > 0 and speed > 0:
        balance = float(np.clip(np.sqrt(target_speed / speed), 1.0 / np.sqrt(max_gain), np.sqrt(max_gain)))
        cand[:, ROTATION] *= balance
    out = mean + strength * cand
    info = {"calibrated": True, "sigma": sigma, "gain": gain.tolist(), "balance": balance, "target_std": target_std.tolist(),
            "target_speed_deg_s": target_speed, "speed_deg_s": angular_speed_deg_s(mean + cand, fps)}
    return out.astype(np.float32), info


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
