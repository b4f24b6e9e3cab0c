"""Result tables: per-clip rows → per-method summary → Markdown, LaTeX and CSV.

Results are data. A benchmark (or a user study) produces long-format rows with the columns
``method, clip, metric, value``; :func:`aggregate` reduces them to one row per method × metric
(``n, mean, std, ci_lo, ci_hi`` with a BCa-bootstrap CI of the mean), and the writers render
that summary with metrics as columns::

    | method | LMD ↓         | sync ↑        |
    |--------|---------------|---------------|
    | ours   | 1.234 ± 0.100 | 0.500 ± 0.020 |

:func:`markdown_table` and :func:`latex_table` are the generic renderers (header + rows of
strings) that the summary writers, the benchmark report and the user-study kit build on;
:func:`summary_rows` / :func:`format_cell` are the one cell formatter of a summary (fixed or
automatic decimals). No ``tabulate`` dependency.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.stats import bootstrap_ci, mean_std
from facial import atomic

__all__ = [
    "ROW_COLUMNS",
    "AGG_COLUMNS",
    "aggregate",
    "to_markdown",
    "to_latex",
    "to_csv",
    "markdown_table",
    "latex_table",
    "latex_escape",
    "format_mean_std",
    "format_number",
    "format_cell",
    "summary_rows",
    "slug",
    "write_text_atomic",
]

ROW_COLUMNS = ("method", "clip", "metric", "value")
AGG_COLUMNS = ("method", "metric", "n", "mean", "std", "ci_lo", "ci_hi")
ARROWS = {"higher": "↑", "up": "↑", "max": "↑", "↑": "↑", "lower": "↓", "down": "↓", "min": "↓", "↓": "↓"}
LATEX_ARROWS = {"↑": r"$\uparrow$", "↓": r"$\downarrow$"}


def aggregate(rows: pd.DataFrame, seed: int = 0, *, n_boot: int = 2000, alpha: float = 0.05) -> pd.DataFrame:
    """Summarise long-format result rows per method × metric.

    ``rows`` needs the columns ``method, clip, metric, value`` (others are ignored). NaN values are
    dropped (``n`` counts the values used). Returns a DataFrame with the columns
    :data:`AGG_COLUMNS`; ``std`` is the sample standard deviation and ``[ci_lo, ci_hi]`` the
    ``1 - alpha`` BCa-bootstrap interval of the mean (seeded, reproducible). Methods and
    metrics keep their order of first appearance.
    """
    if not isinstance(rows, pd.DataFrame):
        raise TypeError(f"rows must be a pandas DataFrame, got {type(rows).__name__}")
    missing = [c for c in ROW_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"result rows lack the column(s) {missing}; expected {list(ROW_COLUMNS)}, got {list(rows.columns)}")
    values = pd.to_numeric(rows["value"], errors="coerce")
    bad = values.isna() & rows["value"].notna()
    if bad.any():
        first = rows.loc[bad, "value"].iloc[0]
        raise ValueError(f"{int(bad.sum())} value(s) are not numbers (first: {first!r}); fix or drop those rows")
    frame = rows.assign(value=values.astype(float), method=rows["method"].astype(str), metric=rows["metric"].astype(str))
    out = []
    for (method, metric), group in frame.groupby(["method", "metric"], sort=False):
        v = group["value"].to_numpy(dtype=np.float64)
        v = v[~np.isnan(v)]
        mean, std = mean_std(v)
        lo, hi = bootstrap_ci(v, n_boot=n_boot, alpha=alpha, seed=seed)
        out.append({"method": method, "metric": metric, "n": int(v.size), "mean": mean, "std": std, "ci_lo": lo, "ci_hi": hi})
    agg = pd.DataFrame(out, columns=list(AGG_COLUMNS))
    agg["n"] = agg["n"].astype(int)
    return agg


def _arrow(metric: str, directions: Mapping[str, str] | None) -> str:
    if not directions or metric not in directions:
        return ""
    d = str(directions[metric]).strip().lower()
    if d not in ARROWS:
        raise ValueError(f"direction of {metric!r} must be 'higher'/'lower' (or ↑/↓), got {directions[metric]!r}")
    return ARROWS[d]


def format_number(x: float | None, decimals: int | None = None) -> str:
    """``x`` with ``decimals`` digits; ``None`` picks them from the magnitude (0 from 100 up, 1 from 10,
    2 from 1, else 3). ``"–"`` for a missing or non-finite value."""
    if x is None or not np.isfinite(x):
        return "–"
    if decimals is None:
        a = abs(x)
        decimals = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 1 else 3
    return f"{x:.{decimals}f}"


def format_mean_std(mean: float, std: float, decimals: int = 3, *, pm: str = " ± ") -> str:
    """``"mean ± std"`` with ``decimals`` digits; ``"–"`` for a missing mean, no ``± std`` when std is NaN."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f}{pm}{std:.{decimals}f}"


def _check_agg(agg: pd.DataFrame) -> None:
    missing = [c for c in ("method", "metric", "mean", "std") if c not in agg.columns]
    if missing:
        raise ValueError(f"summary lacks the column(s) {missing}; pass the output of aggregate()")


def _pivot(agg: pd.DataFrame) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[float, float, float, float]]]:
    _check_agg(agg)
    methods = list(dict.fromkeys(agg["method"].astype(str)))
    metrics = list(dict.fromkeys(agg["metric"].astype(str)))
    lo = agg["ci_lo"] if "ci_lo" in agg.columns else pd.Series(np.nan, index=agg.index)
    hi = agg["ci_hi"] if "ci_hi" in agg.columns else pd.Series(np.nan, index=agg.index)
    cells = {
        (str(m), str(k)): (float(mu), float(sd), float(a), float(b))
        for m, k, mu, sd, a, b in zip(agg["method"], agg["metric"], agg["mean"], agg["std"], lo, hi)
    }
    return methods, metrics, cells


def _counts(agg: pd.DataFrame) -> dict[tuple[str, str], int]:
    if "n" not in agg.columns:
        raise ValueError("summary lacks the column 'n'; pass the output of aggregate()")
    return {(str(m), str(k)): int(n) for m, k, n in zip(agg["method"], agg["metric"], agg["n"])}


_NAN4 = (float("nan"),) * 4


CELLS = ("mean_std", "mean_ci", "mean_std_ci")


def format_cell(mean: float, std: float = math.nan, ci_lo: float = math.nan, ci_hi: float = math.nan,
                decimals: int | None = 3, cell: str = "mean_std", *, pm: str = " ± ", dash: str = "–") -> str:
    """One summary cell: ``cell="mean_std"`` → ``"mean ± std"``, ``"mean_ci"`` → ``"mean [ci_lo, ci_hi]"``,
    ``"mean_std_ci"`` → ``"mean ± std [ci_lo, ci_hi]"`` (parts with a non-finite value are left out).
    ``decimals=None`` (``mean_std_ci`` only) picks them per number (:func:`format_number`); ``dash``
    stands for a missing mean."""
    if cell == "mean_std":
        text = format_mean_std(mean, std, decimals, pm=pm)
    elif cell == "mean_ci":
        text = format_mean_std(mean, float("nan"), decimals)
        if text != "–" and not (math.isnan(ci_lo) or math.isnan(ci_hi)):
            text += f" [{ci_lo:.{decimals}f}, {ci_hi:.{decimals}f}]"
    elif cell == "mean_std_ci":
        text = format_number(mean, decimals)
        if np.isfinite(std):
            text += f"{pm}{format_number(std, decimals)}"
        if np.isfinite(ci_lo):
            text += f" [{format_number(ci_lo, decimals)}, {format_number(ci_hi, decimals)}]"
    else:
        raise ValueError(f"cell must be one of {', '.join(repr(c) for c in CELLS)}, got {cell!r}")
    return dash if text == "–" else text


def summary_rows(
    agg: pd.DataFrame,
    *,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    decimals: int | None = 3,
    cell: str = "mean_std",
    pm: str = " ± ",
    dash: str = "–",
    n_column: bool = False,
    skip_empty: bool = False,
    best: Mapping[str, str | None] | None = None,
    bold: str = "**{}**",
) -> list[list[str]]:
    """Body rows of a summary table: ``[method, (n,) one cell per metric]``.

    ``methods`` / ``metrics`` select and order (default: their order in ``agg``); ``n_column`` adds
    the largest ``n`` of the row's metrics; ``skip_empty`` drops methods without a value in any of
    ``metrics``. ``best`` maps a metric to the method whose cell is wrapped in ``bold``. Cells are
    :func:`format_cell` with ``decimals``, ``cell``, ``pm`` and ``dash``.
    """
    all_methods, all_metrics, cells = _pivot(agg)
    counts = _counts(agg) if n_column else {}
    methods = all_methods if methods is None else list(methods)
    metrics = all_metrics if metrics is None else list(metrics)
    rows = []
    for method in methods:
        if skip_empty and not any((method, k) in cells for k in metrics):
            continue
        row: list[str] = [method]
        if n_column:
            row.append(str(max((counts.get((method, k), 0) for k in metrics), default=0)))
        for metric in metrics:
            text = format_cell(*cells.get((method, metric), _NAN4), decimals, cell, pm=pm, dash=dash)
            row.append(bold.format(text) if best and best.get(metric) == method else text)
        rows.append(row)
    return rows


def _best(methods: list[str], metric: str, cells: Mapping, arrow: str) -> str | None:
    scored = [(cells[(m, metric)][0], m) for m in methods if (m, metric) in cells and not math.isnan(cells[(m, metric)][0])]
    if not scored or not arrow:
        return None
    return (max if arrow == "↑" else min)(scored)[1]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, align: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table. ``align`` per column: ``"l"``, ``"r"`` or ``"c"`` (default: first l, rest r)."""
    header = [str(h) for h in header]
    body = [[str(c) for c in r] for r in rows]
    for r in body:
        if len(r) != len(header):
            raise ValueError(f"row {r} has {len(r)} cells, header has {len(header)}")
    align = list(align) if align is not None else ["l"] + ["r"] * (len(header) - 1)
    esc = [[c.replace("|", r"\|") for c in r] for r in [header] + body]
    widths = [max(3, *(len(r[i]) for r in esc)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(cells, widths, align)) + " |"

    rule = {"l": lambda w: ":" + "-" * (w - 1), "r": lambda w: "-" * (w - 1) + ":", "c": lambda w: ":" + "-" * (w - 2) + ":"}
    sep = "| " + " | ".join(rule[a](w) for a, w in zip(align, widths)) + " |"
    return "\n".join([line(esc[0]), sep] + [line(r) for r in esc[1:]]) + "\n"


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$",
}
_LATEX_SYMBOLS = {"→": r"$\rightarrow$", "·": r"$\cdot$", "²": r"$^2$", "³": r"$^3$", "−": "-", "–": "--"}


def latex_escape(text: object, *, symbols: bool = False) -> str:
    """Escape LaTeX special characters (``_ & % $ # { } ~ ^ \\``) and map ↑ ↓ ± to math symbols;
    ``symbols=True`` also maps → · ² ³ and the minus / en dash (metric headers and units)."""
    table = {**_LATEX_SPECIALS, **_LATEX_SYMBOLS} if symbols else _LATEX_SPECIALS
    return "".join(table.get(ch, ch) for ch in str(text))


def slug(text: str, length: int = 40) -> str:
    """``text`` lower-cased with every non-alphanumeric character a ``-`` (for LaTeX labels)."""
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:length]


def latex_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    caption: str | None = None,
    label: str | None = None,
    escape: bool = True,
    align: str | None = None,
) -> str:
    """A booktabs ``table``/``tabular`` (needs ``\\usepackage{booktabs}``). Cells are escaped unless ``escape=False``."""
    f = latex_escape if escape else str
    align = align or ("l" + "r" * (len(header) - 1))
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(f(h) for h in header) + r" \\", r"\midrule"]
    for r in rows:
        if len(r) != len(header):
            raise ValueError(f"row {list(r)} has {len(r)} cells, header has {len(header)}")
        lines.append(" & ".join(f(c) for c in r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_markdown(
    agg: pd.DataFrame,
    directions: Mapping[str, str] | None = None,
    decimals: int = 3,
    *,
    bold_best: bool = False,
    cell: str = "mean_std",
) -> str:
    """Markdown table of an :func:`aggregate` summary: one row per method, one column per metric.

    ``directions`` maps a metric to ``"higher"``/``"lower"`` (or ↑/↓): the header gets the arrow
    and, with ``bold_best``, the best mean of that column is bold. Cells read ``mean ± std``, or
    ``mean [ci_lo, ci_hi]`` with ``cell="mean_ci"``.
    """
    methods, metrics, cells = _pivot(agg)
    arrows = {m: _arrow(m, directions) for m in metrics}
    best = {m: _best(methods, m, cells, arrows[m]) if bold_best else None for m in metrics}
    header = ["method"] + [f"{m} {arrows[m]}".rstrip() for m in metrics]
    rows = summary_rows(agg, decimals=decimals, cell=cell, pm=" ± ", dash="–", best=best, bold="**{}**")
    return markdown_table(header, rows)


def to_latex(
    agg: pd.DataFrame,
    directions: Mapping[str, str] | None = None,
    decimals: int = 3,
    *,
    caption: str | None = None,
    label: str | None = None,
    bold_best: bool = False,
    cell: str = "mean_std",
) -> str:
    """LaTeX (booktabs) table of an :func:`aggregate` summary; same layout as :func:`to_markdown`.

    Method and metric names are escaped (``_`` → ``\\_``); arrows become ``$\\uparrow$``/``$\\downarrow$``.
    ``cell`` as in :func:`to_markdown`.
    """
    methods, metrics, cells = _pivot(agg)
    arrows = {m: _arrow(m, directions) for m in metrics}
    best = {m: _best(methods, m, cells, arrows[m]) if bold_best else None for m in metrics}
    header = ["method"] + [latex_escape(m) + (" " + LATEX_ARROWS[arrows[m]] if arrows[m] else "") for m in metrics]
    rows = summary_rows(agg, decimals=decimals, cell=cell, pm=r" $\pm$ ", dash="--", best=best, bold=r"\textbf{{{}}}")
    rows = [[latex_escape(r[0]), *r[1:]] for r in rows]
    return latex_table(header, rows, caption=caption, label=label, escape=False)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically (:mod:`facial.atomic`)."""
    return atomic.write_bytes(path, text.encode("utf-8"))


def to_csv(agg: pd.DataFrame, path: str | Path) -> Path:
    """Write a summary (or any DataFrame) as CSV, atomically (temp file then rename). Returns the path."""
    return write_text_atomic(path, agg.to_csv(index=False))
