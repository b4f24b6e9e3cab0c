"""Rater agreement per question: Fleiss' kappa (same number of raters per trial) and Krippendorff's alpha."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation import stats
from user_study.types import Manifest


def agreement(answers: pd.DataFrame, manifest: Manifest) -> pd.DataFrame:
    """Per question over the screened non-check trials: Fleiss' kappa (balanced data) and Krippendorff's alpha."""
    out = []
    choices = list(manifest.choices)
    for q in manifest.question_ids:
        sel = answers[answers["question"] == q]
        if sel.empty:
            continue
        table = sel.pivot(index="participant", columns="trial", values="answer")
        counts = np.stack([(table == c).sum(axis=0).to_numpy() for c in choices], axis=1)
        per_item = counts.sum(axis=1)
        kappa = float("nan")
        if len(per_item) and per_item.min() == per_item.max() and per_item[0] >= 2:
            kappa = stats.fleiss_kappa(counts)
        data = table.astype(object).where(table.notna(), None).to_numpy().tolist()
        alpha = stats.krippendorff_alpha_nominal(data)
        out.append({"question": q, "n_items": int(table.shape[1]), "n_raters": int(table.shape[0]),
                    "fleiss_kappa": kappa, "krippendorff_alpha": alpha})
    return pd.DataFrame(out, columns=["question", "n_items", "n_raters", "fleiss_kappa", "krippendorff_alpha"])
