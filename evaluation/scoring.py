"""Score one clip: resolve the metrics, extract what they need once, compute each family.

:func:`score_clip` is what ``facial-eval score`` and every (method, clip) cell of a benchmark
call. A metric that cannot be computed (no reference given, weights missing, no face found) comes
back as ``unavailable``/``error`` with the reason — a family that fails never stops the others.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from evaluation import registry
from facial import layout
from evaluation.extractors.cache import ArrayCache, default_cache_dir
from evaluation.types import ClipInput, EvalConfig, MetricSpec, MetricUnavailable, MetricValue, _jsonable

log = logging.getLogger(__name__)


class EvalContext:
    """Lazily extracted inputs of one clip, shared by the metric families.

    - :meth:`face` — :class:`~evaluation.extractors.landmarks.FaceTrack` of the clip
      (``"video"``), of the aligned reference (``"reference"``) or of the real footage
      (``"footage"``), cached by content hash;
    - :meth:`speech` — the clip's speech (``--audio`` or the clip's own track), 16 kHz mono;
    - ``notes`` — remarks that end up in the result (e.g. "frame counts differ").
    """

    def __init__(self, inputs: ClipInput, config: EvalConfig | None = None, *, cache: ArrayCache | None = None,
                 progress: bool = False):
        self.inputs = inputs
        self.config = config or EvalConfig()
        self.cache = cache if cache is not None else ArrayCache(None)
        self.progress = progress
        self.notes: list[str] = []
        self._faces: dict[str, Any] = {}
        self._speech = None

    def path(self, which: str) -> Path | None:
        return {"video": self.inputs.video, "reference": self.inputs.reference, "footage": self.inputs.footage}[which]

    def face(self, which: str = "video"):
        """Face track of ``which`` (memoised; a tracking failure is re-raised on every call)."""
        from evaluation.extractors.landmarks import extract_face_track

        if which not in self._faces:
            path = self.path(which)
            if path is None:
                raise ValueError(f"no {which} clip given")
            try:
                self._faces[which] = extract_face_track(path, fps=self.config.fps, cache=self.cache,
                                                        max_seconds=self.config.max_seconds, progress=self.progress)
            except Exception as exc:  # remember the failure so each family reports the same reason
                self._faces[which] = exc
        got = self._faces[which]
        if isinstance(got, Exception):
            raise got
        return got

    def speech(self):
        """The clip's speech as :class:`facial.types.AudioClip` (16 kHz mono, trimmed to ``max_seconds``)."""
        from facial import media
        from facial.types import AudioClip

        if self._speech is None:
            src = self.inputs.audio or self.inputs.video
            clip = media.load_audio(src, head_seconds=self.config.max_seconds)  # the decode itself is bounded
            if self.config.max_seconds is not None:
                clip = AudioClip(clip.samples[: int(self.config.max_seconds * clip.sample_rate)], clip.sample_rate)
            self._speech = clip
        return self._speech

    def traces(self) -> dict[str, np.ndarray]:
        """Per-frame signals already extracted for the clip (for plots): yaw/pitch/roll in degrees,
        blink in [0, 1], mouth opening. Empty when the face was never tracked."""
        face = self._faces.get("video")
        if face is None or isinstance(face, Exception):
            return {}
        from evaluation.extractors.eyes import blink_track

        out = {name: np.degrees(layout.pose_column(face.pose, name)).astype(np.float32) for name in layout.ROTATION_NAMES}
        out["blink"] = blink_track(face.eye_aperture())[0]
        out["mouth"] = face.mouth_opening()
        return out


@dataclass
class ScoreResult:
    """The values of one clip plus how they were obtained."""

    inputs: ClipInput
    values: list[MetricValue]
    config: EvalConfig
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    traces: dict[str, np.ndarray] = field(default_factory=dict)

    def by_name(self) -> dict[str, MetricValue]:
        return {v.name: v for v in self.values}

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": {k: (str(v) if v is not None else None) for k, v in vars(self.inputs).items()},
            "config": self.config.to_dict(),
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
            "metrics": [v.to_dict() for v in self.values],
        }


def _missing_needs(spec: MetricSpec, inputs: ClipInput, config: EvalConfig) -> str | None:
    """Reason a metric cannot run with these inputs, or None."""
    if "reference" in spec.needs and inputs.reference is None:
        return "needs a frame-aligned real clip (--reference REF, or the self-reenactment protocol)"
    if "real_footage" in spec.needs and inputs.footage is None:
        return "needs real footage of the speaker to compare with (--reference REF)"
    return None


def score_clip(inputs: ClipInput | str | Path, metrics: Iterable[str] | str | None = None, config: EvalConfig | None = None,
               *, cache_dir: str | Path | None | bool = None, progress: bool = False) -> ScoreResult:
    """Compute ``metrics`` (names or groups; default: the ``default`` group) on one clip.

    ``cache_dir``: where extractions are cached (``None``: the default cache folder, ``False``:
    no caching). Raises :class:`~evaluation.registry.UnknownMetricError` for unknown names and
    :class:`FileNotFoundError` for missing input files; everything else is reported per metric.
    """
    if not isinstance(inputs, ClipInput):
        inputs = ClipInput(Path(inputs))
    for name in ("video", "audio", "reference", "real_footage"):
        p = getattr(inputs, name)
        if p is not None and not p.exists():
            raise FileNotFoundError(f"{name} file {p} does not exist")
    config = config or EvalConfig()
    specs = registry.resolve(metrics)
    cache = ArrayCache(None) if cache_dir is False else ArrayCache(default_cache_dir() if cache_dir is None else cache_dir)
    ctx = EvalContext(inputs, config, cache=cache, progress=progress)
    t0 = time.perf_counter()
    results: dict[str, MetricValue] = {}
    by_family: dict[str, list[MetricSpec]] = {}
    for spec in specs:
        reason = _missing_needs(spec, inputs, config)
        if reason:
            results[spec.name] = MetricValue.unavailable(spec.name, reason)
        else:
            by_family.setdefault(spec.family, []).append(spec)
    for family, fam_specs in by_family.items():
        wanted = [s.name for s in fam_specs]
        try:
            got = registry.family_module(family).compute(ctx, wanted)
        except MetricUnavailable as exc:
            got = {n: MetricValue.unavailable(n, str(exc)) for n in wanted}
        except ImportError as exc:
            log.warning("%s: %s metrics unavailable: %s", inputs.video.name, family, exc)
            got = {n: MetricValue.unavailable(n, f"a dependency is missing: {exc}") for n in wanted}
        except Exception as exc:  # one family failing must not stop the others
            log.warning("%s: %s metrics failed: %s: %s", inputs.video.name, family, type(exc).__name__, exc)
            log.debug("traceback", exc_info=True)
            got = {n: MetricValue.error(n, f"{type(exc).__name__}: {exc}") for n in wanted}
        for n in wanted:
            results[n] = got.get(n) or MetricValue.error(n, f"family {family} returned no value for {n}")
    values = [results[s.name] for s in specs]
    return ScoreResult(inputs, values, config, time.perf_counter() - t0, ctx.notes, ctx.traces())


def values_to_json(result: ScoreResult) -> dict[str, Any]:
    """JSON-ready dict of a :class:`ScoreResult` (metric keys as registered)."""
    return _jsonable(result.to_dict())
