"""The pretraining corpus of FACIAL-GAN: which clips, of which speakers, tracked into profiles.

```
MANIFEST.csv / folder ─► discover() ─► [ProfileEntry]      (tracks missing clips into profiles)
ProfileEntry ─► load_clips() ─► [ClipData]                  (audio features + raw parameter tracks)
```
The per-clip samples (:class:`~facial.audio2face.data.ClipData` and the windowed dataset) are
FACIAL-GAN's own: :mod:`facial.audio2face.data`.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from facial import media
from facial.audio2face.data import ClipData, clip_from_profile, profile_audio

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
DEFAULT_ORIGINS = ("real", "likely_real")


# --------------------------------------------------------------------------- discovery
@dataclass
class ProfileEntry:
    """A training clip: profile directory, its name and the speaker it shows."""

    name: str
    speaker: str
    directory: Path


def _read_manifest(manifest: Path, origins: Iterable[str]) -> list[dict]:
    origins = set(origins)
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r.get("kind") == "talking_video" and r.get("origin") in origins]


def _speaker_of(row: dict) -> str:
    return (row.get("person") or row["id"]).split(":")[0].strip() or row["id"]


def discover(data: str | Path, *, profiles_dir: str | Path | None = None, manifest: str | Path | None = None,
             origins: Sequence[str] = DEFAULT_ORIGINS, exclude_speakers: Sequence[str] = (), track_missing: bool = True,
             progress: bool = True) -> list[ProfileEntry]:
    """Training clips from ``data``: a MANIFEST.csv, a profile folder, a folder of profiles, or a folder of videos.

    - MANIFEST.csv: rows of kind ``talking_video`` whose origin is in ``origins``; profiles live in
      ``profiles_dir/<id>`` and missing ones are tracked there (``track_missing``).
    - a folder of profiles (sub-folders with ``profile.json``): speakers from ``manifest`` when given
      (matching folder names to manifest ids), else the folder names.
    - a folder of videos: each is tracked into ``profiles_dir/<file stem>``.
    Speakers listed in ``exclude_speakers`` are left out (held-out evaluation).
    """
    from facial.speaker.profile import is_profile_dir

    data = Path(data)
    if not data.exists():
        raise FileNotFoundError(f"{data}: no such training data (give a MANIFEST.csv, a profile folder or a folder of clips)")
    speakers: dict[str, str] = {}
    if manifest is not None:
        speakers = {r["id"]: _speaker_of(r) for r in _read_manifest(Path(manifest), origins)}
    todo: list[tuple[str, str, Path, Path | None]] = []  # name, speaker, profile dir, clip to track
    if data.is_file():
        rows = _read_manifest(data, origins)
        if profiles_dir is None:
            raise ValueError("training from a MANIFEST.csv needs --profiles-dir (where the tracked profiles are or will be kept)")
        for r in rows:
            todo.append((r["id"], _speaker_of(r), Path(profiles_dir) / r["id"], data.parent / r["path"]))
    elif is_profile_dir(data):
        todo.append((data.name, speakers.get(data.name, data.name), data, None))
    else:
        subdirs = sorted(p for p in data.iterdir() if is_profile_dir(p))
        videos = sorted(p for p in data.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if subdirs:
            for p in subdirs:
                if speakers and p.name not in speakers:
                    continue
                todo.append((p.name, speakers.get(p.name, p.name), p, None))
        elif videos:
            if profiles_dir is None:
                raise ValueError(f"{data} holds videos: give --profiles-dir to keep their tracked profiles")
            for v in videos:
                todo.append((v.stem, v.stem, Path(profiles_dir) / v.stem, v))
        else:
            raise ValueError(f"{data}: no profiles (folders with profile.json) and no video clips found")
    excluded = set(exclude_speakers)
    entries = []
    for name, speaker, directory, clip in todo:
        if speaker in excluded:
            continue
        if not is_profile_dir(directory):
            if clip is None or not track_missing:
                log.warning("skipping %s: no profile in %s", name, directory)
                continue
            from facial.speaker.landmarks import FaceTrackingError
            from facial.speaker.track import track_to_dir

            try:
                track_to_dir(clip, directory, progress=progress, overlay=False)
            except (FaceTrackingError, ValueError, media.MediaError) as exc:
                log.warning("skipping %s: tracking failed (%s)", name, exc)
                continue
        entries.append(ProfileEntry(name, speaker, directory))
    log.info("%d training clips from %d speakers%s", len(entries), len({e.speaker for e in entries}),
             f" (held out: {', '.join(sorted(excluded))})" if excluded else "")
    return entries


def load_clips(entries: Sequence[ProfileEntry], encoder, *, min_frames: int = 2, pose_std_floor: float = 1e-3,
               progress: bool = True, voices=None, seed: int = 0) -> list[ClipData]:
    """Load profiles and their audio into :class:`ClipData` (clips without audio or too short are skipped).

    With ``voices`` (:class:`facial.audio2face.augment.VoiceAugment`) every clip is followed by
    ``voices.variants`` copies in other voices (same speaker, retimed face tracks), drawn from ``seed``.
    """
    from tqdm.auto import tqdm

    import numpy as np

    from facial.audio2face.augment import voice_variant
    from facial.audio2face.data import retime
    from facial.speaker.profile import load_profile
    from facial.types import AudioClip

    rng = np.random.default_rng(seed)
    clips = []
    for entry in tqdm(entries, desc="clips", disable=not progress):
        profile = load_profile(entry.directory)
        if profile.n_frames < min_frames:
            log.warning("skipping %s: %d frames < %d", entry.name, profile.n_frames, min_frames)
            continue
        try:
            audio = profile_audio(profile)
        except ValueError as exc:
            log.warning("skipping %s: %s", entry.name, exc)
            continue
        clip = clip_from_profile(profile, audio, encoder, name=entry.name, speaker=entry.speaker, pose_std_floor=pose_std_floor)
        clips.append(clip)
        for _ in range(voices.variants if voices is not None else 0):
            samples, speed = voice_variant(audio.samples, audio.sample_rate, voices, rng)
            n_new = max(2, int(round(len(clip) / speed)))
            features = encoder(AudioClip(samples, audio.sample_rate), profile.fps, n_new).windows
            clips.append(retime(clip, speed, features))
    return clips
