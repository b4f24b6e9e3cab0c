"""Head-motion metrics on synthetic tracks with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import head_motion as hm

FPS = 25.0


def yaw_sinusoid(amp_deg: float, freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * FPS)) / FPS
    angles = np.zeros((len(t), 3))
    angles[:, 0] = np.radians(amp_deg) * np.sin(2 * np.pi * freq * t)
    return angles


def test_yaw_sinusoid_known_std_speed_delta_p_and_jerk():
    amp, freq = 10.0, 0.5
    a = yaw_sinusoid(amp, freq, 8.0)  # 4 whole periods
    std = hm.pose_std_deg(a)
    assert std[0] == pytest.approx(amp / np.sqrt(2), rel=1e-3)
    assert std[1] == pytest.approx(0.0, abs=1e-9) and std[2] == pytest.approx(0.0, abs=1e-9)
    m = hm.measure(a, FPS)
    assert m["pose_std_deg"] == pytest.approx(amp / np.sqrt(2) / 3, rel=1e-3)
    # mean |d/dt A sin(wt)| = A w (2/pi) = 4 A f
    assert m["angular_speed_deg_s"] == pytest.approx(4 * amp * freq, rel=0.01)
    # ΔP averages over the three axes, only yaw moves
    assert m["delta_p_deg"] == pytest.approx(4 * amp * freq / FPS / 3, rel=0.01)
    # mean |A w^3 cos| = A w^3 (2/pi)
    assert m["jerk"] == pytest.approx(amp * (2 * np.pi * freq) ** 3 * 2 / np.pi, rel=0.05)


def test_geodesic_speed_ignores_the_axis():
    a = yaw_sinusoid(5.0, 1.0, 4.0)
    rolled = a[:, [2, 1, 0]]  # the same motion about the roll axis
    assert hm.angular_speed_deg_s(rolled, FPS) == pytest.approx(hm.angular_speed_deg_s(a, FPS), rel=1e-6)


def test_still_head_measures_zero():
    a = np.zeros((100, 3))
    m = hm.measure(a, FPS)
    assert m["pose_std_deg"] == 0 and m["angular_speed_deg_s"] == 0 and m["delta_p_deg"] == 0 and m["jerk"] == 0
    assert hm.motion_beats(a, FPS).size == 0


def test_bas_aligned_shifted_and_empty():
    beats = np.array([10, 40, 75, 110])
    assert hm.beat_align_score(beats, beats) == pytest.approx(1.0)
    for s in (1, 3, 6):
        assert hm.beat_align_score(beats + s, beats, sigma=3.0) == pytest.approx(np.exp(-s * s / 18.0))
    # each motion beat scores against its nearest audio beat
    assert hm.beat_align_score([10, 50], [12, 13, 50], 3.0) == pytest.approx((np.exp(-4 / 18) + 1.0) / 2)
    assert np.isnan(hm.beat_align_score([], beats)) and np.isnan(hm.beat_align_score(beats, []))


def _nods(frames: list[int], n: int) -> np.ndarray:
    """Yaw track whose angular speed has one Gaussian bump (σ = 1.5 frames) centred at each frame."""
    t = np.arange(n - 1)
    speed = sum(20.0 * np.exp(-((t - (f - 1)) ** 2) / (2 * 1.5 ** 2)) for f in frames)  # deg/s
    yaw = np.concatenate([[0.0], np.cumsum(speed / FPS)])
    a = np.zeros((n, 3))
    a[:, 0] = np.radians(yaw)
    return a


def test_motion_beats_found_at_the_nods():
    frames = [20, 55, 90, 130]
    beats = hm.motion_beats(_nods(frames, 160), FPS)
    assert len(beats) == len(frames)
    assert np.all(np.abs(beats - np.array(frames)) <= 1)


def test_bas_end_to_end_with_speech_onsets():
    from evaluation.extractors.audio import onset_frames

    sr, n = 16000, 160
    frames = [20, 55, 90, 130]
    clicks = np.zeros(int(n / FPS * sr), dtype=np.float32)
    rng = np.random.default_rng(0)
    for f in frames:
        s = int(f / FPS * sr)
        clicks[s:s + 800] = rng.normal(0, 0.5, 800) * np.exp(-np.arange(800) / 200)
    onsets = onset_frames(clicks, sr, FPS, n_frames=n)
    assert np.all(np.min(np.abs(onsets[:, None] - np.array(frames)[None]), axis=0) <= 1)
    aligned, _, reason = hm._bas(_nods(frames, n), clicks, sr, FPS, 3.0)
    shifted, _, _ = hm._bas(_nods([f + 6 for f in frames], n), clicks, sr, FPS, 3.0)
    assert reason == ""
    assert aligned > 0.9
    assert shifted < 0.3


class _Face:
    def __init__(self, pose):
        self.pose = pose.astype(np.float32)
        self.fps = FPS

    def __len__(self):
        return len(self.pose)


class _Ctx:
    """The part of EvalContext that head_motion.compute uses."""

    def __init__(self, pose, real_pose):
        from evaluation.types import EvalConfig

        self.config = EvalConfig()
        self._faces = {"video": _Face(self._pad(pose)), "footage": _Face(self._pad(real_pose))}

    @staticmethod
    def _pad(angles):
        return np.concatenate([angles, np.zeros((len(angles), 3))], axis=1)

    def face(self, which):
        return self._faces[which]


def test_ratios_to_real_footage():
    ctx = _Ctx(yaw_sinusoid(4.0, 0.5, 8.0), yaw_sinusoid(8.0, 0.5, 8.0))
    out = hm.compute(ctx, ["pose_std_deg", "pose_std_ratio", "angular_speed_ratio", "delta_p_ratio"])
    assert out["pose_std_ratio"].value == pytest.approx(0.5, rel=1e-3)
    assert out["angular_speed_ratio"].value == pytest.approx(0.5, rel=1e-2)
    assert out["delta_p_ratio"].value == pytest.approx(0.5, rel=1e-2)
    still = hm.compute(_Ctx(yaw_sinusoid(4.0, 0.5, 8.0), np.zeros((200, 3))), ["pose_std_ratio"])
    assert still["pose_std_ratio"].status == "unavailable" and "zero" in still["pose_std_ratio"].reason
