"""Benchmark specs: validation messages and path resolution (evaluation.benchmark.spec)."""
from __future__ import annotations

import pytest

from evaluation import benchmark as bm



@pytest.fixture()
def clip_folder(tmp_path, make_clip):
    for name in ("c1", "c2"):
        make_clip(tmp_path / "clips" / f"{name}.mp4", n_frames=10)
    return tmp_path / "clips"


def _spec(folder, **over):
    raw = {"name": "t", "clips": {"folder": str(folder)}, "protocol": {"name": "self_reenactment"},
           "methods": ["ground_truth", "static"], "metrics": ["lmd"]}
    raw.update(over)
    return raw


def test_spec_validation_messages(clip_folder):
    spec = bm.spec_from_dict(_spec(clip_folder))
    assert [c.id for c in spec.clips] == ["c1", "c2"] and spec.metrics == ["lmd_mouth", "lmd_face", "lmd_mouth_norm"]
    assert spec.protocol == {"name": "self_reenactment", "test_fraction": 0.4, "max_test_seconds": None, "min_test_seconds": 1.0}
    cases = [
        ({"metric": ["lmd"]}, "unknown key 'metric'. Did you mean 'metrics'"),
        ({"metrics": ["lmd_mouht"]}, "Did you mean 'lmd_mouth'"),
        ({"protocol": {"name": "self-reenactment"}}, "did you mean 'self_reenactment'"),
        ({"protocol": {"name": "measure", "test_fraction": 0.5}}, "unknown key 'test_fraction'"),
        ({"protocol": {"name": "self_reenactment", "test_fraction": 1.5}}, "test_fraction must be in"),
        ({"options": {"syncnet_weight": "x"}}, "Did you mean 'syncnet_weights'"),
        ({"methods": ["statc"]}, "Did you mean 'static'"),
        ({"methods": []}, "non-empty list"),
        ({"clips": {"folder": str(clip_folder), "ids": ["c3"]}}, "clips.ids not found"),
        ({"clips": {"folder": str(clip_folder / "nope")}}, "is not a folder"),
    ]
    for over, message in cases:
        with pytest.raises(bm.SpecError) as info:
            bm.spec_from_dict(_spec(clip_folder, **over))
        assert message in str(info.value), (over, str(info.value))
    spec = bm.spec_from_dict(_spec(clip_folder, clips={"folder": str(clip_folder), "ids": ["c2"]}))
    assert [c.id for c in spec.clips] == ["c2"]


def test_load_spec_resolves_paths_from_the_spec_folder(tmp_path, clip_folder):
    (tmp_path / "specs").mkdir()
    path = tmp_path / "specs" / "s.yaml"
    path.write_text("name: rel\nclips: {folder: ../clips}\nprotocol: measure\nmethods: [ground_truth]\nmetrics: [blink]\n")
    spec = bm.load_spec(path)
    assert spec.clips[0].path == (clip_folder / "c1.mp4").resolve() and spec.protocol["name"] == "measure"
    path.write_text("name: [unclosed\n")
    with pytest.raises(bm.SpecError, match="not valid YAML"):
        bm.load_spec(path)
