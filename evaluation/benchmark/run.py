"""Running a benchmark: (method, clip) cells, work units and :func:`run_benchmark`.

Each (method, clip) cell is cached in ``OUT/results/<method>/<clip>.json`` under a key of (method,
clip content, protocol, metrics, config), so re-running after adding a method or a clip computes
only the new cells, whichever backend ran them. Where units run — this process, a local process
pool (``jobs``), a Ray cluster (``backend="ray"``) — is :mod:`evaluation.benchmark.backends`'s job;
a unit that dies (a crashed worker, a lost node) becomes ``error`` cells in ``unavailable.csv``.
``torch.set_num_threads(1)`` is set only in :func:`~evaluation.benchmark.backends._worker_init`, i.e.
in worker processes, never in the calling process (the app runs benchmarks from a request thread).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation import tables
from evaluation.benchmark.backends import Backend, _worker_init, make_backend  # noqa: F401 (_worker_init: re-exported)
from evaluation.benchmark.plots import plot_metric_bars, plot_traces
from evaluation.benchmark.prepare import prepare_task
from evaluation.benchmark.prov import provenance
from evaluation.benchmark.report import cells_to_frames, method_notes, paired_comparisons, render_latex, render_markdown
from evaluation.benchmark.spec import BenchmarkSpec, ClipRef, SpecError, spec_path
from evaluation.types import EvalConfig, MetricValue, _jsonable
from facial.hashing import sha256_json

log = logging.getLogger("evaluation.benchmark")  # the package's logger, as before the split

TOOLKIT_RESULT_VERSION = 1


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


def _write_json(path: Path, obj: Any) -> None:
    tables.write_text_atomic(path, json.dumps(_jsonable(obj), indent=1))


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
            key = sha256_json({"v": TOOLKIT_RESULT_VERSION, "method": method.identity(), "clip": clip.id,
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
            _write_json(cell_file, {"key": key, "cell": cell.to_dict()})
            results.append(cell.to_dict())
        except MethodUnavailable as exc:
            results.append(CellResult(method.name, clip.id, [], "unavailable", str(exc)).to_dict())
        except Exception as exc:  # a broken clip or method must not stop the benchmark
            log.warning("%s / %s failed: %s: %s", method.name, clip.id, type(exc).__name__, exc)
            log.debug("traceback", exc_info=True)
            results.append(CellResult(method.name, clip.id, [], "error", f"{type(exc).__name__}: {exc}").to_dict())
    return results


def prepare_unit(payload: dict[str, Any]) -> str:
    """Cut one clip for the protocol (``OUT/prepared``) before its cells run, so that the cells of a
    clip, run as separate tasks, do not all cut it at once. Returns "" or the error, which the
    cells meet again in :func:`run_unit` and report."""
    clip = ClipRef(**{**payload["clip"], "path": Path(payload["clip"]["path"])})
    clips = [ClipRef(**{**c, "path": Path(c["path"])}) for c in payload["clips"]]
    try:
        prepare_task(clip, payload["protocol"], Path(payload["out_dir"]) / "prepared", clips, EvalConfig(**payload["config"]).fps)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return ""


def _cells(units: list[dict[str, Any]], method_order: list[str]) -> list[dict[str, Any]]:
    """One unit per (method, clip) cell (for backends that run cells as separate tasks)."""
    return [{**u, "only": [name]} for u in units for name in (u["only"] or method_order)]


def _failed_unit(unit: dict[str, Any], method_order: list[str], exc: BaseException) -> list[dict[str, Any]]:
    """``error`` cells of a unit whose task died (its own exceptions are caught inside :func:`run_unit`)."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    reason = f"{type(exc).__name__}: {first}"
    clip = unit["clip"]["id"]
    log.warning("%s: the task of %s failed: %s", clip, ", ".join(unit["only"] or method_order), reason)
    return [CellResult(name, clip, [], "error", reason).to_dict() for name in (unit["only"] or method_order)]


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


@dataclass
class BenchmarkResult:
    """Everything a run produced (also written to ``out_dir``)."""

    rows: pd.DataFrame
    unavailable: pd.DataFrame
    aggregate: pd.DataFrame
    cells: list[CellResult]
    out_dir: Path
    files: dict[str, Path]


def run_benchmark(spec: BenchmarkSpec, out_dir: str | Path, *, jobs: int = 1, progress: bool = True,
                  argv: list[str] | None = None, backend: str | Backend | None = None, address: str | None = None,
                  resources: str | dict | None = None) -> BenchmarkResult:
    """Run ``spec`` into ``out_dir`` (what is written: see :mod:`evaluation.benchmark`).

    ``backend``: ``"local"`` (default; ``jobs`` processes) or ``"ray"`` (one task per cell on the
    cluster at ``address``, with per-method ``resources``; see :mod:`evaluation.benchmark.backends`).
    Every backend writes the same rows and tables; ``out_dir`` (and the clips) must be at the same
    path on every worker.
    """
    from tqdm.auto import tqdm

    from evaluation.methods import make_methods

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"output {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = spec.raw.get("cache_dir")
    cache_dir = str(spec_path(cache_dir, "cache_dir", spec.base, spec.data_root)) if cache_dir else str(out_dir / "cache")
    t0 = time.perf_counter()
    units = _units(spec)
    for u in units:
        u["out_dir"] = str(out_dir)
        u["cache_dir"] = cache_dir
    method_order = [m.name for m in make_methods(spec.methods, base=spec.base)]
    if backend in (None, "local") and len(units) <= 1:
        jobs = 1  # no pool for one unit
    runner = make_backend(backend, jobs=jobs, address=address, resources=resources, methods=method_order)
    dicts: list[dict[str, Any]] = []
    try:
        if runner.per_cell:
            if spec.protocol["name"] != "measure" and units:  # cut each clip once, before its cells run side by side
                prep = [{**u, "stage": "prepare"} for u in units]
                with tqdm(total=len(prep), desc=f"{spec.name}: prepare", unit="clip", disable=not progress) as bar:
                    for _ in runner.map(prepare_unit, prep):
                        bar.update(1)
            units = _cells(units, method_order)
        what = "cell" if runner.per_cell else "clip"
        with tqdm(total=len(units), desc=f"{spec.name}: {what}s", unit=what, disable=not progress) as bar:
            for i, result in runner.map(run_unit, units):  # as units finish (the Ray backend: ray.wait)
                dicts.extend(_failed_unit(units[i], method_order, result) if isinstance(result, BaseException) else result)
                bar.update(1)
    finally:
        runner.close()
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
    prov["backend"] = {"name": runner.name, "jobs": jobs, **({"address": address or "local cluster",
                                                              "resources": getattr(runner, "resources", None)}
                                                             if runner.name == "ray" else {})}
    prov["methods"] = {"entries": spec.methods, "how_made": method_notes(cells)}
    _write_json(out_dir / "provenance.json", prov)
    files["provenance"] = out_dir / "provenance.json"
    log.info("%s: %d cells (%d from cache) in %.1f s → %s", spec.name, len(cells), n_cached, time.perf_counter() - t0, out_dir)
    return BenchmarkResult(rows, unavailable, agg, cells, out_dir, files)
