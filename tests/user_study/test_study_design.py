"""Design: clip matching, counterbalancing, blind ids, attention checks, per-participant order."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from user_study import design
from user_study.forms import render_html
from user_study.types import Key, Manifest, Question, StudyError


def _touch(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")
    return folder


def test_match_clips_keeps_intersection_and_lists_dropped(tmp_path, caplog):
    a = _touch(tmp_path / "a", "c1.mp4", "c2.mp4", "c3.mp4", "notes.txt")
    b = _touch(tmp_path / "b", "c2.mp4", "c1.mov", "c4.mp4")
    with caplog.at_level(logging.WARNING):
        m = design.match_clips({"ours": a, "base": b})
    assert list(m.clips) == ["c1", "c2"]
    assert m.clips["c1"]["base"].name == "c1.mov"
    assert m.dropped == {"ours": ["c3"], "base": ["c4"]}
    assert "c3" in caplog.text and "c4" in caplog.text and "dropped" in caplog.text


def test_match_clips_bad_input(tmp_path):
    a = _touch(tmp_path / "a", "c1.mp4")
    with pytest.raises(StudyError, match="does not exist"):
        design.match_clips({"ours": a, "base": tmp_path / "nope"})
    with pytest.raises(StudyError, match="no clip name is found in every"):
        design.match_clips({"ours": a, "base": _touch(tmp_path / "b", "zz.mp4")})
    with pytest.raises(StudyError, match="two videos named"):
        design.match_clips({"ours": _touch(tmp_path / "d", "c1.mp4", "c1.mkv")})
    with pytest.raises(StudyError, match="not a valid name"):
        design.match_clips({"../evil": a})


@pytest.mark.parametrize("n_clips", [6, 7])
def test_counterbalancing_per_pair(n_clips):
    clips = [f"c{i}" for i in range(n_clips)]
    pairs = [["ours", "b1"], ["ours", "b2"]]
    trials = design.plan_trials(clips, ["ours", "b1", "b2"], pairs=pairs, n_checks=0, seed=3)
    assert len(trials) == 2 * n_clips
    first_left = Counter()
    for t in trials:
        assert sorted(t.methods) == sorted(t.pair)
        first_left[tuple(t.pair)] += t.methods[0] == t.pair[0]
    for pair in pairs:
        per_pair = sum(1 for t in trials if t.pair == pair)
        assert abs(2 * first_left[tuple(pair)] - per_pair) <= 1
    # with an odd count the extra left goes to different methods in consecutive pairs
    if n_clips % 2:
        assert first_left[("ours", "b1")] != first_left[("ours", "b2")]
    # every clip appears once per pair
    assert Counter((t.clip, tuple(t.pair)) for t in trials) == Counter({(c, tuple(p)): 1 for c in clips for p in pairs})


def test_trials_reproducible_and_blind():
    clips = [f"clip{i}" for i in range(5)]
    a = design.plan_trials(clips, ["ours", "base"], seed=1)
    b = design.plan_trials(clips, ["ours", "base"], seed=1)
    c = design.plan_trials(clips, ["ours", "base"], seed=2)
    assert [(t.id, t.clip, t.methods) for t in a] == [(t.id, t.clip, t.methods) for t in b]
    assert [(t.id, t.clip, t.methods) for t in a] != [(t.id, t.clip, t.methods) for t in c]
    assert [t.id for t in a] == [f"t{i:02d}" for i in range(1, 8)]
    # ids are not in clip order: the numbering is shuffled
    regular = [t for t in a if not t.check]
    assert [t.clip for t in regular] != sorted(t.clip for t in regular) or [t.methods[0] for t in regular] != sorted(t.methods[0] for t in regular)


def test_attention_checks_2afc_and_mos():
    clips = ["c0", "c1", "c2"]
    trials = design.plan_trials(clips, ["ours", "base"], n_checks=4, seed=0)
    checks = [t for t in trials if t.check]
    assert len(checks) == 4
    assert Counter(t.check["shifted"] for t in checks) == Counter({"A": 2, "B": 2})
    for t in checks:
        assert t.methods == ["ours", "ours"] and t.pair is None
        assert t.check["expected"] == ["B" if t.check["shifted"] == "A" else "A"]
        assert t.check["question"] == "lip_sync" and t.check["offset_s"] == 1.0
    mos = design.plan_trials(clips, ["ours", "base"], scale="mos5", n_checks=1, seed=0)
    assert len(mos) == 2 * 3 + 1
    (chk,) = [t for t in mos if t.check]
    assert chk.check["expected"] == ["1", "2"] and chk.check["shifted"] == "single"
    # without a lip_sync question, checks use the first question
    qs = [Question("realism", "Which is real?")]
    t = design.plan_trials(clips, ["ours", "base"], questions=qs, n_checks=1)
    assert [x.check["question"] for x in t if x.check] == ["realism"]


def test_parse_pairs():
    assert design.parse_pairs(None, ["a", "b", "c"]) == [["a", "b"], ["a", "c"]]
    assert design.parse_pairs(["c:a"], ["a", "b", "c"]) == [["c", "a"]]
    with pytest.raises(StudyError, match="not a --method"):
        design.parse_pairs(["a:z"], ["a", "b"])
    with pytest.raises(StudyError, match="twice"):
        design.parse_pairs(["a:b", "b:a"], ["a", "b"])
    with pytest.raises(StudyError, match="two different"):
        design.parse_pairs(["a:a"], ["a", "b"])


def test_participant_order_is_a_seeded_permutation():
    ids = [f"t{i:02d}" for i in range(1, 13)]
    o1 = design.participant_order(ids, 42, "P01")
    assert sorted(o1) == ids and o1 != ids
    assert design.participant_order(ids, 42, "P01") == o1
    assert design.participant_order(ids, 42, "P02") != o1
    assert design.participant_order(ids, 43, "P01") != o1
    # first positions are spread over the trials across participants
    firsts = Counter(design.participant_order(ids, 42, f"P{i}")[0] for i in range(600))
    assert len(firsts) == len(ids) and max(firsts.values()) < 90


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed; the JS order cannot be compared")
def test_participant_order_matches_the_html_form_javascript(tmp_path, study_helpers):
    manifest, _ = study_helpers.design_only_study(tmp_path, n_clips=9)
    page = render_html(manifest)
    js = page.split("// BEGIN order")[1].split("// END order")[0]
    cases = [("P01", 7), ("ünïcode-id", 123456789), ("x", 0), ("participant 42", 2147483647)]
    script = js + "\nconst ids = " + json.dumps(manifest.trial_ids) + ";\n" + "".join(
        f"console.log(JSON.stringify(participantOrder(ids, {seed}, {json.dumps(pid)})));\n" for pid, seed in cases)
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.splitlines()
    assert [json.loads(line) for line in out] == [design.participant_order(manifest.trial_ids, s, p) for p, s in cases]


def test_manifest_validation_and_roundtrip(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path)
    m2, k2 = design.load_study(tmp_path)
    assert m2 == manifest and k2.trials == key.trials
    bad = manifest.to_dict()
    bad["trials"][0]["stimulus"] = "../../etc/passwd"
    with pytest.raises(StudyError, match="inside the study folder"):
        Manifest.from_dict(bad)
    bad = manifest.to_dict()
    bad["trials"][0]["id"] = "ours_clip00"
    with pytest.raises(StudyError, match="blind ids"):
        Manifest.from_dict(bad)
    with pytest.raises(StudyError, match="lacks"):
        Manifest.from_dict({"scale": "2afc"})
    with pytest.raises(StudyError, match="scale"):
        Manifest.from_dict({**manifest.to_dict(), "scale": "7pt"})
    # YAML works as well as JSON
    import yaml

    (tmp_path / "m.yaml").write_text(yaml.safe_dump(manifest.to_dict()))
    assert design.load_manifest(tmp_path / "m.yaml") == manifest
    # a key from another study is refused
    other = Key.from_dict({**key.to_dict(), "study_id": "sother"})
    design.save_json(design.StudyPaths(tmp_path).key, other.to_dict())
    with pytest.raises(StudyError, match="belongs to study"):
        design.load_study(tmp_path)


def test_participant_facing_manifest_has_no_key(tmp_path, study_helpers):
    manifest, key = study_helpers.design_only_study(tmp_path, methods=("ours_method", "baseline_method"))
    text = design.StudyPaths(tmp_path).manifest.read_text() + render_html(manifest)
    for secret in ["ours_method", "baseline_method", "clip0", '"expected"', '"shifted"', '"check"', "/x/"]:
        assert secret not in text, secret
    assert "seed" not in manifest.to_dict() and "order_seed" in manifest.to_dict()
    # the key really does hold those secrets (so the test above can fail)
    key_text = design.StudyPaths(tmp_path).key.read_text()
    assert "ours_method" in key_text and "clip0" in key_text and '"expected"' in key_text


def test_study_paths_inside(tmp_path):
    p = design.StudyPaths(tmp_path / "s")
    (tmp_path / "s").mkdir()
    assert p.inside(tmp_path / "s" / "public" / "x.mp4")
    with pytest.raises(StudyError, match="outside"):
        p.inside(tmp_path / "s" / ".." / "x.mp4")
