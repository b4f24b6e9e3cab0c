"""Blink metrics on synthetic aperture traces with a known number of blinks."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.extractors.eyes import blink_track
from evaluation.metrics import blink as bm

FPS = 25.0


def aperture_trace(n_frames: int, blinks: list[tuple[int, int]], open_=0.30, closed=0.05, seed=0) -> np.ndarray:
    """[T, 2] apertures: open with small noise, dropping to ``closed`` during each (start, length)."""
    rng = np.random.default_rng(seed)
    a = open_ + rng.normal(0, 0.006, (n_frames, 2))
    for start, length in blinks:
        a[start:start + length] = closed + rng.normal(0, 0.004, (length, 2))
    return a


@pytest.mark.parametrize("n_blinks", [0, 1, 5, 12])
def test_exactly_n_blinks(n_blinks):
    n = 30 * 25  # 30 s
    starts = np.linspace(40, n - 40, n_blinks).astype(int) if n_blinks else []
    blink, _ = blink_track(aperture_trace(n, [(int(s), 4) for s in starts]))
    stats = bm.blink_stats(blink, FPS)
    assert stats["n_blinks"] == n_blinks
    assert stats["rate_per_min"] == pytest.approx(n_blinks * 2.0)  # 30 s = half a minute
    if n_blinks:
        assert stats["duration_s"] == pytest.approx(4 / FPS)
        assert [e[0] for e in stats["events"]] == [int(s) for s in starts]
    else:
        assert np.isnan(stats["duration_s"])


def test_durations_and_long_closures():
    n = 20 * 25
    blink, _ = blink_track(aperture_trace(n, [(50, 3), (150, 7), (300, 40)]))  # 40 frames = 1.6 s: eyes closed, not a blink
    stats = bm.blink_stats(blink, FPS)
    assert stats["n_blinks"] == 2
    assert stats["duration_s"] == pytest.approx((3 + 7) / 2 / FPS)


def test_calibration_is_per_speaker():
    """Narrow eyes (aperture 0.15) blink the same way as wide ones (0.35): same count."""
    n = 15 * 25
    events = [(60, 4), (200, 5), (320, 3)]
    narrow, _ = blink_track(aperture_trace(n, events, open_=0.15, closed=0.03))
    wide, _ = blink_track(aperture_trace(n, events, open_=0.35, closed=0.06))
    assert bm.blink_stats(narrow, FPS)["n_blinks"] == bm.blink_stats(wide, FPS)["n_blinks"] == 3


def test_still_eyes_have_no_blink():
    blink, _ = blink_track(np.full((250, 2), 0.3) + np.random.default_rng(1).normal(0, 0.002, (250, 2)))
    assert bm.blink_stats(blink, FPS)["n_blinks"] == 0


class _Face:
    fps = FPS

    def __init__(self, aperture):
        self._a = aperture
        self.duration = len(aperture) / FPS

    def eye_aperture(self):
        return self._a


class _Ctx:
    def __init__(self, aperture):
        from evaluation.types import EvalConfig

        self.config = EvalConfig()
        self._face = _Face(aperture)

    def face(self, which):
        return self._face


def test_compute_reports_band_and_unavailable_duration():
    out = bm.compute(_Ctx(aperture_trace(60 * 25, [(100 + 150 * i, 4) for i in range(9)])), ["blink_rate_per_min", "blink_duration_s"])
    rate = out["blink_rate_per_min"]
    assert rate.value == pytest.approx(9.0) and rate.details["human_band"] == [10.5, 32.5]
    assert rate.details["in_human_band"] is False
    assert out["blink_duration_s"].value == pytest.approx(0.16)
    none = bm.compute(_Ctx(aperture_trace(250, [])), ["blink_rate_per_min", "blink_duration_s"])
    assert none["blink_rate_per_min"].value == 0.0
    assert none["blink_duration_s"].status == "unavailable" and "no blink" in none["blink_duration_s"].reason
