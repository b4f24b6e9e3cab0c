"""``facial train sync-expert`` (facial.cli.sync_expert): registered under ``train`` beside
``audio2face``; a few steps end to end on short real clips write a loadable checkpoint, a curve and
a training log with a speaker-disjoint split."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from facial.cli import get_args_parser, main
from tests.conftest import MANIFEST, shared_clip

CLIPS = ["lrs2_deepavsr__00008", "lrs2_deepavsr__00009", "lrs2_deepavsr__00022", "pcavs__Input_00010"]


def test_parser_registers_train_sync_expert_next_to_audio2face():
    parser = get_args_parser()
    args = parser.parse_args(["train", "sync-expert", "--data", "m.csv", "-o", "out", "--input", "both", "--threads", "1"])
    assert args.target == "sync-expert" and args.input == "both" and args.threads == 1 and args.max_minutes == 30.0
    assert parser.parse_args(["train", "audio2face", "--data", "x", "-o", "y"]).target == "audio2face"


def test_missing_manifest_is_one_clear_error(tmp_path, caplog):
    assert main(["train", "sync-expert", "--data", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out")]) == 2
    assert "no such manifest" in caplog.text


@pytest.mark.shared_data
def test_a_few_steps_end_to_end(tmp_path):
    for cid in CLIPS:
        shared_clip(cid)  # skips when the research clips are absent
    rows = [r for r in csv.DictReader(open(MANIFEST)) if r["id"] in CLIPS]
    manifest = tmp_path / "MANIFEST.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({**r, "path": str(MANIFEST.parent / r["path"])})
    out = tmp_path / "expert"
    code = main(["train", "sync-expert", "--data", str(manifest), "-o", str(out), "--val-persons", "person_vox_f",
                 "--steps", "4", "--segments", "4", "--anchors", "4", "--validate-every", "2", "--audio-variants", "1", "--no-realign",
                 "--cache-dir", str(tmp_path / "cache"), "--threads", "1", "-q"])
    assert code == 0
    from facial.sync_expert.model import SyncExpert

    model = SyncExpert.from_pretrained(out)
    prov = model.config.provenance
    assert prov["val_persons"] == ["person_vox_f"] and "person_vox_f" not in prov["train_persons"]
    assert prov["steps"] == 4 and prov["command"] and prov["data"] == str(manifest)
    assert "realigned" not in prov
    log = json.loads((out / "training.json").read_text())
    assert {c["clip"] for c in log["val_cases"]} == {"pcavs__Input_00010"}
    assert (out / "curve.png").stat().st_size > 1000
    assert len(list(Path(tmp_path / "cache").glob("*.npz"))) == 4  # tracked once, cached
