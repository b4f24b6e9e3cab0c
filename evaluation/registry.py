"""The metric registry: every metric is a documented :class:`~evaluation.types.MetricSpec`.

Each family module in :mod:`evaluation.metrics` declares ``SPECS`` (its metric cards) and a
``compute(ctx, names)`` function; the modules import only numpy at import time, so listing the
registry is cheap and heavy dependencies (torch, mediapipe, lpips, syncnet-python) load only when
a metric that needs them is computed.

Names can also be groups: ``all``, a family (``sync``, ``av_sync``, ``lmd``, ``blink``,
``head_motion``, ``image``) or a kind (``measurements``, ``metrics``). An unknown name raises
:class:`UnknownMetricError` with the closest known names.
"""
from __future__ import annotations

import difflib
import importlib
from functools import lru_cache
from types import ModuleType
from typing import Iterable

from evaluation.types import Direction, Kind, MetricSpec

#: Family name → module. One family per file, each with a metric-card docstring.
FAMILIES: dict[str, str] = {
    "sync": "evaluation.metrics.syncnet",
    "av_sync": "evaluation.metrics.av_sync",
    "sync_expert": "evaluation.metrics.sync_expert",
    "lmd": "evaluation.metrics.lmd",
    "blink": "evaluation.metrics.blink",
    "head_motion": "evaluation.metrics.head_motion",
    "image": "evaluation.metrics.image",
    "artifacts": "evaluation.metrics.artifacts",
}

#: What ``metrics: default`` (and ``facial-eval score`` without ``--metrics``) computes.
DEFAULT_GROUPS = ("sync", "av_sync", "lmd", "blink", "head_motion", "image", "sync_expert")


class UnknownMetricError(KeyError):
    """A metric or group name that the registry does not know; the message suggests close names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown metric {name!r}.{hint} Run `facial-eval list` to see every metric.")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def family_module(family: str) -> ModuleType:
    """Import the module of a metric family (cheap: numpy only)."""
    if family not in FAMILIES:
        raise UnknownMetricError(family, difflib.get_close_matches(family, list(FAMILIES), n=3, cutoff=0.5))
    return importlib.import_module(FAMILIES[family])


@lru_cache(maxsize=1)
def _specs() -> tuple[MetricSpec, ...]:
    out: list[MetricSpec] = []
    seen: set[str] = set()
    for family in FAMILIES:
        for spec in family_module(family).SPECS:
            if spec.name in seen:
                raise RuntimeError(f"metric {spec.name} is registered twice")
            if spec.family != family:
                raise RuntimeError(f"metric {spec.name} declares family {spec.family} but lives in {family}")
            seen.add(spec.name)
            out.append(spec)
    return tuple(out)


def all_specs() -> list[MetricSpec]:
    """Every registered metric, in registry order."""
    return list(_specs())


def names() -> list[str]:
    return [s.name for s in _specs()]


def groups() -> dict[str, list[str]]:
    """Group name → metric names."""
    specs = _specs()
    out: dict[str, list[str]] = {"all": [s.name for s in specs]}
    for family in FAMILIES:
        out[family] = [s.name for s in specs if s.family == family]
    out["default"] = [s.name for s in specs if s.family in DEFAULT_GROUPS]
    out["measurements"] = [s.name for s in specs if s.kind is Kind.MEASUREMENT]
    out["metrics"] = [s.name for s in specs if s.kind is Kind.METRIC]
    return out


def suggest(name: str, n: int = 3) -> list[str]:
    """Closest known metric or group names to ``name``."""
    pool = names() + list(groups())
    lowered = {p.lower(): p for p in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:  # substring matches help with prefixes such as "lse" or "pose"
        hits = [p for p in lowered if name.lower() in p][:n]
    return [lowered[h] for h in hits]


def get(name: str) -> MetricSpec:
    """The card of metric ``name``; :class:`UnknownMetricError` (with did-you-mean) otherwise."""
    for s in _specs():
        if s.name == name:
            return s
    raise UnknownMetricError(name, suggest(name))


def resolve(requested: Iterable[str] | str | None = None) -> list[MetricSpec]:
    """Metric names and/or group names (a list, or one comma-separated string) → cards, in
    registry order, without duplicates. ``None`` means ``default``."""
    if requested is None:
        requested = ["default"]
    elif isinstance(requested, str):
        requested = [requested]
    wanted: set[str] = set()
    grp = groups()
    for item in requested:
        for name in (p.strip() for p in str(item).split(",")):
            if not name:
                continue
            if name in grp:
                wanted.update(grp[name])
            else:
                wanted.add(get(name).name)
    if not wanted:
        raise ValueError("no metrics requested; name at least one metric or group (e.g. 'all')")
    return [s for s in _specs() if s.name in wanted]


def table_directions(specs: Iterable[MetricSpec] | None = None) -> dict[str, str]:
    """``{metric: "higher"|"lower"}`` for :func:`evaluation.tables.to_markdown` (↑/↓ metrics only;
    ``target`` and descriptive metrics get no arrow there and are explained in the table legend)."""
    specs = _specs() if specs is None else specs
    return {s.name: s.direction.value for s in specs if s.direction in (Direction.HIGHER, Direction.LOWER)}


def markdown_cards(specs: Iterable[MetricSpec] | None = None) -> str:
    """The registry as a Markdown table (used by ``facial-eval list --markdown`` and the docs)."""
    from evaluation.tables import markdown_table

    specs = list(_specs() if specs is None else specs)
    rows = [[f"`{s.name}`", s.kind.value, s.arrow, s.unit or "–", ", ".join(s.needs), s.summary] for s in specs]
    return markdown_table(["metric", "kind", "dir", "unit", "needs", "definition"], rows,
                          align=["l", "l", "c", "l", "l", "l"])
