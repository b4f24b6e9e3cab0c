"""Head motion: how much, how fast, how smoothly the head moves, and in time with the speech.

Metric cards
------------
All from the tracked head rotation (yaw, pitch, roll; :mod:`facial.layout` convention) of the
clip at 25 fps. Measurements; the ``*_ratio`` entries divide by the same measurement on real
footage of the speaker (1 = as much as the real person).

- ``pose_std_yaw_deg``, ``pose_std_pitch_deg``, ``pose_std_roll_deg`` (deg, ·): standard
  deviation of each angle over the clip; ``pose_std_deg`` (deg, ·) their mean.
- ``angular_speed_deg_s`` (deg/s, ·): mean geodesic angle between consecutive head orientations,
  times fps.
- ``delta_p_deg`` (deg/frame, ·): ΔP of VASA-1 — mean absolute change of the three angles between
  adjacent frames (mean over frames and axes).
- ``jerk`` (deg/s³, ·): mean norm of the third time derivative of the angles, estimated with a
  Savitzky–Golay filter (window 7, cubic). High values mean jittery motion.
- ``bas`` (0–1, ↑): Beat Align Score (AI Choreographer / Bailando, SadTalker's use with audio
  beats): ``mean_i exp(−min_j (t_i − a_j)² / (2σ²))`` over head-motion beats ``t_i`` (peaks of the
  angular speed, Gaussian-smoothed σ = 1 frame, prominence ≥ max(2 deg/s, 0.25·std), ≥ 3 frames
  apart) and speech onsets ``a_j`` (librosa onset detector), σ = 3 frames. Unavailable when the
  head has no motion beat or the speech no onset.
- ``pose_std_ratio``, ``angular_speed_ratio``, ``delta_p_ratio``, ``jerk_ratio``, ``bas_ratio``
  (→1): clip value / real-footage value.
"""
from __future__ import annotations

import numpy as np

from facial import layout

from evaluation.types import Direction, Kind, MetricSpec, MetricValue

FAMILY = "head_motion"
_M = Kind.MEASUREMENT
_NEEDS = ("video", "face")
_RATIO_NEEDS = ("video", "face", "real_footage")

SPECS = [
    MetricSpec("pose_std_yaw_deg", FAMILY, _M, Direction.NONE, "deg", _NEEDS, "std of head yaw over the clip"),
    MetricSpec("pose_std_pitch_deg", FAMILY, _M, Direction.NONE, "deg", _NEEDS, "std of head pitch over the clip"),
    MetricSpec("pose_std_roll_deg", FAMILY, _M, Direction.NONE, "deg", _NEEDS, "std of head roll over the clip"),
    MetricSpec("pose_std_deg", FAMILY, _M, Direction.NONE, "deg", _NEEDS, "mean of the yaw/pitch/roll stds"),
    MetricSpec("angular_speed_deg_s", FAMILY, _M, Direction.NONE, "deg/s", _NEEDS,
               "mean geodesic rotation between consecutive frames × fps"),
    MetricSpec("delta_p_deg", FAMILY, _M, Direction.NONE, "deg/frame", _NEEDS,
               "ΔP (VASA-1): mean |angle change| between adjacent frames, over frames and axes"),
    MetricSpec("jerk", FAMILY, _M, Direction.NONE, "deg/s³", _NEEDS,
               "mean norm of the 3rd derivative of the angles (Savitzky–Golay, window 7, cubic)"),
    MetricSpec("bas", FAMILY, _M, Direction.HIGHER, "0–1", ("video", "audio", "face"),
               "Beat Align Score: head-motion beats (angular-speed peaks) vs speech onsets, σ = 3 frames"),
    MetricSpec("pose_std_ratio", FAMILY, Kind.METRIC, Direction.TARGET, "×", _RATIO_NEEDS,
               "pose_std_deg / the real footage's", target=1.0),
    MetricSpec("angular_speed_ratio", FAMILY, Kind.METRIC, Direction.TARGET, "×", _RATIO_NEEDS,
               "angular_speed_deg_s / the real footage's", target=1.0),
    MetricSpec("delta_p_ratio", FAMILY, Kind.METRIC, Direction.TARGET, "×", _RATIO_NEEDS,
               "delta_p_deg / the real footage's", target=1.0),
    MetricSpec("jerk_ratio", FAMILY, Kind.METRIC, Direction.TARGET, "×", _RATIO_NEEDS,
               "jerk / the real footage's", target=1.0),
    MetricSpec("bas_ratio", FAMILY, Kind.METRIC, Direction.TARGET, "×", ("video", "audio", "face", "real_footage"),
               "bas / the real footage's (with its own speech)", target=1.0),
]

RATIO_OF = {"pose_std_ratio": "pose_std_deg", "angular_speed_ratio": "angular_speed_deg_s",
            "delta_p_ratio": "delta_p_deg", "jerk_ratio": "jerk", "bas_ratio": "bas"}
BAS_SIGMA_FRAMES = 3.0
BEAT_MIN_PROMINENCE = 2.0  # deg/s
BEAT_REL_PROMINENCE = 0.25
BEAT_MIN_DISTANCE = 3  # frames


# --------------------------------------------------------------------------- pure functions
def pose_std_deg(angles: np.ndarray) -> np.ndarray:
    """``[T, 3]`` radians → ``[3]`` per-axis standard deviation in degrees (population std)."""
    return np.degrees(np.asarray(angles, dtype=np.float64)).std(axis=0)


def angular_speed_deg_s(angles: np.ndarray, fps: float) -> float:
    """Mean geodesic angular speed (deg/s) of a ``[T, 3]`` radian track."""
    from evaluation.extractors.pose import angular_speed

    v = angular_speed(angles, fps)
    return float(v.mean()) if v.size else float("nan")


def delta_p_deg(angles: np.ndarray) -> float:
    """ΔP: mean absolute angle change between adjacent frames (deg), over frames and axes."""
    a = np.degrees(np.asarray(angles, dtype=np.float64))
    return float(np.abs(np.diff(a, axis=0)).mean()) if len(a) > 1 else float("nan")


def jerk(angles: np.ndarray, fps: float, window: int = 7) -> float:
    """Mean norm of d³θ/dt³ (deg/s³), Savitzky–Golay estimate (cubic, ``window`` frames)."""
    from scipy.signal import savgol_filter

    a = np.degrees(np.asarray(angles, dtype=np.float64))
    if len(a) < window:
        return float("nan")
    d3 = savgol_filter(a, window, 3, deriv=3, delta=1.0 / fps, axis=0, mode="interp")
    return float(np.linalg.norm(d3, axis=1).mean())


def motion_beats(angles: np.ndarray, fps: float) -> np.ndarray:
    """Head-motion beats: frames of prominent peaks of the (smoothed) angular speed."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    from evaluation.extractors.pose import angular_speed

    v = angular_speed(angles, fps)
    if v.size < 3:
        return np.zeros(0, dtype=int)
    v = gaussian_filter1d(v, 1.0, mode="nearest")
    prominence = max(BEAT_MIN_PROMINENCE, BEAT_REL_PROMINENCE * float(v.std()))
    peaks, _ = find_peaks(v, prominence=prominence, distance=BEAT_MIN_DISTANCE)
    # speed sample i lies between frames i and i+1; report the later frame
    return peaks + 1


def beat_align_score(motion: np.ndarray, reference: np.ndarray, sigma: float = BAS_SIGMA_FRAMES) -> float:
    """``mean_i exp(−min_j (t_i − r_j)² / (2σ²))`` over motion beats ``t_i`` (frames); NaN when
    either list is empty."""
    m = np.asarray(motion, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if m.size == 0 or r.size == 0:
        return float("nan")
    d = np.abs(m[:, None] - r[None, :]).min(axis=1)
    return float(np.exp(-(d ** 2) / (2.0 * sigma ** 2)).mean())


def measure(angles: np.ndarray, fps: float) -> dict[str, float]:
    """All angle-only measurements of one track."""
    std = pose_std_deg(angles)
    return {"pose_std_yaw_deg": float(std[0]), "pose_std_pitch_deg": float(std[1]), "pose_std_roll_deg": float(std[2]),
            "pose_std_deg": float(std.mean()), "angular_speed_deg_s": angular_speed_deg_s(angles, fps),
            "delta_p_deg": delta_p_deg(angles), "jerk": jerk(angles, fps)}


# --------------------------------------------------------------------------- family entry point
def _bas(angles: np.ndarray, samples: np.ndarray, sample_rate: int, fps: float, sigma: float) -> tuple[float, dict, str]:
    from evaluation.extractors.audio import onset_frames

    beats = motion_beats(angles, fps)
    onsets = onset_frames(samples, sample_rate, fps, n_frames=len(angles))
    details = {"n_motion_beats": int(beats.size), "n_speech_onsets": int(onsets.size), "sigma_frames": sigma}
    if beats.size == 0:
        return float("nan"), details, "the head makes no motion beat (angular-speed peak) in this clip"
    if onsets.size == 0:
        return float("nan"), details, "no speech onset found in the audio"
    return beat_align_score(beats, onsets, sigma), details, ""


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """Compute the requested head-motion metrics for ``ctx`` (an :class:`~evaluation.scoring.EvalContext`)."""
    fps = ctx.config.fps
    sigma = ctx.config.bas_sigma_frames
    face = ctx.face("video")
    angles = layout.rotation(face.pose)
    values = measure(angles, fps)
    out: dict[str, MetricValue] = {}
    details = {"n_frames": len(angles)}
    if "bas" in names or "bas_ratio" in names:
        speech = ctx.speech()
        bas, bas_details, reason = _bas(angles, speech.samples, speech.sample_rate, fps, sigma)
        values["bas"] = bas
        if reason:
            out["bas"] = MetricValue.unavailable("bas", reason, **bas_details)
        else:
            out["bas"] = MetricValue.ok("bas", bas, **bas_details)
    for name in names:
        if name in values and name not in out:
            out[name] = MetricValue.ok(name, values[name], **details)
    ratio_names = [n for n in names if n in RATIO_OF]
    if ratio_names:
        real = ctx.face("footage")
        real_angles = layout.rotation(real.pose)
        real_values = measure(real_angles, fps)
        if "bas_ratio" in ratio_names:
            from facial import media

            footage_audio = media.load_audio(ctx.inputs.footage)
            real_values["bas"] = _bas(real_angles, footage_audio.samples, footage_audio.sample_rate, fps, sigma)[0]
        for name in ratio_names:
            base = RATIO_OF[name]
            num, den = values.get(base, float("nan")), real_values.get(base, float("nan"))
            if not np.isfinite(num):
                out[name] = MetricValue.unavailable(name, f"{base} is not available for the clip")
            elif not np.isfinite(den) or abs(den) < 1e-9:
                out[name] = MetricValue.unavailable(name, f"{base} of the real footage is zero or unavailable")
            else:
                out[name] = MetricValue.ok(name, num / den, clip=num, real=den)
    return out
