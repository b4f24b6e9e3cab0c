"""Drivers that make FaceParams without (or around) FACIAL-GAN's prediction.

- :func:`envelope_params` — the procedural driver used when FACIAL-GAN is unavailable (not the
  paper's method): mouth from the speech envelope, the speaker's own head motion, blinks placed
  by :func:`facial.audio2face.controls.place_blinks` (the one blink placer of the project).
- :func:`freeze_pose_and_blinks` — the "lips only" baseline: pose held, eyes open.
"""
from __future__ import annotations

import numpy as np

from facial import layout
from facial.audio2face import controls
from facial.types import AudioClip, FaceParams, SpeakerProfile

# A blink of the procedural driver: 7 frames at 25 fps (close fast, open slower), ≥ 0.8 s apart.
BLINK_TEMPLATE = np.array([0.0, 0.35, 0.85, 1.0, 0.75, 0.35, 0.1], np.float32)  # centred on the closed frame
BLINK_MIN_GAP_S = 0.8


def freeze_pose_and_blinks(params: FaceParams, profile: SpeakerProfile) -> FaceParams:
    """The "lips only" baseline: pose held at the speaker's first (valid) frame, eyes open throughout."""
    idx = int(np.flatnonzero(profile.valid)[0]) if np.any(profile.valid) else 0
    pose = np.repeat(profile.params.pose[idx:idx + 1], len(params), axis=0)
    return FaceParams(pose, params.expression, np.zeros(len(params), np.float32), params.fps)


def envelope_params(audio: AudioClip, profile: SpeakerProfile, *, fps: float | None = None, head_motion: float = 1.0,
                    blink_rate: float | None = None, seed: int = 0, basis=None) -> FaceParams:
    """Procedural driver used when FACIAL-GAN is unavailable (not the paper's method).

    Mouth opening follows the speech envelope along the expression direction that opens the
    inner lips (minimum-norm over the leading basis components); the head replays the
    speaker's own pose track back and forth around its mean (a photo gets a gentle seeded sway),
    scaled by ``head_motion``; blinks are placed at ``blink_rate`` per minute (default: the
    speaker's own rate, 15/min when unknown) at seeded random times.
    """
    from facial.audio.features import speech_envelope
    from facial.face_render.mesh import default_basis
    from facial.speaker import face_model as fm

    basis = basis or default_basis()
    fps = float(fps or profile.fps)
    n = audio.n_frames(fps)
    rng = np.random.default_rng(seed)
    # mouth
    env = speech_envelope(audio, fps, n).astype(np.float64)
    ref = np.percentile(env, 95) if np.any(env > 0) else 1.0
    env = np.clip(env / max(ref, 1e-8), 0.0, 1.0)
    env = np.where(env < 0.1, 0.0, env) ** 0.7
    env = np.convolve(np.pad(env, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    k = min(8, basis.k)
    comps = basis.components[:k]
    g = comps[:, fm.LOWER_LIP_INNER, 1] - comps[:, fm.UPPER_LIP_INNER, 1]
    ident = profile.identity
    height = float(np.linalg.norm(ident[fm.CHIN, :2] - ident[fm.FOREHEAD, :2]))
    gap0 = float(ident[fm.LOWER_LIP_INNER, 1] - ident[fm.UPPER_LIP_INNER, 1])
    target_gap = 0.085 * height * env
    expression = np.zeros((n, basis.k), np.float32)
    expression[:, :k] = ((target_gap - gap0)[:, None] * g[None, :] / max(float(g @ g), 1e-8)).astype(np.float32)
    # pose
    pose_track = profile.params.pose
    mean = pose_track.mean(0)
    if len(pose_track) > 1:
        period = 2 * len(pose_track) - 2
        idx = np.arange(n) % max(period, 1)
        idx = np.where(idx >= len(pose_track), period - idx, idx)
        pose = mean + head_motion * (pose_track[idx] - mean)
    else:
        t = np.arange(n) / fps
        sway = np.zeros((n, layout.POSE_DIM))
        for axis, amp in ((layout.YAW, 0.05), (layout.PITCH, 0.03), (layout.ROLL, 0.02)):
            for f, ph in zip(rng.uniform(0.08, 0.35, 3), rng.uniform(0, 2 * np.pi, 3)):
                sway[:, axis] += amp / 3 * np.sin(2 * np.pi * f * t + ph)
        pose = mean + head_motion * sway
    # blinks
    rate = blink_rate if blink_rate is not None else (profile.stats.get("blink_rate_per_min") or 15.0)
    # no speech-driven propensity here: every frame is equally likely (the one blink placer, see controls)
    blink = controls.place_blinks(np.zeros(n), fps, rate, BLINK_TEMPLATE, rng, threshold=1.0, min_gap_s=BLINK_MIN_GAP_S,
                                  baseline_fraction=0.0, sharpness=1.0)
    return FaceParams(pose.astype(np.float32), expression, blink, fps)
