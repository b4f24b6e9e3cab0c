"""Where a benchmark's work units run: this process, a local process pool, or a Ray cluster.

One small interface (:class:`Backend`): ``map(fn, units)`` runs ``fn(unit)`` for every unit and
yields ``(index, result)`` as each finishes — ``result`` is what ``fn`` returned, or the exception
that stopped it (a crashed worker, a lost node), which :func:`~evaluation.benchmark.run.run_benchmark`
reports as ``error`` cells while the other units go on. The cache is not the backend's business:
every unit reads and writes ``OUT/results`` itself (:func:`~evaluation.benchmark.run.run_unit`),
so a re-run skips finished cells whatever ran them, as long as ``OUT`` (and the clips) are at the
same path on every machine: a shared filesystem.

- :class:`Serial` (``--jobs 1``): in this process, one unit after another.
- :class:`LocalPool` (``--jobs N``): N spawned processes (one torch thread each).
- :class:`RayBackend` (``--backend ray``): one Ray task per (method, clip) cell, on the cluster at
  ``address`` (``None``: a local one started for the run; ``"auto"``: the running cluster;
  ``"ray://HOST:10001"``: Ray Client), with per-method resource requests (:func:`parse_resources`).

``torch.set_num_threads(1)`` (and one BLAS thread) is set only in :func:`_worker_init`, i.e. in pool
worker processes and Ray workers, never in the calling process (the app runs benchmarks from a request
thread).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from facial.cli._common import limit_native_threads  # the one home of thread counts

log = logging.getLogger("evaluation.benchmark")

Unit = dict[str, Any]
UnitFn = Callable[[Unit], Any]

#: ``ray.remote`` options a resource request may set (per task; see Ray's "Specifying task resources").
RAY_OPTIONS = ("num_cpus", "num_gpus", "memory", "resources", "accelerator_type")
#: Resource keys that are not method names: every task (``*``) and the per-clip preparation tasks.
DEFAULT_KEY, PREPARE_KEY = "*", "prepare"


class Backend(Protocol):
    """Runs work units; ``per_cell``: whether units are single (method, clip) cells (else one per clip)."""

    name: str
    per_cell: bool

    def map(self, fn: UnitFn, units: list[Unit]) -> Iterator[tuple[int, Any]]:
        """``(index into units, fn's result or the exception it raised)`` in the order they finish."""
        ...

    def close(self) -> None:
        """Release what the backend started (called once, after the last ``map``)."""
        ...



def _worker_init(level: int) -> None:
    """Initialiser of a worker process (pool or Ray; only there): one torch thread and one BLAS /
    OpenMP thread per worker. The BLAS part matters for equal numbers, not only for speed: a
    multi-threaded OpenBLAS sums in another order (a speaker fit then differs in the last bit, which
    fine-tuning turns into different videos), so every worker computes like ``facial-eval run
    --threads 1`` (the default), whichever backend runs it."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    limit_native_threads(1)


class Serial:
    """Every unit in this process, in order (``--jobs 1``)."""

    name, per_cell = "serial", False

    def map(self, fn: UnitFn, units: list[Unit]) -> Iterator[tuple[int, Any]]:
        for i, unit in enumerate(units):
            try:
                result = fn(unit)
            except Exception as exc:  # noqa: BLE001 - reported as this unit's cells, the others go on
                result = exc
            yield i, result

    def close(self) -> None:
        pass


class LocalPool:
    """``jobs`` spawned worker processes (``--jobs N``), each initialised by :func:`_worker_init`."""

    name, per_cell = "local", False

    def __init__(self, jobs: int):
        self.jobs = int(jobs)

    def map(self, fn: UnitFn, units: list[Unit]) -> Iterator[tuple[int, Any]]:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                 initargs=(logging.getLogger().getEffectiveLevel(),)) as pool:
            futures = {pool.submit(fn, u): i for i, u in enumerate(units)}
            for f in as_completed(futures):
                try:
                    result = f.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker killed for memory: BrokenProcessPool
                    result = exc
                yield futures[f], result

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- Ray
def parse_resources(value: str | dict | None, methods: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per-task Ray resource requests from ``--resources``: a JSON object (or a ``.json`` file).

    Either the options of every task (``{"num_cpus": 2}``), or per method name as in ``rows.csv``,
    with ``"*"`` for the others and ``"prepare"`` for the per-clip preparation tasks::

        {"*": {"num_cpus": 1}, "ours_neural": {"num_cpus": 2, "num_gpus": 1}}

    Options are ``ray.remote``'s: ``num_cpus``, ``num_gpus`` (fractions allowed), ``memory`` (bytes),
    ``resources`` (custom, e.g. ``{"ffmpeg": 1}``), ``accelerator_type``. Default: one CPU per task.
    """
    if value is None or value == "":
        raw: Any = {}
    elif isinstance(value, dict):
        raw = value
    else:
        text = str(value)
        if not text.lstrip().startswith("{") and Path(text).suffix == ".json" and Path(text).is_file():
            text = Path(text).read_text(encoding="utf-8")
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--resources is not JSON ({exc.msg}); e.g. '{{\"*\": {{\"num_cpus\": 1}}, "
                             f"\"ours_neural\": {{\"num_gpus\": 1}}}}'") from None
    if not isinstance(raw, dict):
        raise ValueError(f"--resources must be a JSON object, got {type(raw).__name__}")
    if raw and all(k in RAY_OPTIONS for k in raw):
        raw = {DEFAULT_KEY: raw}
    out: dict[str, dict[str, Any]] = {DEFAULT_KEY: {"num_cpus": 1}}
    known = set(methods or ()) | {DEFAULT_KEY, PREPARE_KEY}
    for key, opts in raw.items():
        if methods is not None and key not in known:
            raise ValueError(f"--resources: {key!r} is neither a method of the spec ({', '.join(methods)}) nor "
                             f"'{DEFAULT_KEY}' / '{PREPARE_KEY}'")
        if not isinstance(opts, dict):
            raise ValueError(f"--resources[{key!r}] must be an object of Ray options ({', '.join(RAY_OPTIONS)})")
        bad = sorted(set(opts) - set(RAY_OPTIONS))
        if bad:
            raise ValueError(f"--resources[{key!r}]: unknown option(s) {bad}; allowed: {', '.join(RAY_OPTIONS)}")
        for k in ("num_cpus", "num_gpus", "memory"):
            if k in opts and (not isinstance(opts[k], (int, float)) or opts[k] < 0):
                raise ValueError(f"--resources[{key!r}][{k!r}] must be a number ≥ 0, got {opts[k]!r}")
        out[key] = {**out.get(key, {}), **opts} if key == DEFAULT_KEY else dict(opts)
    return out


_RAY_WORKER_READY = False


def _ray_task(fn: UnitFn, unit: Unit, level: int) -> Any:
    """What a Ray worker runs: :func:`_worker_init` once per worker process, then ``fn(unit)``."""
    global _RAY_WORKER_READY
    if not _RAY_WORKER_READY:
        _worker_init(level)
        _RAY_WORKER_READY = True
    return fn(unit)


def _task_error(exc: BaseException) -> BaseException:
    """The exception a task raised, without Ray's wrapping (``RayTaskError.cause``) when there is one."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


class RayBackend:
    """One Ray task per (method, clip) cell, fed back through ``ray.wait`` as tasks finish.

    Connects to ``address`` (``ray.init(address=…)``) at the first ``map``; with ``address=None`` and
    no running Ray in this process a local cluster is started (``num_cpus``: its size) and shut down
    by :meth:`close`. When this process has already called ``ray.init`` (a notebook, the tests) that
    session is used and left running. ``resources``: :func:`parse_resources` (``methods``: the spec's
    method names, to refuse keys that name none). Tasks that fail for a system reason (a worker or
    node lost) are retried by Ray (``max_retries``); a cell's own exception is not.
    """

    name, per_cell = "ray", True

    def __init__(self, address: str | None = None, resources: str | dict | None = None, *, methods: list[str] | None = None,
                 num_cpus: int | None = None, max_retries: int = 3, init_options: dict[str, Any] | None = None):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("--backend ray needs Ray: pip install 'facial-toolkit[ray]' (or pip install ray)") from None
        self.address = address
        self.resources = parse_resources(resources, methods)
        self.num_cpus = num_cpus
        self.max_retries = int(max_retries)
        self.init_options = dict(init_options or {})
        self._started = False  # whether this backend called ray.init (and so shuts Ray down in close)
        self._checked = False

    def options_for(self, unit: Unit) -> dict[str, Any]:
        """``ray.remote`` options of a unit: its method's entry, else ``*`` (``prepare`` for preparation)."""
        key = PREPARE_KEY if unit.get("stage") == PREPARE_KEY else (unit.get("only") or [DEFAULT_KEY])[0]
        opts = self.resources.get(key, self.resources[DEFAULT_KEY])
        return {**opts, "max_retries": self.max_retries}

    def _connect(self) -> None:
        """``ray.init`` unless this process is connected already."""
        import ray

        if ray.is_initialized():
            return
        opts: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING, **self.init_options}
        if self.address is None and self.num_cpus:
            opts.setdefault("num_cpus", self.num_cpus)
        ray.init(address=self.address, **opts)
        self._started = True
        where = self.address or f"a local cluster started for this run ({opts.get('num_cpus') or 'all'} CPUs)"
        log.info("Ray: connected to %s", where)

    def _warn_unsatisfiable(self) -> None:
        """Say so when a resource request exceeds what the cluster has now (Ray keeps such tasks
        waiting for a node that has it, e.g. one an autoscaler adds, rather than failing them)."""
        import ray

        if self._checked:
            return
        self._checked = True
        total = ray.cluster_resources()
        log.info("Ray cluster: %s", {k: v for k, v in total.items() if not k.startswith("node:")})
        for key, opts in self.resources.items():
            need = {"CPU": opts.get("num_cpus", 0), "GPU": opts.get("num_gpus", 0), "memory": opts.get("memory", 0),
                    **(opts.get("resources") or {})}
            for name, n in need.items():
                if n and total.get(name, 0) < n:
                    log.warning("--resources[%r] asks for %g %s per task but the cluster has %g: those tasks wait until "
                                "a node with it joins", key, n, name, total.get(name, 0))

    def map(self, fn: UnitFn, units: list[Unit]) -> Iterator[tuple[int, Any]]:
        import ray

        self._connect()
        self._warn_unsatisfiable()
        task = ray.remote(_ray_task)
        level = logging.getLogger().getEffectiveLevel()
        refs = {task.options(**self.options_for(u)).remote(fn, u, level): i for i, u in enumerate(units)}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...
                        result = _task_error(exc)
                    yield refs[ref], result
        finally:
            for ref in pending:  # the caller stopped early (an exception, Ctrl-C): do not leave work behind
                ray.cancel(ref, force=True)

    def close(self) -> None:
        import ray

        if self._started:
            ray.shutdown()
            self._started = False
            log.info("Ray: disconnected%s", "" if self.address else " (the local cluster is shut down)")


def make_backend(backend: str | Backend | None = None, *, jobs: int = 1, address: str | None = None,
                 resources: str | dict | None = None, methods: list[str] | None = None) -> Backend:
    """``"local"`` (``jobs`` 1: :class:`Serial`, more: :class:`LocalPool`) or ``"ray"`` (``jobs`` > 1:
    the CPUs of a local cluster started for the run); a Backend is returned as is."""
    if backend is None or backend == "local":
        if address is not None or resources:
            raise ValueError("--address and --resources are options of --backend ray")
        return Serial() if jobs <= 1 else LocalPool(jobs)
    if backend == "ray":
        return RayBackend(address, resources, methods=methods, num_cpus=jobs if jobs > 1 else None)
    if isinstance(backend, str):
        raise ValueError(f"unknown backend {backend!r}; use local or ray")
    return backend
