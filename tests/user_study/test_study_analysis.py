"""Analysis: synthetic answers with known preferences / MOS, screening, malformed rows, outputs."""
from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from user_study import analysis
from user_study.types import StudyError

P70 = {"lip_sync": 0.7, "head_motion": 0.5, "eye_blink": 0.5, "realism": 0.7}


@pytest.fixture()
def study_2afc(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "study", n_clips=10, n_checks=2, seed=5)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=45, p_first=P70, seed=1, n_careless=5)
    path = study_helpers.write_rows(tmp_path / "answers.csv", rows)
    return tmp_path / "study", manifest, key, path


def test_known_70_percent_is_recovered_and_50_is_not_significant(study_2afc):
    study, manifest, key, path = study_2afc
    res = analysis.analyze(study, [path])
    # 5 careless raters always answer A; one of the two checks expects B
    assert res.n_participants == 45
    assert res.n_excluded == 5
    assert set(res.participants.loc[~res.participants["included"], "participant"]) == {f"R{i:03d}" for i in range(40, 45)}
    p = res.preferences.set_index("question")
    assert (p["n"] == 400).all() and (p["n_participants"] == 40).all()
    for q in ("lip_sync", "realism"):
        assert p.loc[q, "ci_lo"] <= 0.7 <= p.loc[q, "ci_hi"]
        assert p.loc[q, "ci_lo"] > 0.5 and p.loc[q, "p_value"] < 1e-6
        assert p.loc[q, "method_a"] == "ours" and p.loc[q, "method_b"] == "baseline"
    for q in ("head_motion", "eye_blink"):
        assert p.loc[q, "ci_lo"] <= 0.5 <= p.loc[q, "ci_hi"]
        assert p.loc[q, "p_value"] > 0.05
    # the ~70 % is only found by reading the key: raw "A" answers are near 50 % thanks to counterbalancing
    assert abs(res.position_bias["share_a"] - 0.5) < 0.05


def test_pair_order_matters(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=8, seed=2)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=40, p_first=0.9, seed=3)
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    assert (res.preferences["rate"] > 0.85).all()
    assert res.n_excluded == 0
    # high agreement: every rater mostly prefers the same method
    assert (res.agreement["fleiss_kappa"] > 0.3).all()


def test_malformed_rows_reported_by_line_and_skipped(study_2afc, caplog):
    study, manifest, key, path = study_2afc
    lines = path.read_text().splitlines()
    good = lines[1].split(",")
    bad = [
        "only,three,fields",
        ",".join([good[0], good[1], "t99", good[3], "A", "1", "", "x"]),
        ",".join([good[0], good[1], good[2], "smile", "A", "1", "", "x"]),
        ",".join([good[0], good[1], good[2], good[3], "C", "1", "", "x"]),
        ",".join(["sOTHER", good[1], good[2], good[3], "A", "1", "", "x"]),
        ",".join([good[0], "", good[2], good[3], "A", "1", "", "x"]),
    ]
    n = len(lines)
    path.write_text("\n".join(lines + bad) + "\n")
    with caplog.at_level(logging.WARNING):
        res = analysis.analyze(study, [path])
    expect = [f"answers.csv:{n + 1}: 3 fields", f"answers.csv:{n + 2}: unknown trial 't99'", f"answers.csv:{n + 3}: unknown question 'smile'",
              f"answers.csv:{n + 4}: answer 'C'", f"answers.csv:{n + 5}: answer for study sOTHER", f"answers.csv:{n + 6}: empty participant"]
    assert len(res.problems) == 6
    for e, got in zip(expect, res.problems):
        assert got.startswith(e), (e, got)
    assert f"answers.csv:{n + 2}" in caplog.text
    assert (res.preferences["n"] == 400).all()  # the bad rows did not count


def test_duplicates_keep_later_answer_and_json_input(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=4, seed=1)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=6, p_first=0.5, seed=0)
    first = rows[0]
    flipped = {**first, "answer": "B" if first["answer"] == "A" else "A"}
    csv_path = study_helpers.write_rows(tmp_path / "a.csv", rows[:30])
    json_path = tmp_path / "b.json"
    json_path.write_text(json.dumps({"study_id": manifest.study_id, "answers": rows[30:] + [flipped]}))
    frame, problems = analysis.read_answers([csv_path, json_path], manifest)
    assert len(frame) == len(rows)
    assert any("repeated" in p for p in problems)
    got = frame[(frame.participant == first["participant"]) & (frame.trial == first["trial"]) & (frame.question == first["question"])]
    assert got["answer"].tolist() == [flipped["answer"]]


def test_missing_header_and_no_answers(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path / "s", n_clips=2)
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(StudyError, match="header"):
        analysis.read_answers([tmp_path / "x.csv"], manifest)
    with pytest.raises(StudyError, match="does not exist"):
        analysis.read_answers([tmp_path / "nope.csv"], manifest)
    (tmp_path / "e.csv").write_text("participant,trial,question,answer\n")
    with pytest.raises(StudyError, match="no valid answers"):
        analysis.analyze(tmp_path / "s", [tmp_path / "e.csv"])


def expected_rating(mu: float, sd: float) -> float:
    """Mean of clip(round(N(mu, sd)), 1, 5): the true MOS of the simulated raters."""
    from scipy.stats import norm

    edges = [-float("inf"), 1.5, 2.5, 3.5, 4.5, float("inf")]
    return sum(k * (norm.cdf(edges[k], mu, sd) - norm.cdf(edges[k - 1], mu, sd)) for k in range(1, 6))


def test_mos_recovers_means(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=8, scale="mos5", n_checks=2, seed=4)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=30, p_first=0.5, seed=2, n_careless=3,
                                          mos_means={"ours": 4.0, "baseline": 2.5})
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    assert res.n_excluded == 3 and res.preferences is None
    m = res.mos.set_index(["method", "metric"])
    for method, mu in (("ours", 4.0), ("baseline", 2.5)):
        truth = expected_rating(mu, 0.8)
        for q in manifest.question_ids:
            row = m.loc[(method, q)]
            se = row["std"] / (row["n"] ** 0.5)
            assert row["n"] == 27 * 8
            assert abs(row["mean"] - truth) < 3 * se, (method, q)  # fails by chance with p ≈ 0.003 per cell
            assert row["ci_hi"] - row["ci_lo"] == pytest.approx(2 * 1.96 * se, rel=0.15)  # a 95 % interval
    t = res.mos_tests.set_index("question")
    assert (t["wilcoxon_p"] < 1e-4).all() and (t["mean_diff"] > 1.2).all()


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


def test_agreement_with_missing_answers_uses_alpha_only(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=6, n_checks=0, seed=1)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=20, p_first=1.0, seed=0)
    # perfect agreement (everyone prefers `ours`), but one rater skipped a trial
    rows = [r for r in rows if not (r["participant"] == "R000" and r["trial"] == manifest.trial_ids[0])]
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    agr = res.agreement.set_index("question")
    assert agr["fleiss_kappa"].isna().all()  # unbalanced: Fleiss' kappa does not apply
    # every trial is answered identically by all raters → alpha = 1 (different trials get different sides)
    assert agr["krippendorff_alpha"].tolist() == pytest.approx([1.0] * 4)
    assert (res.preferences["rate"] == 1.0).all() and (res.preferences["ci_hi"] == 1.0).all()
