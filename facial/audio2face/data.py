"""FACIAL-GAN's training data: typed samples built from a SpeakerProfile and its speech.

```
SpeakerProfile + AudioClip ─► clip_from_profile() ─► ClipData   (audio features + raw parameter tracks)
[ClipData] + normaliser ─► SequenceDataset ─► Sample ─► collate() ─► Batch   (groups of T frames, normalised)
```
Finding and tracking a corpus of clips for pretraining is :mod:`facial.training.corpus`'s job.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from facial import media
from facial.audio2face.stats import pose_statistics
from facial.layout import ROLL, TX, YAW, ParamLayout, from_array
from facial.types import AudioClip, SpeakerProfile

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- clips
@dataclass
class ClipData:
    """One tracked clip ready for training.

    - ``features [T, W, D]``: audio windows per video frame;
    - ``params [T, 7+K]``: raw parameter array (:func:`facial.layout.to_array` layout);
    - ``pose_mean`` / ``pose_std [6]``: the clip's pose statistics (pose is z-scored per clip);
    - ``style``: speaker-embedding index (0 = generic);
    - ``valid [T]``: frames where a face was tracked (``None`` = all); training windows with too few
      tracked frames are skipped (:class:`SequenceDataset`), since the others hold filled-in values.
    """

    name: str
    speaker: str
    features: np.ndarray
    params: np.ndarray
    fps: float
    pose_mean: np.ndarray
    pose_std: np.ndarray
    style: int = 0
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.features) != len(self.params):
            raise ValueError(f"{self.name}: {len(self.features)} audio windows for {len(self.params)} frames")
        if self.valid is not None and len(self.valid) != len(self.params):
            raise ValueError(f"{self.name}: {len(self.valid)} validity flags for {len(self.params)} frames")

    def __len__(self) -> int:
        return len(self.params)

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def slice(self, start: int, stop: int, *, restat: bool = True, pose_std_floor: float = 1e-3) -> "ClipData":
        """Frames ``[start, stop)``; with ``restat`` the pose statistics are recomputed from the slice."""
        params = self.params[start:stop]
        if len(params) == 0:
            raise ValueError(f"{self.name}: empty slice [{start}, {stop})")
        mean, std = (pose_statistics(from_array(params)[0], pose_std_floor) if restat else (self.pose_mean, self.pose_std))
        return ClipData(f"{self.name}[{start}:{stop}]", self.speaker, self.features[start:stop], params, self.fps, mean, std, self.style,
                        None if self.valid is None else self.valid[start:stop])


def pad_reflect(clip: ClipData, length: int) -> ClipData:
    """``clip`` extended to ``length`` frames by playing it back and forth in time (forward, reversed,
    forward …). Every frame keeps its own audio window and parameters, so the audio–face pairing is
    intact; only the direction of the motion alternates. Pose statistics stay the original clip's."""
    n = len(clip)
    if n >= length:
        return clip
    if n < 2:
        raise ValueError(f"{clip.name}: a clip of {n} frame(s) cannot be padded")
    period = 2 * n - 2
    idx = np.arange(length) % period
    idx = np.where(idx >= n, period - idx, idx)
    return ClipData(f"{clip.name}[pad {length}]", clip.speaker, clip.features[idx], clip.params[idx], clip.fps, clip.pose_mean,
                    clip.pose_std, clip.style, None if clip.valid is None else clip.valid[idx])


def retime(clip: ClipData, speed: float, features: np.ndarray) -> ClipData:
    """``clip`` played ``speed`` times faster: its parameter tracks resampled (linearly) onto
    ``len(features)`` frames, frame ``k`` showing the original time ``k · speed``; ``features`` are
    the audio windows of the sped-up speech. Pose statistics stay the clip's."""
    n_new = len(features)
    t = np.clip(np.arange(n_new) * float(speed), 0, len(clip) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(clip) - 1)
    w = (t - lo)[:, None].astype(np.float32)
    params = (1 - w) * clip.params[lo] + w * clip.params[hi]
    valid = None if clip.valid is None else clip.valid[lo] & clip.valid[hi]
    return ClipData(f"{clip.name}~x{speed:.3f}", clip.speaker, features, params.astype(clip.params.dtype), clip.fps, clip.pose_mean,
                    clip.pose_std, clip.style, valid)


def mirror_clip(clip: ClipData, expression_mirror: np.ndarray) -> ClipData:
    """``clip`` as if the video were flipped left–right: yaw and roll change sign, tx is mirrored about
    the clip's mean position, the expression coefficients become those of the mirrored face
    (``e @ expression_mirror``, :func:`facial.speaker.face_model.expression_mirror`); audio, blinks,
    pitch, ty and scale stay. Pose statistics follow (mean yaw and roll negated)."""
    p = np.array(clip.params, copy=True)
    k = expression_mirror.shape[0]
    expr = ParamLayout(k).expression
    if p.shape[1] != ParamLayout(k).dim:
        raise ValueError(f"{clip.name}: parameters of width {p.shape[1]} do not match a {k}-component expression mirror")
    p[:, YAW] *= -1
    p[:, ROLL] *= -1
    p[:, TX] = 2 * clip.pose_mean[TX] - p[:, TX]
    p[:, expr] = clip.params[:, expr] @ expression_mirror
    mean = np.array(clip.pose_mean, copy=True)
    mean[[YAW, ROLL]] *= -1
    return ClipData(f"{clip.name}[mirror]", clip.speaker, clip.features, p.astype(clip.params.dtype), clip.fps, mean, clip.pose_std,
                    clip.style, clip.valid)


def clip_from_profile(profile: SpeakerProfile, audio: AudioClip, encoder, *, name: str = "", speaker: str = "",
                      pose_std_floor: float = 1e-3) -> ClipData:
    """Audio features aligned with the profile's frames + its parameter tracks."""
    if profile.n_frames < 2:
        raise ValueError(f"{name or 'profile'} has {profile.n_frames} frame(s); training needs a video clip, not a photo")
    features = encoder(audio, profile.fps, profile.n_frames)
    params = profile.params.to_array()
    valid = np.asarray(profile.valid, bool)
    mean, std = pose_statistics(profile.params.pose[valid] if valid.any() else profile.params.pose, pose_std_floor)
    return ClipData(name or (profile.directory.name if profile.directory else "clip"), speaker or name, features.windows,
                    params, profile.fps, mean, std, valid=None if valid.all() else valid)


def profile_audio(profile: SpeakerProfile) -> AudioClip:
    """The speech of a profile's clip: its ``source`` file, else its ``frames.mp4`` (which keeps the audio)."""
    candidates: list[Path] = []
    if profile.directory is not None:
        info_path = Path(profile.directory) / "profile.json"
        if info_path.exists():
            source = json.loads(info_path.read_text()).get("source")
            if source:
                candidates.append(Path(source))
    if profile.video is not None:
        candidates.append(Path(profile.video))
    errors = []
    for path in candidates:
        if not path.exists():
            errors.append(f"{path}: missing")
            continue
        try:
            return media.load_audio(path)
        except media.MediaError as exc:
            errors.append(str(exc))
    where = profile.directory or "the profile"
    raise ValueError(f"{where}: no clip with audio to learn from ({'; '.join(errors) or 'no source clip recorded'}); "
                     "re-track the speaker's clip with sound (`facial track CLIP -o PROFILE_DIR`)")


# --------------------------------------------------------------------------- samples
@dataclass
class Sample:
    """One training group: ``audio [L, W, D]``, normalised ``target [L, P]``, seed ``first [P]``, ``style`` index."""

    audio: torch.Tensor
    target: torch.Tensor
    first: torch.Tensor
    style: int


@dataclass
class Batch:
    audio: torch.Tensor   # [B, L, W, D]
    target: torch.Tensor  # [B, L, P]
    first: torch.Tensor   # [B, P]
    style: torch.Tensor   # [B] long

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(self.audio.to(device), self.target.to(device), self.first.to(device), self.style.to(device))


def collate(samples: Sequence[Sample]) -> Batch:
    """Stack samples of equal length into a :class:`Batch`."""
    return Batch(torch.stack([s.audio for s in samples]), torch.stack([s.target for s in samples]),
                 torch.stack([s.first for s in samples]), torch.tensor([s.style for s in samples], dtype=torch.long))


@dataclass
class SequenceDataset(Dataset):
    """All windows of ``seq_len`` frames (every ``stride`` frames, plus the last one) over the clips.

    ``normalise(params, pose_mean, pose_std)`` maps a raw ``[T, P]`` array to network space
    (:meth:`facial.audio2face.FacialGAN.normalise`). Clips shorter than ``seq_len`` are skipped
    (with a log line), and so are windows in which fewer than ``min_valid`` of the frames had a
    tracked face (the rest of a profile's frames hold filled-in parameters that do not follow the
    speech); a clip none of whose windows reaches that keeps its best-tracked windows.
    """

    clips: Sequence[ClipData]
    normalise: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    seq_len: int
    stride: int = 1
    min_valid: float = 0.9
    index: list[tuple[int, int]] = field(init=False, default_factory=list)
    targets: list[np.ndarray] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.seq_len < 1 or self.stride < 1:
            raise ValueError(f"seq_len and stride must be ≥ 1, got {self.seq_len}, {self.stride}")
        self.targets = [self.normalise(c.params, c.pose_mean, c.pose_std) for c in self.clips]
        skipped, untracked = [], []
        for i, clip in enumerate(self.clips):
            n = len(clip)
            if n < self.seq_len:
                skipped.append(clip.name)
                continue
            starts = list(range(0, n - self.seq_len + 1, self.stride))
            if starts[-1] != n - self.seq_len:
                starts.append(n - self.seq_len)
            if clip.valid is not None:
                tracked = np.concatenate([[0], np.cumsum(np.asarray(clip.valid, bool))])
                counts = np.array([tracked[s + self.seq_len] - tracked[s] for s in starts])
                bar = min(self.min_valid * self.seq_len, counts.max())  # no window passes: the best-tracked ones stay
                kept = [s for s, c in zip(starts, counts) if c >= bar]
                if len(kept) < len(starts):
                    untracked.append(f"{clip.name} ({len(starts) - len(kept)}/{len(starts)})")
                starts = kept
            self.index += [(i, s) for s in starts]
        if skipped:
            log.info("%d clip(s) shorter than %d frames skipped: %s", len(skipped), self.seq_len, ", ".join(skipped))
        if untracked:
            log.info("windows with under %.0f%% tracked frames skipped: %s", 100 * self.min_valid, ", ".join(untracked))
        if not self.index:
            raise ValueError(f"no training window of {self.seq_len} frames: all clips are shorter")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> Sample:
        c, s = self.index[i]
        clip = self.clips[c]
        target = torch.from_numpy(np.ascontiguousarray(self.targets[c][s:s + self.seq_len]))
        audio = torch.from_numpy(np.ascontiguousarray(clip.features[s:s + self.seq_len]))
        return Sample(audio, target, target[0].clone(), clip.style)
