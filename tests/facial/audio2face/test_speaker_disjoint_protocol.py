"""The speaker-disjoint protocol (benchmarks/speaker_disjoint.py) and its facial-eval specs agree."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))

import speaker_disjoint as sd  # noqa: E402

MANIFEST = REPO.parent / "shared" / "data" / "MANIFEST.csv"


def test_folds_are_disjoint_and_exclude_the_validation_speakers():
    seen = [p for people in sd.FOLDS.values() for p in people]
    assert len(seen) == len(set(seen))
    assert not set(seen) & set(sd.VAL_SPEAKERS)


def test_train_command_holds_out_the_fold_and_validates_on_others(tmp_path):
    cmd = sd.train_command(Path("M.csv"), Path("P"), tmp_path / "fold1", sd.FOLDS["fold1"], steps=10, max_minutes=1.0, threads=1)
    assert cmd[cmd.index("--exclude-speakers") + 1] == ",".join(sd.FOLDS["fold1"])
    assert cmd[cmd.index("--val-speakers") + 1] == ",".join(sd.VAL_SPEAKERS)
    assert cmd[cmd.index("--threads") + 1] == "1"


def test_each_fold_gets_a_sync_expert_that_never_saw_its_speakers(tmp_path):
    """Personalisation's sync term needs an expert; the shipped one was trained on the protocol's
    speakers and is refused; a fold's own expert holds the fold's speakers out."""
    cmd = sd.sync_expert_command(Path("M.csv"), tmp_path / "e", sd.FOLDS["fold2"], threads=1)
    assert cmd[cmd.index("--val-persons") + 1] == ",".join(sd.FOLDS["fold2"])
    assert cmd[cmd.index("--input") + 1] == "landmarks"
    with pytest.raises(SystemExit, match="not speaker-disjoint"):
        sd.check_expert(None, sd.FOLDS["fold1"])             # the shipped expert saw obama
    from facial.sync_expert.config import SyncExpertConfig
    from facial.sync_expert.model import SyncExpert

    own = SyncExpert(SyncExpertConfig(hidden=32, embed_dim=8, audio_channels=(8, 8)))
    own.config.provenance = {"train_persons": ["person_someone_else"]}
    own.save_pretrained(tmp_path / "own")
    sd.check_expert(str(tmp_path / "own"), sd.FOLDS["fold1"])   # accepted


@pytest.mark.parametrize("fold", list(sd.FOLDS))
def test_each_fold_spec_lists_exactly_the_folds_clips(fold):
    spec = yaml.safe_load((REPO / "evaluation" / "specs" / f"speaker_disjoint_{fold}.yaml").read_text())
    assert spec["name"] == f"speaker_disjoint_{fold}"
    assert spec["protocol"]["name"] == "self_reenactment"
    assert abs(spec["protocol"]["test_fraction"] - 1 / 3) < 1e-3
    if not MANIFEST.exists():
        pytest.skip(f"{MANIFEST} is absent (the shared research footage)")
    person = {r["id"]: r["person"].split(":")[0].strip() for r in csv.DictReader(open(MANIFEST))}
    assert {person[i] for i in spec["clips"]["ids"]} == set(sd.FOLDS[fold])


def test_summary_checks_the_targets():
    row = {"mouth_r": 0.6, "mouth_err_px": 1.0, "pose_std_ratio_yaw": 1.0, "pose_std_ratio_pitch": 0.8, "pose_std_ratio_roll": 1.2,
           "angular_speed_ratio": 1.1, "blinks_pred": 20.0, "blinks_own": 30.0, "pose_std_ratio_own_yaw": 1.0,
           "pose_std_ratio_own_pitch": 1.0, "pose_std_ratio_own_roll": 1.0, "angular_speed_ratio_own": 1.0}
    per = {"a": {"facial-gan fast": row, "mean": {**row, "mouth_err_px": 2.0}},
           "b": {"facial-gan fast": {**row, "pose_std_ratio_roll": 1.5, "blinks_pred": 10.0}, "mean": {**row, "mouth_err_px": 2.0}}}
    s = sd.summarise(per, ("facial-gan fast",))["facial-gan fast"]
    assert s["motion_in_range"] == {"a": True, "b": False}
    assert s["blink_within"] == {"a": True, "b": False}
    assert s["mouth_err_vs_held"] == {"a": 0.5, "b": 0.5}
    assert s["median_mouth_r"] == pytest.approx(0.6)
