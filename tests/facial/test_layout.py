import numpy as np
import pytest

from facial import layout
from facial.types import FaceParams


def test_round_trip_and_named_columns():
    rng = np.random.default_rng(0)
    p = FaceParams(rng.normal(size=(5, 6)), rng.normal(size=(5, 32)), rng.uniform(size=5))
    arr = p.to_array()
    lay = layout.ParamLayout(32)
    assert arr.shape == (5, lay.dim) == (5, 39)
    np.testing.assert_array_equal(arr[:, lay.blink], p.blink)
    np.testing.assert_array_equal(arr[:, lay.expression], p.expression)
    q = FaceParams.from_array(arr)
    np.testing.assert_array_equal(q.pose, p.pose)
    np.testing.assert_array_equal(q.expression, p.expression)
    assert lay.names()[:7] == ["yaw", "pitch", "roll", "tx", "ty", "scale", "blink"]


def test_facial71_layout_matches_reference_order():
    # FACIAL's 71 columns: pose 6, AU45, 64 expression coefficients
    lay = layout.ParamLayout(64)
    assert lay.dim == 71 and lay.blink == 6 and lay.expression == slice(7, 71)


def test_validation_errors():
    with pytest.raises(ValueError, match="pose must be"):
        FaceParams(np.zeros((3, 5)), np.zeros((3, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="frames"):
        FaceParams(np.zeros((3, 6)), np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        FaceParams(np.full((3, 6), np.nan), np.zeros((3, 4)), np.zeros(3))
