"""The ``artifacts`` family (bright specks at closed-mouth corners, blend seams, face flicker):
zero flagged frames on real footage, and each glitch painted into that footage is flagged.

Generated videos (warp renderer on a real clip, one-shot photo) are checked in
tests/facial/render/test_artifacts_render.py.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation import registry
from evaluation.metrics import artifacts as A

NAMES = {"mouth_specks", "blend_seams", "face_flicker"}


def test_family_is_registered_with_cards_but_not_in_the_default_group():
    assert registry.family_module("artifacts") is A
    assert set(registry.groups()["artifacts"]) == NAMES
    assert "artifacts" not in registry.DEFAULT_GROUPS  # it decodes every frame: on request only
    for name in NAMES:
        spec = registry.get(name)
        assert spec.unit == "fraction" and spec.direction.value == "lower" and spec.needs == ("video", "face")


@pytest.fixture(scope="module")
def real(clip_a):
    """Frames and face track of a real clip (pcavs Audio_Source_00086, 224², 5.3 s)."""
    from evaluation.extractors.cache import ArrayCache
    from evaluation.extractors.landmarks import extract_face_track
    from facial import media

    face = extract_face_track(clip_a, cache=ArrayCache(None))
    frames = media.read_video(clip_a, fps=25.0).frames[: len(face)]
    return frames, face


def _flags(result) -> list[int]:
    return result.details.get("flagged_frames", [])


def test_real_footage_has_no_flagged_frame(real):
    frames, face = real
    res = A.score_frames(frames, face.landmarks, face.valid)
    assert set(res) == NAMES
    for name, value in res.items():
        assert value.is_ok and value.value == 0.0, (name, value.details)
    assert res["mouth_specks"].details["n_closed"] > 10  # the speaker does close the lips: the check ran


def _closed_frames(face) -> np.ndarray:
    return np.flatnonzero(np.array([A.mouth_opening(lm) < A.CLOSED_OPENING for lm in face.landmarks]) & face.valid)


def _paint_line(frame: np.ndarray, lm: np.ndarray, u0: float, u1: float, half: float = 1.2) -> None:
    """Paint white along the lip line from fraction ``u0`` to ``u1`` of the way between the inner corners."""
    r, l = lm[78, :2], lm[308, :2]
    a, b = r + u0 * (l - r), r + u1 * (l - r)
    cv2.line(frame, tuple(int(v) for v in np.round(a * 4)), tuple(int(v) for v in np.round(b * 4)), (255, 255, 250),
             thickness=max(1, int(round(2 * half))), lineType=cv2.LINE_AA, shift=2)


def test_white_specks_at_closed_mouth_corners_are_flagged(real):
    frames, face = real
    closed = _closed_frames(face)[::3][:8]
    painted = frames.copy()
    for t in closed:  # short white bars just inside both inner corners: tooth rows on a closed mouth
        _paint_line(painted[t], face.landmarks[t], 0.04, 0.16)
        _paint_line(painted[t], face.landmarks[t], 0.84, 0.96)
    res = A.score_frames(painted, face.landmarks, face.valid, ("mouth_specks",))["mouth_specks"]
    assert _flags(res) == sorted(closed.tolist())
    assert res.value == pytest.approx(len(closed) / len(frames))


def test_teeth_across_the_whole_lip_line_are_not_specks(real):
    # teeth seen through slightly parted lips are bright in the middle too: not the corner glitch
    frames, face = real
    closed = _closed_frames(face)[:8]
    painted = frames.copy()
    for t in closed:
        _paint_line(painted[t], face.landmarks[t], 0.04, 0.96)
    res = A.score_frames(painted, face.landmarks, face.valid, ("mouth_specks",))["mouth_specks"]
    assert res.value == 0.0


def test_a_hard_edged_brighter_patch_around_the_mouth_is_a_seam(real):
    frames, face = real
    patched = frames.astype(np.int16)
    hit = list(range(10, 20))
    for t in hit:  # a mouth patch (the warp renderer's shape: outer lips scaled, below the nose) pasted
        # without feathering, 40 levels too bright
        poly = A.seam_contours(face.landmarks[t])[A.SEAM_SCALES.index(1.75)]
        mask = np.zeros(frames.shape[1:3], np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        patched[t][mask.astype(bool)] += 40
    patched = np.clip(patched, 0, 255).astype(np.uint8)
    res = A.score_frames(patched, face.landmarks, face.valid, ("blend_seams",))["blend_seams"]
    assert set(_flags(res)) <= set(hit) and len(_flags(res)) >= 8


def test_a_one_frame_brightness_jump_of_the_face_is_flicker(real):
    frames, face = real
    jumped = frames.astype(np.int16)
    jumped[30] += 16
    jumped = np.clip(jumped, 0, 255).astype(np.uint8)
    res = A.score_frames(jumped, face.landmarks, face.valid, ("face_flicker",))["face_flicker"]
    assert _flags(res) == [30]  # its neighbours see half the jump, under the threshold


@pytest.mark.slow
def test_scored_through_the_registry_on_a_clip_file(clip_a):
    from evaluation.scoring import score_clip

    result = score_clip(clip_a, ["artifacts"], cache_dir=False)
    values = result.by_name()
    assert set(values) == NAMES
    assert all(v.is_ok and v.value == 0.0 for v in values.values()), {k: (v.status, v.reason) for k, v in values.items()}
