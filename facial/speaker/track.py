"""Stage (0): a target clip → :class:`~facial.types.SpeakerProfile`.

landmarks (FaceMesh) → identity (mean canonical shape) → per-frame similarity fit (pose) →
canonical residual → expression coefficients (shared PCA basis, eyes excluded) and blink
(lid aperture, normalised per speaker) → statistics.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from facial import media
from facial.speaker import blink as blink_mod
from facial.speaker import face_model as fm
from facial.speaker.landmarks import LandmarkTrack, track_landmarks
from facial.types import FaceParams, SpeakerProfile

log = logging.getLogger(__name__)

IDENTITY_ITERATIONS = 2


def estimate_identity(landmarks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean shape of the speaker in the canonical frame (generalised Procrustes, eyes open frames)."""
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        raise ValueError("no valid frames to estimate the identity shape from")
    sample = idx[np.linspace(0, len(idx) - 1, min(len(idx), 400)).astype(int)]
    ref = fm.canonical_frame(landmarks[sample[0]])
    for _ in range(IDENTITY_ITERATIONS):
        aligned = np.stack([fm.fit_pose(ref, landmarks[t])[1] for t in sample])
        ref = fm.canonical_frame(np.median(aligned, axis=0))
    return ref


def fit_sequence(landmarks: np.ndarray, identity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame pose ``[T, 6]`` and canonical residual ``[T, 478, 3]`` (observed − identity)."""
    poses, residuals = [], []
    for lm in landmarks:
        pose, canonical = fm.fit_pose(identity, lm)
        poses.append(pose)
        residuals.append(canonical - identity)
    return np.stack(poses), np.stack(residuals).astype(np.float32)


def estimate_blink_shape(residual: np.ndarray, blink: np.ndarray, identity: np.ndarray, min_energy: float = 2.0) -> np.ndarray:
    """Least-squares canonical displacement of a full blink over the eye region; geometric default when the clip has too few blinks."""
    b = blink.astype(np.float64)
    energy = float((b ** 2).sum())
    if energy < min_energy:
        return fm.default_blink_shape(identity)
    shape = np.zeros_like(identity, dtype=np.float32)
    eye = fm.EYE_REGION
    centred = residual[:, eye] - residual[:, eye].mean(0)
    shape[eye] = np.einsum("t,tnc->nc", b - b.mean(), centred) / max(float(((b - b.mean()) ** 2).sum()), 1e-6)
    return shape


def profile_from_landmarks(track: LandmarkTrack, basis: fm.ExpressionBasis, *, video: Path | None = None, source_hash: str = "") -> SpeakerProfile:
    """Fit the face model to a landmark track."""
    identity = estimate_identity(track.landmarks, track.valid)
    pose, residual = fit_sequence(track.landmarks, identity)
    aperture = blink_mod.eye_aperture(track.landmarks)
    calibration = blink_mod.blink_calibration(aperture[track.valid])
    blink = blink_mod.normalize_blink(aperture, calibration)
    blink_shape = estimate_blink_shape(residual, blink, identity)
    expr_residual = residual.copy()
    expr_residual[:, fm.EYE_REGION] = 0.0
    expression = basis.project(expr_residual)
    params = FaceParams(pose, expression, blink, track.fps)
    stats = speaker_stats(params, track, calibration)
    return SpeakerProfile(params=params, landmarks=track.landmarks, valid=track.valid, identity=identity,
                          blink_shape=blink_shape, size=track.size, fps=track.fps, video=video,
                          source_hash=source_hash, basis_id=basis.basis_id, stats=stats)


def speaker_stats(params: FaceParams, track: LandmarkTrack, calibration: tuple[float, float]) -> dict:
    """JSON-ready summary: pose mean/std, blink rate and events, mouth opening, tracking notes."""
    events = blink_mod.detect_blinks(params.blink, params.fps)
    minutes = len(params) / params.fps / 60
    mouth = fm.mouth_opening(track.landmarks)
    return {
        "n_frames": len(params),
        "duration_s": round(len(params) / params.fps, 3),
        "valid_fraction": round(track.valid_fraction, 4),
        "pose_mean": params.pose.mean(0).round(6).tolist(),
        "pose_std": params.pose.std(0).round(6).tolist(),
        "expression_std": params.expression.std(0).round(6).tolist(),
        "blink_calibration": {"open": round(calibration[0], 5), "closed": round(calibration[1], 5)},
        "blink_events": [list(map(int, e)) for e in events],
        "blink_rate_per_min": round(len(events) / minutes, 3) if minutes > 0 else None,
        "mouth_opening_mean": round(float(mouth.mean()), 5),
        "mouth_opening_std": round(float(mouth.std()), 5),
        "notes": track.notes,
    }


#: x264 preset of a profile's ``frames.mp4`` written while tracking: the fastest to encode and to
#: decode (it is a cache, decoded for every render); at CRF 18 its frames look the same, the file is larger.
FRAMES_PRESET = "ultrafast"


def track_clip(video: str | Path, *, fps: float = media.DEFAULT_FPS, basis: fm.ExpressionBasis | None = None,
               progress: bool = True, max_side: int | None = 720, min_valid: float = 0.8, max_seconds: float | None = None,
               limit_hint: str = "", frames_to: str | Path | None = None) -> SpeakerProfile:
    """Track a clip (or a photo) into a :class:`SpeakerProfile` (in memory; see :mod:`facial.speaker.profile` to save).

    ``max_seconds``: longer clips are refused while decoding (``limit_hint`` names the setting).
    ``frames_to``: also encode the tracked frames (with the clip's audio) into this mp4 while
    tracking — a profile folder's ``frames.mp4`` without decoding the clip a second time (save the
    profile into that folder with ``save_profile(..., copy_frames=False)``)."""
    video = Path(video)
    basis = basis or fm.ExpressionBasis.from_pretrained()
    writer = (media.BackgroundWriter(frames_to, fps, audio_from=None if media.is_image(video) else video, preset=FRAMES_PRESET)
              if frames_to else None)
    try:
        track = track_landmarks(video, fps, progress=progress, max_side=max_side, min_valid=min_valid, max_seconds=max_seconds,
                                limit_hint=limit_hint, tee=writer.write if writer is not None else None)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    profile = profile_from_landmarks(track, basis, video=video, source_hash=media.file_hash(video))
    log.info("tracked %s: %d frames, %.0f%% with a face, blink rate %.1f/min", video.name, len(profile),
             100 * track.valid_fraction, profile.stats.get("blink_rate_per_min") or 0.0)
    return profile


def track_to_dir(video: str | Path, directory: str | Path, *, fps: float = media.DEFAULT_FPS, basis: fm.ExpressionBasis | None = None,
                 progress: bool = True, overlay: bool = True, max_side: int | None = 720) -> SpeakerProfile:
    """Track ``video`` and write the profile directory (params, profile.json, frames.mp4, tracks.png, overlay.mp4)."""
    from facial.speaker.plots import plot_tracks, write_overlay
    from facial.speaker.profile import FRAMES_FILE, save_profile

    from facial.atomic import check_writable

    directory = Path(directory)
    video = Path(video)
    check_writable(directory, is_dir=True)  # before tracking: an unwritable folder fails now
    directory.mkdir(parents=True, exist_ok=True)
    profile = track_clip(video, fps=fps, basis=basis, progress=progress, max_side=max_side, frames_to=directory / FRAMES_FILE)
    save_profile(profile, directory, copy_frames=False)
    plot_tracks(profile.params, directory / "tracks.png", mouth=fm.mouth_opening(profile.landmarks), title=video.name)
    if overlay:
        write_overlay(video, profile.landmarks, profile.params, profile.valid, directory / "overlay.mp4", max_side=max_side)
    return profile
