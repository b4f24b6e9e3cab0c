"""Protocol preparation: the prepared folder of a clip (evaluation.benchmark.prepare)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import benchmark as bm
from evaluation.benchmark.prepare import _driving_clip


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_self_reenactment_folder_is_complete_and_reused(tmp_path, make_clip):
    src = make_clip(tmp_path / "clips" / "c1.mp4", n_frames=100)
    clip = bm.ClipRef("c1", src)
    protocol = {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0}
    root = tmp_path / "prepared"
    task = bm.prepare_task(clip, protocol, root, [clip])
    folder = task.speaker_video.parent
    assert folder.parent == root / "c1" and folder.name.startswith("self_reenactment-") and len(folder.name) == len("self_reenactment-") + 12
    assert _files(root / "c1") == sorted([folder.name] + [f"{folder.name}/{n}" for n in
                                                          ("driving.wav", "reference.mp4", "speaker.mp4", "task.json")])
    meta = json.loads((folder / "task.json").read_text())
    assert meta["clip"] == "c1" and meta["driver"] == "c1" and meta["n_frames"] == task.n_frames == 40
    assert task.reference == task.real_footage == folder / "reference.mp4"
    stamp = (folder / "speaker.mp4").stat().st_mtime_ns
    again = bm.prepare_task(clip, protocol, root, [clip])
    assert again == task and (folder / "speaker.mp4").stat().st_mtime_ns == stamp  # reused, not rewritten


def test_a_too_short_clip_leaves_nothing_behind(tmp_path, make_clip):
    clip = bm.ClipRef("short", make_clip(tmp_path / "short.mp4", n_frames=20))
    protocol = {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0}
    with pytest.raises(bm.SpecError, match="too short"):
        bm.prepare_task(clip, protocol, tmp_path / "prepared", [clip])
    assert _files(tmp_path / "prepared") == ["short"]  # no partial or hidden temporary folder


def test_measure_uses_the_clip_as_it_is(tmp_path, make_clip):
    src = make_clip(tmp_path / "m.mp4", n_frames=25)
    task = bm.prepare_task(bm.ClipRef("m", src), {"name": "measure", "max_seconds": None}, tmp_path / "prepared", [])
    assert task.speaker_video == task.driving_audio == src and task.reference is None and task.n_frames == 25
    assert not (tmp_path / "prepared").exists()


def test_cross_driving_takes_the_next_clip_of_another_person():
    a, b, c = bm.ClipRef("a", Path("a"), "p1"), bm.ClipRef("b", Path("b"), "p1"), bm.ClipRef("c", Path("c"), "p2")
    assert _driving_clip(a, [a, b, c]) == c and _driving_clip(c, [a, b, c]) == a
    assert _driving_clip(a, [a, b]) == b  # one person only: the next clip
    with pytest.raises(bm.SpecError, match="at least two clips"):
        _driving_clip(a, [a])
