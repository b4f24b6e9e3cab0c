"""Which answers count: read and validate answer files, then screen participants by attention checks.

:func:`read_answers` reads CSV files (from the HTML form or ``serve``) and JSON downloads,
validates every row against the manifest, and reports malformed rows by file and line (they are
skipped). A repeated answer (same participant, trial, question) keeps the later one.
:func:`screen_participants` scores the attention checks; :func:`study_answers` keeps the answers of
included participants on non-check trials, which every statistic of the analysis works on.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Sequence

import pandas as pd

from user_study.types import ANSWER_COLUMNS, Key, Manifest, StudyError

log = logging.getLogger(__name__)

REQUIRED = ("participant", "trial", "question", "answer")


# --------------------------------------------------------------------------- reading
def _normalise_answer(value: str, manifest: Manifest) -> str | None:
    v = str(value).strip()
    if manifest.scale == "2afc":
        v = v.upper()
    else:
        try:
            f = float(v)
        except ValueError:
            return None
        if not f.is_integer():
            return None
        v = str(int(f))
    return v if v in manifest.choices else None


def _check_row(row: dict, manifest: Manifest, where: str) -> tuple[dict | None, str | None]:
    missing = [c for c in REQUIRED if not str(row.get(c) or "").strip()]
    if missing:
        return None, f"{where}: empty {', '.join(missing)}"
    sid = str(row.get("study_id") or "").strip()
    if sid and sid != manifest.study_id:
        return None, f"{where}: answer for study {sid}, not {manifest.study_id}"
    trial = str(row["trial"]).strip()
    if trial not in set(manifest.trial_ids):
        return None, f"{where}: unknown trial {trial!r}"
    question = str(row["question"]).strip()
    if question not in manifest.question_ids:
        return None, f"{where}: unknown question {question!r} (have {manifest.question_ids})"
    answer = _normalise_answer(row["answer"], manifest)
    if answer is None:
        return None, f"{where}: answer {row['answer']!r} is not one of {list(manifest.choices)}"
    try:
        position = int(float(row.get("position") or 0))
    except ValueError:
        position = 0
    return {
        "participant": str(row["participant"]).strip(),
        "trial": trial,
        "question": question,
        "answer": answer,
        "position": position,
        "timestamp": str(row.get("timestamp") or ""),
        "source": str(row.get("source") or ""),
    }, None


def _rows_from_csv(path: Path, manifest: Manifest, problems: list[str]) -> list[dict]:
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            problems.append(f"{path}: empty file")
            return out
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise StudyError(f"{path} has no {missing} column(s); answer files need the header {','.join(ANSWER_COLUMNS)}")
        for cells in reader:
            where = f"{path.name}:{reader.line_num}"
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(f"{where}: {len(cells)} fields, expected {len(header)}")
                continue
            row, problem = _check_row(dict(zip(header, cells)), manifest, where)
            if problem:
                problems.append(problem)
            else:
                out.append(row)
    return out


def _rows_from_json(path: Path, manifest: Manifest, problems: list[str]) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StudyError(f"{path} is not valid JSON ({exc}); give the file the form downloaded") from exc
    rows = data.get("answers") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise StudyError(f"{path} must hold a list of answers or {{'answers': [...]}}")
    out = []
    for i, r in enumerate(rows, 1):
        where = f"{path.name}: answer #{i}"
        if not isinstance(r, dict):
            problems.append(f"{where}: not an object")
            continue
        row, problem = _check_row(r, manifest, where)
        if problem:
            problems.append(problem)
        else:
            out.append(row)
    return out


def read_answers(paths: Sequence[str | Path], manifest: Manifest) -> tuple[pd.DataFrame, list[str]]:
    """Valid answers of all files as one DataFrame, and the problems found (by file and line).

    CSV files need a header with at least ``participant, trial, question, answer``; ``.json`` files
    are the HTML form's JSON download (or a list of such rows). Rows for another study, an unknown
    trial or question, or an answer outside the scale are skipped and reported; a repeated answer
    keeps the later one.
    """
    if not paths:
        raise StudyError("give at least one answers file (CSV from the form or `serve`, or the form's JSON)")
    problems: list[str] = []
    rows: list[dict] = []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise StudyError(f"answers file {p} does not exist")
        rows += _rows_from_json(p, manifest, problems) if p.suffix.lower() == ".json" else _rows_from_csv(p, manifest, problems)
    frame = pd.DataFrame(rows, columns=["participant", "trial", "question", "answer", "position", "timestamp", "source"])
    dup = frame.duplicated(["participant", "trial", "question"], keep="last")
    if dup.any():
        problems.append(f"{int(dup.sum())} repeated answer(s) (same participant, trial and question); kept the later one of each")
        frame = frame[~dup].reset_index(drop=True)
    if problems:
        log.warning("%d problem(s) in the answers; those rows are skipped:\n  %s%s", len(problems), "\n  ".join(problems[:20]),
                    f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else "")
    return frame, problems


# --------------------------------------------------------------------------- attention
def screen_participants(answers: pd.DataFrame, key: Key, *, max_failed_checks: int = 0) -> pd.DataFrame:
    """Per participant: attention checks passed / failed / missing, answers given, and ``included``.

    A missing answer to a check counts as a failure (attention cannot be shown).
    """
    checks = {t: k.check for t, k in key.trials.items() if k.check}
    lookup = {(r.participant, r.trial, r.question): r.answer for r in answers.itertuples(index=False)}
    out = []
    for pid in sorted(answers["participant"].unique()):
        passed = failed = missing = 0
        for trial, check in checks.items():
            a = lookup.get((pid, trial, check["question"]))
            if a is None:
                missing += 1
            elif a in check["expected"]:
                passed += 1
            else:
                failed += 1
        n = int((answers["participant"] == pid).sum())
        out.append({"participant": pid, "n_answers": n, "checks_passed": passed, "checks_failed": failed,
                    "checks_missing": missing, "included": failed + missing <= max_failed_checks})
    return pd.DataFrame(out, columns=["participant", "n_answers", "checks_passed", "checks_failed", "checks_missing", "included"])


def study_answers(answers: pd.DataFrame, key: Key, participants: pd.DataFrame) -> pd.DataFrame:
    """Answers of included participants on non-check trials, with the shown methods and pair."""
    keep = set(participants.loc[participants["included"], "participant"])
    a = answers[answers["participant"].isin(keep)]
    a = a[a["trial"].map(lambda t: key.trials[t].check is None)].copy()
    a["clip"] = a["trial"].map(lambda t: key.trials[t].clip)
    return a
