"""`facial-study` command line: build → answers → analyze, spec files, bad input exit codes."""
from __future__ import annotations

import pytest
import yaml

from user_study.cli import get_args_parser, main
from user_study.design import StudyPaths, load_study


def test_parser_subcommands():
    p = get_args_parser()
    a = p.parse_args(["build", "--method", "ours=x", "--method", "b=y", "--pairs", "ours:b", "-o", "s", "--size", "128x96"])
    assert a.method == [("ours", "x"), ("b", "y")] and a.size == (128, 96) and a.pairs == ["ours:b"]
    assert p.parse_args(["serve", "s", "--port", "8000"]).port == 8000
    assert p.parse_args(["analyze", "s", "a.csv", "b.json"]).answers[1].name == "b.json"
    with pytest.raises(SystemExit):
        p.parse_args(["build", "--method", "no-equals-sign", "-o", "s"])


def test_build_then_analyze(tmp_path, synthetic_methods, study_helpers, capsys):
    out = tmp_path / "study"
    rc = main(["build", "--method", f"moving={synthetic_methods['moving']}", "--method", f"still={synthetic_methods['still']}",
               "--pairs", "still:moving", "-o", str(out), "--size", "48x48", "--question", "lip_sync=Which has better lip sync?",
               "--question", "realism=Which looks real?", "--seed", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Dropped (not in every method folder): moving: c; still: d" in text and "key.json" in text
    manifest, key = load_study(out)
    assert manifest.question_ids == ["lip_sync", "realism"] and key.pairs == [["still", "moving"]]
    rows = study_helpers.simulate_answers(manifest, key, n_raters=40, p_first=0.8, seed=0, n_careless=2)
    half = len(rows) // 2
    a = study_helpers.write_rows(tmp_path / "a.csv", rows[:half])
    b = study_helpers.write_rows(tmp_path / "b.csv", rows[half:])
    assert main(["analyze", str(out), str(a), str(b)]) == 0
    report = capsys.readouterr().out
    assert "40 participant(s); 2 excluded" in report and "still vs moving" in report
    assert (StudyPaths(out).results / "preferences.tex").is_file()


def test_build_from_yaml_spec(tmp_path, synthetic_methods):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"methods": {"moving": "in/moving", "still": "in/still"}, "scale": "mos5", "checks": 0,
                                    "width": 48, "height": 48, "questions": [{"id": "realism", "prompt": "How real? (1-5)"}]}))
    assert main(["build", "--spec", str(spec), "-o", str(tmp_path / "s")]) == 0
    manifest, key = load_study(tmp_path / "s")
    assert manifest.scale == "mos5" and manifest.question_ids == ["realism"] and len(manifest.trials) == 4


def test_bad_input_exit_code(tmp_path, caplog):
    (tmp_path / "b").mkdir()
    assert main(["build", "--method", f"a={tmp_path / 'nope'}", "--method", f"b={tmp_path / 'b'}", "-o", str(tmp_path / "s")]) == 2
    assert "does not exist" in caplog.text
    assert main(["analyze", str(tmp_path), str(tmp_path / "x.csv")]) == 2
    assert "not a built study" in caplog.text
    assert main(["build", "--method", f"a={tmp_path}", "-o", str(tmp_path / "s")]) == 2
