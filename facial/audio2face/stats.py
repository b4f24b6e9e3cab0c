"""Per-speaker statistics used to normalise training targets and to de-normalise predictions.

Pose is z-scored per clip (FACIAL z-scores the six pose values per training video and
de-normalises with the target video's mean and std). A clip that is too short to have statistics
of its own (a photo, a two-second clip) borrows the model's typical spread.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from facial import layout as layout_mod
from facial.speaker import blink as blink_mod
from facial.types import SpeakerProfile

log = logging.getLogger(__name__)


def pose_scale_vector(pose_mean: np.ndarray) -> np.ndarray:
    """Per-axis units of the pose: 1 for rotations (radians), the mean scale for tx, ty and scale."""
    unit = np.ones(layout_mod.POSE_DIM, np.float32)
    scale = float(abs(pose_mean[layout_mod.SCALE])) or 1.0
    unit[layout_mod.TRANSLATION] = scale
    unit[layout_mod.SCALE] = scale
    return unit


def pose_statistics(pose: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """``(mean [6], std [6])`` of a ``[T, 6]`` pose track, std floored at ``floor`` × the axis unit."""
    pose = np.asarray(pose, np.float64)
    if pose.ndim != 2 or pose.shape[1] != layout_mod.POSE_DIM or len(pose) == 0:
        raise ValueError(f"pose must be a non-empty [T, {layout_mod.POSE_DIM}] array, got {pose.shape}")
    mean = pose.mean(0).astype(np.float32)
    std = pose.std(0).astype(np.float32)
    return mean, np.maximum(std, floor * pose_scale_vector(mean)).astype(np.float32)


def relative_pose_std(pose_mean: np.ndarray, pose_std: np.ndarray) -> np.ndarray:
    """Pose std in scale-free units (translations and scale divided by the mean scale)."""
    return (np.asarray(pose_std, np.float32) / pose_scale_vector(pose_mean)).astype(np.float32)


def blink_template(blink: np.ndarray, fps: float, *, threshold: float, half_s: float, default_duration_s: float) -> np.ndarray:
    """Typical blink shape ``[2h + 1]`` of a speaker: the median of their blinks aligned at the peak.

    Falls back to a raised-cosine blink of ``default_duration_s`` when the track has no blink.
    The template always peaks above ``threshold`` so that a placed template is detected as one blink.
    """
    half = max(1, int(round(half_s * fps)))
    blink = np.asarray(blink, np.float32)
    cuts = []
    for start, end in blink_mod.detect_blinks(blink, fps, threshold):
        peak = start + int(np.argmax(blink[start:end]))
        if peak - half >= 0 and peak + half < len(blink):
            cuts.append(blink[peak - half:peak + half + 1])
    if cuts:
        template = np.median(np.stack(cuts), axis=0)
    else:
        width = max(1.0, default_duration_s * fps)
        x = np.arange(-half, half + 1, dtype=np.float32)
        template = np.where(np.abs(x) <= width, 0.5 * (1 + np.cos(np.pi * np.clip(x / width, -1, 1))), 0.0)
    template = np.clip(template, 0.0, 1.0).astype(np.float32)
    low = min(1.0, threshold + 0.5 * (1.0 - threshold))
    if template.max() < low:
        template = template * (low / max(float(template.max()), 1e-6))
    return template.astype(np.float32)


@dataclass
class SpeakerStats:
    """What :func:`facial.audio2face.animate` needs to know about the target speaker.

    ``own`` is False when the profile was too short and typical values were used.
    """

    pose_mean: np.ndarray
    pose_std: np.ndarray
    blink_rate_per_min: float
    blink_template: np.ndarray
    own: bool = True
    pose_track: np.ndarray | None = None  # the speaker's own pose track, for head-motion calibration
    pose_valid: np.ndarray | None = None  # its frames with a tracked face (None = all)


def speaker_stats(profile: SpeakerProfile, typical_pose_rel_std: np.ndarray, inference) -> SpeakerStats:
    """Statistics of ``profile`` (or typical values when it is shorter than ``inference.min_stats_s``).

    ``inference`` is the model's :class:`~facial.audio2face.config.InferenceConfig`.
    """
    params = profile.params
    valid = np.asarray(profile.valid, bool)
    pose = params.pose[valid] if valid.any() else params.pose
    mean, std = pose_statistics(pose, inference.pose_std_floor)
    template = blink_template(params.blink, params.fps, threshold=inference.blink_threshold, half_s=inference.blink_template_half_s,
                              default_duration_s=inference.blink_default_duration_s)
    if profile.duration < inference.min_stats_s:
        std = (np.asarray(typical_pose_rel_std, np.float32) * pose_scale_vector(mean)).astype(np.float32)
        log.info("profile is %.1f s long (< %.1f s): using typical head-motion spread and %.0f blinks/min",
                 profile.duration, inference.min_stats_s, inference.default_blink_rate_per_min)
        return SpeakerStats(mean, std, float(inference.default_blink_rate_per_min), template, own=False)
    rate = profile.stats.get("blink_rate_per_min") if profile.stats else None
    if rate is None:
        rate = blink_mod.blink_rate_per_min(params.blink, params.fps, threshold=inference.blink_threshold)
    return SpeakerStats(mean, std, float(rate), template, own=True, pose_track=np.asarray(params.pose, np.float32),
                        pose_valid=valid if valid.any() else None)
