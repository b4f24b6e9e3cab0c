"""Typed objects passed between the stages of the pipeline.

```
target clip ─► speaker/    ─► SpeakerProfile
audio       ─► audio/      ─► AudioFeatures
AudioFeatures (+ SpeakerProfile) ─► audio2face/ ─► FaceParams
FaceParams + SpeakerProfile      ─► face_render/ ─► RenderedFaces
RenderedFaces                    ─► face2vid/    ─► VideoFrames
VideoFrames + AudioClip          ─► media        ─► mp4
```

Arrays are numpy, float32 unless said otherwise; ``T`` is the number of video frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facial import layout

N_LANDMARKS = 478


def _check_len(name: str, arr: np.ndarray, n: int) -> None:
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} frames, expected {n}")


@dataclass
class AudioClip:
    """Mono speech: ``samples [N]`` float32 in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int = 16000

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    def n_frames(self, fps: float) -> int:
        """Number of video frames covering the clip at ``fps`` (rounded to nearest)."""
        return max(1, int(round(self.duration * fps)))


@dataclass
class AudioFeatures:
    """Per-video-frame audio windows ``windows [T, W, D]`` (W feature steps centred on the frame)."""

    windows: np.ndarray
    fps: float
    name: str = "logmel"

    def __post_init__(self) -> None:
        if self.windows.ndim != 3:
            raise ValueError(f"AudioFeatures.windows must be [T, W, D], got {self.windows.shape}")

    def __len__(self) -> int:
        return self.windows.shape[0]


@dataclass
class FaceParams:
    """Per-frame face parameters (layout documented in :mod:`facial.layout`).

    - ``pose [T, 6]``: yaw, pitch, roll (radians), tx, ty (pixels), scale.
    - ``expression [T, K]``: expression-basis coefficients.
    - ``blink [T]``: 0 open … 1 closed.
    """

    pose: np.ndarray
    expression: np.ndarray
    blink: np.ndarray
    fps: float = 25.0

    def __post_init__(self) -> None:
        self.pose = np.asarray(self.pose, dtype=np.float32)
        self.expression = np.asarray(self.expression, dtype=np.float32)
        self.blink = np.asarray(self.blink, dtype=np.float32).reshape(-1)
        n = self.pose.shape[0]
        if self.pose.ndim != 2 or self.pose.shape[1] != layout.POSE_DIM:
            raise ValueError(f"pose must be [T, {layout.POSE_DIM}], got {self.pose.shape}")
        if self.expression.ndim != 2:
            raise ValueError(f"expression must be [T, K], got {self.expression.shape}")
        _check_len("expression", self.expression, n)
        _check_len("blink", self.blink, n)
        for name in ("pose", "expression", "blink"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"FaceParams.{name} contains NaN or inf")

    def __len__(self) -> int:
        return self.pose.shape[0]

    @property
    def n_expression(self) -> int:
        return self.expression.shape[1]

    @property
    def rotation(self) -> np.ndarray:
        """``[T, 3]`` yaw, pitch, roll in radians (a view of ``pose``)."""
        return layout.rotation(self.pose)

    @property
    def translation(self) -> np.ndarray:
        """``[T, 2]`` tx, ty in pixels (a view of ``pose``)."""
        return layout.translation(self.pose)

    @property
    def scale(self) -> np.ndarray:
        """``[T]`` scale in pixels per canonical unit (a view of ``pose``)."""
        return layout.scale(self.pose)

    def to_array(self) -> np.ndarray:
        return layout.to_array(self.pose, self.expression, self.blink)

    @classmethod
    def from_array(cls, array: np.ndarray, fps: float = 25.0) -> "FaceParams":
        pose, expression, blink = layout.from_array(array)
        return cls(pose, expression, blink, fps)

    def slice(self, start: int, stop: int) -> "FaceParams":
        return FaceParams(self.pose[start:stop], self.expression[start:stop], self.blink[start:stop], self.fps)


@dataclass
class SpeakerProfile:
    """Everything known about one target speaker, built by :func:`facial.speaker.track_clip`.

    - ``params``: the clip's tracked :class:`FaceParams`.
    - ``landmarks [T, 478, 3]``: FaceMesh landmarks in pixels (z in the same units as x).
    - ``valid [T]`` (bool): a face was detected in that frame (others are interpolated).
    - ``identity [478, 3]``: the speaker's mean shape in the canonical frame.
    - ``blink_shape [478, 3]``: canonical displacement of a full blink (eyelids closing).
    - ``size``: (width, height) of the frames in pixels.
    - ``video``: path of the clip at ``fps`` the profile was tracked from (frames for rendering).
    - ``stats``: summary statistics (pose mean/std, blink rate, …) as plain JSON values.
    """

    params: FaceParams
    landmarks: np.ndarray
    valid: np.ndarray
    identity: np.ndarray
    blink_shape: np.ndarray
    size: tuple[int, int]
    fps: float
    video: Path | None = None
    source_hash: str = ""
    basis_id: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None

    def __post_init__(self) -> None:
        n = len(self.params)
        _check_len("landmarks", self.landmarks, n)
        _check_len("valid", self.valid, n)
        if self.identity.shape != (N_LANDMARKS, 3):
            raise ValueError(f"identity must be [{N_LANDMARKS}, 3], got {self.identity.shape}")

    def __len__(self) -> int:
        return len(self.params)

    @property
    def n_frames(self) -> int:
        return len(self.params)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps


@dataclass
class VideoFrames:
    """Decoded or generated frames ``frames [T, H, W, 3]`` uint8 RGB at ``fps``."""

    frames: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"VideoFrames.frames must be uint8 [T, H, W, 3], got {self.frames.dtype} {self.frames.shape}")

    def __len__(self) -> int:
        return self.frames.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        return self.frames.shape[2], self.frames.shape[1]


@dataclass
class RenderedFaces:
    """Mesh renders for the neural renderer.

    - ``images [T, H, W, 3]`` uint8: the textured posed mesh (background black).
    - ``eye_map [T, H, W]`` float32: eye attention map, 0 outside the eyes, inside carrying the
      frame's blink value (made only by :func:`facial.face_render.eye_map.make_eye_map`).
    - ``mask [T, H, W]`` bool: pixels covered by the mesh.
    """

    images: np.ndarray
    eye_map: np.ndarray
    mask: np.ndarray
    fps: float

    def __len__(self) -> int:
        return self.images.shape[0]
