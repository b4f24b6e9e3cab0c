"""FaceMesh → 68-point mapping, LMD known answers, aligned crops."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.extractors import landmarks as lmk
from evaluation.metrics.lmd import lmd


def test_mapping_table_shape_and_regions():
    from facial.speaker import face_model as fm

    flat = [i for pair in lmk.FACEMESH_TO_68 for i in pair]
    assert len(lmk.FACEMESH_TO_68) == 68 and all(0 <= i < 468 for i in flat)
    lips = set(fm.LIPS_OUTER) | set(fm.LIPS_INNER)
    assert all(set(lmk.FACEMESH_TO_68[k]) <= lips for k in lmk.MOUTH_68)
    eyes = set(fm.EYE_REGION) | set(fm.RIGHT_EYE_CORNERS) | set(fm.LEFT_EYE_CORNERS)
    assert all(set(lmk.FACEMESH_TO_68[k]) <= eyes for k in lmk.EYES_68)
    assert lmk.FACEMESH_TO_68[36] == (fm.RIGHT_EYE_CORNERS[0],) and lmk.FACEMESH_TO_68[45] == (fm.LEFT_EYE_CORNERS[0],)


def test_to_68_averages_pairs():
    lm = np.zeros((2, 478, 3))
    lm[:, 168] = [10, 0, 0]
    lm[:, 6] = [20, 0, 0]
    out = lmk.to_68(lm)
    assert out.shape == (2, 68, 3)
    assert out[0, 27, 0] == pytest.approx(15.0)


def test_lmd_known_answers():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 20, (5, 68, 2))
    assert np.allclose(lmd(real, real), 0)
    assert np.allclose(lmd(real + [7.0, -3.0], real), 0)  # translation is removed
    # scaling the mouth about its centroid by k moves each point by (k-1)·radius
    gen = real.copy()
    mouth = lmk.MOUTH_68
    c = real[:, mouth].mean(1, keepdims=True)
    gen[:, mouth] = c + 1.5 * (real[:, mouth] - c)
    expected = 0.5 * np.linalg.norm(real[:, mouth] - c, axis=-1).mean(1)
    assert np.allclose(lmd(gen, real, mouth), expected)
    with pytest.raises(ValueError):
        lmd(real[:, :60], real)


def test_inter_ocular():
    lm68 = np.zeros((1, 68, 2))
    lm68[0, 36] = [100, 50]
    lm68[0, 45] = [160, 58]
    assert lmk.inter_ocular(lm68)[0] == pytest.approx(np.hypot(60, 8))


def _landmarks_at(points5: np.ndarray) -> np.ndarray:
    """478 landmarks whose 5 alignment points (eye centres, nose tip, mouth corners) are ``points5``."""
    lm = np.zeros((478, 3))
    groups = [lmk.RIGHT_EYE_68, lmk.LEFT_EYE_68, [30], [48], [54]]
    for g, p in zip(groups, points5):
        for k in g:
            for i in lmk.FACEMESH_TO_68[k]:
                lm[i, :2] = p
    return lm


def test_align_crops_identity_and_similarity():
    size = 112
    template = lmk._TEMPLATE_5 * (size / 112)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    crop = lmk.align_crops(frame[None], _landmarks_at(template)[None], size)[0]
    assert np.array_equal(crop, frame)  # landmarks already on the template: no change
    # a frame scaled ×2 (and its landmarks) aligns back to (nearly) the same crop
    import cv2

    big = cv2.resize(frame, (2 * size, 2 * size), interpolation=cv2.INTER_NEAREST)
    crop2 = lmk.align_crops(big[None], _landmarks_at(template * 2 + 0.5)[None], size)[0]
    assert np.abs(crop2.astype(int) - frame.astype(int)).mean() < 40  # INTER_AREA averages neighbours
    assert np.corrcoef(crop2.ravel(), frame.ravel())[0, 1] > 0.6


@pytest.mark.shared_data
def test_mapping_orientation_on_a_real_face(clip_a, tmp_path):
    from evaluation.extractors.cache import ArrayCache

    face = lmk.extract_face_track(clip_a, cache=ArrayCache(tmp_path), max_seconds=1.0)
    l68 = lmk.to_68(face.landmarks)[:, :, :2].mean(0)
    x, y = l68[:, 0], l68[:, 1]
    assert x[36] < x[39] < x[42] < x[45]          # eyes left to right in the image
    assert x[48] < x[51] < x[54] and y[51] < y[57]  # mouth corners, upper lip above lower lip
    assert y[27] < y[30] < y[51] < y[8]             # nose bridge above tip above mouth above chin
    assert x[0] < x[8] < x[16]
    # the cached track is reused
    again = lmk.extract_face_track(clip_a, cache=ArrayCache(tmp_path), max_seconds=1.0)
    assert np.array_equal(again.landmarks, face.landmarks) and len(list(tmp_path.glob("face-*.npz"))) == 1
