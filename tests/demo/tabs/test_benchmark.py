"""The Benchmark tab: input errors say what to give; method folders of real clips give a summary, plots and a zip."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest


def test_benchmark_input_errors(h, tmp_path, err):
    assert "Nothing to run" in err(h.run_benchmark, None, None, "", "", progress=None)
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\nclips: {folder: .}\nmethods: [static]\nmetricz: [default]\n")
    assert "Give only one of" in err(h.run_benchmark, "smoke.yaml", str(spec), "", "", progress=None)
    msg = err(h.run_benchmark, None, str(spec), "", "", progress=None)
    assert "The benchmark spec is not usable" in msg and "unknown key 'metricz'" in msg and "'metrics'" in msg
    assert "No bundled spec named" in err(h.run_benchmark, "nope.yaml", None, "", "", progress=None)


@pytest.mark.shared_data
def test_benchmark_method_folders_on_real_clips(h, helpers, tmp_path):
    real = tmp_path / "real"
    shifted = tmp_path / "shifted"
    for cid in ("pcavs__Input_00010", "pcavs__Audio_Source_00086"):
        src = helpers.shared_path(cid, "talking_video")
        real.mkdir(exist_ok=True), shifted.mkdir(exist_ok=True)
        helpers.excerpt(src, real / f"{cid}.mp4", 2.0)
        helpers.excerpt(src, shifted / f"{cid}.mp4", 2.0, start=1.0)
    summary, plots, bundle = h.run_benchmark(None, None, f"real={real}\nshifted={shifted}", "", progress=None)
    assert "| real" in summary and "| shifted" in summary and ("↑" in summary or "↓" in summary)
    assert "±" in summary  # mean ± std cells
    assert plots and all(Path(p).suffix == ".png" for p in plots)
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert {"rows.csv", "aggregate.md", "provenance.json"} <= set(names)
    assert not any(n.startswith(("cache/", "prepared/")) for n in names)
