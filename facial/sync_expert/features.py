"""What the lip-sync expert sees: lip shapes or mouth crops per video frame, log-mel audio, and
the 5-frame windows cut from them.

Per clip, on the 25 fps grid (every clip is resampled by ffmpeg's ``fps`` filter first):

- **lip shapes** ``[T, 40, 3]``: the 40 FaceMesh lip points (:data:`facial.speaker.face_model.MOUTH`)
  in the speaker's canonical frame — the rigid similarity fit of
  :func:`facial.speaker.track.fit_sequence` removes head rotation, translation and scale — minus
  the clip's median lip shape (removes the identity). The same displacements are what FACIAL-GAN's
  expression basis produces at the mouth (``FacialGAN.mouth_basis``), so the landmark expert can
  judge generated parameters directly.
- **mouth crops** ``[T, S, S]`` uint8 grayscale: a square centred ``crop_down`` inter-ocular
  distances below the base of the nose, rotated with the eye line, ``crop_iod`` inter-ocular
  distances wide (plus the jitter margin); the geometry is smoothed over 5 frames so that lip
  motion, not tracking jitter, changes the pixels.
- **log-mel** ``[S, 80]``: :class:`facial.audio.features.LogMelEncoder` (10 ms hop, normalised per
  utterance); ``mel_per_frame`` = 4 steps per video frame at 25 fps and 16 kHz.

Window ``t`` covers video frames ``t … t+W-1``; its audio at shift ``s`` covers the mel steps of
frames ``t+s … t+s+W-1``. A shift ``s > 0`` pairs the lips with *later* audio — the pairing that
matches when the audio track is late by ``s`` frames.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facial.speaker import face_model as fm
from facial.sync_expert.config import SyncExpertConfig

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = 1
MAX_SIDE = 720          # tracking and cropping run on a copy downscaled to at most this size
NOSE_BASE = 2           # FaceMesh point under the nose tip (stable while speaking)
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = fm.RIGHT_EYE_CORNERS[0], fm.LEFT_EYE_CORNERS[0]
LIP_POINTS = fm.MOUTH   # 40 points: outer then inner lip contour


# --------------------------------------------------------------------------- visual inputs
def lip_shapes(landmarks: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """``[T, 478, 3]`` FaceMesh landmarks (pixels) → ``[T, 40, 3]`` canonical lip displacements.

    The identity shape is estimated from the clip itself (:func:`facial.speaker.track.estimate_identity`),
    each frame is mapped into it by a rigid similarity fit, and the clip's median lip shape is
    subtracted.
    """
    from facial.speaker.track import estimate_identity

    lm = np.asarray(landmarks, dtype=np.float32)
    valid = np.ones(len(lm), bool) if valid is None else np.asarray(valid, bool)
    if len(lm) == 0:
        return np.zeros((0, len(LIP_POINTS), 3), np.float32)
    identity = estimate_identity(lm, valid if valid.any() else np.ones(len(lm), bool))
    lips = np.stack([fm.fit_pose(identity, frame)[1][LIP_POINTS] for frame in lm])
    return (lips - np.median(lips[valid] if valid.any() else lips, axis=0)).astype(np.float32)


LIP_RMS_REF = 0.03      # "clip" normalisation: every clip's lip displacements get this RMS (canonical units) ...
LIP_RMS_FLOOR = 0.003   # ... with the gain capped at LIP_RMS_REF / LIP_RMS_FLOOR


def lip_gain(lips: np.ndarray, config: SyncExpertConfig, valid: np.ndarray | None = None) -> float:
    """Factor applied to a clip's lip displacements before the network (1 unless ``lip_norm == "clip"``)."""
    if config.lip_norm != "clip" or len(lips) == 0:
        return 1.0
    x = np.asarray(lips, np.float64)
    if valid is not None and np.asarray(valid).any() and len(valid) == len(x):
        x = x[np.asarray(valid, bool)]
    rms = float(np.sqrt(np.mean(x ** 2)))
    return LIP_RMS_REF / max(rms, LIP_RMS_FLOOR)


def lips_from_expression(expression_displacement: np.ndarray) -> np.ndarray:
    """``[T, 40, 3]`` canonical mouth displacements (e.g. ``expression @ FacialGAN.mouth_basis``) →
    expert input: minus their median over the clip (works on numpy arrays and torch tensors)."""
    x = expression_displacement
    if hasattr(x, "median"):  # torch
        return x - x.median(dim=-3, keepdim=True).values
    return (x - np.median(x, axis=0)).astype(np.float32)


def _smooth(x: np.ndarray, window: int = 5) -> np.ndarray:
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(np.asarray(x, np.float64), window, axis=0, mode="nearest") if len(x) > 1 else np.asarray(x, np.float64)


def crop_transforms(landmarks: np.ndarray, config: SyncExpertConfig, scale: float = 1.0) -> np.ndarray:
    """``[T, 2, 3]`` affine maps from frame pixels to the stored mouth crop (see the module docstring).

    ``scale`` multiplies the landmark coordinates first (landmarks in the clip's pixels, frames
    decoded at a smaller size).
    """
    lm = np.asarray(landmarks, dtype=np.float64)[:, :, :2] * scale
    right, left = lm[:, RIGHT_EYE_OUTER], lm[:, LEFT_EYE_OUTER]
    eye = left - right
    iod = _smooth(np.linalg.norm(eye, axis=1))
    angle = _smooth(np.unwrap(np.arctan2(eye[:, 1], eye[:, 0])))
    cos, sin = np.cos(angle), np.sin(angle)
    down = np.stack([-sin, cos], 1)  # the face's own "down" in image coordinates
    centre = _smooth(lm[:, NOSE_BASE]) + config.crop_down * iod[:, None] * down
    k = config.crop_size / np.maximum(config.crop_iod * iod, 1e-6)  # crop pixels per frame pixel
    m = np.zeros((len(lm), 2, 3))
    m[:, 0, 0], m[:, 0, 1] = k * cos, k * sin
    m[:, 1, 0], m[:, 1, 1] = -k * sin, k * cos
    half = config.stored_crop / 2.0
    m[:, :, 2] = half - np.einsum("tij,tj->ti", m[:, :, :2], centre)
    return m.astype(np.float32)


def mouth_crops(frames, transforms: np.ndarray, size: int) -> np.ndarray:
    """Grayscale ``[T, size, size]`` uint8 crops of ``frames`` (an iterable of ``[n, H, W, 3]`` RGB
    chunks or ``[H, W, 3]`` frames) under ``transforms [T, 2, 3]``; frames past ``T`` are ignored,
    missing ones are black."""
    import cv2

    out = np.zeros((len(transforms), size, size), np.uint8)
    t = 0
    for chunk in frames:
        chunk = chunk[None] if chunk.ndim == 3 else chunk
        for frame in chunk:
            if t >= len(transforms):
                return out
            gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
            out[t] = cv2.warpAffine(gray, transforms[t].astype(np.float64), (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            t += 1
    if t < len(transforms):
        log.debug("only %d of %d frames decoded for the mouth crops", t, len(transforms))
    return out


# --------------------------------------------------------------------------- audio
def log_mel(samples: np.ndarray, sample_rate: int, config: SyncExpertConfig) -> np.ndarray:
    """``[S, n_mels]`` normalised log-mel steps (10 ms) of mono speech (resampled to 16 kHz)."""
    from facial.audio.features import LogMelEncoder
    from facial.types import AudioClip

    enc = LogMelEncoder(sample_rate=config.sample_rate, n_mels=config.n_mels)
    samples = np.asarray(samples, np.float32).ravel()
    if samples.size < 2:
        return np.zeros((0, config.n_mels), np.float32)
    return enc.spectrogram(AudioClip(samples, sample_rate))


def audio_frames(n_mel: int, config: SyncExpertConfig) -> int:
    """Video frames that have all their mel steps in a spectrogram of ``n_mel`` steps."""
    return max(0, n_mel // config.mel_per_frame)


# --------------------------------------------------------------------------- windows
def video_windows(x: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """``x [T, ...]`` → ``[N, window, ...]`` for windows starting at ``starts``."""
    idx = np.asarray(starts)[:, None] + np.arange(window)[None]
    return x[idx]


def audio_windows(mel: np.ndarray, frame_starts: np.ndarray, config: SyncExpertConfig) -> np.ndarray:
    """``mel [S, D]`` → ``[N, window·mel_per_frame, D]`` for audio windows starting at video frames ``frame_starts``."""
    idx = np.asarray(frame_starts)[:, None] * config.mel_per_frame + np.arange(config.mel_window)[None]
    return mel[idx]


@dataclass
class ClipInputs:
    """One clip's expert inputs on the 25 fps grid: ``lips [T, 40, 3]`` (landmark expert),
    ``crops [T, S, S]`` uint8 or None (pixel expert), ``mel [S_mel, n_mels]``."""

    lips: np.ndarray | None
    crops: np.ndarray | None
    mel: np.ndarray
    fps: float = 25.0

    @property
    def n_frames(self) -> int:
        return len(self.lips) if self.lips is not None else len(self.crops)

    def visual(self, kind: str) -> np.ndarray:
        x = self.lips if kind == "landmarks" else self.crops
        if x is None:
            raise ValueError(f"these clip inputs have no {kind}")
        return x


# --------------------------------------------------------------------------- whole clips (cached)
def cache_key(video: Path, config: SyncExpertConfig, max_seconds: float | None = None) -> str:
    """Cache entry name of a clip's tracked inputs: content hash + everything that shapes them."""
    from facial import hashing

    params = {"v": EXTRACTOR_VERSION, "fps": config.fps, "max_side": MAX_SIDE, "crop": [config.stored_crop, config.crop_size,
              config.crop_iod, config.crop_down], "max_seconds": max_seconds}
    return f"{hashing.sha256_file(video)[:24]}-{hashing.sha256_json(params, length=10)}"


def default_cache_dir() -> Path:
    """``<facial cache>/sync_expert`` (:func:`facial.cache.cache_root`)."""
    from facial.cache import cache_root

    return cache_root() / "sync_expert"


def extract_visual(video: str | Path, config: SyncExpertConfig, *, cache_dir: str | Path | None = None,
                   max_seconds: float | None = None, progress: bool = False) -> dict[str, np.ndarray]:
    """Track ``video`` (FaceMesh, 25 fps, ≤ 720 px) and cut its lip shapes and mouth crops.

    Returns ``{"landmarks", "valid", "lips", "crops"}``; cached as ``<cache_dir>/<key>.npz``
    (written atomically; ``cache_dir=None`` → :func:`default_cache_dir`). Raises
    :class:`facial.speaker.landmarks.FaceTrackingError` for clips without a usable face.
    """
    from facial import atomic, media
    from facial.speaker.landmarks import track_frames

    video = Path(video)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / f"{cache_key(video, config, max_seconds)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception as exc:  # a corrupt entry is recomputed
            log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
    info = media.probe(video)
    n_total = int(round(info.duration * config.fps)) if info.duration else None
    chunks = media.iter_video(video, config.fps, max_side=MAX_SIDE, duration=max_seconds)
    track = track_frames(chunks, config.fps, n_total=n_total, progress=progress, source=video.name)
    transforms = crop_transforms(track.landmarks, config)
    crops = mouth_crops(media.iter_video(video, config.fps, max_side=MAX_SIDE, duration=max_seconds), transforms,
                        config.stored_crop)
    out = {"landmarks": track.landmarks.astype(np.float32), "valid": track.valid.astype(bool),
           "lips": lip_shapes(track.landmarks, track.valid), "crops": crops}
    root.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **out)
    return out


def load_speech(video: str | Path, max_seconds: float | None = None):
    """The clip's speech, 16 kHz mono :class:`facial.types.AudioClip`."""
    from facial import media

    return media.load_audio(video, head_seconds=max_seconds)


def clip_inputs(video: str | Path, config: SyncExpertConfig, *, audio: str | Path | None = None,
                cache_dir: str | Path | None = None, max_seconds: float | None = None, progress: bool = False) -> ClipInputs:
    """:class:`ClipInputs` of a video file (its own audio track, or ``audio``); tracked inputs cached."""
    vis = extract_visual(video, config, cache_dir=cache_dir, max_seconds=max_seconds, progress=progress)
    speech = load_speech(audio if audio is not None else video, max_seconds)
    crops = vis["crops"]
    m = config.crop_margin
    return ClipInputs(vis["lips"], crops[:, m:m + config.crop_size, m:m + config.crop_size] if m else crops,
                      log_mel(speech.samples, speech.sample_rate, config), config.fps)
