"""Tests for evaluation.tables (aggregation and rendering)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation import tables


@pytest.fixture()
def rows() -> pd.DataFrame:
    data = []
    for clip, (lmd_a, lmd_b) in enumerate([(1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]):
        data.append(("ours_v2", f"c{clip}", "lmd_mouth", lmd_a))
        data.append(("baseline", f"c{clip}", "lmd_mouth", lmd_b))
        data.append(("ours_v2", f"c{clip}", "sync", 0.5))
        data.append(("baseline", f"c{clip}", "sync", 0.25 if clip else float("nan")))
    return pd.DataFrame(data, columns=["method", "clip", "metric", "value"])


def test_aggregate_values(rows):
    agg = tables.aggregate(rows)
    assert list(agg.columns) == list(tables.AGG_COLUMNS)
    assert list(dict.fromkeys(agg["method"])) == ["ours_v2", "baseline"]
    r = agg.set_index(["method", "metric"])
    assert r.loc[("ours_v2", "lmd_mouth"), "mean"] == pytest.approx(2.0)
    assert r.loc[("ours_v2", "lmd_mouth"), "std"] == pytest.approx(1.0)
    assert r.loc[("baseline", "sync"), "n"] == 2  # NaN dropped
    lo, hi = r.loc[("ours_v2", "lmd_mouth"), ["ci_lo", "ci_hi"]]
    assert 1.0 <= lo <= 2.0 <= hi <= 3.0
    pd.testing.assert_frame_equal(agg, tables.aggregate(rows))  # seeded


def test_aggregate_rejects_bad_input(rows):
    with pytest.raises(ValueError, match="clip"):
        tables.aggregate(rows.drop(columns=["clip"]))
    bad = rows.copy()
    bad["value"] = bad["value"].astype(object)
    bad.loc[0, "value"] = "oops"
    with pytest.raises(ValueError, match="not numbers"):
        tables.aggregate(bad)


def test_to_markdown_layout(rows):
    md = tables.to_markdown(tables.aggregate(rows), {"lmd_mouth": "lower", "sync": "higher"}, decimals=2, bold_best=True)
    lines = md.strip().splitlines()
    assert len(lines) == 4
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["method", "lmd_mouth ↓", "sync ↑"]
    ours = [c.strip() for c in lines[2].strip("|").split("|")]
    assert ours == ["ours_v2", "**2.00 ± 1.00**", "**0.50 ± 0.00**"]
    base = [c.strip() for c in lines[3].strip("|").split("|")]
    assert base[1] == "3.00 ± 1.00"
    assert all(line.count("|") == 4 for line in lines)


def test_to_markdown_without_directions_has_no_arrows(rows):
    md = tables.to_markdown(tables.aggregate(rows))
    assert "↑" not in md and "↓" not in md
    with pytest.raises(ValueError, match="direction"):
        tables.to_markdown(tables.aggregate(rows), {"sync": "sideways"})


def test_to_latex_escapes_and_uses_booktabs(rows):
    tex = tables.to_latex(tables.aggregate(rows), {"lmd_mouth": "lower"}, caption="Results_1")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"ours\_v2" in tex and r"lmd\_mouth $\downarrow$" in tex
    assert "ours_v2" not in tex.replace(r"ours\_v2", "")
    assert r"2.000 $\pm$ 1.000" in tex
    assert r"\caption{Results\_1}" in tex


def test_to_csv_roundtrip_and_atomic(tmp_path, rows):
    agg = tables.aggregate(rows)
    out = tables.to_csv(agg, tmp_path / "sub" / "summary.csv")
    back = pd.read_csv(out)
    assert list(back.columns) == list(tables.AGG_COLUMNS)
    assert np.allclose(back["mean"], agg["mean"])
    assert [p.name for p in out.parent.iterdir()] == ["summary.csv"]


def test_format_mean_std_missing():
    assert tables.format_mean_std(float("nan"), 1.0) == "–"
    assert tables.format_mean_std(1.0, float("nan"), 1) == "1.0"
    assert not math.isnan(tables.aggregate(pd.DataFrame({"method": ["a"], "clip": ["x"], "metric": ["m"], "value": [1.0]}))["mean"][0])


def test_mean_ci_cells(rows):
    agg = tables.aggregate(rows)
    r = agg.set_index(["method", "metric"]).loc[("ours_v2", "lmd_mouth")]
    md = tables.to_markdown(agg, cell="mean_ci", decimals=2)
    assert f"2.00 [{r.ci_lo:.2f}, {r.ci_hi:.2f}]" in md
    assert "±" not in md
    tex = tables.to_latex(agg, cell="mean_ci", decimals=2)
    assert f"2.00 [{r.ci_lo:.2f}, {r.ci_hi:.2f}]" in tex
    with pytest.raises(ValueError, match="cell"):
        tables.to_markdown(agg, cell="median")


def test_number_and_cell_formats():
    assert [tables.format_number(x) for x in (123.456, -12.345, 1.2345, 0.012345, float("nan"), None, float("inf"))] == \
        ["123", "-12.3", "1.23", "0.012", "–", "–", "–"]
    assert tables.format_number(1.23456, 2) == "1.23"
    assert tables.format_cell(3.0, 1.0, 2.0, 4.0, None, "mean_std_ci") == "3.00 ± 1.00 [2.00, 4.00]"
    assert tables.format_cell(3.0, float("nan"), float("nan"), float("nan"), None, "mean_std_ci") == "3.00"
    assert tables.format_cell(float("nan"), cell="mean_std_ci", dash="--") == "--"
    assert tables.format_cell(2.0, 1.0, 1.5, 2.5, 1, "mean_ci") == "2.0 [1.5, 2.5]"
    assert tables.format_cell(2.0, 1.0, decimals=2, pm=r" $\pm$ ") == r"2.00 $\pm$ 1.00"
    with pytest.raises(ValueError, match="cell"):
        tables.format_cell(1.0, cell="median")


def test_summary_rows_select_count_and_skip(rows):
    agg = tables.aggregate(rows)
    body = tables.summary_rows(agg, methods=["baseline", "absent", "ours_v2"], metrics=["sync"], decimals=None,
                               cell="mean_std_ci", n_column=True, skip_empty=True)
    assert [r[:2] for r in body] == [["baseline", "2"], ["ours_v2", "3"]]
    assert body[1][2].startswith("0.500 ± 0.000")
    full = tables.summary_rows(agg, methods=["absent"], skip_empty=False)
    assert full == [["absent", "–", "–"]]
    best = tables.summary_rows(agg, best={"lmd_mouth": "ours_v2"}, bold="**{}**")
    assert best[0][1] == "**2.000 ± 1.000**" and not best[1][1].startswith("**")


def test_latex_symbols_and_labels():
    assert tables.latex_escape("→1 · x² – y³ −2 a_b ±") == "→1 · x² – y³ −2 a\\_b $\\pm$"
    assert tables.latex_escape("→1 · x² – y³ −2 a_b ±", symbols=True) == r"$\rightarrow$1 $\cdot$ x$^2$ -- y$^3$ -2 a\_b $\pm$"
    assert tables.slug("Lip sync (SyncNet) — part 2") == "lip-sync--syncnet----part-2"
    assert len(tables.slug("x" * 100)) == 40


def test_write_text_atomic_keeps_the_text_byte_for_byte(tmp_path):
    text = "a,b\r\n1,ü\n"
    out = tables.write_text_atomic(tmp_path / "deep" / "t.csv", text)
    assert out == tmp_path / "deep" / "t.csv" and out.read_bytes() == text.encode("utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["t.csv"]
