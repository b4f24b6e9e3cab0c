"""`facial-study analyze`: answers + key → attention screening, preferences, MOS, agreement, tables.

Steps (:func:`analyze`), each in its own module:

1. :mod:`user_study.answers` — :func:`read_answers` reads CSV files (from the HTML form or
   ``serve``) and JSON downloads, validates every row against the manifest, and reports malformed
   rows by file and line (they are skipped). A repeated answer (same participant, trial, question)
   keeps the later one. :func:`screen_participants` scores the attention checks; a participant who
   fails (or skips) more than ``max_failed_checks`` of them is excluded, and the count is reported.
2. :mod:`user_study.preference` (2AFC) — :func:`preferences`: per question and method pair, how
   often ``pair[0]`` was preferred, with a Wilson 95 % interval and a two-sided exact binomial test
   against 50 %. Every judgment is counted as one trial (the usual convention; judgments of one
   rater are not independent, so read p-values near 0.05 with care).
3. :mod:`user_study.mos` (mos5) — :func:`mos`: per method and question, mean opinion score with
   std and a bootstrap 95 % CI (:func:`evaluation.tables.aggregate`), and per pair a paired test
   over raters' mean scores (:func:`mos_tests`).
4. :mod:`user_study.agreement` — :func:`agreement`: per question, Fleiss' kappa (when every trial
   has the same number of raters) and Krippendorff's alpha (nominal; any number of raters).
5. :mod:`user_study.report` — :func:`write_results`: Markdown, LaTeX and CSV tables, a plot, and
   ``report.md``.

This module holds :class:`AnalysisResult` and the driver; the names of the step modules are
re-exported here, so ``from user_study.analysis import write_results`` keeps working.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from user_study.agreement import agreement
from user_study.answers import REQUIRED, read_answers, screen_participants, study_answers
from user_study.design import StudyPaths, load_study
from user_study.mos import mos, mos_tests
from user_study.preference import position_bias, preferences
from user_study.report import plot, preference_rows, report_markdown, write_results
from user_study.types import Key, Manifest, StudyError

__all__ = [
    "REQUIRED",
    "AnalysisResult",
    "agreement",
    "analyze",
    "default_results_dir",
    "mos",
    "mos_tests",
    "plot",
    "position_bias",
    "preference_rows",
    "preferences",
    "read_answers",
    "report_markdown",
    "screen_participants",
    "study_answers",
    "write_results",
]

log = logging.getLogger(__name__)


@dataclass
class AnalysisResult:
    """Everything :func:`analyze` found; DataFrames are None when they do not apply to the scale."""

    manifest: Manifest
    key: Key
    answers: pd.DataFrame
    participants: pd.DataFrame
    problems: list[str]
    preferences: pd.DataFrame | None = None
    mos: pd.DataFrame | None = None
    mos_tests: pd.DataFrame | None = None
    agreement: pd.DataFrame | None = None
    position_bias: dict[str, float] = field(default_factory=dict)

    @property
    def n_participants(self) -> int:
        return int(len(self.participants))

    @property
    def n_excluded(self) -> int:
        return int((~self.participants["included"]).sum()) if len(self.participants) else 0


# --------------------------------------------------------------------------- driver
def analyze(
    study_dir: str | Path,
    answer_paths: Sequence[str | Path],
    *,
    max_failed_checks: int = 0,
    alpha: float = 0.05,
    seed: int = 0,
) -> AnalysisResult:
    """Read, screen and analyse the answers of a built study (nothing is written; see :func:`write_results`)."""
    manifest, key = load_study(study_dir)
    assert key is not None
    answers, problems = read_answers(answer_paths, manifest)
    if answers.empty:
        raise StudyError("no valid answers in the given files" + (f" (first problem: {problems[0]})" if problems else ""))
    participants = screen_participants(answers, key, max_failed_checks=max_failed_checks)
    n_ex = int((~participants["included"]).sum())
    log.info("%d participant(s); %d excluded for failing attention checks; %d included",
             len(participants), n_ex, len(participants) - n_ex)
    if n_ex == len(participants):
        raise StudyError(f"all {n_ex} participant(s) failed the attention checks; nothing to analyse (see --max-failed-checks)")
    screened = study_answers(answers, key, participants)
    result = AnalysisResult(manifest, key, answers, participants, problems)
    if manifest.scale == "2afc":
        result.preferences = preferences(screened, manifest, key, alpha=alpha)
        result.position_bias = position_bias(screened)
    else:
        result.mos = mos(screened, manifest, key, seed=seed)
        result.mos_tests = mos_tests(screened, manifest, key) if key.pairs else None
    result.agreement = agreement(screened, manifest)
    return result


def default_results_dir(study_dir: str | Path) -> Path:
    return StudyPaths(Path(study_dir)).results
