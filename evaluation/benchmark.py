"""Benchmarks: a spec (clips × protocol × methods × metrics) → rows, tables, plots, provenance.

A spec is YAML (examples in ``evaluation/specs/``)::

    name: smoke
    clips:                      # a manifest (filtered) or a folder of videos
      manifest: ../shared/data/MANIFEST.csv
      filter: {origin: real}    # exact column values (a list allows several)
      ids: [pcavs__Input_00010] # optional: these clips, in this order
      min_seconds: 4            # optional: skip shorter clips (manifest duration_s or probe)
      max_clips: 2
    protocol:
      name: self_reenactment    # | cross_driving | measure
      test_fraction: 0.4        # self-reenactment: the last 40 % is held out
      max_test_seconds: 4
    methods: [ground_truth, static, replay, lips_only, ours,
              {name: wav2lip, manifest: results/wav2lip.csv}]
    metrics: [default]          # names or groups (`facial-eval list`)
    options: {syncnet_weights: null, max_seconds: null}   # EvalConfig fields

Protocols:

- ``self_reenactment`` — the speaker is built from the first part of each clip
  (``prepared/<clip>/speaker.mp4``), driven with the held-out last part's audio
  (``driving.wav``) and compared with the real last part (``reference.mp4``).
- ``cross_driving`` — the speaker (first ``speaker_seconds`` of the clip) is driven with another
  clip's speech (the next clip in the list whose ``person`` differs; ``max_seconds`` long);
  measurements only, plus ``*_ratio`` against the speaker's real footage.
- ``measure`` — every method's videos are scored as they are (measurements only); the built-in
  ``ground_truth`` uses the spec's clips, external methods their own manifest rows.

Relative paths in a spec are looked up from the spec's folder, then from the working folder;
``$VARS`` are expanded. The prepared inputs are written under ``OUT/prepared`` so that external
tools can be run on exactly the same inputs.

Outputs in ``OUT``: ``rows.csv`` (``method, clip, metric, value``), ``unavailable.csv`` (what was
not computed and why), ``aggregate.csv`` (``method, metric, n, mean, std, ci_lo, ci_hi``,
percentile bootstrap 95 % CI over clips), ``aggregate.md`` / ``aggregate.tex`` (one table per
metric family, ``mean ± std [CI]``), ``comparisons.csv`` (paired Wilcoxon / t-tests of ``ours`` —
or ``plots: {compare: METHOD}`` — against every other method, per metric), ``plots/`` (per-metric bars with CIs, pose/blink traces of
one clip), ``provenance.json`` (git commit, spec, versions, date, host). Each (method, clip) cell
is cached in ``OUT/results`` under a key of (method, clip content, protocol, metrics, config), so
re-running after adding a method or a clip computes only the new cells.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from evaluation import registry
from evaluation.types import EvalConfig, MetricValue, _jsonable

log = logging.getLogger(__name__)

TOOLKIT_RESULT_VERSION = 1
PROTOCOLS = ("self_reenactment", "cross_driving", "measure")
MAX_TABLE_COLUMNS = 6
SPEC_KEYS = ("name", "description", "clips", "protocol", "methods", "metrics", "options", "plots", "cache_dir")
CLIP_KEYS = ("manifest", "folder", "filter", "contains", "ids", "min_seconds", "max_clips")
PROTOCOL_KEYS = {
    "self_reenactment": ("test_fraction", "max_test_seconds", "min_test_seconds"),
    "cross_driving": ("speaker_seconds", "max_seconds"),
    "measure": ("max_seconds",),
}
PROTOCOL_DEFAULTS = {
    "self_reenactment": {"test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0},
    "cross_driving": {"speaker_seconds": None, "max_seconds": 8.0},
    "measure": {"max_seconds": None},
}
VERSIONED_PACKAGES = ("facial-toolkit", "numpy", "scipy", "pandas", "torch", "torchvision", "mediapipe",
                      "opencv-contrib-python", "scikit-image", "librosa", "lpips", "syncnet-python", "imageio-ffmpeg", "av")


class SpecError(ValueError):
    """The benchmark spec is malformed; the message says where and how to fix it."""


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class ClipRef:
    """A clip of the benchmark: ``id``, ``path``, optional ``person`` label and duration."""

    id: str
    path: Path
    person: str = ""
    duration: float | None = None


@dataclass
class BenchmarkSpec:
    """A validated spec (see the module docstring)."""

    name: str
    clips: list[ClipRef]
    protocol: dict[str, Any]
    methods: list[Any]
    metrics: list[str]
    config: EvalConfig
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    base: Path = field(default_factory=Path.cwd)
    plots: dict[str, Any] = field(default_factory=dict)


def _check_keys(d: dict, allowed: Iterable[str], where: str) -> None:
    allowed = list(allowed)
    for k in d:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else f" Allowed: {', '.join(allowed)}."
            raise SpecError(f"{where}: unknown key {k!r}.{hint}")


def resolve_path(value: str | Path, base: Path) -> Path:
    """``$VARS``/``~`` expanded; relative paths from ``base`` (the spec's folder), else the CWD."""
    p = Path(os.path.expanduser(os.path.expandvars(str(value))))
    if p.is_absolute():
        return p
    for root in (base, Path.cwd()):
        if (root / p).exists():
            return (root / p).resolve()
    return (base / p).resolve()


def _select_clips(section: dict[str, Any], base: Path) -> list[ClipRef]:
    from evaluation.methods import VIDEO_SUFFIXES, read_manifest

    if not isinstance(section, dict):
        raise SpecError("'clips' must be a mapping with 'manifest' or 'folder'")
    _check_keys(section, CLIP_KEYS, "clips")
    if ("manifest" in section) == ("folder" in section):
        raise SpecError("clips: give exactly one of 'manifest' (a CSV) or 'folder' (of videos)")
    if "manifest" in section:
        path = resolve_path(section["manifest"], base)
        if not path.is_file():
            raise SpecError(f"clips.manifest: {path} does not exist")
        try:
            rows = read_manifest(path, section.get("filter"), section.get("contains"))
        except ValueError as exc:
            raise SpecError(f"clips.manifest: {exc}") from exc
        clips = []
        for r in rows:
            dur = r["row"].get("duration_s")
            clips.append(ClipRef(r["clip"], r["video"], r.get("person") or "", float(dur) if dur else None))
    else:
        folder = resolve_path(section["folder"], base)
        if not folder.is_dir():
            raise SpecError(f"clips.folder: {folder} is not a folder")
        clips = [ClipRef(p.stem, p) for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
    if section.get("ids"):
        by_id = {c.id: c for c in clips}
        missing = [i for i in section["ids"] if i not in by_id]
        if missing:
            close = {m: difflib.get_close_matches(m, list(by_id), n=1) for m in missing}
            raise SpecError(f"clips.ids not found among the selected clips: {close}")
        clips = [by_id[i] for i in section["ids"]]
    if section.get("min_seconds"):
        from facial import media

        keep = []
        for c in clips:
            d = c.duration if c.duration is not None else media.probe(c.path).duration
            if d >= float(section["min_seconds"]):
                keep.append(c)
        clips = keep
    if section.get("max_clips"):
        clips = clips[: int(section["max_clips"])]
    if not clips:
        raise SpecError("the clip selection is empty; loosen clips.filter / min_seconds or check the manifest")
    ids = [c.id for c in clips]
    if len(set(ids)) != len(ids):
        raise SpecError(f"clip ids must be unique, repeated: {sorted({i for i in ids if ids.count(i) > 1})}")
    return clips


def spec_from_dict(raw: dict[str, Any], *, base: Path | None = None, path: Path | None = None,
                   overrides: dict[str, Any] | None = None) -> BenchmarkSpec:
    """Validate a spec mapping; ``overrides`` replace ``options`` (EvalConfig) fields."""
    from evaluation.methods import make_methods

    if not isinstance(raw, dict):
        raise SpecError("a spec must be a YAML mapping (name, clips, protocol, methods, metrics)")
    _check_keys(raw, SPEC_KEYS, "spec")
    base = Path(base or Path.cwd())
    for key in ("clips", "methods"):
        if key not in raw:
            raise SpecError(f"spec: '{key}' is required")
    proto = raw.get("protocol", "self_reenactment")
    proto = {"name": proto} if isinstance(proto, str) else dict(proto)
    pname = proto.pop("name", None)
    if pname not in PROTOCOLS:
        close = difflib.get_close_matches(str(pname), PROTOCOLS, n=1)
        raise SpecError(f"protocol.name {pname!r} is not one of {PROTOCOLS}" + (f"; did you mean {close[0]!r}?" if close else ""))
    _check_keys(proto, PROTOCOL_KEYS[pname], f"protocol ({pname})")
    protocol = {"name": pname, **PROTOCOL_DEFAULTS[pname], **proto}
    if pname == "self_reenactment" and not 0.05 <= float(protocol["test_fraction"]) <= 0.95:
        raise SpecError(f"protocol.test_fraction must be in [0.05, 0.95], got {protocol['test_fraction']}")
    metrics = raw.get("metrics", ["default"])
    try:
        specs = registry.resolve(metrics)
    except (KeyError, ValueError) as exc:
        raise SpecError(f"metrics: {exc}") from exc
    options = dict(raw.get("options") or {})
    options.update({k: v for k, v in (overrides or {}).items() if v is not None})
    fields = EvalConfig.__dataclass_fields__
    _check_keys(options, fields, "options")
    for key in ("syncnet_weights", "s3fd_weights", "lpips_backbone"):
        if options.get(key) and Path(os.path.expandvars(str(options[key]))).expanduser().exists():
            options[key] = str(resolve_path(options[key], base))
    config = EvalConfig(**options)
    methods = raw["methods"]
    if not isinstance(methods, list) or not methods:
        raise SpecError("methods: give a non-empty list of method names or mappings")
    methods = [{**m, **{k: str(resolve_path(m[k], base)) for k in ("manifest", "folder") if m.get(k)}}
               if isinstance(m, dict) else m for m in methods]
    try:
        make_methods(methods, base=base)  # validate now; workers rebuild them
    except ValueError as exc:
        raise SpecError(f"methods: {exc}") from exc
    clips = _select_clips(raw["clips"], base)
    return BenchmarkSpec(name=str(raw.get("name") or (path.stem if path else "benchmark")), clips=clips,
                         protocol=protocol, methods=methods, metrics=[s.name for s in specs], config=config,
                         raw=raw, path=path, base=base, plots=dict(raw.get("plots") or {}))


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None) -> BenchmarkSpec:
    """Read and validate a YAML spec file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}") from exc
    return spec_from_dict(raw, base=path.resolve().parent, path=path.resolve(), overrides=overrides)


# --------------------------------------------------------------------------- preparing clips
def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _atomic_dir(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))


def _frames(path: Path, fps: float) -> Iterator[np.ndarray]:
    from facial import media

    for chunk in media.iter_video(path, fps):
        yield from chunk


class _Counter:
    def __init__(self, it: Iterable):
        self.it, self.n = it, 0

    def __iter__(self):
        for x in self.it:
            self.n += 1
            yield x


def _driving_clip(clip: ClipRef, clips: list[ClipRef]) -> ClipRef:
    """The clip whose speech drives ``clip`` in cross-driving: the next one (cyclically) of another person."""
    i = next(k for k, c in enumerate(clips) if c.id == clip.id)
    n = len(clips)
    for k in range(1, n):
        other = clips[(i + k) % n]
        if not clip.person or other.person != clip.person:
            return other
    if n > 1:
        return clips[(i + 1) % n]
    raise SpecError("cross_driving needs at least two clips (each is driven by another clip's speech)")


def prepare_task(clip: ClipRef, protocol: dict[str, Any], root: Path, clips: list[ClipRef], fps: float = 25.0):
    """Cut ``clip`` for ``protocol`` into ``root/<clip>/<key>/`` (reused when present) → ClipTask."""
    from evaluation.extractors.cache import content_hash
    from evaluation.methods import ClipTask
    from facial import media
    from facial.types import AudioClip

    name = protocol["name"]
    src = Path(clip.path)
    if not src.exists():
        raise FileNotFoundError(f"clip {clip.id}: {src} does not exist")
    if name == "measure":
        info = media.probe(src)
        n = int(round(info.duration * fps))
        return ClipTask(clip.id, name, src, src, src, None, None, n, fps)
    driver = _driving_clip(clip, clips) if name == "cross_driving" else None
    key = _hash({"src": content_hash(src), "protocol": protocol, "fps": fps,
                 "driver": content_hash(driver.path) if driver else None})[:12]
    final = root / clip.id / f"{name}-{key}"
    meta_file = final / "task.json"
    if not meta_file.exists():
        tmp = _atomic_dir(final)
        try:
            audio = media.load_audio(src)
            hop = audio.sample_rate / fps
            est = int(round(media.probe(src).duration * fps))
            frames = _frames(src, fps)
            if name == "self_reenactment":
                n_speaker = int(round(est * (1.0 - float(protocol["test_fraction"]))))
                n_test = est - n_speaker
                if protocol.get("max_test_seconds"):
                    n_test = min(n_test, int(round(float(protocol["max_test_seconds"]) * fps)))
                if n_test < float(protocol.get("min_test_seconds") or 0) * fps or n_speaker < fps:
                    raise SpecError(f"clip {clip.id} ({est / fps:.1f} s) is too short for this split")
                c1 = _Counter(islice(frames, n_speaker))
                media.write_video(tmp / "speaker.mp4", c1, fps, AudioClip(audio.samples[: int(round(n_speaker * hop))], audio.sample_rate))
                c2 = _Counter(islice(frames, n_test))
                a0 = int(round(c1.n * hop))
                media.write_video(tmp / "reference.mp4", c2, fps, AudioClip(audio.samples[a0: a0 + int(round(n_test * hop))], audio.sample_rate))
                driving = AudioClip(audio.samples[a0: a0 + int(round(c2.n * hop))], audio.sample_rate)
                n_out = c2.n
            else:
                limit = protocol.get("speaker_seconds")
                c1 = _Counter(islice(frames, int(round(float(limit) * fps))) if limit else frames)
                media.write_video(tmp / "speaker.mp4", c1, fps, audio)
                speech = media.load_audio(driver.path)
                if protocol.get("max_seconds"):
                    speech = AudioClip(speech.samples[: int(float(protocol["max_seconds"]) * speech.sample_rate)], speech.sample_rate)
                driving = speech
                n_out = speech.n_frames(fps)
            media.save_wav(tmp / "driving.wav", driving)
            (tmp / "task.json").write_text(json.dumps({"clip": clip.id, "source": str(src), "protocol": protocol,
                                                       "driver": driver.id if driver else clip.id, "n_frames": n_out}, indent=1))
            if final.exists():  # another worker got there first
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, final)
        except BaseException:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            raise
    meta = json.loads(meta_file.read_text())
    reference = final / "reference.mp4" if name == "self_reenactment" else None
    footage = reference if name == "self_reenactment" else final / "speaker.mp4"
    return ClipTask(clip.id, name, src, final / "speaker.mp4", final / "driving.wav", reference, footage,
                    int(meta["n_frames"]), fps)


# --------------------------------------------------------------------------- running cells
@dataclass
class CellResult:
    """One (method, clip) cell: metric values (or why the method could not run) and traces."""

    method: str
    clip: str
    values: list[MetricValue]
    status: str = "ok"
    reason: str = ""
    video: str = ""
    seconds: float = 0.0
    cached: bool = False
    traces: dict[str, list[float]] = field(default_factory=dict)
    method_info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"method": self.method, "clip": self.clip, "status": self.status, "reason": self.reason,
                          "video": self.video, "seconds": round(self.seconds, 3), "method_info": self.method_info,
                          "values": [v.to_dict() for v in self.values], "traces": self.traces})

    @classmethod
    def from_dict(cls, d: dict[str, Any], cached: bool = False) -> "CellResult":
        return cls(d["method"], d["clip"], [MetricValue.from_dict(v) for v in d.get("values", [])], d.get("status", "ok"),
                   d.get("reason", ""), d.get("video", ""), float(d.get("seconds", 0.0)), cached, d.get("traces") or {},
                   d.get("method_info") or {})


def _write_json_atomic(path: Path, obj: Any) -> None:
    from evaluation.tables import write_text_atomic

    write_text_atomic(path, json.dumps(_jsonable(obj), indent=1))


def run_unit(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Run every method of one clip (a work unit; top-level so that worker processes can run it)."""
    from evaluation.extractors.cache import content_hash
    from evaluation.methods import MethodUnavailable, make_methods
    from evaluation.scoring import score_clip
    from evaluation.types import ClipInput
    from facial import media

    clip = ClipRef(**{**payload["clip"], "path": Path(payload["clip"]["path"])})
    clips = [ClipRef(**{**c, "path": Path(c["path"])}) for c in payload["clips"]]
    out_dir = Path(payload["out_dir"])
    config = EvalConfig(**payload["config"])
    protocol = payload["protocol"]
    methods = make_methods(payload["methods"], base=Path(payload["base"]))
    if payload.get("only") is not None:
        methods = [m for m in methods if m.name in payload["only"]]
    results: list[dict[str, Any]] = []
    task = None
    for method in methods:
        t0 = time.perf_counter()
        reason = method.available()
        if reason:
            results.append(CellResult(method.name, clip.id, [], "unavailable", reason).to_dict())
            continue
        try:
            if task is None:
                task = prepare_task(clip, protocol, out_dir / "prepared", clips, config.fps)
            key = _hash({"v": TOOLKIT_RESULT_VERSION, "method": method.identity(), "clip": clip.id,
                         "src": content_hash(task.source), "output": method.content_key(task),
                         "protocol": protocol, "metrics": payload["metrics"],
                         "config": config.fingerprint()})
            cell_file = out_dir / "results" / method.name / f"{clip.id}.json"
            if cell_file.exists():
                try:
                    old = json.loads(cell_file.read_text())
                    if old.get("key") == key:
                        results.append({**old["cell"], "cached": True})
                        continue
                except (ValueError, KeyError):
                    pass
            video_dir = out_dir / "videos" / method.name
            video_dir.mkdir(parents=True, exist_ok=True)
            if hasattr(method, "cache_dir"):
                method.cache_dir = Path(payload["cache_dir"]) / "facial"
            video = Path(method.produce(task, video_dir))
            audio = None if media.probe(video).has_audio else task.driving_audio
            inputs = ClipInput(video, audio=audio, reference=task.reference, real_footage=task.real_footage)
            score = score_clip(inputs, payload["metrics"], config, cache_dir=payload["cache_dir"], progress=False)
            traces = {k: np.round(np.asarray(v, dtype=np.float64), 4).tolist() for k, v in score.traces.items()}
            cell = CellResult(method.name, clip.id, score.values, "ok", "", str(video), time.perf_counter() - t0, False, traces,
                              dict(getattr(method, "last_info", {}) or {}))
            _write_json_atomic(cell_file, {"key": key, "cell": cell.to_dict()})
            results.append(cell.to_dict())
        except MethodUnavailable as exc:
            results.append(CellResult(method.name, clip.id, [], "unavailable", str(exc)).to_dict())
        except Exception as exc:  # a broken clip or method must not stop the benchmark
            log.warning("%s / %s failed: %s: %s", method.name, clip.id, type(exc).__name__, exc)
            log.debug("traceback", exc_info=True)
            results.append(CellResult(method.name, clip.id, [], "error", f"{type(exc).__name__}: {exc}").to_dict())
    return results


def _worker_init(level: int) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _units(spec: BenchmarkSpec) -> list[dict[str, Any]]:
    """Work units: one per clip (all methods), or for ``measure`` also one per external method's clip."""
    from evaluation.methods import External, make_methods

    clip_dicts = [{"id": c.id, "path": str(c.path), "person": c.person, "duration": c.duration} for c in spec.clips]
    common = {"protocol": spec.protocol, "metrics": spec.metrics, "config": spec.config.to_dict(), "base": str(spec.base),
              "methods": spec.methods}
    if spec.protocol["name"] != "measure":
        return [{**common, "clip": c, "clips": clip_dicts, "only": None} for c in clip_dicts]
    built = make_methods(spec.methods, base=spec.base)
    own = [m.name for m in built if not isinstance(m, External)]
    units = [{**common, "clip": c, "clips": clip_dicts, "only": own} for c in clip_dicts] if own else []
    for m in built:
        if isinstance(m, External) and not m.available():
            for row in m.rows():
                c = {"id": row["clip"], "path": str(row["video"]), "person": row.get("person", ""), "duration": None}
                units.append({**common, "clip": c, "clips": [c], "only": [m.name]})
    return units


# --------------------------------------------------------------------------- results → tables
@dataclass
class BenchmarkResult:
    """Everything a run produced (also written to ``out_dir``)."""

    rows: pd.DataFrame
    unavailable: pd.DataFrame
    aggregate: pd.DataFrame
    cells: list[CellResult]
    out_dir: Path
    files: dict[str, Path]


def cells_to_frames(cells: list[CellResult], method_order: list[str], metric_order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows ``method, clip, metric, value``; unavailable ``method, clip, metric, status, reason``)."""
    rows, missing = [], []
    for c in cells:
        if c.status != "ok":
            missing.append({"method": c.method, "clip": c.clip, "metric": "*", "status": c.status, "reason": c.reason})
            continue
        for v in c.values:
            if v.is_ok:
                rows.append({"method": c.method, "clip": c.clip, "metric": v.name, "value": float(v.value)})
            else:
                missing.append({"method": c.method, "clip": c.clip, "metric": v.name, "status": v.status, "reason": v.reason})
    df = pd.DataFrame(rows, columns=["method", "clip", "metric", "value"])
    mrank = {m: i for i, m in enumerate(method_order)}
    krank = {m: i for i, m in enumerate(metric_order)}
    if len(df):
        df = df.sort_values(["method", "metric", "clip"], key=lambda s: s.map(mrank) if s.name == "method" else
                            s.map(krank) if s.name == "metric" else s, kind="stable").reset_index(drop=True)
    return df, pd.DataFrame(missing, columns=["method", "clip", "metric", "status", "reason"])


def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    a = abs(x)
    d = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{x:.{d}f}"


def summary_cells(agg: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``(method, metric) → "mean ± std [ci_lo, ci_hi]"`` text cells."""
    out = {}
    for r in agg.itertuples(index=False):
        text = _fmt(r.mean)
        if np.isfinite(r.std):
            text += f" ± {_fmt(r.std)}"
        if np.isfinite(r.ci_lo):
            text += f" [{_fmt(r.ci_lo)}, {_fmt(r.ci_hi)}]"
        out[(r.method, r.metric)] = text
    return out


def _family_tables(agg: pd.DataFrame, methods: list[str]) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """Per metric family: (title, header, rows, metric names) for the metrics present in ``agg``."""
    cells = summary_cells(agg)
    present = list(dict.fromkeys(agg["metric"]))
    ns = {(r.method, r.metric): int(r.n) for r in agg.itertuples(index=False)}
    titles = {"sync": "Lip sync (SyncNet)", "av_sync": "Audio-visual sync (weights-free)", "lmd": "Landmark distance",
              "blink": "Eye blinks", "head_motion": "Head motion", "image": "Image fidelity (aligned face crops)"}
    out = []
    for family, title in titles.items():
        fam = [s for s in registry.all_specs() if s.family == family and s.name in present]
        for part in range(0, len(fam), MAX_TABLE_COLUMNS):
            specs = fam[part:part + MAX_TABLE_COLUMNS]
            t = title if part == 0 else f"{title} (continued)"
            table = _one_table(t, specs, methods, cells, ns)
            if table:
                out.append(table)
    return out


def _one_table(title: str, specs: list, methods: list[str], cells: dict, ns: dict):
    """(title, header, rows, metric names) of one table, or None when no method has a value."""
    header = ["method", "n"] + [f"{s.name} {s.arrow}" + (f" ({s.unit})" if s.unit not in ("–", "×", "") else "") for s in specs]
    rows = []
    for m in methods:
        if not any((m, s.name) in cells for s in specs):
            continue
        n = max((ns.get((m, s.name), 0) for s in specs), default=0)
        rows.append([m, str(n)] + [cells.get((m, s.name), "–") for s in specs])
    return (title, header, rows, [s.name for s in specs]) if rows else None


def method_notes(cells: list[CellResult]) -> dict[str, str]:
    """Per method, how its videos were made (e.g. which FACIAL driver), from the cells' ``method_info``."""
    seen: dict[str, dict[str, set]] = {}
    for c in cells:
        for key in ("driver", "renderer"):
            if c.method_info.get(key):
                seen.setdefault(c.method, {}).setdefault(key, set()).add(str(c.method_info[key]))
    return {m: ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in d.items()) for m, d in seen.items()}


def render_markdown(agg: pd.DataFrame, methods: list[str], *, title: str, protocol: dict[str, Any],
                    unavailable: pd.DataFrame | None = None, notes: dict[str, str] | None = None) -> str:
    """The aggregate as Markdown: one table per metric family plus a legend."""
    from evaluation.tables import markdown_table

    parts = [f"# {title}\n\n", f"Protocol: `{protocol['name']}` — " + ", ".join(f"{k}={v}" for k, v in protocol.items() if k != "name") + "\n\n",
             "Cells: mean ± std over clips [percentile-bootstrap 95 % CI of the mean, 2000 resamples]; "
             "n = clips with a value. ↑ higher is better, ↓ lower is better, →x closer to x is better, "
             "· descriptive (compare with `ground_truth`).\n"]
    if notes:
        parts.append("\nHow the methods' videos were made: " + "; ".join(f"`{m}`: {t}" for m, t in notes.items()) + ".\n")
    for t, header, rows, names in _family_tables(agg, methods):
        parts.append(f"\n## {t}\n\n" + markdown_table(header, rows))
        if "blink_rate_per_min" in names:
            parts.append("\nHuman conversational blink rate: 10.5–32.5 /min (Doughty 2001; mean 26 /min, Bentivoglio et al. 1997).\n")
    if unavailable is not None and len(unavailable):
        parts.append("\n## Not computed\n\n")
        rows = []
        for reason, g in unavailable.groupby("reason", sort=False):
            metrics = list(dict.fromkeys(g["metric"]))
            ms = list(dict.fromkeys(g["method"]))
            rows.append([", ".join(f"`{m}`" for m in metrics), ", ".join(ms), str(len(g)), str(reason).replace("\n", " ")])
        parts.append(markdown_table(["metrics", "methods", "cells", "reason"], rows, align=["l", "l", "r", "l"]))
    return "".join(parts)


def render_latex(agg: pd.DataFrame, methods: list[str], *, title: str) -> str:
    """The aggregate as LaTeX (booktabs): one table per metric family."""
    from evaluation.tables import latex_escape, latex_table

    extra = {"→": r"$\rightarrow$", "·": r"$\cdot$", "²": r"$^2$", "³": r"$^3$", "−": "-", "–": "--"}

    def tex(text: str) -> str:
        out = latex_escape(text)
        for k, v in extra.items():
            out = out.replace(k, v)
        return out

    out = []
    for t, header, rows, _ in _family_tables(agg, methods):
        out.append(latex_table([tex(h) for h in header], [[tex(c) for c in r] for r in rows], caption=f"{title}: {t}",
                               label=f"tab:{_slug(title)}-{_slug(t)}", escape=False))
    return "\n".join(out)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:40]


def paired_comparisons(rows: pd.DataFrame, methods: list[str], focus: str | None = None) -> pd.DataFrame:
    """Paired tests (``evaluation.stats.paired_test``) of ``focus`` against every other method, per
    metric, on the clips both have: ``method_a, method_b, metric, n, mean_a, mean_b, mean_diff,
    wilcoxon_p, t_p``. ``focus`` defaults to the first ``ours*`` method, else the first method
    that is not ``ground_truth``."""
    from evaluation.stats import paired_test

    cols = ["method_a", "method_b", "metric", "n", "mean_a", "mean_b", "mean_diff", "wilcoxon_p", "t_p"]
    present = [m for m in methods if m in set(rows["method"])] if len(rows) else []
    if focus is None:
        focus = next((m for m in present if m.startswith("ours")), next((m for m in present if m != "ground_truth"), None))
    if focus is None or focus not in present:
        return pd.DataFrame(columns=cols)
    wide = rows.pivot_table(index=["metric", "clip"], columns="method", values="value", aggfunc="first")
    out = []
    for metric in dict.fromkeys(rows["metric"]):
        sub = wide.loc[metric]
        for other in present:
            if other == focus or focus not in sub or other not in sub:
                continue
            both = sub[[focus, other]].dropna()
            if len(both) < 2:
                continue
            r = paired_test(both[focus].to_numpy(), both[other].to_numpy())
            out.append({"method_a": focus, "method_b": other, "metric": metric, "n": r["n"], "mean_a": r["mean_a"],
                        "mean_b": r["mean_b"], "mean_diff": r["mean_diff"], "wilcoxon_p": r["wilcoxon_p"], "t_p": r["t_p"]})
    return pd.DataFrame(out, columns=cols)


# --------------------------------------------------------------------------- plots
def _save_fig(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def plot_metric_bars(agg: pd.DataFrame, methods: list[str], out_dir: Path) -> list[Path]:
    """One bar chart per metric: mean per method with the bootstrap 95 % CI as error bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    specs = {s.name: s for s in registry.all_specs()}
    for metric, g in agg.groupby("metric", sort=False):
        g = g.set_index("method").reindex([m for m in methods if m in set(g["method"])])
        spec = specs.get(metric)
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(g), 3.2))
        x = np.arange(len(g))
        ax.bar(x, g["mean"], color="#4C72B0")
        lo = (g["mean"] - g["ci_lo"]).clip(lower=0).fillna(0)
        hi = (g["ci_hi"] - g["mean"]).clip(lower=0).fillna(0)
        ax.errorbar(x, g["mean"], yerr=[lo, hi], fmt="none", ecolor="black", capsize=4)
        ax.set_xticks(x, [f"{m}\n(n={int(n)})" for m, n in zip(g.index, g["n"])], fontsize=8)
        if spec is not None:
            ax.set_ylabel(f"{metric} ({spec.unit}) {spec.arrow}")
            if spec.target is not None:
                ax.axhline(spec.target, color="grey", ls="--", lw=1)
            if spec.band:
                ax.axhspan(*spec.band, color="green", alpha=0.12, label="human conversation")
                ax.legend(fontsize=7)
        ax.set_title(metric + " (bootstrap 95 % CI)", fontsize=9)
        paths.append(_save_fig(fig, out_dir / f"{metric}.png"))
        plt.close(fig)
    return paths


def plot_traces(cells: list[CellResult], clip: str, methods: list[str], out_dir: Path) -> Path | None:
    """Yaw, pitch, roll and blink of one clip: ours (or every method) against ground truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_method = {c.method: c for c in cells if c.clip == clip and c.traces}
    if not by_method:
        return None
    ours = [m for m in methods if m in by_method and (m.startswith("ours") or m == "lips_only")]
    show = (ours + ["ground_truth"]) if ours else list(by_method)
    show = [m for m in dict.fromkeys(show) if m in by_method]
    fig, axes = plt.subplots(4, 1, figsize=(8, 7), sharex=True)
    for ax, key, label in zip(axes, ("yaw", "pitch", "roll", "blink"), ("yaw (deg)", "pitch (deg)", "roll (deg)", "blink (0 open–1 closed)")):
        for m in show:
            tr = by_method[m].traces.get(key)
            if tr:
                t = np.arange(len(tr)) / 25.0
                ax.plot(t, tr, lw=1.6 if m == "ground_truth" else 1.0, color="black" if m == "ground_truth" else None, label=m)
        ax.set_ylabel(label, fontsize=8)
    axes[0].legend(fontsize=7, ncol=min(4, len(show)))
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"{clip}: head pose and blinks", fontsize=10)
    path = _save_fig(fig, out_dir / f"traces_{clip}.png")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- provenance
def git_commit(start: Path | None = None) -> str | None:
    """The checked-out commit, read from ``.git`` (no git process), or None."""
    here = (start or Path(__file__)).resolve()
    for d in [here, *here.parents]:
        git = d / ".git"
        if git.is_file():  # worktree: "gitdir: …"
            text = git.read_text().strip()
            if text.startswith("gitdir:"):
                git = (d / text.split(":", 1)[1].strip()).resolve()
        if git.is_dir():
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head
            ref = head.split(":", 1)[1].strip()
            for base in (git, Path(str(git).split("/worktrees/")[0]) if "/worktrees/" in str(git) else git):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()
                packed = base / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
            return None
    return None


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    from importlib import metadata

    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def provenance(spec: BenchmarkSpec, *, argv: list[str] | None = None, seconds: float | None = None) -> dict[str, Any]:
    """Git commit, spec, config, versions, date and host of a run."""
    import sys

    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "spec_path": str(spec.path) if spec.path else None,
        "spec_sha256": _hash(spec.raw)[:16],
        "spec": spec.raw,
        "protocol": spec.protocol,
        "metrics": spec.metrics,
        "config": spec.config.to_dict(),
        "clips": [{"id": c.id, "path": str(c.path)} for c in spec.clips],
        "versions": {"python": sys.version.split()[0], **package_versions()},
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "argv": argv,
        "seconds": round(seconds, 1) if seconds is not None else None,
    }


# --------------------------------------------------------------------------- run
def run_benchmark(spec: BenchmarkSpec, out_dir: str | Path, *, jobs: int = 1, progress: bool = True,
                  argv: list[str] | None = None) -> BenchmarkResult:
    """Run ``spec`` into ``out_dir`` (see the module docstring for what is written)."""
    from tqdm.auto import tqdm

    from evaluation import tables
    from evaluation.methods import make_methods

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"output {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = spec.raw.get("cache_dir")
    cache_dir = str(resolve_path(cache_dir, spec.base)) if cache_dir else str(out_dir / "cache")
    t0 = time.perf_counter()
    units = _units(spec)
    for u in units:
        u["out_dir"] = str(out_dir)
        u["cache_dir"] = cache_dir
    method_order = [m.name for m in make_methods(spec.methods, base=spec.base)]
    dicts: list[dict[str, Any]] = []
    bar = tqdm(total=len(units), desc=f"{spec.name}: clips", unit="clip", disable=not progress)
    if jobs <= 1 or len(units) <= 1:
        for u in units:
            dicts.extend(run_unit(u))
            bar.update(1)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                 initargs=(logging.getLogger().getEffectiveLevel(),)) as pool:
            futures = [pool.submit(run_unit, u) for u in units]
            for f in as_completed(futures):
                dicts.extend(f.result())
                bar.update(1)
    bar.close()
    cells = [CellResult.from_dict(d, cached=bool(d.get("cached"))) for d in dicts]
    cells.sort(key=lambda c: (method_order.index(c.method) if c.method in method_order else 99, c.clip))
    rows, unavailable = cells_to_frames(cells, method_order, spec.metrics)
    agg = tables.aggregate(rows) if len(rows) else pd.DataFrame(columns=list(tables.AGG_COLUMNS))
    files: dict[str, Path] = {}
    files["rows"] = tables.write_text_atomic(out_dir / "rows.csv", rows.to_csv(index=False))
    files["unavailable"] = tables.write_text_atomic(out_dir / "unavailable.csv", unavailable.to_csv(index=False))
    files["aggregate_csv"] = tables.to_csv(agg, out_dir / "aggregate.csv")
    files["comparisons"] = tables.to_csv(paired_comparisons(rows, method_order, spec.plots.get("compare")),
                                         out_dir / "comparisons.csv")
    title = f"Benchmark `{spec.name}`"
    files["aggregate_md"] = tables.write_text_atomic(out_dir / "aggregate.md", render_markdown(
        agg, method_order, title=title, protocol=spec.protocol, unavailable=unavailable, notes=method_notes(cells)))
    files["aggregate_tex"] = tables.write_text_atomic(out_dir / "aggregate.tex", render_latex(agg, method_order, title=spec.name))
    if len(agg):
        plot_metric_bars(agg, method_order, out_dir / "plots")
    trace_clip = spec.plots.get("trace_clip") or (spec.clips[0].id if spec.protocol["name"] != "measure" else None)
    if trace_clip:
        p = plot_traces(cells, trace_clip, method_order, out_dir / "plots")
        if p:
            files["traces"] = p
    n_cached = sum(c.cached for c in cells)
    prov = provenance(spec, argv=argv, seconds=time.perf_counter() - t0)
    prov["cells"] = {"total": len(cells), "cached": n_cached, "not_ok": sum(c.status != "ok" for c in cells)}
    prov["methods"] = {"entries": spec.methods, "how_made": method_notes(cells)}
    _write_json_atomic(out_dir / "provenance.json", prov)
    files["provenance"] = out_dir / "provenance.json"
    log.info("%s: %d cells (%d from cache) in %.1f s → %s", spec.name, len(cells), n_cached, time.perf_counter() - t0, out_dir)
    return BenchmarkResult(rows, unavailable, agg, cells, out_dir, files)
