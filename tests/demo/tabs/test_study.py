"""The User-study tab: build a study from method folders, then analyse the answers."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from demo.config import DemoConfig
from demo.handlers import Handlers


def test_study_build_and_analyze_roundtrip(h, helpers, tmp_path, err):
    methods = tmp_path / "methods"
    for m, moving in (("ours", True), ("base", False)):
        for clip in ("a", "b"):
            helpers.tiny_clip(methods / m / f"{clip}.mp4", 1.0, audio=True)
    assert "No result folders given" in err(h.build_study, "", None, progress=None)
    assert "is not NAME=FOLDER" in err(h.build_study, "ours results", None, progress=None)
    assert "does not exist on the server" in err(h.build_study, f"ours={tmp_path / 'nope'}", None, progress=None)
    public = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "wp", host="0.0.0.0"))
    assert "switched off on a public server" in err(public.build_study, f"ours={methods / 'ours'}", None, progress=None)
    jailed = Handlers(h.pipeline, DemoConfig(work_dir=tmp_path / "wj", host="0.0.0.0", data_root=methods / "ours"))
    assert "outside FACIAL_DATA_ROOT" in err(jailed.build_study, f"base={methods / 'base'}", None, progress=None)
    files, summary = h.build_study(f"ours={methods / 'ours'}\nbase={methods / 'base'}", None, "2afc", 1, 0, progress=None)
    private, public = (Path(f) for f in files)
    with zipfile.ZipFile(private) as zf:
        assert "key.json" in zf.namelist() and "public/study.json" in zf.namelist()
    with zipfile.ZipFile(public) as zf:
        names = zf.namelist()
        assert "index.html" in names and "key.json" not in names and not any("key" in n for n in names)
    assert "attention checks" in summary and "keep it private" in summary

    # answers: every participant passes the check and prefers "ours"
    with zipfile.ZipFile(private) as zf:
        manifest = json.loads(zf.read("public/study.json"))
        key = json.loads(zf.read("key.json"))
    rows = ["study_id,participant,trial,question,answer,position,timestamp,source"]
    for p in range(6):
        for pos, t in enumerate(manifest["trials"], 1):
            tk = key["trials"][t["id"]]
            for q in manifest["questions"]:
                if tk.get("check") and q["id"] == tk["check"]["question"]:
                    a = tk["check"]["expected"][0]
                elif tk.get("check"):
                    a = "A"
                else:
                    a = "A" if tk["methods"][0] == "ours" else "B"
                rows.append(f"{manifest['study_id']},P{p},{t['id']},{q['id']},{a},{pos},,test")
    answers = tmp_path / "answers.csv"
    answers.write_text("\n".join(rows) + "\n")
    assert "No answers given" in err(h.analyze_study, str(private), [], progress=None)
    assert "not a zip archive" in err(h.analyze_study, str(answers), [str(answers)], progress=None)
    report, plot, results = h.analyze_study(str(private), [str(answers)], 0, progress=None)
    assert "ours" in report and Path(plot).is_file()
    with zipfile.ZipFile(results) as zf:
        assert "report.md" in zf.namelist()
