"""Benchmark plots: per-metric bars with bootstrap CIs and the pose/blink traces of one clip.

Drawn with :mod:`facial.plotting` (Matplotlib's object-oriented API, no ``pyplot`` state), so the
app can run a benchmark from a request thread; files are written atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation import registry
from facial.plotting import new_figure, save_figure

if TYPE_CHECKING:
    from evaluation.benchmark.run import CellResult

DPI = 110


def plot_metric_bars(agg: pd.DataFrame, methods: list[str], out_dir: Path) -> list[Path]:
    """One bar chart per metric: mean per method with the bootstrap 95 % CI as error bar."""
    paths = []
    specs = {s.name: s for s in registry.all_specs()}
    for metric, g in agg.groupby("metric", sort=False):
        g = g.set_index("method").reindex([m for m in methods if m in set(g["method"])])
        spec = specs.get(metric)
        fig, ax = new_figure(figsize=(1.2 + 0.9 * len(g), 3.2))
        x = np.arange(len(g))
        ax.bar(x, g["mean"], color="#4C72B0")
        lo = (g["mean"] - g["ci_lo"]).clip(lower=0).fillna(0)
        hi = (g["ci_hi"] - g["mean"]).clip(lower=0).fillna(0)
        ax.errorbar(x, g["mean"], yerr=[lo, hi], fmt="none", ecolor="black", capsize=4)
        ax.set_xticks(x, [f"{m}\n(n={int(n)})" for m, n in zip(g.index, g["n"])], fontsize=8)
        if spec is not None:
            ax.set_ylabel(f"{metric} ({spec.unit}) {spec.arrow}")
            if spec.target is not None:
                ax.axhline(spec.target, color="grey", ls="--", lw=1)
            if spec.band:
                ax.axhspan(*spec.band, color="green", alpha=0.12, label="human conversation")
                ax.legend(fontsize=7)
        ax.set_title(metric + " (bootstrap 95 % CI)", fontsize=9)
        paths.append(save_figure(fig, out_dir / f"{metric}.png", dpi=DPI))
    return paths


def plot_traces(cells: list[CellResult], clip: str, methods: list[str], out_dir: Path) -> Path | None:
    """Yaw, pitch, roll and blink of one clip: ours (or every method) against ground truth."""
    by_method = {c.method: c for c in cells if c.clip == clip and c.traces}
    if not by_method:
        return None
    ours = [m for m in methods if m in by_method and (m.startswith("ours") or m == "lips_only")]
    show = (ours + ["ground_truth"]) if ours else list(by_method)
    show = [m for m in dict.fromkeys(show) if m in by_method]
    fig, axes = new_figure(4, 1, figsize=(8, 7), sharex=True)
    for ax, key, label in zip(axes, ("yaw", "pitch", "roll", "blink"), ("yaw (deg)", "pitch (deg)", "roll (deg)", "blink (0 open–1 closed)")):
        for m in show:
            tr = by_method[m].traces.get(key)
            if tr:
                t = np.arange(len(tr)) / 25.0
                ax.plot(t, tr, lw=1.6 if m == "ground_truth" else 1.0, color="black" if m == "ground_truth" else None, label=m)
        ax.set_ylabel(label, fontsize=8)
    axes[0].legend(fontsize=7, ncol=min(4, len(show)))
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"{clip}: head pose and blinks", fontsize=10)
    return save_figure(fig, out_dir / f"traces_{clip}.png", dpi=DPI)
