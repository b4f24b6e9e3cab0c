"""Known-answer tests for evaluation.stats."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from evaluation import stats

# Fleiss' kappa worked example (Wikipedia, "Fleiss' kappa"): 10 items, 14 raters, 5 categories.
WIKI_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]
N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: nominal alpha = 0.743.
KRIPP_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def test_mean_std_sample_std_and_nan_handling():
    assert stats.mean_std([1, 2, 3, 4]) == pytest.approx((2.5, math.sqrt(5 / 3)))
    assert stats.mean_std([1, float("nan"), 3]) == pytest.approx((2.0, math.sqrt(2)))
    m, s = stats.mean_std([5.0])
    assert m == 5.0 and math.isnan(s)
    assert all(math.isnan(v) for v in stats.mean_std([]))


def test_wilson_7_of_10_textbook():
    # Newcombe (1998) / textbook value for 7/10: 0.3968 to 0.8922.
    lo, hi = stats.wilson_interval(7, 10)
    assert lo == pytest.approx(0.3968, abs=1e-4)
    assert hi == pytest.approx(0.8922, abs=1e-4)


def test_wilson_edges_stay_in_unit_interval():
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = stats.wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-4)
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))
    with pytest.raises(ValueError, match="exceed"):
        stats.wilson_interval(11, 10)


def wilson_formula(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    z = ndtri(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.mark.parametrize("k,n", [(1, 3), (7, 10), (3, 400), (280, 400), (12, 12), (0, 5)])
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_matches_closed_form(k, n, alpha):
    assert stats.wilson_interval(k, n, alpha) == pytest.approx(wilson_formula(k, n, alpha), abs=1e-12)


def test_wilson_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        stats.wilson_interval(1, 2, alpha=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        stats.wilson_interval(-1, 2)


def test_binomial_test_known_values():
    assert stats.binomial_test(50, 100) == pytest.approx(1.0)
    # 9/10 under p=.5: 2 * (C(10,9)+C(10,10)) / 2^10 = 22/1024
    assert stats.binomial_test(9, 10) == pytest.approx(22 / 1024)
    assert stats.binomial_test(70, 100) < 1e-4
    assert math.isnan(stats.binomial_test(0, 0))


def test_bootstrap_ci_covers_mean_and_is_reproducible():
    x = np.random.default_rng(1).normal(3.0, 1.0, 2000)
    lo, hi = stats.bootstrap_ci(x, seed=0)
    assert lo < 3.0 < hi
    assert hi - lo == pytest.approx(2 * 1.96 / math.sqrt(2000), rel=0.15)
    assert stats.bootstrap_ci(x, seed=0) == (lo, hi)
    assert all(math.isnan(v) for v in stats.bootstrap_ci([1.0, float("nan")]))


def reference_bca(x: np.ndarray, *, n_boot: int, alpha: float, seed: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """BCa and percentile intervals of the mean, written out after Efron & Tibshirani (1993), §14.3."""
    n, mean = x.size, x.mean()
    boot = x[np.random.default_rng(seed).integers(0, n, (n_boot, n))].mean(axis=1)
    z0 = ndtri((np.sum(boot < mean) + np.sum(boot <= mean)) / (2 * n_boot))  # bias correction
    jack = (x.sum() - x) / (n - 1)  # leave-one-out means
    d = jack.mean() - jack
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)  # acceleration
    levels = [ndtr(z0 + (z0 + z) / (1 - a * (z0 + z))) for z in (ndtri(alpha / 2), ndtri(1 - alpha / 2))]
    bca = tuple(float(v) for v in np.quantile(boot, levels))
    pct = tuple(float(v) for v in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    return bca, pct


def test_bootstrap_ci_is_bca_on_a_skewed_sample():
    # 12 clips of a right-skewed metric: BCa moves the interval to the right of the percentile one.
    x = np.random.default_rng(0).lognormal(0.0, 1.0, 12)
    lo, hi = stats.bootstrap_ci(x, n_boot=20000, seed=0)
    (ref_lo, ref_hi), (pct_lo, pct_hi) = reference_bca(x, n_boot=20000, alpha=0.05, seed=123)
    width = ref_hi - ref_lo
    assert lo == pytest.approx(ref_lo, abs=0.05 * width)  # independent resamples: Monte-Carlo error only
    assert hi == pytest.approx(ref_hi, abs=0.05 * width)
    assert hi - pct_hi > 0.05 * width  # not the percentile interval


def test_bootstrap_ci_normal_sample_of_12_near_percentile():
    x = np.random.default_rng(4).normal(3.0, 1.0, 12)
    lo, hi = stats.bootstrap_ci(x)
    assert lo < x.mean() < hi
    _, (pct_lo, pct_hi) = reference_bca(x, n_boot=20000, alpha=0.05, seed=1)
    width = pct_hi - pct_lo
    assert lo == pytest.approx(pct_lo, abs=0.1 * width) and hi == pytest.approx(pct_hi, abs=0.1 * width)
    # and close to the t interval for normal data
    t_lo, t_hi = stats.t_ci(x)
    assert lo == pytest.approx(t_lo, abs=0.15 * width) and hi == pytest.approx(t_hi, abs=0.15 * width)
    lo90, hi90 = stats.bootstrap_ci(x, alpha=0.1)
    assert lo < lo90 < hi90 < hi


def test_bootstrap_ci_degenerate_inputs_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stats.bootstrap_ci([0.1] * 5) == (0.1, 0.1)  # all equal: every resample has that mean
        assert stats.bootstrap_ci([2.0, 2.0, float("nan")]) == (2.0, 2.0)
        assert all(math.isnan(v) for v in stats.bootstrap_ci([4.0]))
        assert all(math.isnan(v) for v in stats.bootstrap_ci([]))
        assert stats.bootstrap_ci([1.0, 3.0]) == (1.0, 3.0)  # n = 2: resample means are 1, 2, 3
        lo, hi = stats.bootstrap_ci([1.0, 2.0, 5.0], n_boot=3)  # too few resamples for BCa: percentile
        assert 1.0 <= lo <= hi <= 5.0
    assert stats.bootstrap_ci([1.0, 2.0, 3.0, 7.0], seed=1) != stats.bootstrap_ci([1.0, 2.0, 3.0, 7.0], seed=2)
    with pytest.raises(ValueError, match="n_boot"):
        stats.bootstrap_ci([1.0, 2.0], n_boot=0)
    with pytest.raises(ValueError, match="alpha"):
        stats.bootstrap_ci([1.0, 2.0], alpha=0.0)


def test_t_ci_matches_formula():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    # t_{0.975, 4} = 2.776445; s = sqrt(2.5)
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert stats.t_ci(x) == pytest.approx((3 - half, 3 + half), abs=1e-5)


def test_paired_test_detects_shift_and_identity():
    a = np.arange(20, dtype=float)
    b = a - 1.0 + np.random.default_rng(0).normal(0, 0.1, 20)
    r = stats.paired_test(a, b)
    assert r["n"] == 20 and r["mean_diff"] == pytest.approx(1.0, abs=0.1)
    assert r["t_p"] < 1e-6 and r["wilcoxon_p"] < 1e-3
    same = stats.paired_test(a, a)
    assert same["t_p"] == 1.0 and same["wilcoxon_p"] == 1.0
    with pytest.raises(ValueError, match="same length"):
        stats.paired_test([1, 2], [1, 2, 3])


def test_fleiss_kappa_wikipedia_example():
    assert stats.fleiss_kappa(WIKI_FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_perfect_and_unbalanced():
    assert stats.fleiss_kappa([[5, 0], [0, 5], [5, 0]]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number of ratings"):
        stats.fleiss_kappa([[3, 0], [1, 1]])


def test_krippendorff_alpha_nominal_reference_example():
    assert stats.krippendorff_alpha_nominal(KRIPP_C) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_equals_fleiss_scale_on_full_data():
    # With complete data, alpha and Fleiss' kappa agree up to a small-sample correction.
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 30)
    data = np.where(rng.random((8, 30)) < 0.8, truth, 1 - truth)
    counts = np.stack([(data == 0).sum(0), (data == 1).sum(0)], axis=1)
    k = stats.fleiss_kappa(counts)
    a = stats.krippendorff_alpha_nominal(data.tolist())
    assert a == pytest.approx(k, abs=0.02)
    assert 0.2 < a < 0.6
