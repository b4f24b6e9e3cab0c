"""Small, dependency-light statistics used by the evaluation toolkit and the user-study kit.

Everything here is a pure function of its inputs (numpy/scipy only, no I/O, no global state):

- :func:`mean_std` — mean and sample standard deviation (``ddof=1``).
- :func:`bootstrap_ci` — BCa bootstrap confidence interval of the mean (``scipy.stats.bootstrap``).
- :func:`t_ci` — Student-t confidence interval of the mean.
- :func:`wilson_interval` — Wilson score interval of a binomial proportion (``scipy.stats.binomtest``).
- :func:`binomial_test` — exact two-sided binomial test.
- :func:`paired_test` — Wilcoxon signed-rank and paired t-test of two matched samples.
- :func:`fleiss_kappa` — agreement of a fixed number of raters per item (nominal categories).
- :func:`krippendorff_alpha_nominal` — agreement with any number of raters per item, missing
  ratings allowed.

Conventions: NaNs in ``values`` are dropped (they stand for "not measured"); when too few values
remain for a statistic to exist it is ``nan`` rather than an exception, so that a table with one
failed clip still renders. Malformed arguments (negative counts, ``k > n``, a bad ``alpha``) raise
:class:`ValueError` with what was wrong.
"""
from __future__ import annotations

import inspect
import math
import warnings
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "mean_std",
    "bootstrap_ci",
    "t_ci",
    "wilson_interval",
    "binomial_test",
    "paired_test",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
]

NAN = float("nan")


def _clean(values: Iterable[float] | np.ndarray) -> np.ndarray:
    """1-D float64 array of ``values`` with NaNs removed."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).ravel()
    return arr[~np.isnan(arr)]


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) (e.g. 0.05 for a 95 % interval), got {alpha}")


def mean_std(values: Iterable[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of ``values``, NaNs dropped.

    Returns ``(nan, nan)`` for no values and ``(mean, nan)`` for a single value.
    """
    x = _clean(values)
    if x.size == 0:
        return NAN, NAN
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else NAN
    return mean, std


def _rng_kwargs(bootstrap, seed: int | None) -> dict:
    """Seed keyword of ``scipy.stats.bootstrap``: ``rng`` (SciPy ≥ 1.15) or ``random_state`` (older)."""
    generator = np.random.default_rng(seed)
    return {"rng": generator} if "rng" in inspect.signature(bootstrap).parameters else {"random_state": generator}


def bootstrap_ci(
    values: Iterable[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Bias-corrected and accelerated (BCa) bootstrap ``(1 - alpha)`` confidence interval of the mean.

    :func:`scipy.stats.bootstrap` (``method="BCa"``) with ``n_boot`` resamples drawn from
    ``numpy.random.default_rng(seed)``, so the result is reproducible. BCa corrects the percentile
    interval for bias and skew, which matters for the small samples (≈ 12 clips) of a benchmark.
    NaNs are dropped; fewer than two values give ``(nan, nan)``; identical values give
    ``(value, value)`` (every resample has the same mean). If BCa is undefined for a sample (too few
    resamples for its bias correction), the percentile interval of the same resamples is returned.
    """
    from scipy import stats

    _check_alpha(alpha)
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot}")
    x = _clean(values)
    if x.size < 2:
        return NAN, NAN
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    # `batch` bounds memory (resamples and jackknife rows) to about 2M values per step.
    batch = max(1, min(n_boot, 2_000_000 // x.size))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # incl. scipy's DegenerateDataWarning; handled below
        res = stats.bootstrap(
            (x,), np.mean, n_resamples=int(n_boot), batch=batch, vectorized=True, axis=-1,
            confidence_level=1.0 - alpha, method="BCa", **_rng_kwargs(stats.bootstrap, seed),
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = (float(q) for q in np.quantile(res.bootstrap_distribution, [alpha / 2.0, 1.0 - alpha / 2.0]))
    return lo, hi


def t_ci(values: Iterable[float] | np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Student-t ``(1 - alpha)`` confidence interval of the mean (NaNs dropped; <2 values → nan)."""
    from scipy import stats

    _check_alpha(alpha)
    x = _clean(values)
    if x.size < 2:
        return NAN, NAN
    mean = float(x.mean())
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(1.0 - alpha / 2.0, df=x.size - 1)) * sem
    return mean - half, mean + half


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0:
        raise ValueError(f"counts must be non-negative, got k={k}, n={n}")
    if k > n:
        raise ValueError(f"successes k={k} exceed trials n={n}")


def wilson_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score ``(1 - alpha)`` interval for ``k`` successes out of ``n`` trials.

    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``. Unlike the normal ("Wald")
    interval it stays inside [0, 1] and behaves well for small ``n`` and proportions near 0 or 1.
    ``n == 0`` gives ``(nan, nan)``.
    """
    from scipy import stats

    _check_alpha(alpha)
    _check_counts(k, n)
    if n == 0:
        return NAN, NAN
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=1.0 - alpha, method="wilson")
    return float(ci.low), float(ci.high)


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test p-value of ``k`` successes in ``n`` trials under rate ``p``.

    ``n == 0`` gives ``nan`` (no evidence either way).
    """
    from scipy import stats

    _check_counts(k, n)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    if n == 0:
        return NAN
    return float(stats.binomtest(int(k), int(n), p, alternative="two-sided").pvalue)


def paired_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Compare two matched samples (e.g. two methods' scores on the same clips).

    Pairs where either side is NaN are dropped. Returns a dict with
    ``n`` (pairs used), ``mean_a``, ``mean_b``, ``mean_diff`` (mean of ``a - b``),
    ``t_stat``/``t_p`` (paired t-test) and ``wilcoxon_stat``/``wilcoxon_p`` (Wilcoxon signed-rank,
    two-sided). With fewer than two pairs the statistics are ``nan``; when every difference is zero
    the p-values are 1 (no difference at all).
    """
    from scipy import stats

    xa = np.asarray(a, dtype=np.float64).ravel()
    xb = np.asarray(b, dtype=np.float64).ravel()
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples need the same length, got {xa.size} and {xb.size}")
    keep = ~(np.isnan(xa) | np.isnan(xb))
    xa, xb = xa[keep], xb[keep]
    d = xa - xb
    out: dict[str, float] = {
        "n": int(d.size),
        "mean_a": float(xa.mean()) if d.size else NAN,
        "mean_b": float(xb.mean()) if d.size else NAN,
        "mean_diff": float(d.mean()) if d.size else NAN,
        "t_stat": NAN,
        "t_p": NAN,
        "wilcoxon_stat": NAN,
        "wilcoxon_p": NAN,
    }
    if d.size < 2:
        return out
    if np.all(d == 0):
        out.update(t_stat=0.0, t_p=1.0, wilcoxon_stat=0.0, wilcoxon_p=1.0)
        return out
    t = stats.ttest_rel(xa, xb)
    w = stats.wilcoxon(xa, xb, zero_method="wilcox", alternative="two-sided")
    out.update(t_stat=float(t.statistic), t_p=float(t.pvalue), wilcoxon_stat=float(w.statistic), wilcoxon_p=float(w.pvalue))
    return out


def fleiss_kappa(counts: Sequence[Sequence[float]] | np.ndarray) -> float:
    """Fleiss' kappa from a ``[n_items, n_categories]`` table of how many raters chose each category.

    Every item must have the same number of ratings (≥ 2); use
    :func:`krippendorff_alpha_nominal` when raters skipped items. 1 is perfect agreement, 0 the
    agreement expected by chance. Returns ``nan`` when chance agreement is already perfect (all
    ratings in one category), where kappa is undefined.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] < 1:
        raise ValueError(f"counts must be a [n_items, n_categories] table, got shape {table.shape}")
    if np.any(table < 0) or np.any(np.isnan(table)):
        raise ValueError("counts must be non-negative numbers of raters")
    per_item = table.sum(axis=1)
    m = per_item[0]
    if not np.allclose(per_item, m):
        raise ValueError(
            "Fleiss' kappa needs the same number of ratings for every item "
            f"(got between {per_item.min():g} and {per_item.max():g}); use krippendorff_alpha_nominal instead"
        )
    if m < 2:
        raise ValueError(f"Fleiss' kappa needs at least 2 ratings per item, got {m:g}")
    n_items = table.shape[0]
    p_j = table.sum(axis=0) / (n_items * m)
    p_i = (np.sum(table * table, axis=1) - m) / (m * (m - 1))
    p_bar = float(p_i.mean())
    p_e = float(np.sum(p_j * p_j))
    if math.isclose(p_e, 1.0):
        return NAN
    return (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha_nominal(data: Sequence[Sequence[object]] | np.ndarray) -> float:
    """Krippendorff's alpha for nominal data.

    ``data`` is a ``[n_raters, n_items]`` reliability matrix of category labels (any hashable
    values); ``None`` or NaN mark a missing rating. Items with fewer than two ratings are ignored
    (they carry no information on agreement). Returns ``nan`` when fewer than two pairable ratings
    exist or when all ratings fall in one category (expected disagreement is zero).
    """
    rows = [list(r) for r in data]
    if not rows:
        raise ValueError("reliability data is empty: give a [n_raters, n_items] matrix")
    n_items = len(rows[0])
    if any(len(r) != n_items for r in rows):
        raise ValueError("every rater row must have one entry per item (use None for missing ratings)")

    def missing(v: object) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    per_item: list[list[object]] = []
    for j in range(n_items):
        vals = [r[j] for r in rows if not missing(r[j])]
        if len(vals) >= 2:
            per_item.append(vals)
    categories = sorted({v for vals in per_item for v in vals}, key=repr)
    if not per_item or len(categories) < 1:
        return NAN
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(per_item), len(categories)), dtype=np.float64)
    for i, vals in enumerate(per_item):
        for v in vals:
            counts[i, index[v]] += 1
    return _alpha_from_counts(counts)


def _alpha_from_counts(counts: np.ndarray) -> float:
    """Nominal alpha from a ``[n_items, n_categories]`` count table (items with <2 ratings ignored)."""
    m_u = counts.sum(axis=1)
    counts = counts[m_u >= 2]
    m_u = m_u[m_u >= 2]
    n = float(m_u.sum())
    if n < 2:
        return NAN
    # Coincidence matrix o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1).
    weights = 1.0 / (m_u - 1.0)
    o = (counts * weights[:, None]).T @ counts
    o -= np.diag((counts * weights[:, None]).sum(axis=0))
    n_c = o.sum(axis=1)
    observed = float(o.sum() - np.trace(o))  # off-diagonal mass (nominal distance 1)
    expected = float((n_c.sum() ** 2 - np.sum(n_c * n_c)) / (n - 1.0))
    if expected == 0:
        return NAN
    return 1.0 - observed / expected
