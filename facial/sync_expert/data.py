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
    ``mels``: log-mel variants (the clean one first), ``n_frames`` frames with a face track,
    ``audio_offset``: frames by which the clip's own audio is late (estimated by cross-fitted
    experts, :func:`facial.sync_expert.train.realign`; 0 = taken as in sync)."""

    id: str
    person: str
    lips: np.ndarray
    crops: np.ndarray
    mels: list[np.ndarray]
    n_frames: int
    valid: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    audio_offset: int = 0
    mel_per_frame: int = 4
    lip_gain: float = 1.0

    @property
    def n_audio(self) -> int:
        """Video frames covered by the log-mel."""
        return len(self.mels[0]) // self.mel_per_frame if self.mels else 0


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
    n = len(vis["lips"])
    if min(n, feat.audio_frames(len(mels[0]), config)) < config.window + 2 * NEG_MIN_SHIFT + 1:
        log.warning("skipping %s: only %d frames", entry.id, n)
        return None
    return TrainClip(entry.id, entry.person, vis["lips"], vis["crops"], mels, n, vis["valid"], 0, config.mel_per_frame,
                     feat.lip_gain(vis["lips"], config, vis["valid"]))


# --------------------------------------------------------------------------- augmentation
@dataclass
class AugmentConfig:
    """Augmentation of the visual windows (audio: :func:`audio_variants`)."""

    crop_jitter: bool = True         # random sub-crop inside the stored margin (same for the window, ±1 px per frame)
    brightness: float = 0.25         # multiplicative brightness ×(1 ± b) and additive ±b·40 grey levels
    contrast: float = 0.25
    flip: bool = True                # mirror the mouth (lips: left and right points swap, x negated)
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
def window_starts(clip: TrainClip, window: int, run: int = 1) -> np.ndarray:
    """Start frames ``t`` such that windows ``t … t+run-1`` lie on frames with a tracked face and
    their in-sync audio (``t + audio_offset …``) lies inside the speech."""
    span = window + run - 1
    lo = max(0, -clip.audio_offset)
    hi = min(clip.n_frames, clip.n_audio - clip.audio_offset) - span  # last start
    if hi < lo:
        return np.zeros(0, int)
    valid = clip.valid if len(clip.valid) == clip.n_frames else np.ones(clip.n_frames, bool)
    bad = np.concatenate([[0], np.cumsum(~valid)])
    t = np.arange(lo, hi + 1)
    return t[(bad[t + span] - bad[t]) == 0]


@dataclass
class Batch:
    """A contrastive batch of ``G`` segments × ``K`` consecutive anchors (``B = G·K``).

    - ``visual [B, W, ...]``: video windows in network units;
    - ``audio [G·U, L, D]``: each segment's audio windows at starts ``t0 − vshift … t0 + K − 1 + vshift``
      (``U = K + 2·vshift``; windows past the clip's ends are zero and masked);
    - ``target [B]``: index of each anchor's in-sync audio window in ``audio``;
    - ``mask [B, G·U]``: True where a column is a candidate (the positive, the same segment at
      |shift| ≥ 2, segments of other clips); ``shift [B, G·U]``: the shift of same-segment columns
      (a large sentinel elsewhere).
    """

    visual: np.ndarray
    audio: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    shift: np.ndarray


SHIFT_OTHER = 10_000


def sample_batch(clips: Sequence[TrainClip], config: SyncExpertConfig, rng: np.random.Generator, *, segments: int = 16,
                 anchors: int = 8, aug: AugmentConfig | None = None, vshift: int | None = None,
                 neg_min_shift: int = NEG_MIN_SHIFT) -> Batch:
    """``segments`` random runs of ``anchors`` consecutive windows (clips weighted by their
    length), with the audio windows needed for their shifts ±``vshift``; same-clip shifts with
    ``|s| ≥ neg_min_shift`` are negatives (1: the windows one frame off, which overlap the positive
    by 4 of 5 frames, count too)."""
    if neg_min_shift < 1:
        raise ValueError(f"neg_min_shift must be at least 1, got {neg_min_shift}")
    vshift = config.vshift if vshift is None else vshift
    w, k = config.window, anchors
    starts = [window_starts(c, w, k) for c in clips]
    sizes = np.array([len(s) for s in starts], float)
    if sizes.sum() == 0:
        raise ValueError(f"no clip has {k} consecutive {w}-frame windows with a face")
    which = rng.choice(len(clips), size=segments, p=sizes / sizes.sum())
    u = k + 2 * vshift
    vis, aud, seg_clip, seg_t0 = [], [], [], []
    for ci in which:
        c = clips[ci]
        t0 = int(starts[ci][rng.integers(0, len(starts[ci]))])
        mel = c.mels[int(rng.integers(0, len(c.mels)))] if aug is not None else c.mels[0]
        a_starts = t0 + c.audio_offset - vshift + np.arange(u)
        jitter = int(rng.integers(-1, 2)) if aug is not None else 0  # ±10 ms sub-frame jitter of the whole segment
        idx = a_starts[:, None] * config.mel_per_frame + jitter + np.arange(config.mel_window)[None]
        ok = (a_starts >= 0) & (a_starts + w <= c.n_audio)
        win = mel[np.clip(idx, 0, len(mel) - 1)]
        win[~ok] = 0.0
        aud.append(win)
        src = c.lips if config.visual_input == "landmarks" else c.crops
        win = np.stack([src[t0 + j:t0 + j + w] for j in range(k)])
        vis.append(win * np.float32(c.lip_gain) if config.visual_input == "landmarks" else win)
        seg_clip.append(ci)
        seg_t0.append((t0, ok))
    visual = np.concatenate(vis)
    visual = augment_lips(visual, config, aug, rng) if config.visual_input == "landmarks" else augment_pixels(visual, config, aug, rng)
    b = segments * k
    mask = np.zeros((b, segments * u), bool)
    shift = np.full((b, segments * u), SHIFT_OTHER, int)
    target = np.zeros(b, int)
    for g in range(segments):
        ok_g = seg_t0[g][1]
        for j in range(k):
            row = g * k + j
            target[row] = g * u + vshift + j
            for h in range(segments):
                cols = slice(h * u, (h + 1) * u)
                if h == g:
                    s = np.arange(u) - vshift - j
                    shift[row, cols] = s
                    mask[row, cols] = ok_g & ((np.abs(s) >= neg_min_shift) | (s == 0))
                elif which[h] != which[g]:
                    mask[row, cols] = seg_t0[h][1]
    return Batch(visual.astype(np.float32), np.concatenate(aud).astype(np.float32), target, mask, shift)
