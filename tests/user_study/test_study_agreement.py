"""user_study.agreement: Fleiss' kappa only on balanced data, Krippendorff's alpha with missing answers."""
from __future__ import annotations

import pytest

from user_study import analysis


def test_agreement_with_missing_answers_uses_alpha_only(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path / "s", n_clips=6, n_checks=0, seed=1)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=20, p_first=1.0, seed=0)
    # perfect agreement (everyone prefers `ours`), but one rater skipped a trial
    rows = [r for r in rows if not (r["participant"] == "R000" and r["trial"] == manifest.trial_ids[0])]
    res = analysis.analyze(tmp_path / "s", [study_helpers.write_rows(tmp_path / "a.csv", rows)])
    agr = res.agreement.set_index("question")
    assert agr["fleiss_kappa"].isna().all()  # unbalanced: Fleiss' kappa does not apply
    # every trial is answered identically by all raters → alpha = 1 (different trials get different sides)
    assert agr["krippendorff_alpha"].tolist() == pytest.approx([1.0] * 4)
    assert (res.preferences["rate"] == 1.0).all() and (res.preferences["ci_hi"] == 1.0).all()
