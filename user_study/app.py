"""`facial-study serve`: a small Gradio app that runs a built study.

Each participant enters an id, sees the trials in their own order (the same order as the HTML
form, :func:`user_study.design.participant_order`), answers every question per trial, and each
trial's answers are appended to ``STUDY_DIR/answers/answers.csv`` with the participant id. Appends
hold an exclusive file lock (``fcntl.flock``; ``filelock`` where fcntl does not exist), so several
participants — and several server processes — can write at once. A participant who comes back
with the same id resumes after their last answered trial.

The app only reads the participant-facing manifest; it never needs or shows the key.
:class:`StudySession` holds the logic (tested directly); :func:`build_app` wires it to Gradio
without launching; :func:`serve` launches.
"""
from __future__ import annotations

import csv
import io
import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from user_study.design import StudyPaths, check_participant_id, load_manifest, participant_order
from user_study.types import ANSWER_COLUMNS, Manifest, StudyError

log = logging.getLogger(__name__)

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextmanager
def locked(path: Path, mode: str, *, exclusive: bool) -> Iterator[Any]:
    """Open ``path`` holding an advisory lock for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is not None:
        with open(path, mode, newline="", encoding="utf-8") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield f
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    else:  # pragma: no cover
        from filelock import FileLock

        with FileLock(str(path) + ".lock"), open(path, mode, newline="", encoding="utf-8") as f:
            yield f


def append_answers(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Append answer rows (columns :data:`ANSWER_COLUMNS`) to a CSV, writing the header to a new file.

    The rows are written in one call under an exclusive lock and flushed to disk, so concurrent
    writers never interleave lines.
    """
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ANSWER_COLUMNS), extrasaction="raise", lineterminator="\n")
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in ANSWER_COLUMNS})
    with locked(path, "a", exclusive=True) as f:
        f.seek(0, os.SEEK_END)  # the size may have changed between open() and the lock
        if f.tell() == 0:
            f.write(",".join(ANSWER_COLUMNS) + "\n")
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    return path


def answered_trials(path: Path, study_id: str, participant: str, n_questions: int) -> set[str]:
    """Trials for which ``participant`` already has an answer to every question in ``path``."""
    if not path.is_file():
        return set()
    seen: dict[str, set[str]] = {}
    with locked(path, "r", exclusive=False) as f:
        for row in csv.DictReader(f):
            if row.get("participant") == participant and row.get("study_id") in (study_id, "", None):
                seen.setdefault(row.get("trial", ""), set()).add(row.get("question", ""))
    return {t for t, qs in seen.items() if len(qs) >= n_questions}


class StudySession:
    """The study app's logic, independent of Gradio: start a participant, show a trial, record answers.

    State is a plain dict ``{"participant", "order", "index"}`` (what Gradio keeps per browser tab).
    """

    def __init__(self, study_dir: str | Path, answers_path: str | Path | None = None) -> None:
        self.paths = StudyPaths(Path(study_dir))
        if not self.paths.manifest.is_file():
            raise StudyError(f"{study_dir} is not a built study ({self.paths.manifest} is missing); run `facial-study build` first")
        self.manifest: Manifest = load_manifest(self.paths.manifest)
        self.answers_path = Path(answers_path) if answers_path else self.paths.answers
        public = self.paths.public.resolve()
        for t in self.manifest.trials:
            f = (public / t.stimulus).resolve()
            if public not in f.parents or not f.is_file():
                raise StudyError(f"stimulus {t.stimulus} of trial {t.id} is missing from {public}; rebuild the study")

    def start(self, participant: str) -> dict[str, Any]:
        """New (or resumed) state for ``participant``; raises :class:`StudyError` for a bad id."""
        pid = check_participant_id(participant)
        order = participant_order(self.manifest.trial_ids, self.manifest.order_seed, pid)
        done = answered_trials(self.answers_path, self.manifest.study_id, pid, len(self.manifest.questions))
        index = 0
        while index < len(order) and order[index] in done:
            index += 1
        if index:
            log.info("participant %s resumes at trial %d of %d", pid, index + 1, len(order))
        return {"participant": pid, "order": order, "index": index}

    def finished(self, state: Mapping[str, Any]) -> bool:
        return state["index"] >= len(state["order"])

    def stimulus(self, state: Mapping[str, Any]) -> Path:
        """Absolute path of the current trial's video."""
        trial = state["order"][state["index"]]
        rel = next(t.stimulus for t in self.manifest.trials if t.id == trial)
        return self.paths.public / rel

    def progress(self, state: Mapping[str, Any]) -> str:
        n = len(state["order"])
        if self.finished(state):
            return f"All {n} trials done — thank you, {state['participant']}!"
        return f"Trial {state['index'] + 1} of {n}"

    def submit(self, state: Mapping[str, Any], answers: Mapping[str, str | None]) -> dict[str, Any]:
        """Record the answers (question id → choice) to the current trial and return the next state."""
        if not state or "order" not in state:
            raise StudyError("start the study with your participant id first")
        if self.finished(state):
            raise StudyError("all trials are already answered")
        missing = [q.id for q in self.manifest.questions if not answers.get(q.id)]
        if missing:
            raise StudyError("please answer every question before going on (missing: " + ", ".join(missing) + ")")
        bad = {q: a for q, a in answers.items() if q in self.manifest.question_ids and str(a) not in self.manifest.choices}
        if bad:
            raise StudyError(f"invalid answer(s) {bad}; choose one of {list(self.manifest.choices)}")
        trial = state["order"][state["index"]]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [{"study_id": self.manifest.study_id, "participant": state["participant"], "trial": trial, "question": q.id,
                 "answer": str(answers[q.id]), "position": state["index"] + 1, "timestamp": now, "source": "serve"}
                for q in self.manifest.questions]
        append_answers(self.answers_path, rows)
        return {**state, "index": state["index"] + 1}


def _choice_labels(manifest: Manifest) -> list[tuple[str, str]]:
    if manifest.scale == "2afc":
        side = ("left", "right") if manifest.layout == "side_by_side" else ("first", "second")
        return [(f"A ({side[0]})", "A"), (f"B ({side[1]})", "B")]
    return [(c, c) for c in manifest.choices]


def build_app(study_dir: str | Path, answers_path: str | Path | None = None):
    """The Gradio Blocks of the study app (not launched). Returns ``(blocks, session)``."""
    import gradio as gr

    session = StudySession(study_dir, answers_path)
    m = session.manifest
    n_q = len(m.questions)
    choices = _choice_labels(m)

    def on_start(pid: str):
        try:
            state = session.start(pid)
        except StudyError as exc:
            raise gr.Error(str(exc)) from exc
        done = session.finished(state)
        return (state, gr.update(visible=False), gr.update(visible=not done), gr.update(visible=done),
                None if done else str(session.stimulus(state)), session.progress(state), *([None] * n_q))

    def on_next(state: dict, *values: str | None):
        try:
            state = session.submit(state, {q.id: v for q, v in zip(m.questions, values)})
        except StudyError as exc:
            raise gr.Error(str(exc)) from exc
        done = session.finished(state)
        return (state, gr.update(visible=not done), gr.update(visible=done),
                None if done else str(session.stimulus(state)), session.progress(state), *([None] * n_q))

    with gr.Blocks(title=m.title) as demo:
        gr.Markdown(f"# {m.title}\n\n{m.instructions}")
        state = gr.State(None)
        with gr.Group(visible=True) as start_box:
            pid = gr.Textbox(label="Participant id", placeholder="the code you were given, e.g. P07", max_lines=1)
            start_btn = gr.Button("Start", variant="primary")
        with gr.Column(visible=False) as trial_box:
            progress = gr.Markdown()
            video = gr.Video(label="Stimulus", interactive=False, autoplay=True, buttons=[])
            radios = [gr.Radio(choices=choices, label=q.prompt, value=None) for q in m.questions]
            next_btn = gr.Button("Next", variant="primary")
        with gr.Column(visible=False) as done_box:
            gr.Markdown("## Thank you! Your answers are saved. You can close this page.")
        start_btn.click(on_start, [pid], [state, start_box, trial_box, done_box, video, progress, *radios])
        next_btn.click(on_next, [state, *radios], [state, trial_box, done_box, video, progress, *radios])
    demo.on_start = on_start  # type: ignore[attr-defined]  (handlers exposed for tests)
    demo.on_next = on_next  # type: ignore[attr-defined]
    return demo, session


def serve(study_dir: str | Path, *, host: str = "127.0.0.1", port: int = 7860, answers_path: str | Path | None = None) -> None:
    """Launch the study app (blocks until stopped)."""
    demo, session = build_app(study_dir, answers_path)
    log.info("serving study %s; answers go to %s", session.manifest.study_id, session.answers_path)
    # Only the participant-facing folder is served; the key and the answers are explicitly blocked
    # (they would otherwise be reachable when the server is started from inside STUDY_DIR).
    blocked = [str(session.paths.key.resolve()), str(session.answers_path.resolve().parent), str(session.paths.results.resolve())]
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host, server_port=port, allowed_paths=[str(session.paths.public.resolve())], blocked_paths=blocked
    )
