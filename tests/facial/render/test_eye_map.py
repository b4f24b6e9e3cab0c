"""The eye attention map: blink inside the eyes, 0 outside."""
import numpy as np
import pytest

from facial.face_render.eye_map import EYE_FEATHER, eye_ellipses, make_eye_map
from facial.speaker import face_model as fm


def _eye_landmarks(t: int = 3) -> np.ndarray:
    lm = np.zeros((t, 478, 3), np.float32)
    for (a, b), x0 in ((fm.RIGHT_EYE_CORNERS, 30.0), (fm.LEFT_EYE_CORNERS, 90.0)):
        lm[:, a, :2] = (x0, 50.0)
        lm[:, b, :2] = (x0 + 30.0, 52.0)
    return lm


def test_eye_map_equals_blink_inside_and_zero_outside():
    blink = np.array([0.0, 0.4, 1.0], np.float32)
    lm = _eye_landmarks(3)
    m = make_eye_map(lm, blink, (160, 100))
    assert m.shape == (3, 100, 160) and m.dtype == np.float32
    ell = eye_ellipses(lm)
    ys, xs = np.mgrid[0:100, 0:160]
    for t in range(3):
        inside = np.zeros((100, 160), bool)
        outside = np.ones((100, 160), bool)
        for cx, cy, a, b, ang in ell[t]:
            c, s = np.cos(ang), np.sin(ang)
            u, v = (xs - cx) * c + (ys - cy) * s, -(xs - cx) * s + (ys - cy) * c
            r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
            inside |= r <= 1.0
            outside &= r >= 1.0 + EYE_FEATHER + 1e-3
        assert inside.sum() > 100
        assert np.allclose(m[t][inside], blink[t])
        assert np.all(m[t][outside] == 0)
        assert m[t].max() <= blink[t] + 1e-6 and m[t].min() >= 0


def test_eye_map_does_not_shrink_when_lids_close():
    lm = _eye_landmarks(2)
    lm[1, fm.RIGHT_EYE_UPPER, 1] = 51.0  # lids moved: the region depends on the corners only
    m = make_eye_map(lm, np.ones(2, np.float32), (160, 100))
    assert np.array_equal(m[0] > 0, m[1] > 0)


def test_eye_map_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="blink"):
        make_eye_map(_eye_landmarks(3), np.zeros(2), (160, 100))
