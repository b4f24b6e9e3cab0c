"""Metric families, one per module, each with a metric-card docstring, ``SPECS`` and
``compute(ctx, names) -> {name: MetricValue}`` (see :mod:`evaluation.registry`)."""
