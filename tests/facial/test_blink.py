import numpy as np

from facial.speaker import blink as bm


def _aperture_with_blinks(n=500, starts=(50, 200, 420), length=4, seed=0):
    rng = np.random.default_rng(seed)
    a = 0.30 + 0.01 * rng.normal(size=n)
    for s in starts:
        a[s:s + length] = [0.2, 0.05, 0.05, 0.2][:length]
    return a


def test_three_blinks_found_with_exact_frames():
    b = bm.normalize_blink(_aperture_with_blinks())
    events = bm.detect_blinks(b, 25)
    assert [s for s, _ in events] == [51, 201, 421]
    assert all(e - s == 2 for s, e in events)
    assert bm.blink_rate_per_min(b, 25) == 3 / (500 / 25 / 60)


def test_normalisation_range_and_calibration():
    a = _aperture_with_blinks()
    open_, closed = bm.blink_calibration(a)
    assert 0.30 < open_ < 0.33 and closed <= 0.35 * open_
    b = bm.normalize_blink(a)
    assert b.min() >= 0 and b.max() <= 1 and np.median(b) < 0.1 and b[52] == 1.0


def test_long_closure_is_not_a_blink_and_gaps_merge():
    b = np.zeros(200)
    b[10:60] = 1  # 2 s closure
    b[100:102] = 1
    b[103:105] = 1  # one-frame dip inside a blink
    assert bm.detect_blinks(b, 25) == [(100, 105)]


def test_aperture_ignores_head_turn():
    from facial.speaker import face_model as fm

    rng = np.random.default_rng(0)
    lm = rng.normal(size=(1, fm.N_POINTS, 3))
    rot = fm.euler_to_matrix(np.array([0.6, 0.0, 0.0]))
    turned = lm @ rot.T
    np.testing.assert_allclose(bm.eye_aperture(turned), bm.eye_aperture(lm), rtol=1e-6)


def test_squint_plateau_is_not_a_blink():
    b = np.zeros(300)
    b[100:160] = 0.6  # eyes half closed for 2.4 s (squint / looking down)
    b[130:133] = 1.0  # a real blink on top of it
    b[200:203] = 0.9  # a blink from open eyes
    assert bm.detect_blinks(b, 25) == [(130, 133), (200, 203)]


def test_running_median_matches_scipy():
    from scipy.ndimage import median_filter

    from facial.speaker.blink import running_median

    x = np.random.default_rng(2).random(137)
    for size in (3, 5, 25, 151):
        assert np.allclose(running_median(x, size), median_filter(x, size=size, mode="nearest"))
