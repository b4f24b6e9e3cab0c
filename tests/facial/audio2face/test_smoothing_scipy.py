"""The numpy smoothing filters give scipy's numbers (scipy.signal / scipy.ndimage are not imported at run time)."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from facial.audio2face.smoothing import GAUSSIAN_TRUNCATE, gaussian, savgol


@pytest.mark.parametrize("n", [3, 5, 8, 31, 200])
@pytest.mark.parametrize("window,order", [(7, 3), (5, 2), (9, 3), (3, 1)])
def test_savgol_matches_scipy(n, window, order):
    x = np.random.default_rng(n).standard_normal((n, 12)).astype(np.float32)
    w = min(window, n if n % 2 else n - 1)
    if w <= order:
        assert np.array_equal(savgol(x, window, order), x)
        return
    assert np.abs(savgol(x, window, order) - savgol_filter(x, w, order, axis=0, mode="interp")).max() < 1e-4


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.7])
def test_gaussian_matches_scipy(sigma):
    x = np.random.default_rng(1).standard_normal((40, 6)).astype(np.float32)
    ref = gaussian_filter1d(x, sigma, axis=0, mode="nearest", truncate=GAUSSIAN_TRUNCATE)
    assert np.abs(gaussian(x, sigma) - ref).max() < 1e-5
    assert np.array_equal(gaussian(x, 0.0), x)
