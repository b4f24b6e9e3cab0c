"""The metric registry: cards, groups, did-you-mean, lazy imports, docs coverage."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluation import registry
from evaluation.registry import UnknownMetricError
from evaluation.types import Direction, Kind

ISSUE_KEYS = ["lse_c", "lse_d", "lse_offset", "av_offset", "av_corr", "lmd_mouth", "lmd_face", "lmd_mouth_norm",
              "blink_rate_per_min", "blink_duration_s", "pose_std_deg", "angular_speed_deg_s", "delta_p_deg", "jerk",
              "bas", "psnr", "ssim", "lpips"]


def test_every_issue_metric_is_registered_with_a_full_card():
    specs = {s.name: s for s in registry.all_specs()}
    for key in ISSUE_KEYS:
        assert key in specs, key
    for s in specs.values():
        assert isinstance(s.kind, Kind) and isinstance(s.direction, Direction)
        assert s.unit and s.summary and s.needs and "video" in s.needs
        assert s.family in registry.FAMILIES
        if s.direction is Direction.TARGET:
            assert s.target is not None, s.name
    assert len(specs) == len(registry.all_specs())  # unique names


def test_reference_needs_match_kinds():
    for s in registry.all_specs():
        if "reference" in s.needs or "real_footage" in s.needs:
            assert s.kind is Kind.METRIC, s.name
        else:
            assert s.kind is Kind.MEASUREMENT, s.name


@pytest.mark.parametrize("typo, expected", [("lse-c", "lse_c"), ("LMD_mouth", "lmd_mouth"), ("blink_rate", "blink_rate_per_min"),
                                            ("psnrr", "psnr"), ("av_ofset", "av_offset"), ("head-motion", "head_motion")])
def test_unknown_names_get_did_you_mean(typo, expected):
    with pytest.raises(UnknownMetricError) as info:
        registry.resolve([typo])
    assert expected in info.value.suggestions
    assert "Did you mean" in str(info.value) and repr(expected) in str(info.value)


def test_unknown_name_without_close_match_still_explains():
    with pytest.raises(UnknownMetricError) as info:
        registry.get("zzzz")
    assert "facial-eval list" in str(info.value)


def test_groups_and_comma_strings():
    lmd = registry.resolve("lmd")
    assert [s.name for s in lmd] == ["lmd_mouth", "lmd_face", "lmd_mouth_norm"]
    mixed = registry.resolve(["psnr, av_corr", "av_corr"])
    assert [s.name for s in mixed] == ["av_corr", "psnr"]  # registry order, no duplicates
    assert {s.name for s in registry.resolve("all")} == set(registry.names())
    assert all(s.kind is Kind.MEASUREMENT for s in registry.resolve("measurements"))
    with pytest.raises(ValueError):
        registry.resolve([" , "])


def test_table_directions_only_up_or_down():
    d = registry.table_directions()
    assert d["lse_c"] == "higher" and d["lmd_mouth"] == "lower" and d["psnr"] == "higher"
    assert "pose_std_deg" not in d and "av_offset" not in d
    assert set(d.values()) <= {"higher", "lower"}


def test_registry_import_is_light():
    code = ("import sys; from evaluation import registry; registry.all_specs(); "
            "heavy = [m for m in ('torch', 'mediapipe', 'lpips', 'syncnet_python', 'cv2', 'librosa', 'skimage') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_docs_list_every_metric_with_direction_and_unit():
    doc = Path(__file__).resolve().parents[2] / "docs" / "EVALUATION.md"
    text = doc.read_text(encoding="utf-8")
    for s in registry.all_specs():
        line = next((ln for ln in text.splitlines() if f"`{s.name}`" in ln and "|" in ln), None)
        assert line is not None, f"{s.name} missing from the metric table of docs/EVALUATION.md"
        assert s.arrow in line and s.unit.replace("|", r"\|") in line, s.name
