"""user_study.answers: reading and validating answer files, repeated answers, attention screening."""
from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from user_study import analysis
from user_study.answers import read_answers, screen_participants, study_answers
from user_study.types import StudyError


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
    frame, problems = read_answers([csv_path, json_path], manifest)
    assert len(frame) == len(rows)
    assert any("repeated" in p for p in problems)
    got = frame[(frame.participant == first["participant"]) & (frame.trial == first["trial"]) & (frame.question == first["question"])]
    assert got["answer"].tolist() == [flipped["answer"]]


def test_missing_header_and_no_answers(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path / "s", n_clips=2)
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(StudyError, match="header"):
        read_answers([tmp_path / "x.csv"], manifest)
    with pytest.raises(StudyError, match="does not exist"):
        read_answers([tmp_path / "nope.csv"], manifest)
    (tmp_path / "e.csv").write_text("participant,trial,question,answer\n")
    with pytest.raises(StudyError, match="no valid answers"):
        analysis.analyze(tmp_path / "s", [tmp_path / "e.csv"])


def test_screening_counts_a_skipped_check_as_failed(study_2afc):
    _, manifest, key, path = study_2afc
    frame, _ = read_answers([path], manifest)
    checks = {t: k.check for t, k in key.trials.items() if k.check}
    trial, check = next(iter(checks.items()))
    # R000 (attentive) skips one check question: with max_failed_checks=0 that excludes them, with 1 it does not
    skipped = frame[~((frame.participant == "R000") & (frame.trial == trial) & (frame.question == check["question"]))]
    strict = screen_participants(skipped, key).set_index("participant")
    assert strict.loc["R000", "checks_missing"] == 1 and not strict.loc["R000", "included"]
    lenient = screen_participants(skipped, key, max_failed_checks=1).set_index("participant")
    assert lenient.loc["R000", "included"]
    # study_answers keeps included participants' non-check answers only
    kept = study_answers(skipped, key, strict.reset_index())
    assert "R000" not in set(kept["participant"]) and not set(kept["trial"]) & set(checks)
    assert isinstance(kept, pd.DataFrame) and (kept["clip"] == kept["trial"].map(lambda t: key.trials[t].clip)).all()
