"""The Evaluate tab: non-videos are refused; a real clip gives a table of metrics with their directions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def test_evaluate_rejects_non_video(h, media_files, err):
    assert "No video to evaluate given" in err(h.evaluate, None, progress=None)
    assert "not a video that can be decoded" in err(h.evaluate, str(media_files.text), progress=None)
    assert "not a video (no moving picture)" in err(h.evaluate, str(media_files.photo), progress=None)
    msg = err(h.evaluate, str(media_files.clip), None, ["lmdd"], progress=None)
    assert "unknown metric 'lmdd'" in msg


@pytest.mark.shared_data
def test_evaluate_real_clip_gives_table_with_directions(h, helpers, tmp_path):
    clip = helpers.excerpt(helpers.shared_path("pcavs__Input_00010", "talking_video"), tmp_path / "clip.mp4", 2.0)
    table, plot, js = h.evaluate(str(clip), None, ["blink", "head_motion"], progress=None)
    assert {"metric", "better", "value", "unit", "status"} <= set(table.columns)
    assert set(table["better"]) <= {"↑", "↓", "·"} or any(str(a).startswith("→") for a in table["better"])
    ok = table[table["status"] == "ok"]
    assert len(ok) >= 3 and np.isfinite(ok["value"].astype(float)).all()
    assert Path(plot).is_file()
    data = json.loads(Path(js).read_text())
    assert {m["name"] for m in data["metrics"]} == set(table["metric"])
