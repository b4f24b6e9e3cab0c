"""Benchmarks on Ray (evaluation.benchmark.backends): one task per cell on a local two-CPU Ray cluster
(127.0.0.1, started once for this module and shut down after it), the same rows, unavailable cells and
tables as the local backend, the same cell cache, and failed cells or dead tasks reported while the
run goes on. Skipped when Ray is not installed (``pip install 'facial-toolkit[ray]'``)."""
from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from evaluation import benchmark as bm
from evaluation.benchmark import backends
from evaluation.benchmark import run as run_module
from evaluation.types import MetricValue

REPO = Path(__file__).resolve().parents[3]


def test_parse_resources():
    assert backends.parse_resources(None) == {"*": {"num_cpus": 1}}
    assert backends.parse_resources('{"num_cpus": 2}') == {"*": {"num_cpus": 2}}
    got = backends.parse_resources('{"*": {"num_gpus": 0.5}, "ours_neural": {"num_gpus": 1}, "prepare": {"num_cpus": 2}}',
                                   ["static", "ours_neural"])
    assert got == {"*": {"num_cpus": 1, "num_gpus": 0.5}, "ours_neural": {"num_gpus": 1}, "prepare": {"num_cpus": 2}}
    with pytest.raises(ValueError, match="neither a method"):
        backends.parse_resources('{"ours_nerual": {"num_gpus": 1}}', ["ours_neural"])
    with pytest.raises(ValueError, match="unknown option"):
        backends.parse_resources('{"*": {"gpus": 1}}')
    with pytest.raises(ValueError, match="not JSON"):
        backends.parse_resources("num_gpus=1")
    with pytest.raises(ValueError, match="≥ 0"):
        backends.parse_resources('{"num_cpus": -1}')
    with pytest.raises(ValueError, match="options of --backend ray"):
        backends.make_backend("local", resources='{"num_cpus": 1}')


@pytest.fixture(scope="module")
def ray_cluster():
    """A two-CPU Ray cluster on 127.0.0.1 for this module (no dashboard, no usage stats, no auth token file)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'facial-toolkit[ray]'")
    saved = {k: os.environ.get(k) for k in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE")}
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", object_store_memory=80 * 2**20,
             log_to_driver=False, logging_level=logging.WARNING)
    this = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(this)  # the helpers below, sent to workers that cannot import this file
    try:
        yield ray
    finally:
        ray.cloudpickle.unregister_pickle_by_value(this)
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _synthetic_spec(tmp_path, make_clip) -> bm.BenchmarkSpec:
    """Two synthetic clips (no face: every metric reports why) and a file that is not a video."""
    for i in (1, 2):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", n_frames=100, seed=i)
    (tmp_path / "clips" / "broken.mp4").write_text("not a video")
    return bm.spec_from_dict({"name": "syn", "clips": {"folder": str(tmp_path / "clips")}, "protocol": "self_reenactment",
                              "methods": ["ground_truth", "static", "replay"], "metrics": ["pose_std_deg", "psnr"]})


@contextmanager
def _like_the_cli():
    """What ``facial-eval run --jobs 1`` does to its process (``--threads 1``: one torch and one BLAS
    thread, as in every worker), for the duration of an in-process reference run."""
    from threadpoolctl import threadpool_limits

    from facial.cli._common import threads_while

    with threads_while(1), threadpool_limits(limits=1):
        yield


def _local(spec, out: Path):
    with _like_the_cli():
        return bm.run_benchmark(spec, out, jobs=1, progress=False)


def _same_outputs(a: Path, b: Path) -> None:
    """rows.csv, unavailable.csv, aggregate.csv and comparisons.csv of two runs agree (floats to 1e-9)."""
    for name in ("rows.csv", "aggregate.csv", "comparisons.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name), check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(pd.read_csv(a / "unavailable.csv"), pd.read_csv(b / "unavailable.csv"))


def test_ray_cells_equal_the_local_run_and_a_broken_clip_is_reported(ray_cluster, tmp_path, make_clip):
    spec = _synthetic_spec(tmp_path, make_clip)
    local = _local(spec, tmp_path / "local")
    on_ray = bm.run_benchmark(spec, tmp_path / "ray", backend="ray", progress=False)
    _same_outputs(tmp_path / "local", tmp_path / "ray")
    assert [(c.method, c.clip, c.status) for c in on_ray.cells] == [(c.method, c.clip, c.status) for c in local.cells]
    broken = on_ray.unavailable[on_ray.unavailable["clip"] == "broken"]
    assert list(broken["method"]) == ["ground_truth", "static", "replay"] and set(broken["status"]) == {"error"}
    assert broken["reason"].str.contains("not a readable").all()
    ok = [c for c in on_ray.cells if c.clip != "broken"]
    assert len(ok) == 6 and all(c.status == "ok" for c in ok)  # the other cells went on (their metrics say: no face)
    prov = json.loads((tmp_path / "ray" / "provenance.json").read_text())
    assert prov["backend"]["name"] == "ray" and prov["cells"] == {"total": 9, "cached": 0, "not_ok": 3}
    assert len(list((tmp_path / "ray" / "prepared").glob("c1/*/task.json"))) == 1  # cut once, for three cells
    # resumable: a re-run on Ray takes the finished cells from the cache, and so does the local backend
    again = bm.run_benchmark(spec, tmp_path / "ray", backend="ray", progress=False)
    assert sum(c.cached for c in again.cells) == 6
    mixed = _local(spec, tmp_path / "ray")
    assert sum(c.cached for c in mixed.cells) == 6
    _same_outputs(tmp_path / "local", tmp_path / "ray")


def _raising_unit(payload):
    """A task that raises outside run_unit's own error handling for one cell (clip c2 × static)."""
    if payload["clip"]["id"] == "c2" and payload["only"] == ["static"]:
        raise RuntimeError("cell exploded\nwith a second line")
    return [bm.CellResult(m, payload["clip"]["id"], [MetricValue.ok("lmd_mouth", 1.0)]).to_dict() for m in payload["only"]]


def _crashing_unit(payload):
    """A task whose worker process dies for one cell (as when the kernel kills it for memory)."""
    if payload["clip"]["id"] == "c2" and payload["only"] == ["static"]:
        os._exit(3)
    return _raising_unit(payload)


@pytest.mark.parametrize("unit", [_raising_unit, _crashing_unit], ids=["raises", "worker dies"])
def test_a_task_that_dies_is_reported_and_the_others_go_on(ray_cluster, tmp_path, make_clip, monkeypatch, unit):
    for i in (1, 2):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", n_frames=100, seed=i)
    spec = bm.spec_from_dict({"name": "dies", "clips": {"folder": str(tmp_path / "clips")}, "protocol": "self_reenactment",
                              "methods": ["ground_truth", "static"], "metrics": ["lmd_mouth"]})
    monkeypatch.setattr(run_module, "run_unit", unit)
    res = bm.run_benchmark(spec, tmp_path / "out", backend=backends.RayBackend(max_retries=0), progress=False)
    assert [(c.method, c.clip, c.status) for c in res.cells] == [
        ("ground_truth", "c1", "ok"), ("ground_truth", "c2", "ok"), ("static", "c1", "ok"), ("static", "c2", "error")]
    reason = res.cells[-1].reason
    if unit is _raising_unit:
        assert reason == "RuntimeError: cell exploded", reason  # the cause, first line
    else:
        assert reason.startswith("WorkerCrashedError"), reason
    missing = pd.read_csv(tmp_path / "out" / "unavailable.csv")
    assert missing[["method", "clip", "status"]].values.tolist() == [["static", "c2", "error"]]
    assert len(pd.read_csv(tmp_path / "out" / "rows.csv")) == 3


def test_ray_workers_use_one_torch_thread_and_the_caller_keeps_its_own(ray_cluster):
    import torch

    threads = torch.get_num_threads()
    backend = backends.RayBackend()
    got = dict(backend.map(_worker_state, [{}, {}]))
    assert got == {0: (1, 1, True), 1: (1, 1, True)}
    assert torch.get_num_threads() == threads and not backends._RAY_WORKER_READY  # only in the workers


def test_a_request_the_cluster_cannot_meet_is_named(ray_cluster, caplog):
    backend = backends.RayBackend(resources='{"*": {"num_cpus": 1}, "static": {"num_gpus": 1}}')
    with caplog.at_level(logging.WARNING, logger="evaluation.benchmark"):
        backend._warn_unsatisfiable()
    assert "--resources['static'] asks for 1 GPU per task but the cluster has 0" in caplog.text
    assert backend.options_for({"only": ["static"]}) == {"num_gpus": 1, "max_retries": 3}
    assert backend.options_for({"only": ["replay"]}) == {"num_cpus": 1, "max_retries": 3}
    assert backend.options_for({"only": ["replay"], "stage": "prepare"}) == {"num_cpus": 1, "max_retries": 3}


def _worker_state(_unit):
    import torch
    from threadpoolctl import threadpool_info

    blas = max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=1)
    return torch.get_num_threads(), blas, backends._RAY_WORKER_READY


def test_facial_eval_run_backend_ray(ray_cluster, tmp_path, make_clip, capsys):
    from evaluation.cli import main

    make_clip(tmp_path / "clips" / "c1.mp4", n_frames=100, seed=1)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: cli\nclips: {{folder: {tmp_path / 'clips'}}}\nprotocol: self_reenactment\n"
                    "methods: [ground_truth, static]\nmetrics: [lmd_mouth]\n")
    code = main(["run", str(spec), "-o", str(tmp_path / "out"), "--backend", "ray", "--no-progress", "--threads", "0",
                 "--resources", '{"*": {"num_cpus": 1}, "static": {"num_cpus": 0.5}}'])
    assert code == 0
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["backend"]["resources"] == {"*": {"num_cpus": 1}, "static": {"num_cpus": 0.5}}
    assert main(["run", str(spec), "-o", str(tmp_path / "out2"), "--backend", "ray", "--no-progress", "--threads", "0",
                 "--resources", '{"statik": {"num_cpus": 1}}']) == 1
    assert "neither a method" in capsys.readouterr().err
    assert main(["run", str(spec), "-o", str(tmp_path / "out3"), "--threads", "0", "--resources", '{"num_cpus": 1}']) == 1


@pytest.mark.shared_data
def test_ray_rows_equal_the_local_rows_on_a_real_clip(ray_cluster, shared, tmp_path):
    raw = {"name": "real", "clips": {"manifest": str(shared / "MANIFEST.csv"), "ids": ["pcavs__Input_00010"]},
           "protocol": {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": 1.5},
           "methods": ["ground_truth", "static", "replay"],
           "metrics": ["av_corr", "lmd_mouth", "blink_rate_per_min", "pose_std_deg", "pose_std_ratio", "psnr", "ssim"]}
    spec = bm.spec_from_dict(raw)
    local = _local(spec, tmp_path / "local")
    on_ray = bm.run_benchmark(spec, tmp_path / "ray", backend="ray", progress=False)
    assert len(local.rows) >= 15 and (on_ray.rows["value"] != 0).any()
    _same_outputs(tmp_path / "local", tmp_path / "ray")


@pytest.mark.shared_data
@pytest.mark.slow
def test_smoke_spec_on_ray_equals_jobs_1_and_jobs_2(ray_cluster, shared, tmp_path):
    """evaluation/specs/smoke.yaml (two real clips, every built-in method, FACIAL's fine-tuning included)
    on Ray, with --jobs 1 and with --jobs 2: the same rows and tables."""
    spec = bm.load_spec(REPO / "evaluation" / "specs" / "smoke.yaml")
    local = _local(spec, tmp_path / "local")
    on_ray = bm.run_benchmark(spec, tmp_path / "ray", backend="ray", progress=False)
    assert [(c.method, c.clip, c.status) for c in on_ray.cells] == [(c.method, c.clip, c.status) for c in local.cells]
    assert len(local.rows) > 0
    _same_outputs(tmp_path / "local", tmp_path / "ray")
    bm.run_benchmark(spec, tmp_path / "jobs2", jobs=2, progress=False)
    _same_outputs(tmp_path / "local", tmp_path / "jobs2")
    md = lambda p: [ln for ln in (p / "aggregate.md").read_text(encoding="utf-8").splitlines() if "seconds" not in ln]  # noqa: E731
    assert md(tmp_path / "local") == md(tmp_path / "ray")


@pytest.mark.slow
def test_facial_eval_starts_and_stops_its_own_ray(tmp_path, make_clip):
    """Without a Ray session, ``--backend ray`` starts a local cluster of ``--jobs`` CPUs, uses it for
    both stages (cutting, cells) and shuts it down: the command returns."""
    import subprocess

    pytest.importorskip("ray", reason="Ray is not installed: pip install 'facial-toolkit[ray]'")
    make_clip(tmp_path / "clips" / "c1.mp4", n_frames=100, seed=1)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: own\nclips: {{folder: {tmp_path / 'clips'}}}\nprotocol: self_reenactment\n"
                    "methods: [ground_truth, static]\nmetrics: [lmd_mouth]\n")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", "evaluation.cli", "-v", "run", str(spec), "-o", str(tmp_path / "out"),
                           "--backend", "ray", "--jobs", "2", "--no-progress"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("Ray: connected to a local cluster started for this run (2 CPUs)") == 1
    assert proc.stderr.count("the local cluster is shut down") == 1
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["backend"]["address"] == "local cluster" and prov["cells"]["total"] == 2
