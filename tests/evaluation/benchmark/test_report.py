"""Benchmark results as tables: rows, Markdown/LaTeX summaries, paired comparisons (evaluation.benchmark.report)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation import benchmark as bm
from evaluation.types import MetricValue


def _cells():
    cells = []
    for i, clip in enumerate(["a", "b", "c"]):
        cells.append(bm.CellResult("ground_truth", clip, [MetricValue.ok("lmd_mouth", 0.0), MetricValue.ok("av_corr", 0.5 + 0.1 * i)]))
        cells.append(bm.CellResult("static", clip, [MetricValue.ok("lmd_mouth", 2.0 + i), MetricValue.ok("av_corr", 0.0),
                                                    MetricValue.unavailable("blink_duration_s", "no blink in the clip")]))
    cells.append(bm.CellResult("ours_warp", "a", [], "unavailable", "the FACIAL pipeline is not available"))
    return cells


def test_rows_tables_and_legend():
    from evaluation import tables

    rows, missing = bm.cells_to_frames(_cells(), ["ground_truth", "static", "ours_warp"], ["av_corr", "lmd_mouth"])
    assert list(rows.columns) == ["method", "clip", "metric", "value"] and len(rows) == 12
    assert list(dict.fromkeys(rows["metric"])) == ["av_corr", "lmd_mouth"]
    assert set(missing["metric"]) == {"blink_duration_s", "*"}
    agg = tables.aggregate(rows)
    md = bm.render_markdown(agg, ["ground_truth", "static", "ours_warp"], title="T", protocol={"name": "measure"}, unavailable=missing)
    assert "## Landmark distance" in md and "## Audio-visual sync" in md
    assert "3.00 ± 1.00 [" in md  # static lmd_mouth: mean 3, std 1, with its CI
    assert "the FACIAL pipeline is not available" in md and "no blink in the clip" in md
    cmp = bm.paired_comparisons(rows, ["ground_truth", "static", "ours_warp"])
    row = cmp.set_index(["method_b", "metric"]).loc[("ground_truth", "lmd_mouth")]
    assert (cmp["method_a"] == "static").all() and row["n"] == 3 and row["mean_diff"] == pytest.approx(3.0)
    assert 0 < row["wilcoxon_p"] <= 1 and row["t_p"] < 0.05  # differences 2, 3, 4: clearly positive
    tex = bm.render_latex(agg, ["ground_truth", "static"], title="T")
    assert r"\toprule" in tex and r"lmd\_mouth" in tex and r"$\pm$" in tex


def test_summary_cells_pick_decimals_from_the_magnitude():
    agg = pd.DataFrame([
        {"method": "a", "metric": "psnr", "n": 3, "mean": 123.456, "std": 12.34, "ci_lo": 101.2, "ci_hi": 140.9},
        {"method": "a", "metric": "ssim", "n": 3, "mean": 0.81234, "std": 0.05, "ci_lo": 0.75, "ci_hi": 0.87},
        {"method": "b", "metric": "ssim", "n": 1, "mean": 2.5, "std": math.nan, "ci_lo": math.nan, "ci_hi": math.nan},
        {"method": "c", "metric": "ssim", "n": 0, "mean": math.nan, "std": math.nan, "ci_lo": math.nan, "ci_hi": math.nan},
    ])
    assert bm.summary_cells(agg) == {("a", "psnr"): "123 ± 12.3 [101, 141]", ("a", "ssim"): "0.812 ± 0.050 [0.750, 0.870]",
                                     ("b", "ssim"): "2.50", ("c", "ssim"): "–"}


def test_latex_maps_unicode_symbols_of_headers_and_cells():
    rows = pd.DataFrame({"method": ["ours_x"] * 3, "clip": ["a", "b", "c"], "metric": ["blink_rate_per_min"] * 3,
                         "value": [10.0, 20.0, 30.0]})
    from evaluation import tables

    tex = bm.render_latex(tables.aggregate(rows), ["ours_x"], title="My bench")
    assert r"ours\_x" in tex and r"\label{tab:my-bench-eye-blinks}" in tex and r"\caption{My bench: Eye blinks}" in tex
    assert "→" not in tex and "–" not in tex and "·" not in tex


def test_every_metric_family_has_a_table_in_the_report():
    """aggregate.md draws one table per family in FAMILY_TITLES: a family left out would silently vanish."""
    from evaluation.benchmark.report import FAMILY_TITLES
    from evaluation.registry import FAMILIES

    assert set(FAMILY_TITLES) == set(FAMILIES)
