"""Progress reporting shared by the renderers: a tqdm bar, a callback, or nothing."""
from __future__ import annotations

from typing import Callable

ProgressArg = bool | Callable[[float], None] | None


def progress_reporter(progress: ProgressArg, total: int, desc: str) -> tuple[Callable[[float], None], object | None]:
    """``(report(fraction), bar)``: ``progress`` True → a tqdm bar over ``total`` items (close ``bar``
    when done), a callable → called with the fraction done, None/False → silent."""
    if callable(progress):
        return progress, None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="frame", leave=False)
        return (lambda f: bar.update(int(round(f * total)) - bar.n)), bar
    return (lambda f: None), None
