"""Render study stimuli: A | B side by side, or A then B, one size and duration, normalised audio.

Every stimulus is an H.264/yuv420p mp4 written through :func:`facial.media.write_video` (so it
appears only when complete) with AAC audio whose loudness is normalised in numpy
(:func:`normalize_loudness`, gated RMS to ``target_dbfs`` with a peak ceiling). Panels are
letterboxed to one size; a label bar above each panel shows only "A" or "B".

Attention checks shift one side's *video* by ``offset_s`` against the (shared) audio, so that
side is visibly out of sync.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from facial.media import MediaError, load_audio, probe, read_video, write_video
from facial.types import AudioClip
from user_study.design import PlannedTrial
from user_study.types import StudyError

log = logging.getLogger(__name__)

LABEL_BAR = 32
PANEL_GAP = 8
CARD_S = 0.5
BG = (24, 24, 24)


@dataclass(frozen=True)
class RenderSpec:
    """How stimuli are rendered: frame rate, per-panel size, duration of each clip, layout, loudness."""

    fps: float = 25.0
    width: int = 256
    height: int = 256
    duration_s: float = 3.0
    layout: str = "side_by_side"
    target_dbfs: float = -23.0
    peak_dbfs: float = -1.0

    @property
    def n_frames(self) -> int:
        return max(1, int(round(self.duration_s * self.fps)))

    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the rendered video."""
        if self.layout == "side_by_side":
            return 2 * self.width + PANEL_GAP, self.height + LABEL_BAR
        return self.width, self.height + LABEL_BAR

    def stimulus_duration(self) -> float:
        """Length in seconds of one rendered stimulus (A/B sequential has two title cards)."""
        n = self.n_frames
        if self.layout == "sequential":
            return (2 * n + 2 * self.card_frames) / self.fps
        return n / self.fps

    @property
    def card_frames(self) -> int:
        return max(1, int(round(CARD_S * self.fps)))


# --------------------------------------------------------------------------- audio
def speech_level_dbfs(samples: np.ndarray, sample_rate: int = 16000) -> float:
    """Gated RMS level (dBFS) of speech: 50 ms blocks, absolute gate −70 dBFS, relative gate −10 dB.

    A simplified form of the ITU-R BS.1770 gating, without K-weighting. ``-inf`` for silence.
    """
    x = np.asarray(samples, dtype=np.float64)
    block = max(1, int(0.05 * sample_rate))
    n = len(x) // block
    if n == 0:
        power = np.array([np.mean(x * x)]) if len(x) else np.array([0.0])
    else:
        power = np.mean(x[: n * block].reshape(n, block) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(np.maximum(power, 1e-20))
    gated = power[level > -70.0]
    if gated.size == 0:
        return float("-inf")
    rel = 10 * np.log10(np.mean(gated)) - 10.0
    kept = power[(level > -70.0) & (level > rel)]
    return float(10 * np.log10(np.mean(kept)))


def normalize_loudness(samples: np.ndarray, sample_rate: int = 16000, *, target_dbfs: float = -23.0, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale speech to a gated RMS of ``target_dbfs``; lower the gain if the peak would pass ``peak_dbfs``.

    Silence is returned unchanged. Returns float32.
    """
    x = np.asarray(samples, dtype=np.float32)
    level = speech_level_dbfs(x, sample_rate)
    if not np.isfinite(level):
        log.warning("audio is silent; loudness left unchanged")
        return x.copy()
    gain = 10 ** ((target_dbfs - level) / 20.0)
    peak = float(np.max(np.abs(x))) * gain
    ceiling = 10 ** (peak_dbfs / 20.0)
    if peak > ceiling:
        log.info("peak limit: gain lowered by %.1f dB to keep peaks under %g dBFS", 20 * np.log10(peak / ceiling), peak_dbfs)
        gain *= ceiling / peak
    return (x * gain).astype(np.float32)


def _fit(samples: np.ndarray, n: int) -> np.ndarray:
    s = samples[:n]
    return np.pad(s, (0, n - len(s))) if len(s) < n else s


# --------------------------------------------------------------------------- frames
def letterbox(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize ``[n, H, W, 3]`` frames to fit ``width × height`` keeping the aspect ratio, padded with black."""
    import cv2

    n, h, w = frames.shape[:3]
    scale = min(width / w, height / h)
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((n, height, width, 3), dtype=np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    for i in range(n):
        out[i, y0:y0 + nh, x0:x0 + nw] = frames[i] if (nw, nh) == (w, h) else cv2.resize(frames[i], (nw, nh), interpolation=interp)
    return out


def _text_centered(img: np.ndarray, text: str, cx: int, cy: int, scale: float, thickness: int) -> None:
    import cv2

    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    cv2.putText(img, text, (int(cx - tw / 2), int(cy + th / 2)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def label_bar(width: int, labels: Sequence[tuple[str, int]]) -> np.ndarray:
    """A ``[LABEL_BAR, width, 3]`` dark bar with each ``(text, centre_x)`` label drawn in white."""
    bar = np.empty((LABEL_BAR, width, 3), dtype=np.uint8)
    bar[:] = BG
    for text, cx in labels:
        _text_centered(bar, text, cx, LABEL_BAR // 2, 0.8, 2)
    return bar


def title_card(width: int, height: int, text: str) -> np.ndarray:
    """A dark frame with ``text`` large in the middle (shown before each clip of a sequential trial)."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = BG
    _text_centered(img, text, width // 2, height // 2, max(1.0, height / 120), max(2, height // 80))
    return img


def load_panel(path: Path, spec: RenderSpec, *, shift_frames: int = 0) -> np.ndarray:
    """``spec.n_frames`` letterboxed frames of a clip at ``spec.fps``, optionally starting ``shift_frames`` later.

    When the clip is too short for the shift, the excerpt wraps around to the clip's start. A clip
    a frame or two short of the duration (rounding) repeats its last frame.
    """
    n = spec.n_frames
    try:
        video = read_video(path, spec.fps, max_frames=n + shift_frames)
    except MediaError as exc:
        raise StudyError(f"cannot read {path}: {exc}") from exc
    frames = video.frames
    if shift_frames:
        idx = (np.arange(n) + shift_frames) % len(frames)
        frames = frames[idx]
    if len(frames) < n:
        if n - len(frames) > 2:
            log.warning("%s has %d frames, fewer than the %d needed; its last frame is repeated", path, len(frames), n)
        frames = np.concatenate([frames, np.repeat(frames[-1:], n - len(frames), axis=0)])
    return letterbox(frames[:n], spec.width, spec.height)


def load_speech(path: Path, spec: RenderSpec) -> np.ndarray | None:
    """The clip's audio (16 kHz mono), fitted to the duration and loudness-normalised; None when it has none."""
    info = probe(path)
    if not info.has_audio:
        return None
    audio = load_audio(path)
    n = int(round(spec.n_frames / spec.fps * audio.sample_rate))
    return normalize_loudness(_fit(audio.samples, n), audio.sample_rate, target_dbfs=spec.target_dbfs, peak_dbfs=spec.peak_dbfs)


# --------------------------------------------------------------------------- trials
def _audio_for(clip_paths: Mapping[str, Path], preferred: Sequence[str], spec: RenderSpec, clip: str) -> np.ndarray:
    for m in preferred:
        a = load_speech(clip_paths[m], spec)
        if a is not None:
            return a
    raise StudyError(f"no method's version of clip {clip!r} has an audio track; a talking-face study needs the speech")


def render_trial(trial: PlannedTrial, clip_paths: Mapping[str, Path], out_path: Path, spec: RenderSpec, *, audio_from: Sequence[str]) -> Path:
    """Render one trial's stimulus to ``out_path`` (mp4). ``audio_from``: methods whose audio to prefer, in order."""
    check = trial.check or {}
    shift = int(round(float(check.get("offset_s", 0.0)) * spec.fps)) if check else 0
    shifted = check.get("shifted")
    sr = 16000
    if len(trial.methods) == 2 and spec.layout == "side_by_side":
        a = load_panel(clip_paths[trial.methods[0]], spec, shift_frames=shift if shifted == "A" else 0)
        b = load_panel(clip_paths[trial.methods[1]], spec, shift_frames=shift if shifted == "B" else 0)
        gap = np.empty((spec.n_frames, spec.height, PANEL_GAP, 3), dtype=np.uint8)
        gap[:] = BG
        body = np.concatenate([a, gap, b], axis=2)
        bar = label_bar(body.shape[2], [("A", spec.width // 2), ("B", spec.width + PANEL_GAP + spec.width // 2)])
        frames = np.concatenate([np.broadcast_to(bar, (len(body),) + bar.shape), body], axis=1)
        audio = _audio_for(clip_paths, list(audio_from), spec, trial.clip)
    elif len(trial.methods) == 2:  # sequential: card A, clip A, card B, clip B
        parts, sounds = [], []
        silence = np.zeros(int(round(spec.card_frames / spec.fps * sr)), dtype=np.float32)
        for label, method in zip("AB", trial.methods):
            panel = load_panel(clip_paths[method], spec, shift_frames=shift if shifted == label else 0)
            bar = label_bar(spec.width, [(label, spec.width // 2)])
            card = title_card(spec.width, spec.height + LABEL_BAR, label)
            parts += [np.repeat(card[None], spec.card_frames, axis=0),
                      np.concatenate([np.broadcast_to(bar, (len(panel),) + bar.shape), panel], axis=1)]
            own = load_speech(clip_paths[method], spec)
            sounds += [silence, own if own is not None else _audio_for(clip_paths, list(audio_from), spec, trial.clip)]
        frames = np.concatenate(parts)
        audio = np.concatenate(sounds)
    else:
        method = trial.methods[0]
        panel = load_panel(clip_paths[method], spec, shift_frames=shift if shifted == "single" else 0)
        bar = label_bar(spec.width, [])
        frames = np.concatenate([np.broadcast_to(bar, (len(panel),) + bar.shape), panel], axis=1)
        own = load_speech(clip_paths[method], spec)
        audio = own if own is not None else _audio_for(clip_paths, list(audio_from), spec, trial.clip)
    frames = np.ascontiguousarray(frames)
    try:
        return write_video(out_path, [frames], spec.fps, audio=AudioClip(audio.astype(np.float32), sr))
    except MediaError as exc:
        raise StudyError(f"could not write stimulus {out_path.name}: {exc}") from exc
