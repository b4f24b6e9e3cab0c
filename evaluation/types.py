"""Typed objects of the evaluation toolkit.

- :class:`MetricSpec` — the metric card of one registered metric (name, kind, direction, unit,
  what it needs, one-line definition).
- :class:`MetricValue` — one computed value, or the reason it could not be computed
  (``status`` ``"ok"``, ``"unavailable"`` or ``"error"``); never a made-up number.
- :class:`ClipInput` — what one clip is scored from (the video, its speech, the real clips).
- :class:`EvalConfig` — knobs shared by all metrics (fps, SyncNet/LPIPS weights, σ of BAS …);
  its :meth:`EvalConfig.fingerprint` keys the result caches.

Kinds (DESIGN.md §2):

- ``measurement`` — computed on the clip alone (plus its speech);
- ``metric`` — computed against a real clip of the same speaker (a time-aligned reference for
  LMD/PSNR/SSIM/LPIPS; any real footage of the speaker for the ``*_ratio`` entries);
- ``comparison`` — between two systems (paired tests, user-study preferences; see
  :mod:`evaluation.stats`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Kind(str, Enum):
    """What a metric is computed from."""

    MEASUREMENT = "measurement"
    METRIC = "metric"
    COMPARISON = "comparison"


class Direction(str, Enum):
    """Which way is better: ``higher`` ↑, ``lower`` ↓, ``target`` → (closer to a target value,
    e.g. a ratio of 1 to the real clip) or ``none`` · (descriptive: compare with the real clip)."""

    HIGHER = "higher"
    LOWER = "lower"
    TARGET = "target"
    NONE = "none"

    @property
    def arrow(self) -> str:
        return {"higher": "↑", "lower": "↓", "target": "→", "none": "·"}[self.value]


#: Vocabulary of :attr:`MetricSpec.needs`.
NEEDS = {
    "video": "the clip to score",
    "audio": "its speech (the clip's own audio track, or --audio)",
    "face": "a face tracked in the clip (MediaPipe FaceMesh via facial.speaker)",
    "reference": "the real clip it should reproduce, frame-aligned (self-reenactment)",
    "real_footage": "any real footage of the same speaker (for *_ratio entries)",
    "syncnet_weights": "SyncNet weights syncnet_v2.model (--syncnet-weights)",
    "lpips_backbone": "torchvision AlexNet ImageNet weights (alexnet-owt-7be5be79.pth)",
}

class MetricUnavailable(RuntimeError):
    """Raised inside a metric family when its metrics cannot be computed for a known, stated
    reason (weights not supplied, no face, …); reported as ``unavailable``, not as an error."""


STATUS_OK = "ok"
STATUS_UNAVAILABLE = "unavailable"
STATUS_ERROR = "error"


@dataclass(frozen=True)
class MetricSpec:
    """The card of one metric. ``family`` is the module in :mod:`evaluation.metrics` computing it."""

    name: str
    family: str
    kind: Kind
    direction: Direction
    unit: str
    needs: tuple[str, ...]
    summary: str
    target: float | None = None
    band: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        unknown = [n for n in self.needs if n not in NEEDS]
        if unknown:
            raise ValueError(f"metric {self.name}: unknown needs {unknown}; known: {sorted(NEEDS)}")

    @property
    def arrow(self) -> str:
        if self.direction is Direction.TARGET and self.target is not None:
            return f"→{self.target:g}"
        return self.direction.arrow

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["direction"] = self.direction.value
        d["arrow"] = self.arrow
        d["needs"] = list(self.needs)
        d["band"] = list(self.band) if self.band else None
        return d


@dataclass
class MetricValue:
    """One metric's result on one clip. ``value`` is ``None`` unless ``status == "ok"``."""

    name: str
    value: float | None
    status: str = STATUS_OK
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, name: str, value: float, **details: Any) -> "MetricValue":
        value = float(value)
        if not math.isfinite(value):
            return cls(name, None, STATUS_UNAVAILABLE, f"not finite ({value})", details)
        return cls(name, value, STATUS_OK, "", details)

    @classmethod
    def unavailable(cls, name: str, reason: str, **details: Any) -> "MetricValue":
        return cls(name, None, STATUS_UNAVAILABLE, reason, details)

    @classmethod
    def error(cls, name: str, reason: str, **details: Any) -> "MetricValue":
        return cls(name, None, STATUS_ERROR, reason, details)

    @property
    def is_ok(self) -> bool:
        return self.status == STATUS_OK

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "status": self.status, "reason": self.reason,
                "details": _jsonable(self.details)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MetricValue":
        return cls(d["name"], d.get("value"), d.get("status", STATUS_OK), d.get("reason", ""), d.get("details") or {})


@dataclass(frozen=True)
class ClipInput:
    """What one clip is scored from.

    - ``video``: the clip (generated or real).
    - ``audio``: its speech; ``None`` uses the video's own audio track.
    - ``reference``: the real clip it should reproduce, frame-aligned (self-reenactment), or None.
    - ``real_footage``: real footage of the same speaker for the ``*_ratio`` entries (any length,
      not aligned); defaults to ``reference``.
    """

    video: Path
    audio: Path | None = None
    reference: Path | None = None
    real_footage: Path | None = None

    def __post_init__(self) -> None:
        for name in ("video", "audio", "reference", "real_footage"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, Path):
                object.__setattr__(self, name, Path(v))

    @property
    def footage(self) -> Path | None:
        return self.real_footage if self.real_footage is not None else self.reference


@dataclass(frozen=True)
class EvalConfig:
    """Settings shared by all metrics.

    - ``fps``: every clip is resampled to this rate first (SyncNet assumes 25).
    - ``vshift``: offsets searched by LSE and ``av_offset`` (±frames).
    - ``syncnet_weights`` / ``s3fd_weights``: a file path or ``owner/repo[/file]`` in the local
      Hugging Face cache; nothing is ever downloaded.
    - ``syncnet_random_init``: score with a randomly initialised SyncNet (tests of the code path
      only; the result is labelled as such).
    - ``lpips_backbone``: the AlexNet ImageNet weights file; default: torch's hub cache.
    - ``lpips_random_backbone``: random AlexNet trunk (tests of the code path only).
    - ``bas_sigma_frames``: σ of the beat-alignment score.
    - ``blink_threshold``: on the per-speaker normalised blink track (0 open … 1 closed).
    - ``crop_size``: side of the aligned face crops for PSNR/SSIM/LPIPS.
    - ``max_seconds``: score only the first seconds of each clip (None: all).
    """

    fps: float = 25.0
    vshift: int = 15
    syncnet_weights: str | None = None
    s3fd_weights: str | None = None
    syncnet_random_init: bool = False
    lpips_backbone: str | None = None
    lpips_random_backbone: bool = False
    bas_sigma_frames: float = 3.0
    blink_threshold: float = 0.5
    crop_size: int = 224
    max_seconds: float | None = None
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """Short hash of every setting that changes a number (``device`` excluded)."""
        d = self.to_dict()
        d.pop("device", None)
        from facial.hashing import sha256_json

        return sha256_json(d, length=12)


def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths inside ``obj`` to JSON-ready values."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
