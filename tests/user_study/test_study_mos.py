"""user_study.mos: synthetic mos5 ratings with known means are recovered, with 95 % intervals."""
from __future__ import annotations

import pytest

from user_study import analysis


def expected_rating(mu: float, sd: float) -> float:
    """Mean of clip(round(N(mu, sd)), 1, 5): the true MOS of the simulated raters."""
    from scipy.stats import norm

    edges = [-float("inf"), 1.5, 2.5, 3.5, 4.5, float("inf")]
    return sum(k * (norm.cdf(edges[k], mu, sd) - norm.cdf(edges[k - 1], mu, sd)) for k in range(1, 6))


def test_mos_recovers_means(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=8, scale="mos5", n_checks=2, seed=4)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=30, p_first=0.5, seed=2, n_careless=3,
                                          mos_means={"ours": 4.0, "baseline": 2.5})
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    assert res.n_excluded == 3 and res.preferences is None
    m = res.mos.set_index(["method", "metric"])
    for method, mu in (("ours", 4.0), ("baseline", 2.5)):
        truth = expected_rating(mu, 0.8)
        for q in manifest.question_ids:
            row = m.loc[(method, q)]
            se = row["std"] / (row["n"] ** 0.5)
            assert row["n"] == 27 * 8
            assert abs(row["mean"] - truth) < 3 * se, (method, q)  # fails by chance with p ≈ 0.003 per cell
            assert row["ci_hi"] - row["ci_lo"] == pytest.approx(2 * 1.96 * se, rel=0.15)  # a 95 % interval
    t = res.mos_tests.set_index("question")
    assert (t["wilcoxon_p"] < 1e-4).all() and (t["mean_diff"] > 1.2).all()
