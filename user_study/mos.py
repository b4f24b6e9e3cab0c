"""Mean opinion scores (mos5): MOS per method × question with bootstrap CIs, and paired tests per pair."""
from __future__ import annotations

import pandas as pd

from evaluation import stats
from evaluation.tables import aggregate
from user_study.types import Key, Manifest


def mos(answers: pd.DataFrame, manifest: Manifest, key: Key, *, seed: int = 0) -> pd.DataFrame:
    """MOS per method × question (``aggregate`` columns: method, metric=question, n, mean, std, ci_lo, ci_hi)."""
    rows = pd.DataFrame({
        "method": answers["trial"].map(lambda t: key.trials[t].methods[0]),
        "clip": answers["participant"] + "/" + answers["trial"],
        "metric": answers["question"],
        "value": answers["answer"].astype(float),
    })
    agg = aggregate(rows, seed=seed)
    order = {q: i for i, q in enumerate(manifest.question_ids)}
    morder = {m: i for i, m in enumerate(key.methods)}  # the order the methods were given in
    return agg.sort_values(["method", "metric"], key=lambda s: s.map(morder if s.name == "method" else order)).reset_index(drop=True)


def mos_tests(answers: pd.DataFrame, manifest: Manifest, key: Key) -> pd.DataFrame:
    """Per pair × question: paired Wilcoxon / t-test over raters' mean ratings of the two methods."""
    frame = answers.assign(method=answers["trial"].map(lambda t: key.trials[t].methods[0]), score=answers["answer"].astype(float))
    means = frame.groupby(["question", "participant", "method"])["score"].mean()
    out = []
    for q in manifest.question_ids:
        for a, b in key.pairs:
            try:
                per = means.loc[q].unstack("method")
            except KeyError:
                continue
            if a not in per or b not in per:
                continue
            res = stats.paired_test(per[a].to_numpy(), per[b].to_numpy())
            out.append({"question": q, "method_a": a, "method_b": b, **res})
    return pd.DataFrame(out)
