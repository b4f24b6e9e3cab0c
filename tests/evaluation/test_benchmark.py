"""Benchmark specs, result tables and small real runs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evaluation import benchmark as bm
from evaluation.types import MetricValue


@pytest.fixture()
def clip_folder(tmp_path, make_clip):
    for name in ("c1", "c2"):
        make_clip(tmp_path / "clips" / f"{name}.mp4", n_frames=10)
    return tmp_path / "clips"


def _spec(folder, **over):
    raw = {"name": "t", "clips": {"folder": str(folder)}, "protocol": {"name": "self_reenactment"},
           "methods": ["ground_truth", "static"], "metrics": ["lmd"]}
    raw.update(over)
    return raw


def test_spec_validation_messages(clip_folder):
    spec = bm.spec_from_dict(_spec(clip_folder))
    assert [c.id for c in spec.clips] == ["c1", "c2"] and spec.metrics == ["lmd_mouth", "lmd_face", "lmd_mouth_norm"]
    assert spec.protocol == {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0}
    cases = [
        ({"metric": ["lmd"]}, "unknown key 'metric'. Did you mean 'metrics'"),
        ({"metrics": ["lmd_mouht"]}, "Did you mean 'lmd_mouth'"),
        ({"protocol": {"name": "self-reenactment"}}, "did you mean 'self_reenactment'"),
        ({"protocol": {"name": "measure", "test_fraction": 0.5}}, "unknown key 'test_fraction'"),
        ({"protocol": {"name": "self_reenactment", "test_fraction": 1.5}}, "test_fraction must be in"),
        ({"options": {"syncnet_weight": "x"}}, "Did you mean 'syncnet_weights'"),
        ({"methods": ["statc"]}, "Did you mean 'static'"),
        ({"methods": []}, "non-empty list"),
        ({"clips": {"folder": str(clip_folder), "ids": ["c3"]}}, "clips.ids not found"),
        ({"clips": {"folder": str(clip_folder / "nope")}}, "is not a folder"),
    ]
    for over, message in cases:
        with pytest.raises(bm.SpecError) as info:
            bm.spec_from_dict(_spec(clip_folder, **over))
        assert message in str(info.value), (over, str(info.value))
    spec = bm.spec_from_dict(_spec(clip_folder, clips={"folder": str(clip_folder), "ids": ["c2"]}))
    assert [c.id for c in spec.clips] == ["c2"]


def test_load_spec_resolves_paths_from_the_spec_folder(tmp_path, clip_folder):
    (tmp_path / "specs").mkdir()
    path = tmp_path / "specs" / "s.yaml"
    path.write_text("name: rel\nclips: {folder: ../clips}\nprotocol: measure\nmethods: [ground_truth]\nmetrics: [blink]\n")
    spec = bm.load_spec(path)
    assert spec.clips[0].path == (clip_folder / "c1.mp4").resolve() and spec.protocol["name"] == "measure"
    path.write_text("name: [unclosed\n")
    with pytest.raises(bm.SpecError, match="not valid YAML"):
        bm.load_spec(path)


def _cells():
    cells = []
    for i, clip in enumerate(["a", "b", "c"]):
        cells.append(bm.CellResult("ground_truth", clip, [MetricValue.ok("lmd_mouth", 0.0), MetricValue.ok("av_corr", 0.5 + 0.1 * i)]))
        cells.append(bm.CellResult("static", clip, [MetricValue.ok("lmd_mouth", 2.0 + i), MetricValue.ok("av_corr", 0.0),
                                                    MetricValue.unavailable("blink_duration_s", "no blink in the clip")]))
    cells.append(bm.CellResult("ours_warp", "a", [], "unavailable", "the FACIAL pipeline is not available"))
    return cells


def test_rows_tables_and_legend():
    from evaluation import tables

    rows, missing = bm.cells_to_frames(_cells(), ["ground_truth", "static", "ours_warp"], ["av_corr", "lmd_mouth"])
    assert list(rows.columns) == ["method", "clip", "metric", "value"] and len(rows) == 12
    assert list(dict.fromkeys(rows["metric"])) == ["av_corr", "lmd_mouth"]
    assert set(missing["metric"]) == {"blink_duration_s", "*"}
    agg = tables.aggregate(rows)
    md = bm.render_markdown(agg, ["ground_truth", "static", "ours_warp"], title="T", protocol={"name": "measure"}, unavailable=missing)
    assert "## Landmark distance" in md and "## Audio-visual sync" in md
    assert "3.00 ± 1.00 [" in md  # static lmd_mouth: mean 3, std 1, with its CI
    assert "the FACIAL pipeline is not available" in md and "no blink in the clip" in md
    cmp = bm.paired_comparisons(rows, ["ground_truth", "static", "ours_warp"])
    row = cmp.set_index(["method_b", "metric"]).loc[("ground_truth", "lmd_mouth")]
    assert (cmp["method_a"] == "static").all() and row["n"] == 3 and row["mean_diff"] == pytest.approx(3.0)
    assert 0 < row["wilcoxon_p"] <= 1 and row["t_p"] < 0.05  # differences 2, 3, 4: clearly positive
    tex = bm.render_latex(agg, ["ground_truth", "static"], title="T")
    assert r"\toprule" in tex and r"lmd\_mouth" in tex and r"$\pm$" in tex


def test_git_commit_and_versions():
    commit = bm.git_commit()
    assert commit is None or (len(commit) == 40 and all(c in "0123456789abcdef" for c in commit))
    v = bm.package_versions(["numpy", "surely-not-installed-pkg"])
    assert v["numpy"] == np.__version__ and v["surely-not-installed-pkg"] is None


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
