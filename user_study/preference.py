"""2AFC statistics: preference for the first method of each pair, and side (position) bias.

Every judgment is counted as one trial (the usual convention; judgments of one rater are not
independent, so read p-values near 0.05 with care).
"""
from __future__ import annotations

import pandas as pd

from evaluation import stats
from user_study.types import Key, Manifest


def preferences(answers: pd.DataFrame, manifest: Manifest, key: Key, *, alpha: float = 0.05) -> pd.DataFrame:
    """Preference for ``pair[0]`` per question × pair: n, k, rate, Wilson interval, binomial p.

    ``answers`` are the screened non-check answers (:func:`user_study.answers.study_answers`).
    """
    records = []
    for r in answers.itertuples(index=False):
        tk = key.trials[r.trial]
        if not tk.pair or len(tk.methods) != 2:
            continue
        chosen = tk.methods[0] if r.answer == "A" else tk.methods[1]
        records.append((r.question, tk.pair[0], tk.pair[1], chosen == tk.pair[0], r.participant))
    frame = pd.DataFrame(records, columns=["question", "method_a", "method_b", "prefer_a", "participant"])
    out = []
    for q in manifest.question_ids:
        for pair in key.pairs:
            sel = frame[(frame["question"] == q) & (frame["method_a"] == pair[0]) & (frame["method_b"] == pair[1])]
            n, k = int(len(sel)), int(sel["prefer_a"].sum())
            lo, hi = stats.wilson_interval(k, n, alpha)
            out.append({
                "question": q, "method_a": pair[0], "method_b": pair[1], "n": n, "k": k,
                "rate": k / n if n else float("nan"), "ci_lo": lo, "ci_hi": hi,
                "p_value": stats.binomial_test(k, n, 0.5), "n_participants": int(sel["participant"].nunique()),
            })
    return pd.DataFrame(out, columns=["question", "method_a", "method_b", "n", "k", "rate", "ci_lo", "ci_hi", "p_value", "n_participants"])


def position_bias(answers: pd.DataFrame) -> dict[str, float]:
    """Share of "A" answers over all screened 2AFC answers (0.5 = no side bias), with its binomial p."""
    n = int(len(answers))
    k = int((answers["answer"] == "A").sum())
    return {"n": n, "share_a": k / n if n else float("nan"), "p_value": stats.binomial_test(k, n) if n else float("nan")}
