"""Benchmark plots: bars with CIs and traces, drawn without pyplot (evaluation.benchmark.plots)."""
from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd

import evaluation.benchmark
from evaluation import benchmark as bm
from evaluation.types import MetricValue

PNG = b"\x89PNG\r\n\x1a\n"


def test_metric_bars_one_png_per_metric(tmp_path):
    agg = pd.DataFrame([
        {"method": "static", "metric": "blink_rate_per_min", "n": 3, "mean": 4.0, "std": 1.0, "ci_lo": 3.0, "ci_hi": 5.0},
        {"method": "ground_truth", "metric": "blink_rate_per_min", "n": 3, "mean": 20.0, "std": 2.0, "ci_lo": 18.0, "ci_hi": 22.0},
        {"method": "ground_truth", "metric": "pose_std_ratio", "n": 1, "mean": 1.0, "std": math.nan, "ci_lo": math.nan, "ci_hi": math.nan},
        {"method": "other", "metric": "not_a_registered_metric", "n": 2, "mean": 0.5, "std": 0.1, "ci_lo": 0.4, "ci_hi": 0.6},
    ])
    paths = bm.plot_metric_bars(agg, ["ground_truth", "static", "other"], tmp_path / "plots")
    assert [p.name for p in paths] == ["blink_rate_per_min.png", "pose_std_ratio.png", "not_a_registered_metric.png"]
    assert all(p.read_bytes().startswith(PNG) for p in paths)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(p.name for p in paths)  # no temporaries left


def test_traces_of_one_clip(tmp_path):
    trace = {k: [0.1 * i for i in range(50)] for k in ("yaw", "pitch", "roll", "blink")}
    cells = [bm.CellResult("ground_truth", "c1", [MetricValue.ok("pose_std_deg", 1.0)], traces=trace),
             bm.CellResult("ours_warp", "c1", [], traces=trace), bm.CellResult("static", "c1", [], traces=trace)]
    assert bm.plot_traces(cells, "c2", ["ground_truth"], tmp_path) is None  # no traces of that clip
    path = bm.plot_traces(cells, "c1", ["ground_truth", "ours_warp", "static"], tmp_path)
    assert path == tmp_path / "traces_c1.png" and path.read_bytes().startswith(PNG)


def test_the_benchmark_never_uses_pyplot():
    """Figures come from facial.plotting (object-oriented Matplotlib), safe in the app's request threads."""
    for source in Path(evaluation.benchmark.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
        assert not [m for m in imported if "pyplot" in m or m == "matplotlib.use"], source.name
