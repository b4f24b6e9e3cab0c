"""Evaluation toolkit for talking-face videos (issue #5).

- :mod:`evaluation.registry` — every metric with its card (kind, direction, unit, needs).
- :mod:`evaluation.scoring` — :func:`~evaluation.scoring.score_clip`: metrics of one clip.
- :mod:`evaluation.methods` — methods to compare (ours, built-in baselines, external folders).
- :mod:`evaluation.benchmark` — run a spec (clips × methods × metrics) into rows, tables, plots.
- :mod:`evaluation.stats`, :mod:`evaluation.tables` — statistics and table rendering.
- :mod:`evaluation.cli` — ``facial-eval``.

Nothing heavy is imported here.
"""
