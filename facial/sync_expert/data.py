"""Training data of the lip-sync expert: which clips, the speaker-disjoint split, the cached
per-clip inputs, augmentation and contrastive batches.

```
MANIFEST.csv ─► read_manifest() ─► [ClipEntry] ─► split_by_person() ─► train / validation persons
ClipEntry ─► load_clip() ─► TrainClip (lips, crops, log-mel variants: clean + gain/noise)
[TrainClip] ─► sample_batch() ─► video windows + audio windows at shifts 0, ±2…±15 (same clip)
```
A batch holds ``B`` anchors (clip, start frame). Each anchor's candidates are its own audio at
shift 0 (the positive), the same clip's audio at shifts ±2 … ±15 frames (shifts ±1 overlap the
positive by 4 of 5 frames and are left out), and the in-sync audio of the other anchors (other
clips). Only real/likely-real footage is used; ``person`` keeps a speaker's clips on one side.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from facial.sync_expert import features as feat
from facial.sync_expert.config import SyncExpertConfig

log = logging.getLogger(__name__)

DEFAULT_ORIGINS = ("real", "likely_real")
NEG_MIN_SHIFT = 2
#: Left-right mirror of the 40 lip points: each 20-point contour starts at a mouth corner, runs along
#: the upper lip to the other corner (index 10) and back along the lower lip, so i ↔ (10 − i) mod 20.
MIRROR = np.concatenate([(10 - np.arange(20)) % 20, 20 + (10 - np.arange(20)) % 20])


@dataclass
class ClipEntry:
    id: str
    path: Path
    person: str


def read_manifest(manifest: str | Path, origins: Sequence[str] = DEFAULT_ORIGINS) -> list[ClipEntry]:
    """``talking_video`` rows of ``origins`` (paths relative to the manifest's folder)."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: no such manifest (give ../shared/data/MANIFEST.csv or a CSV with id,path,kind,person,origin)")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        if r.get("kind") != "talking_video" or r.get("origin") not in set(origins):
            continue
        person = (r.get("person") or r["id"]).split(":")[0].strip() or r["id"]
        out.append(ClipEntry(r["id"], manifest.parent / r["path"], person))
    if not out:
        raise ValueError(f"{manifest}: no talking_video rows with origin in {list(origins)}")
    return out


def split_by_person(entries: Sequence[ClipEntry], val_persons: Sequence[str] | None = None,
                    val_fraction: float = 0.25) -> tuple[list[ClipEntry], list[ClipEntry], list[str]]:
    """Speaker-disjoint split: ``val_persons`` if given, else the first ``val_fraction`` of the
    persons in the order of the sha256 of their names (a fixed, data-independent draw)."""
    from facial.hashing import sha256_text

    persons = sorted({e.person for e in entries}, key=lambda p: sha256_text(p))
    if val_persons:
        unknown = sorted(set(val_persons) - set(persons))
        if unknown:
            raise ValueError(f"validation persons not in the data: {unknown}")
        chosen = sorted(val_persons)
    else:
        chosen = sorted(persons[: max(1, int(round(val_fraction * len(persons))))]) if val_fraction > 0 else []
    train = [e for e in entries if e.person not in chosen]
    val = [e for e in entries if e.person in chosen]
    return train, val, chosen


# --------------------------------------------------------------------------- clips in memory
@dataclass
class TrainClip:
    """A clip ready for sampling: ``lips [T, 40, 3]``, ``crops [T, S+2m, S+2m]`` uint8,
    ``mels``: log-mel variants (the clean one first), ``n_frames`` usable frames."""

    id: str
    person: str
    lips: np.ndarray
    crops: np.ndarray
    mels: list[np.ndarray]
    n_frames: int
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def audio_variants(samples: np.ndarray, sample_rate: int, config: SyncExpertConfig, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The clean log-mel and ``n`` augmented ones: random gain (×0.25–2) and white noise (SNR 5–30 dB
    with respect to the clip's RMS before the gain: a quieter take gets relatively more noise)."""
    out = [feat.log_mel(samples, sample_rate, config)]
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) or 1e-3
    for _ in range(n):
        gain = float(np.exp(rng.uniform(np.log(0.25), np.log(2.0))))
        snr = rng.uniform(5.0, 30.0)
        noise = rng.normal(0.0, rms * 10 ** (-snr / 20), size=samples.shape)
        out.append(feat.log_mel((gain * samples + noise).astype(np.float32), sample_rate, config))
    return out


def load_clip(entry: ClipEntry, config: SyncExpertConfig, *, cache_dir: str | Path | None = None, augment_audio: int = 0,
              rng: np.random.Generator | None = None, progress: bool = False) -> TrainClip | None:
    """Tracked inputs (cached) and audio of one clip; None when it has no usable face or audio."""
    from facial.media import MediaError
    from facial.speaker.landmarks import FaceTrackingError

    try:
        vis = feat.extract_visual(entry.path, config, cache_dir=cache_dir, progress=progress)
        speech = feat.load_speech(entry.path)
    except (FaceTrackingError, MediaError, ValueError) as exc:
        log.warning("skipping %s: %s", entry.id, exc)
        return None
    mels = audio_variants(speech.samples, speech.sample_rate, config, augment_audio, rng or np.random.default_rng(0))
    n = min(len(vis["lips"]), feat.audio_frames(len(mels[0]), config))
    if n < config.window + 2 * NEG_MIN_SHIFT + 1:
        log.warning("skipping %s: only %d frames", entry.id, n)
        return None
    return TrainClip(entry.id, entry.person, vis["lips"][:n], vis["crops"][:n], mels, n, vis["valid"][:n])


# --------------------------------------------------------------------------- augmentation
@dataclass
class AugmentConfig:
    """Augmentation of the visual windows (audio: :func:`audio_variants`)."""

    crop_jitter: bool = True         # random sub-crop inside the stored margin (same for the window, ±1 px per frame)
    brightness: float = 0.25         # multiplicative brightness ×(1 ± b) and additive ±b·40 grey levels
    contrast: float = 0.25
    flip: bool = True                # mirror the mouth (lips: negate x)
    lip_noise: float = 0.05          # Gaussian noise, in units of landmark_scale
    lip_scale: float = 0.15          # random global scale of the displacements ×(1 ± s)


def augment_pixels(windows: np.ndarray, config: SyncExpertConfig, aug: AugmentConfig | None, rng: np.random.Generator) -> np.ndarray:
    """``[B, W, S+2m, S+2m]`` uint8 → ``[B, W, S, S]`` float32 in about [-1, 1]."""
    b, w = windows.shape[:2]
    s, m = config.crop_size, config.crop_margin
    out = np.empty((b, w, s, s), np.float32)
    for i in range(b):
        if aug is not None and aug.crop_jitter and m > 0:
            dy, dx = rng.integers(0, 2 * m + 1, size=2)
            for j in range(w):
                jy = int(np.clip(dy + rng.integers(-1, 2), 0, 2 * m))
                jx = int(np.clip(dx + rng.integers(-1, 2), 0, 2 * m))
                out[i, j] = windows[i, j, jy:jy + s, jx:jx + s]
        else:
            out[i] = windows[i, :, m:m + s, m:m + s]
    out = out / 127.5 - 1.0
    if aug is not None:
        gain = 1.0 + rng.uniform(-aug.contrast, aug.contrast, size=(b, 1, 1, 1))
        shift = rng.uniform(-aug.brightness, aug.brightness, size=(b, 1, 1, 1)) * (40 / 127.5)
        mean = out.mean(axis=(1, 2, 3), keepdims=True)
        out = (out - mean) * gain + mean * (1.0 + rng.uniform(-aug.brightness, aug.brightness, size=(b, 1, 1, 1))) + shift
        if aug.flip:
            flip = rng.random(b) < 0.5
            out[flip] = out[flip][..., ::-1]
    return out.astype(np.float32)


def normalise_lips(windows: np.ndarray, config: SyncExpertConfig) -> np.ndarray:
    return (np.asarray(windows, np.float32) / config.landmark_scale).astype(np.float32)


def augment_lips(windows: np.ndarray, config: SyncExpertConfig, aug: AugmentConfig | None, rng: np.random.Generator) -> np.ndarray:
    """``[B, W, 40, 3]`` canonical displacements → network units (÷ ``landmark_scale``), augmented."""
    x = normalise_lips(windows, config)
    if aug is None:
        return x
    b = len(x)
    x = x * (1.0 + rng.uniform(-aug.lip_scale, aug.lip_scale, size=(b, 1, 1, 1))).astype(np.float32)
    x = x + rng.normal(0.0, aug.lip_noise, size=x.shape).astype(np.float32)
    if aug.flip:
        flip = rng.random(b) < 0.5
        x[flip] = x[flip][:, :, MIRROR]
        x[flip, ..., 0] *= -1.0  # mirrored face: points swap sides and x changes sign
    return x


# --------------------------------------------------------------------------- batches
def candidate_shifts(vshift: int) -> np.ndarray:
    """Shifts of one anchor's candidates: 0 first (the positive), then ±2 … ±vshift."""
    neg = [s for s in range(-vshift, vshift + 1) if abs(s) >= NEG_MIN_SHIFT]
    return np.array([0] + neg)


@dataclass
class Batch:
    """``visual [B, W, ...]`` (network units), ``audio [B, C, L, D]`` (candidate audio windows; column 0
    is the positive, then same-clip shifts), ``mask [B, C]`` (valid candidates), ``clip [B]`` (clip index)."""

    visual: np.ndarray
    audio: np.ndarray
    mask: np.ndarray
    clip: np.ndarray
    shifts: np.ndarray


def sample_batch(clips: Sequence[TrainClip], config: SyncExpertConfig, batch_size: int, rng: np.random.Generator,
                 aug: AugmentConfig | None = None, vshift: int | None = None) -> Batch:
    """Random anchors (clips weighted by their number of windows) with their candidate audio."""
    vshift = config.vshift if vshift is None else vshift
    shifts = candidate_shifts(vshift)
    w = config.window
    sizes = np.array([c.n_frames - w + 1 for c in clips], float)
    which = rng.choice(len(clips), size=batch_size, p=sizes / sizes.sum())
    vis, aud, mask = [], [], []
    for ci in which:
        c = clips[ci]
        t = int(rng.integers(0, c.n_frames - w + 1))
        mel = c.mels[int(rng.integers(0, len(c.mels)))] if aug is not None else c.mels[0]
        starts = t + shifts
        ok = (starts >= 0) & (starts + w <= c.n_frames)
        safe = np.clip(starts, 0, c.n_frames - w)
        aw = feat.audio_windows(mel, safe, config)
        if aug is not None:  # sub-frame jitter: ±1 mel step (10 ms) for the whole anchor
            j = int(rng.integers(-1, 2))
            idx = np.clip(safe[:, None] * config.mel_per_frame + j + np.arange(config.mel_window)[None], 0, len(mel) - 1)
            aw = mel[idx]
        aud.append(aw)
        mask.append(ok)
        src = c.lips if config.visual_input == "landmarks" else c.crops
        vis.append(src[t:t + w])
    vis_arr = np.stack(vis)
    if config.visual_input == "landmarks":
        visual = augment_lips(vis_arr, config, aug, rng)
    else:
        visual = augment_pixels(vis_arr, config, aug, rng)
    return Batch(visual, np.stack(aud).astype(np.float32), np.stack(mask), which, shifts)
