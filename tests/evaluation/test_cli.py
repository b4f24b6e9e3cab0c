"""``facial-eval`` command line."""
from __future__ import annotations

import json

import pytest

from evaluation.cli import get_args_parser, main


def test_parser_has_the_documented_commands():
    p = get_args_parser()
    a = p.parse_args(["score", "v.mp4", "--reference", "r.mp4", "--audio", "a.wav", "--json", "o.json"])
    assert a.command == "score" and str(a.reference) == "r.mp4" and str(a.json) == "o.json"
    a = p.parse_args(["run", "spec.yaml", "-o", "out", "--jobs", "3"])
    assert a.command == "run" and a.jobs == 3
    with pytest.raises(SystemExit):
        p.parse_args(["run", "spec.yaml"])  # -o is required


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lse_c" in out and "blink_rate_per_min" in out and "groups:" in out
    assert main(["list", "--markdown"]) == 0
    assert "| `lmd_mouth`" in capsys.readouterr().out


def test_errors_are_clear(tmp_path, capsys, synthetic_clip):
    assert main(["score", str(tmp_path / "missing.mp4")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(synthetic_clip), "--metrics", "lse-c"]) == 2
    assert "Did you mean 'lse_c'" in capsys.readouterr().err
    assert main(["score", str(synthetic_clip), "--metrics", "lmd", "--json", str(synthetic_clip)]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_score_without_reference_reports_unavailable(synthetic_clip, tmp_path, capsys):
    out = tmp_path / "res.json"
    assert main(["score", str(synthetic_clip), "--metrics", "lmd,sync", "--json", str(out), "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "unavailable: needs a frame-aligned real clip" in printed
    data = json.loads(out.read_text())
    by = {m["name"]: m for m in data["metrics"]}
    assert by["lmd_mouth"]["value"] is None and by["lmd_mouth"]["status"] == "unavailable"
    assert by["lse_c"]["status"] == "unavailable" and "syncnet_v2.model" in by["lse_c"]["reason"]


@pytest.mark.shared_data
def test_score_a_real_clip_with_reference(clip_a, tmp_path, capsys):
    out = tmp_path / "res.json"
    code = main(["score", str(clip_a), "--reference", str(clip_a), "--metrics", "av_sync,lmd,blink,head_motion,psnr",
                 "--max-seconds", "4", "--json", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "human 10.5–32.5" in printed
    by = {m["name"]: m for m in json.loads(out.read_text())["metrics"]}
    assert by["lmd_mouth"]["value"] == 0.0 and by["psnr"]["value"] == 100.0 and by["pose_std_ratio"]["value"] == 1.0
    assert by["av_offset"]["status"] == "ok" and abs(by["av_offset"]["value"]) <= 1
    assert 0 < by["pose_std_deg"]["value"] < 30
