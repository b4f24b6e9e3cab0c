"""The one home of figure making: Matplotlib's object-oriented API only (no ``pyplot``), so plots
can be drawn from worker threads of the app without touching process-wide state, and saved
atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from facial import atomic


def new_figure(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float] = (6.4, 4.8), **subplot_kw: Any):
    """A fresh ``matplotlib.figure.Figure`` and its axes (``Figure.subplots`` semantics: ``squeeze``,
    ``sharex``, … pass through). Nothing is registered with pyplot's global figure manager."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **subplot_kw)


def save_figure(fig, path: str | Path, *, dpi: int = 100, tight: bool = True) -> Path:
    """Lay out and write ``fig`` to ``path`` atomically (format from the suffix); returns ``path``."""
    path = Path(path)
    if tight:
        fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path
