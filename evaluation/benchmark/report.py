"""Benchmark results as data and text: cells → rows, the summary tables (Markdown, LaTeX) and the
paired comparisons.

Tables are rendered by :mod:`evaluation.tables` (the one formatter shared with the user-study kit):
one table per metric family, at most :data:`MAX_TABLE_COLUMNS` metrics wide, cells
``mean ± std [CI]`` with as many decimals as the magnitude needs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluation import registry, tables

if TYPE_CHECKING:
    from evaluation.benchmark.run import CellResult

MAX_TABLE_COLUMNS = 6
FAMILY_TITLES = {"sync": "Lip sync (SyncNet)", "av_sync": "Audio-visual sync (weights-free)", "lmd": "Landmark distance",
                 "sync_expert": "Lip sync (our sync expert)", "blink": "Eye blinks", "head_motion": "Head motion",
                 "image": "Image fidelity (aligned face crops)", "artifacts": "Rendering artifacts"}


def cells_to_frames(cells: list[CellResult], method_order: list[str], metric_order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows ``method, clip, metric, value``; unavailable ``method, clip, metric, status, reason``)."""
    rows, missing = [], []
    for c in cells:
        if c.status != "ok":
            missing.append({"method": c.method, "clip": c.clip, "metric": "*", "status": c.status, "reason": c.reason})
            continue
        for v in c.values:
            if v.is_ok:
                rows.append({"method": c.method, "clip": c.clip, "metric": v.name, "value": float(v.value)})
            else:
                missing.append({"method": c.method, "clip": c.clip, "metric": v.name, "status": v.status, "reason": v.reason})
    df = pd.DataFrame(rows, columns=["method", "clip", "metric", "value"])
    mrank = {m: i for i, m in enumerate(method_order)}
    krank = {m: i for i, m in enumerate(metric_order)}
    if len(df):
        df = df.sort_values(["method", "metric", "clip"], key=lambda s: s.map(mrank) if s.name == "method" else
                            s.map(krank) if s.name == "metric" else s, kind="stable").reset_index(drop=True)
    return df, pd.DataFrame(missing, columns=["method", "clip", "metric", "status", "reason"])


def summary_cells(agg: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``(method, metric) → "mean ± std [ci_lo, ci_hi]"`` text cells."""
    return {(r.method, r.metric): tables.format_cell(r.mean, r.std, r.ci_lo, r.ci_hi, None, "mean_std_ci")
            for r in agg.itertuples(index=False)}


def _family_tables(agg: pd.DataFrame, methods: list[str]) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """Per metric family: (title, header, rows, metric names) for the metrics present in ``agg``."""
    present = list(dict.fromkeys(agg["metric"]))
    out = []
    for family, title in FAMILY_TITLES.items():
        fam = [s for s in registry.all_specs() if s.family == family and s.name in present]
        for part in range(0, len(fam), MAX_TABLE_COLUMNS):
            specs = fam[part:part + MAX_TABLE_COLUMNS]
            t = title if part == 0 else f"{title} (continued)"
            table = _one_table(t, specs, methods, agg)
            if table:
                out.append(table)
    return out


def _one_table(title: str, specs: list, methods: list[str], agg: pd.DataFrame):
    """(title, header, rows, metric names) of one table, or None when no method has a value."""
    header = ["method", "n"] + [f"{s.name} {s.arrow}" + (f" ({s.unit})" if s.unit not in ("–", "×", "") else "") for s in specs]
    names = [s.name for s in specs]
    rows = tables.summary_rows(agg, methods=methods, metrics=names, decimals=None, cell="mean_std_ci",
                               n_column=True, skip_empty=True)
    return (title, header, rows, names) if rows else None


def method_notes(cells: list[CellResult]) -> dict[str, str]:
    """Per method, how its videos were made (e.g. which FACIAL driver), from the cells' ``method_info``."""
    seen: dict[str, dict[str, set]] = {}
    for c in cells:
        for key in ("driver", "renderer"):
            if c.method_info.get(key):
                seen.setdefault(c.method, {}).setdefault(key, set()).add(str(c.method_info[key]))
    return {m: ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in d.items()) for m, d in seen.items()}


def render_markdown(agg: pd.DataFrame, methods: list[str], *, title: str, protocol: dict[str, Any],
                    unavailable: pd.DataFrame | None = None, notes: dict[str, str] | None = None) -> str:
    """The aggregate as Markdown: one table per metric family plus a legend."""
    parts = [f"# {title}\n\n", f"Protocol: `{protocol['name']}` — " + ", ".join(f"{k}={v}" for k, v in protocol.items() if k != "name") + "\n\n",
             "Cells: mean ± std over clips [BCa-bootstrap 95 % CI of the mean, 2000 resamples]; "
             "n = clips with a value. ↑ higher is better, ↓ lower is better, →x closer to x is better, "
             "· descriptive (compare with `ground_truth`).\n"]
    if notes:
        parts.append("\nHow the methods' videos were made: " + "; ".join(f"`{m}`: {t}" for m, t in notes.items()) + ".\n")
    for t, header, rows, names in _family_tables(agg, methods):
        parts.append(f"\n## {t}\n\n" + tables.markdown_table(header, rows))
        if "blink_rate_per_min" in names:
            parts.append("\nHuman conversational blink rate: 10.5–32.5 /min (Doughty 2001; mean 26 /min, Bentivoglio et al. 1997).\n")
    if unavailable is not None and len(unavailable):
        parts.append("\n## Not computed\n\n")
        rows = []
        for reason, g in unavailable.groupby("reason", sort=False):
            metrics = list(dict.fromkeys(g["metric"]))
            ms = list(dict.fromkeys(g["method"]))
            rows.append([", ".join(f"`{m}`" for m in metrics), ", ".join(ms), str(len(g)), str(reason).replace("\n", " ")])
        parts.append(tables.markdown_table(["metrics", "methods", "cells", "reason"], rows, align=["l", "l", "r", "l"]))
    return "".join(parts)


def render_latex(agg: pd.DataFrame, methods: list[str], *, title: str) -> str:
    """The aggregate as LaTeX (booktabs): one table per metric family."""
    def tex(text: str) -> str:
        return tables.latex_escape(text, symbols=True)

    out = []
    for t, header, rows, _ in _family_tables(agg, methods):
        out.append(tables.latex_table([tex(h) for h in header], [[tex(c) for c in r] for r in rows], caption=f"{title}: {t}",
                                      label=f"tab:{tables.slug(title)}-{tables.slug(t)}", escape=False))
    return "\n".join(out)


def paired_comparisons(rows: pd.DataFrame, methods: list[str], focus: str | None = None) -> pd.DataFrame:
    """Paired tests (``evaluation.stats.paired_test``) of ``focus`` against every other method, per
    metric, on the clips both have: ``method_a, method_b, metric, n, mean_a, mean_b, mean_diff,
    wilcoxon_p, t_p``. ``focus`` defaults to the first ``ours*`` method, else the first method
    that is not ``ground_truth``."""
    from evaluation.stats import paired_test

    cols = ["method_a", "method_b", "metric", "n", "mean_a", "mean_b", "mean_diff", "wilcoxon_p", "t_p"]
    present = [m for m in methods if m in set(rows["method"])] if len(rows) else []
    if focus is None:
        focus = next((m for m in present if m.startswith("ours")), next((m for m in present if m != "ground_truth"), None))
    if focus is None or focus not in present:
        return pd.DataFrame(columns=cols)
    wide = rows.pivot_table(index=["metric", "clip"], columns="method", values="value", aggfunc="first")
    out = []
    for metric in dict.fromkeys(rows["metric"]):
        sub = wide.loc[metric]
        for other in present:
            if other == focus or focus not in sub or other not in sub:
                continue
            both = sub[[focus, other]].dropna()
            if len(both) < 2:
                continue
            r = paired_test(both[focus].to_numpy(), both[other].to_numpy())
            out.append({"method_a": focus, "method_b": other, "metric": metric, "n": r["n"], "mean_a": r["mean_a"],
                        "mean_b": r["mean_b"], "mean_diff": r["mean_diff"], "wilcoxon_p": r["wilcoxon_p"], "t_p": r["t_p"]})
    return pd.DataFrame(out, columns=cols)


