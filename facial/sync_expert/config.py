"""Configuration of the lip-sync expert, saved as ``config.json`` beside the weights.

Everything that decides what the network sees travels with the weights (window length, mel steps,
crop geometry, landmark scale), so a checkpoint always rebuilds the inputs it was trained on.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

INPUTS = ("landmarks", "pixels")


@dataclass
class SyncExpertConfig:
    """Sizes and input geometry of :class:`~facial.sync_expert.model.SyncExpert`.

    - ``visual_input``: ``"landmarks"`` (the 40 FaceMesh lip points in the speaker's canonical
      frame, minus the clip's median shape) or ``"pixels"`` (grayscale mouth crops).
    - ``window``: video frames per window at ``fps`` (SyncNet: 5 frames at 25 fps = 0.2 s);
      ``mel_per_frame`` log-mel steps (10 ms) per video frame, so the audio window is
      ``window · mel_per_frame`` steps covering the same 0.2 s.
    - ``crop_size``: side of the mouth crop seen by the pixel stream; crops are stored with
      ``crop_margin`` extra pixels on each side (random crop jitter while training, centre crop
      otherwise); ``crop_iod``: side of the (centre) crop in inter-ocular distances (outer eye
      corners); ``crop_down``: crop centre below the base of the nose (FaceMesh point 2), in
      inter-ocular distances, along the face's own vertical (the eye line fixes the rotation).
    - ``landmark_scale``: canonical-frame units per network unit of the lip displacements
      (the training set's std; set by the trainer).
    - ``lip_norm``: ``"global"`` (lip displacements as measured) or ``"clip"`` (each clip's
      displacements rescaled to a common RMS first, so that how wide a speaker opens the mouth
      does not matter; the gain is capped at 10×, a still mouth stays still).
    - ``temperature``: of the contrastive softmax over cosine similarities.
    - ``vshift``: offsets searched when scoring (±frames), as SyncNet's ``vshift``.
    """

    visual_input: str = "landmarks"
    fps: float = 25.0
    sample_rate: int = 16000
    window: int = 5
    mel_per_frame: int = 4
    n_mels: int = 80
    embed_dim: int = 128
    hidden: int = 256
    audio_channels: tuple[int, ...] = (128, 128, 256)
    pixel_channels: tuple[int, ...] = (32, 64, 96, 128)
    crop_size: int = 48
    crop_margin: int = 4
    crop_iod: float = 1.0
    crop_down: float = 0.36
    landmark_scale: float = 0.03
    lip_norm: str = "clip"
    dropout: float = 0.4
    temperature: float = 0.1
    vshift: int = 15
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.visual_input not in INPUTS:
            raise ValueError(f"visual_input must be one of {INPUTS}, got {self.visual_input!r}")
        if self.lip_norm not in ("global", "clip"):
            raise ValueError(f"lip_norm must be 'global' or 'clip', got {self.lip_norm!r}")
        if self.window < 1 or self.mel_per_frame < 1:
            raise ValueError("window and mel_per_frame must be positive")
        if abs(self.sample_rate / self.fps / (self.mel_per_frame * 160) - 1.0) > 1e-6:
            raise ValueError(f"{self.mel_per_frame} mel steps of 10 ms do not cover one frame at {self.fps} fps")
        self.audio_channels = tuple(int(c) for c in self.audio_channels)
        self.pixel_channels = tuple(int(c) for c in self.pixel_channels)

    @property
    def mel_window(self) -> int:
        """Log-mel steps per audio window."""
        return self.window * self.mel_per_frame

    @property
    def stored_crop(self) -> int:
        """Side of the cached mouth crops (``crop_size`` plus the jitter margin on both sides)."""
        return self.crop_size + 2 * self.crop_margin

    def replace(self, **changes: Any) -> "SyncExpertConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["audio_channels"] = list(self.audio_channels)
        d["pixel_channels"] = list(self.pixel_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SyncExpertConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown sync-expert config fields {unknown}")
        return cls(**d)
