"""Analysis output: Markdown report, preference / agreement tables, the plot, and the result files.

:func:`write_results` writes Markdown, LaTeX and CSV tables, the participant screening, a plot and
``report.md`` (every file atomically); :func:`report_markdown` is the report as a string.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from evaluation.tables import latex_table, markdown_table, to_csv, to_latex, to_markdown
from facial.atomic import write_text
from facial.plotting import new_figure, save_figure
from user_study.types import StudyError

if TYPE_CHECKING:
    from user_study.analysis import AnalysisResult

log = logging.getLogger(__name__)


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


def plot(result: AnalysisResult, path: str | Path) -> Path:
    """Bar plot: preference rates with Wilson intervals (2AFC) or MOS with CIs (mos5)."""
    fig, ax = new_figure(1, 1, figsize=(7, 1.2 + 0.45 * max(4, len(result.preferences) if result.preferences is not None else 4)))
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
    return save_figure(fig, path, dpi=150)


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
        write_text(target("preferences.md"), markdown_table(header, rows, align="llrrrr"))
        write_text(target("preferences.tex"), latex_table(header, rows, caption="User-study preferences (2AFC)", label="tab:user-study"))
    if result.mos is not None:
        directions = {q: "higher" for q in result.manifest.question_ids}
        to_csv(result.mos, target("mos.csv"))
        write_text(target("mos.md"), to_markdown(result.mos, directions, decimals=2, cell="mean_ci"))
        write_text(target("mos.tex"), to_latex(result.mos, directions, decimals=2, cell="mean_ci", caption="Mean opinion scores", label="tab:mos"))
        if result.mos_tests is not None and len(result.mos_tests):
            to_csv(result.mos_tests, target("mos_tests.csv"))
    if result.agreement is not None:
        to_csv(result.agreement, target("agreement.csv"))
    if result.problems:
        write_text(target("problems.txt"), "\n".join(result.problems) + "\n")
    plot(result, target("preferences.png" if result.preferences is not None else "mos.png"))
    write_text(target("report.md"), report_markdown(result))
    log.info("wrote %d result file(s) to %s", len(written), out)
    return written
