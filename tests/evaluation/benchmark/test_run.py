"""Running a benchmark: cells, caching, the worker pool and small real runs (evaluation.benchmark.run)."""
from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaluation.benchmark
from evaluation import benchmark as bm
from evaluation.benchmark import run as run_module
from evaluation.types import MetricValue


def test_cell_result_roundtrip():
    cell = bm.CellResult("static", "c1", [MetricValue.ok("lmd_mouth", np.float64(2.5)), MetricValue.unavailable("psnr", "no ref")],
                         seconds=1.23456, traces={"yaw": [0.1, 0.2]}, method_info={"driver": "d"})
    back = bm.CellResult.from_dict(json.loads(json.dumps(cell.to_dict())), cached=True)
    assert back.cached and back.values == cell.values and back.seconds == 1.235 and back.traces == cell.traces
    assert back.method_info == {"driver": "d"} and (back.method, back.clip, back.status) == ("static", "c1", "ok")


def _fake_unit(payload):
    """What run_unit returns for a clip, without producing or scoring videos."""
    clip = payload["clip"]["id"]
    trace = {k: [0.0, 0.5, 1.0] for k in ("yaw", "pitch", "roll", "blink")}
    k = 1.0 if clip == "c1" else 2.0
    return [bm.CellResult("ground_truth", clip, [MetricValue.ok("lmd_mouth", 0.0)], traces=trace).to_dict(),
            bm.CellResult("static", clip, [MetricValue.ok("lmd_mouth", k)], traces=trace).to_dict()]


def test_run_benchmark_writes_every_output_and_leaves_torch_threads_alone(tmp_path, make_clip, monkeypatch):
    import torch

    for name in ("c1", "c2"):
        make_clip(tmp_path / "clips" / f"{name}.mp4", n_frames=10)
    spec = bm.spec_from_dict({"name": "fake", "clips": {"folder": str(tmp_path / "clips")}, "protocol": "self_reenactment",
                              "methods": ["ground_truth", "static"], "metrics": ["lmd_mouth"]})
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    monkeypatch.setattr(run_module, "run_unit", _fake_unit)
    threads = torch.get_num_threads()
    res = bm.run_benchmark(spec, tmp_path / "out", jobs=1, progress=False)
    assert calls == [] and torch.get_num_threads() == threads  # only pool workers set their thread count
    out = tmp_path / "out"
    for name in ("rows.csv", "unavailable.csv", "aggregate.csv", "aggregate.md", "aggregate.tex", "comparisons.csv",
                 "provenance.json", "plots/lmd_mouth.png", "plots/traces_c1.png"):
        assert (out / name).is_file(), name
    assert set(res.files) == {"rows", "unavailable", "aggregate_csv", "comparisons", "aggregate_md", "aggregate_tex", "traces", "provenance"}
    assert [(c.method, c.clip) for c in res.cells] == [("ground_truth", "c1"), ("ground_truth", "c2"), ("static", "c1"), ("static", "c2")]
    assert "1.50 ± 0.707 [1.00, 2.00]" in (out / "aggregate.md").read_text(encoding="utf-8")
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["cells"] == {"total": 4, "cached": 0, "not_ok": 0} and prov["spec"]["name"] == "fake"
    assert not [p for p in out.rglob(".*")]  # no temporary files left
    pd.testing.assert_frame_equal(pd.read_csv(out / "rows.csv"), res.rows)


def test_worker_init_sets_one_torch_thread(monkeypatch):
    import torch

    from evaluation.benchmark import backends

    calls, native = [], []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    monkeypatch.setattr(backends, "limit_native_threads", lambda n: native.append(n))  # keep pytest's own BLAS pools
    run_module._worker_init(logging.WARNING)
    assert calls == [1] and native == [1]


def test_set_num_threads_only_in_the_worker_initializer():
    """The app calls run_benchmark from a request thread: the calling process must keep its torch threads."""
    for source in Path(evaluation.benchmark.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "set_num_threads":
                scope = parent.get(node)
                while scope is not None and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    scope = parent.get(scope)
                assert scope is not None and scope.name == "_worker_init", f"{source.name}:{node.lineno}"


@pytest.mark.shared_data
def test_small_self_reenactment_run_on_two_real_clips(shared, tmp_path):
    raw = {"name": "two", "clips": {"manifest": str(shared / "MANIFEST.csv"),
                                     "ids": ["pcavs__Input_00010", "pcavs__Audio_Source_00086"]},
           "protocol": {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": 2},
           "methods": ["ground_truth", "static", "replay"],
           "metrics": ["av_corr", "lmd_mouth", "blink_rate_per_min", "pose_std_deg", "pose_std_ratio", "psnr", "ssim"]}
    spec = bm.spec_from_dict(raw)
    out = tmp_path / "run"
    res = bm.run_benchmark(spec, out, jobs=2, progress=False)
    for name in ("rows.csv", "unavailable.csv", "aggregate.csv", "aggregate.md", "aggregate.tex", "provenance.json", "comparisons.csv",
                 "plots/lmd_mouth.png", "plots/traces_pcavs__Input_00010.png"):
        assert (out / name).is_file(), name
    rows = pd.read_csv(out / "rows.csv")
    assert list(rows.columns) == ["method", "clip", "metric", "value"]
    v = rows.set_index(["method", "clip", "metric"])["value"]
    for clip in ("pcavs__Input_00010", "pcavs__Audio_Source_00086"):
        assert v[("ground_truth", clip, "lmd_mouth")] == 0.0 and v[("ground_truth", clip, "psnr")] == 100.0
        assert v[("ground_truth", clip, "pose_std_ratio")] == pytest.approx(1.0)
        assert v[("static", clip, "av_corr")] == 0.0  # the mouth never moves
        assert v[("static", clip, "lmd_mouth")] > 0.5 and v[("replay", clip, "lmd_mouth")] > 0.5
        assert v[("static", clip, "pose_std_ratio")] < 0.5  # a held frame has (almost) no head motion
        assert v[("ground_truth", clip, "av_corr")] > v[("static", clip, "av_corr")]
        assert v[("static", clip, "psnr")] < 40
    # the held-out part really is the end of the clip, frame-aligned with the driving audio
    from facial import media

    folder = next((out / "prepared" / "pcavs__Input_00010").glob("*/task.json")).parent
    task = json.loads((folder / "task.json").read_text())
    source = media.read_video(shared / "raw/pcavs/Input_00010.mp4").frames
    speaker = media.read_video(folder / "speaker.mp4").frames
    reference = media.read_video(folder / "reference.mp4").frames
    assert len(speaker) + len(reference) == len(source) and len(reference) == task["n_frames"]
    assert abs(len(reference) / len(source) - 0.4) < 0.02
    assert np.abs(reference[-1].astype(int) - source[-1].astype(int)).mean() < 4  # ends where the clip ends
    assert media.load_audio(folder / "driving.wav").n_frames(25.0) == len(reference)
    agg = pd.read_csv(out / "aggregate.csv")
    assert set(agg.columns) == {"method", "metric", "n", "mean", "std", "ci_lo", "ci_hi"}
    missing = pd.read_csv(out / "unavailable.csv")
    assert missing.empty, missing.to_dict("records")  # every method ran and every metric applied
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["versions"]["mediapipe"] and prov["spec"]["name"] == "two" and prov["date_utc"]
    assert prov["cells"]["cached"] == 0
    # a re-run is incremental: every computed cell comes from the cache
    again = bm.run_benchmark(spec, out, jobs=1, progress=False)
    assert sum(c.cached for c in again.cells) == sum(c.status == "ok" for c in again.cells) == 6
    pd.testing.assert_frame_equal(again.rows, res.rows)


@pytest.mark.shared_data
def test_measure_protocol_with_an_external_manifest(shared, clip_b, tmp_path):
    manifest = tmp_path / "ext.csv"
    manifest.write_text(f"clip,video\nother_tool_out,{clip_b}\n")
    raw = {"name": "measure", "clips": {"manifest": str(shared / "MANIFEST.csv"), "ids": ["pcavs__Audio_Source_00086"]},
           "protocol": {"name": "measure", "max_seconds": 3}, "metrics": ["av_corr", "blink_rate_per_min"],
           "methods": ["ground_truth", {"name": "other_tool", "manifest": str(manifest)}],
           "options": {"max_seconds": 3}}
    res = bm.run_benchmark(bm.spec_from_dict(raw), tmp_path / "out", progress=False)
    got = {(r.method, r.clip) for r in res.rows.itertuples()}
    assert got == {("ground_truth", "pcavs__Audio_Source_00086"), ("other_tool", "other_tool_out")}


@pytest.mark.shared_data
def test_cross_driving_uses_another_speakers_speech(shared, tmp_path):
    raw = {"name": "cross", "clips": {"manifest": str(shared / "MANIFEST.csv"),
                                       "ids": ["pcavs__Input_00010", "pcavs__Audio_Source_00086"]},
           "protocol": {"name": "cross_driving", "speaker_seconds": 3, "max_seconds": 2},
           "methods": ["ground_truth", "replay"], "metrics": ["av_corr", "pose_std_deg", "pose_std_ratio", "lmd_mouth"]}
    res = bm.run_benchmark(bm.spec_from_dict(raw), tmp_path / "out", progress=False)
    task = json.loads(next((tmp_path / "out" / "prepared" / "pcavs__Input_00010").glob("*/task.json")).read_text())
    assert task["driver"] == "pcavs__Audio_Source_00086" and task["n_frames"] == 50
    v = res.rows.set_index(["method", "clip", "metric"])["value"]
    assert v[("replay", "pcavs__Input_00010", "pose_std_ratio")] > 0.3  # replayed real motion
    assert not (res.rows["metric"] == "lmd_mouth").any()  # no aligned reference in cross-driving
    assert (res.unavailable["metric"] == "lmd_mouth").all() or len(res.unavailable)


@pytest.mark.shared_data
@pytest.mark.slow
def test_ours_and_lips_only_through_the_pipeline(shared, tmp_path):
    """The FACIAL pipeline adapters: videos of the right length, how they were made recorded, and
    lips_only's head frozen (when facial.pipeline is installed; otherwise reported unavailable)."""
    from evaluation.methods import make_methods

    raw = {"name": "ours", "clips": {"manifest": str(shared / "MANIFEST.csv"), "ids": ["pcavs__Audio_Source_00086"]},
           "protocol": {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": 2},
           "methods": ["lips_only", {"name": "ours", "renderer": "warp"}], "metrics": ["av_corr", "pose_std_deg", "lmd_mouth"]}
    res = bm.run_benchmark(bm.spec_from_dict(raw), tmp_path / "out", progress=False)
    reason = make_methods(["lips_only"])[0].available()
    if reason:
        assert all(c.status == "unavailable" and "facial.pipeline" in c.reason for c in res.cells)
        return
    assert [c.status for c in res.cells] == ["ok", "ok"], [c.reason for c in res.cells]
    from facial import media

    ref = next((tmp_path / "out" / "prepared").rglob("reference.mp4"))
    n_ref = len(media.read_video(ref).frames)
    for c in res.cells:
        assert c.method_info.get("driver") and c.method_info.get("renderer") == "warp"
        assert abs(len(media.read_video(c.video).frames) - n_ref) <= 1
    v = res.rows.set_index(["method", "metric"])["value"]
    assert v[("lips_only", "pose_std_deg")] < v[("ours_warp", "pose_std_deg")]
    assert "driver" in (tmp_path / "out" / "aggregate.md").read_text()
