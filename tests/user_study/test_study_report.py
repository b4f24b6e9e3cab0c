"""user_study.report: result tables (Markdown, LaTeX, CSV), the plot and report.md."""
from __future__ import annotations

import pandas as pd
import pytest

from user_study import analysis
from user_study.types import StudyError


def test_write_results_tables_and_plot(study_2afc, tmp_path):
    study, manifest, key, path = study_2afc
    res = analysis.analyze(study, [path])
    out = analysis.write_results(res, tmp_path / "results", protect=[path])
    assert {"preferences.csv", "preferences.md", "preferences.tex", "preferences.png", "participants.csv",
            "agreement.csv", "report.md"} <= set(out)
    md = out["preferences.md"].read_text().splitlines()
    assert md[0].split("|")[1:-1] == [" question    ", " comparison       ", "   n ", " prefer first ", "        95 % CI ", " p (binomial) "]
    assert len(md) == 2 + 4 and "ours vs baseline" in md[2]
    tex = out["preferences.tex"].read_text()
    assert r"lip\_sync" in tex and r"\toprule" in tex
    csv = pd.read_csv(out["preferences.csv"])
    assert list(csv.columns) == ["question", "method_a", "method_b", "n", "k", "rate", "ci_lo", "ci_hi", "p_value", "n_participants"]
    assert out["preferences.png"].read_bytes()[:4] == b"\x89PNG"
    report = out["report.md"].read_text()
    assert "45 participant(s); 5 excluded for failing attention checks; 40 included" in report
    with pytest.raises(StudyError, match="refusing to overwrite"):
        analysis.write_results(res, path.parent, protect=[path.parent / "report.md"])
    assert not list((tmp_path / "results").glob(".*"))  # atomic writes leave no temporaries behind


def test_mos_results_and_plot(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=4, scale="mos5", n_checks=0, seed=3)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=6, p_first=0.5, seed=1, mos_means={"ours": 4.0, "baseline": 2.5})
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    out = analysis.write_results(res, tmp_path / "results")
    assert {"mos.csv", "mos.md", "mos.tex", "mos_tests.csv", "mos.png", "report.md"} <= set(out)
    assert "preferences.png" not in out
    assert out["mos.png"].read_bytes()[:4] == b"\x89PNG"
    assert "## Mean opinion score (1–5)" in out["report.md"].read_text()
