"""The Gradio study app: handlers called directly, answers appended safely across processes."""
from __future__ import annotations

import csv
import multiprocessing as mp
from pathlib import Path

import pytest

from user_study.app import StudySession, append_answers, build_app
from user_study.build import BuildConfig, build_study
from user_study.design import participant_order
from user_study.types import ANSWER_COLUMNS, StudyError


@pytest.fixture()
def built_study(tmp_path, synthetic_methods) -> Path:
    build_study(BuildConfig(methods={k: str(v) for k, v in synthetic_methods.items()}, width=48, height=48, checks=1), tmp_path / "study")
    return tmp_path / "study"


def _read(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_gradio_handlers_record_answers_in_participant_order(built_study):
    gr = pytest.importorskip("gradio")
    demo, session = build_app(built_study)
    assert isinstance(demo, gr.Blocks)
    m = session.manifest
    out = demo.on_start(" P07 ")
    state = out[0]
    assert state["participant"] == "P07" and state["order"] == participant_order(m.trial_ids, m.order_seed, "P07")
    video = Path(out[4])
    assert video.is_file() and video.stem == state["order"][0] and session.paths.public.resolve() in video.resolve().parents
    assert out[5] == f"Trial 1 of {len(m.trials)}"
    with pytest.raises(gr.Error, match="answer every question"):
        demo.on_next(state, "A", None, "B", "A")
    assert not session.answers_path.exists()
    for i in range(len(m.trials)):
        out = demo.on_next(state, "A", "B", "A", "B")
        state = out[0]
    assert out[1]["visible"] is False and out[2]["visible"] is True  # trial box hidden, thank-you shown
    assert out[3] is None and out[4].startswith("All ")
    rows = _read(session.answers_path)
    assert list(rows[0]) == list(ANSWER_COLUMNS)
    assert len(rows) == len(m.trials) * len(m.questions)
    assert [r["trial"] for r in rows[:: len(m.questions)]] == state["order"]
    assert {r["participant"] for r in rows} == {"P07"} and {r["study_id"] for r in rows} == {m.study_id}
    assert [r["question"] for r in rows[:4]] == m.question_ids and [r["answer"] for r in rows[:4]] == ["A", "B", "A", "B"]
    with pytest.raises(gr.Error, match="participant id"):
        demo.on_start("a,b")


def test_session_resumes_and_validates(built_study, tmp_path):
    s = StudySession(built_study, tmp_path / "ans.csv")
    st = s.start("P1")
    st = s.submit(st, {q: "B" for q in s.manifest.question_ids})
    again = s.start("P1")
    assert again["index"] == 1 and again["order"] == st["order"]
    assert s.start("P2")["index"] == 0
    with pytest.raises(StudyError, match="invalid answer"):
        s.submit(again, {q: "C" for q in s.manifest.question_ids})
    with pytest.raises(StudyError, match="start the study"):
        s.submit({}, {})
    with pytest.raises(StudyError, match="not a built study"):
        StudySession(tmp_path / "nothing")


def _writer(args):
    path, worker = args
    for i in range(25):
        append_answers(path, [{"study_id": "s1", "participant": f"W{worker}", "trial": f"t{i:02d}", "question": q,
                               "answer": "A", "position": i, "timestamp": "", "source": "test"} for q in ("q1", "q2", "q3", "q4")])
    return worker


def test_concurrent_appends_from_processes(tmp_path):
    path = tmp_path / "answers" / "answers.csv"
    with mp.get_context("fork").Pool(4) as pool:
        assert sorted(pool.map(_writer, [(path, w) for w in range(4)])) == [0, 1, 2, 3]
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(ANSWER_COLUMNS) and lines.count(lines[0]) == 1
    rows = _read(path)
    assert len(rows) == 4 * 25 * 4
    assert all(len(r) == len(ANSWER_COLUMNS) and None not in r.values() for r in rows)
    for w in range(4):  # each worker's batches stay whole and in order
        mine = [r for r in rows if r["participant"] == f"W{w}"]
        assert [r["trial"] for r in mine] == [f"t{i:02d}" for i in range(25) for _ in range(4)]
