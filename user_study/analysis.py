"""`facial-study analyze`: answers + key → attention screening, preferences, MOS, agreement, tables.

Steps (:func:`analyze`):

1. :func:`read_answers` reads CSV files (from the HTML form or ``serve``) and JSON downloads,
   validates every row against the manifest, and reports malformed rows by file and line (they are
   skipped). A repeated answer (same participant, trial, question) keeps the later one.
2. :func:`screen_participants` scores the attention checks; a participant who fails (or skips) more
   than ``max_failed_checks`` of them is excluded, and the count is reported.
3. 2AFC: :func:`preferences` — per question and method pair, how often ``pair[0]`` was preferred,
   with a Wilson 95 % interval and a two-sided exact binomial test against 50 %. Every judgment is
   counted as one trial (the usual convention; judgments of one rater are not independent, so
   read p-values near 0.05 with care).
4. mos5: :func:`mos` — per method and question, mean opinion score with std and a bootstrap 95 %
   CI (:func:`evaluation.tables.aggregate`), and per pair a paired test over raters' mean scores.
5. :func:`agreement` — per question, Fleiss' kappa (when every trial has the same number of
   raters) and Krippendorff's alpha (nominal; any number of raters).
6. :func:`write_results` — Markdown, LaTeX and CSV tables, a plot, and ``report.md``.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import tempfile
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from evaluation import stats
from evaluation.tables import aggregate, latex_table, markdown_table, to_csv, to_latex, to_markdown, write_text_atomic
from user_study.design import StudyPaths, load_study
from user_study.types import ANSWER_COLUMNS, Key, Manifest, StudyError

log = logging.getLogger(__name__)

REQUIRED = ("participant", "trial", "question", "answer")


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


def _study_answers(answers: pd.DataFrame, key: Key, participants: pd.DataFrame) -> pd.DataFrame:
    """Answers of included participants on non-check trials, with the shown methods and pair."""
    keep = set(participants.loc[participants["included"], "participant"])
    a = answers[answers["participant"].isin(keep)]
    a = a[a["trial"].map(lambda t: key.trials[t].check is None)].copy()
    a["clip"] = a["trial"].map(lambda t: key.trials[t].clip)
    return a


# --------------------------------------------------------------------------- 2AFC
def preferences(answers: pd.DataFrame, manifest: Manifest, key: Key, *, alpha: float = 0.05) -> pd.DataFrame:
    """Preference for ``pair[0]`` per question × pair: n, k, rate, Wilson interval, binomial p.

    ``answers`` are the screened non-check answers (see :func:`analyze`).
    """
    records = []
    for r in answers.itertuples(index=False):
        tk = key.trials[r.trial]
        if not tk.pair or len(tk.methods) != 2:
            continue
        chosen = tk.methods[0] if r.answer == "A" else tk.methods[1]
        records.append((r.question, tk.pair[0], tk.pair[1], chosen == tk.pair[0], r.participant))
    frame = pd.DataFrame(records, columns=["question", "method_a", "method_b", "prefer_a", "participant"])
    out = []
    for q in manifest.question_ids:
        for pair in key.pairs:
            sel = frame[(frame["question"] == q) & (frame["method_a"] == pair[0]) & (frame["method_b"] == pair[1])]
            n, k = int(len(sel)), int(sel["prefer_a"].sum())
            lo, hi = stats.wilson_interval(k, n, alpha)
            out.append({
                "question": q, "method_a": pair[0], "method_b": pair[1], "n": n, "k": k,
                "rate": k / n if n else float("nan"), "ci_lo": lo, "ci_hi": hi,
                "p_value": stats.binomial_test(k, n, 0.5), "n_participants": int(sel["participant"].nunique()),
            })
    return pd.DataFrame(out, columns=["question", "method_a", "method_b", "n", "k", "rate", "ci_lo", "ci_hi", "p_value", "n_participants"])


def position_bias(answers: pd.DataFrame) -> dict[str, float]:
    """Share of "A" answers over all screened 2AFC answers (0.5 = no side bias), with its binomial p."""
    n = int(len(answers))
    k = int((answers["answer"] == "A").sum())
    return {"n": n, "share_a": k / n if n else float("nan"), "p_value": stats.binomial_test(k, n) if n else float("nan")}


# --------------------------------------------------------------------------- MOS
def mos(answers: pd.DataFrame, manifest: Manifest, key: Key, *, seed: int = 0) -> pd.DataFrame:
    """MOS per method × question (``aggregate`` columns: method, metric=question, n, mean, std, ci_lo, ci_hi)."""
    rows = pd.DataFrame({
        "method": answers["trial"].map(lambda t: key.trials[t].methods[0]),
        "clip": answers["participant"] + "/" + answers["trial"],
        "metric": answers["question"],
        "value": answers["answer"].astype(float),
    })
    agg = aggregate(rows, seed=seed)
    order = {q: i for i, q in enumerate(manifest.question_ids)}
    morder = {m: i for i, m in enumerate(key.methods)}  # the order the methods were given in
    return agg.sort_values(["method", "metric"], key=lambda s: s.map(morder if s.name == "method" else order)).reset_index(drop=True)


def mos_tests(answers: pd.DataFrame, manifest: Manifest, key: Key) -> pd.DataFrame:
    """Per pair × question: paired Wilcoxon / t-test over raters' mean ratings of the two methods."""
    frame = answers.assign(method=answers["trial"].map(lambda t: key.trials[t].methods[0]), score=answers["answer"].astype(float))
    means = frame.groupby(["question", "participant", "method"])["score"].mean()
    out = []
    for q in manifest.question_ids:
        for a, b in key.pairs:
            try:
                per = means.loc[q].unstack("method")
            except KeyError:
                continue
            if a not in per or b not in per:
                continue
            res = stats.paired_test(per[a].to_numpy(), per[b].to_numpy())
            out.append({"question": q, "method_a": a, "method_b": b, **res})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- agreement
def agreement(answers: pd.DataFrame, manifest: Manifest) -> pd.DataFrame:
    """Per question over the screened non-check trials: Fleiss' kappa (balanced data) and Krippendorff's alpha."""
    out = []
    choices = list(manifest.choices)
    for q in manifest.question_ids:
        sel = answers[answers["question"] == q]
        if sel.empty:
            continue
        table = sel.pivot(index="participant", columns="trial", values="answer")
        counts = np.stack([(table == c).sum(axis=0).to_numpy() for c in choices], axis=1)
        per_item = counts.sum(axis=1)
        kappa = float("nan")
        if len(per_item) and per_item.min() == per_item.max() and per_item[0] >= 2:
            kappa = stats.fleiss_kappa(counts)
        data = table.astype(object).where(table.notna(), None).to_numpy().tolist()
        alpha = stats.krippendorff_alpha_nominal(data)
        out.append({"question": q, "n_items": int(table.shape[1]), "n_raters": int(table.shape[0]),
                    "fleiss_kappa": kappa, "krippendorff_alpha": alpha})
    return pd.DataFrame(out, columns=["question", "n_items", "n_raters", "fleiss_kappa", "krippendorff_alpha"])


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
    screened = _study_answers(answers, key, participants)
    result = AnalysisResult(manifest, key, answers, participants, problems)
    if manifest.scale == "2afc":
        result.preferences = preferences(screened, manifest, key, alpha=alpha)
        result.position_bias = position_bias(screened)
    else:
        result.mos = mos(screened, manifest, key, seed=seed)
        result.mos_tests = mos_tests(screened, manifest, key) if key.pairs else None
    result.agreement = agreement(screened, manifest)
    return result


# --------------------------------------------------------------------------- rendering
def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def preference_rows(prefs: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and string rows of the preference table (question, comparison, n, rate, CI, p)."""
    header = ["question", "comparison", "n", "prefer first", "95 % CI", "p (binomial)"]
    rows = [[r.question, f"{r.method_a} vs {r.method_b}", str(r.n), _pct(r.rate),
             f"[{_pct(r.ci_lo)[:-2]}, {_pct(r.ci_hi)}]" if r.n else "–", _p(r.p_value)] for r in prefs.itertuples(index=False)]
    return header, rows


def _agreement_rows(agr: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    f = lambda x: "–" if math.isnan(x) else f"{x:.3f}"  # noqa: E731
    return (["question", "trials", "raters", "Fleiss' κ", "Krippendorff's α"],
            [[r.question, str(r.n_items), str(r.n_raters), f(r.fleiss_kappa), f(r.krippendorff_alpha)] for r in agr.itertuples(index=False)])


def report_markdown(result: AnalysisResult) -> str:
    """The whole analysis as Markdown (screening line, main table, tests, agreement, skipped rows)."""
    n, ex = result.n_participants, result.n_excluded
    lines = [f"# User study {result.manifest.study_id}", "",
             f"{n} participant(s); {ex} excluded for failing attention checks; {n - ex} included. "
             f"{len(result.problems)} answer row problem(s) (skipped).", ""]
    if result.preferences is not None:
        header, rows = preference_rows(result.preferences)
        lines += ["## Preferences (2AFC)", "", "Share of judgments preferring the first method of each pair, "
                  "Wilson 95 % interval, two-sided exact binomial test against 50 %.", "", markdown_table(header, rows, align="llrrrr")]
        pb = result.position_bias
        if pb:
            lines += [f"Side bias: A chosen in {_pct(pb['share_a'])} of {pb['n']} answers (p = {_p(pb['p_value'])}).", ""]
    if result.mos is not None:
        lines += ["## Mean opinion score (1–5)", "", "Mean [bootstrap 95 % CI] per method and question.", "",
                  to_markdown(result.mos, {q: "higher" for q in result.manifest.question_ids}, decimals=2, cell="mean_ci")]
        if result.mos_tests is not None and len(result.mos_tests):
            t = result.mos_tests
            lines += ["Paired tests over raters' mean scores:", "", markdown_table(
                ["question", "comparison", "raters", "mean diff", "p (Wilcoxon)", "p (t)"],
                [[r.question, f"{r.method_a} vs {r.method_b}", str(r.n), f"{r.mean_diff:+.2f}", _p(r.wilcoxon_p), _p(r.t_p)]
                 for r in t.itertuples(index=False)], align="llrrrr")]
    if result.agreement is not None and len(result.agreement):
        lines += ["## Rater agreement", "", markdown_table(*_agreement_rows(result.agreement))]
    if result.problems:
        lines += ["## Skipped answer rows", ""] + [f"- {p}" for p in result.problems[:50]]
        if len(result.problems) > 50:
            lines.append(f"- … and {len(result.problems) - 50} more")
        lines.append("")
    return "\n".join(lines)


def _save_figure(fig, path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def plot(result: AnalysisResult, path: str | Path) -> Path:
    """Bar plot: preference rates with Wilson intervals (2AFC) or MOS with CIs (mos5)."""
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(7, 1.2 + 0.45 * max(4, len(result.preferences) if result.preferences is not None else 4)))
    ax = fig.add_subplot(1, 1, 1)
    if result.preferences is not None:
        p = result.preferences
        labels = [f"{r.question}\n{r.method_a} vs {r.method_b}" for r in p.itertuples(index=False)]
        y = np.arange(len(p))[::-1]
        err = np.vstack([p["rate"] - p["ci_lo"], p["ci_hi"] - p["rate"]]) * 100
        ax.barh(y, p["rate"] * 100, xerr=err, color="#4c72b0", capsize=3)
        ax.axvline(50, color="k", lw=1, ls="--")
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("preference for the first method (%) with Wilson 95 % CI")
    else:
        m = result.mos
        methods = list(dict.fromkeys(m["method"]))
        qs = list(dict.fromkeys(m["metric"]))
        width = 0.8 / max(1, len(methods))
        for i, meth in enumerate(methods):
            sel = m[m["method"] == meth].set_index("metric").reindex(qs)
            x = np.arange(len(qs)) + i * width
            err = np.vstack([sel["mean"] - sel["ci_lo"], sel["ci_hi"] - sel["mean"]])
            ax.bar(x, sel["mean"], width, yerr=np.nan_to_num(err), capsize=3, label=meth)
        ax.set_xticks(np.arange(len(qs)) + width * (len(methods) - 1) / 2, qs)
        ax.set_ylim(1, 5)
        ax.set_ylabel("MOS (1–5) with 95 % CI")
        ax.legend(fontsize=8)
    return _save_figure(fig, path)


def write_results(result: AnalysisResult, out_dir: str | Path, *, protect: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Write tables (Markdown, LaTeX, CSV), the participant screening, a plot and ``report.md``.

    Files in ``protect`` (the answer inputs) are never overwritten. Returns name → path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    protected = {Path(p).resolve() for p in protect}
    written: dict[str, Path] = {}

    def target(name: str) -> Path:
        p = out / name
        if p.resolve() in protected:
            raise StudyError(f"refusing to overwrite the input file {p}; choose another --out folder")
        written[name] = p
        return p

    to_csv(result.participants, target("participants.csv"))
    if result.preferences is not None:
        to_csv(result.preferences, target("preferences.csv"))
        header, rows = preference_rows(result.preferences)
        write_text_atomic(target("preferences.md"), markdown_table(header, rows, align="llrrrr"))
        write_text_atomic(target("preferences.tex"), latex_table(header, rows, caption="User-study preferences (2AFC)", label="tab:user-study"))
    if result.mos is not None:
        directions = {q: "higher" for q in result.manifest.question_ids}
        to_csv(result.mos, target("mos.csv"))
        write_text_atomic(target("mos.md"), to_markdown(result.mos, directions, decimals=2, cell="mean_ci"))
        write_text_atomic(target("mos.tex"), to_latex(result.mos, directions, decimals=2, cell="mean_ci", caption="Mean opinion scores", label="tab:mos"))
        if result.mos_tests is not None and len(result.mos_tests):
            to_csv(result.mos_tests, target("mos_tests.csv"))
    if result.agreement is not None:
        to_csv(result.agreement, target("agreement.csv"))
    if result.problems:
        write_text_atomic(target("problems.txt"), "\n".join(result.problems) + "\n")
    plot(result, target("preferences.png" if result.preferences is not None else "mos.png"))
    write_text_atomic(target("report.md"), report_markdown(result))
    log.info("wrote %d result file(s) to %s", len(written), out)
    return written


def default_results_dir(study_dir: str | Path) -> Path:
    return StudyPaths(Path(study_dir)).results
