"""Head-motion calibration to the speaker's own footage (controls.match_head_motion), known answers."""
from __future__ import annotations

import numpy as np
import pytest

from facial.audio2face import controls

FPS = 25.0


def _sway(n: int, amp: float, freqs=(0.2, 0.45, 0.9), seed: int = 0) -> np.ndarray:
    """A [n, 6] pose: rotations are sums of sinusoids of amplitude ``amp`` (rad), small translation, scale 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    pose = np.zeros((n, 6))
    for axis in range(5):
        for f in freqs:
            pose[:, axis] += amp / len(freqs) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    pose[:, 3:5] *= 20  # pixels
    pose[:, 5] = 1.0 + 0.01 * pose[:, 0]
    return pose


def test_window_std_known_answers():
    step = np.r_[np.zeros(50), np.ones(50)][:, None]
    assert controls.window_std(step, 100)[0] == pytest.approx(0.5)
    assert controls.window_std(step, 500)[0] == pytest.approx(0.5)  # longer than the track: the whole track
    short = controls.window_std(step, 10)[0]
    assert 0 < short < 0.1  # most 10-frame windows see one level only


def test_angular_speed_of_a_constant_turn():
    n = 50
    pose = np.zeros((n, 6))
    pose[:, 0] = np.radians(2.0) * np.arange(n)  # 2° per frame of yaw
    assert controls.angular_speed_deg_s(pose, FPS) == pytest.approx(2.0 * FPS, rel=1e-6)
    assert controls.angular_speed_deg_s(pose[:1], FPS) == 0.0


def test_a_damped_copy_is_restored_exactly():
    """The prediction is the speaker's own motion at 40 % amplitude: calibration gives it back."""
    own = _sway(1000, 0.1)
    mean = own.mean(0)
    damped = mean + 0.4 * (own - mean)
    out, info = controls.match_head_motion(damped, mean, own, FPS, 1.0)
    assert info["sigma"] == 0.0
    np.testing.assert_allclose(out, own, atol=1e-4)


def test_damped_and_jittery_motion_lands_on_the_speakers_spread_and_speed():
    own = _sway(1500, 0.08, seed=1)
    mean = own.mean(0)
    rng = np.random.default_rng(2)
    pred = mean + 0.3 * (_sway(600, 0.08, seed=3) - mean) + rng.normal(0, 0.004, (600, 6))  # small spread, frame jitter
    before = controls.angular_speed_deg_s(pred, FPS) / controls.angular_speed_deg_s(own, FPS)
    out, info = controls.match_head_motion(pred, mean, own, FPS, 1.0)
    std_ratio = out[:, :3].std(0) / controls.window_std(own, 600)[:3]
    speed_ratio = controls.angular_speed_deg_s(out, FPS) / controls.angular_speed_deg_s(own, FPS)
    assert np.all((std_ratio > 0.9) & (std_ratio < 1.1)), std_ratio
    assert 0.9 < speed_ratio < 1.1, (speed_ratio, before, info)
    assert info["sigma"] > 0  # the jitter had to be smoothed away


def test_strength_scales_and_zero_is_still():
    own = _sway(500, 0.1)
    mean = own.mean(0)
    pred = mean + 0.5 * (_sway(200, 0.1, seed=4) - mean)
    one, _ = controls.match_head_motion(pred, mean, own, FPS, 1.0)
    two, _ = controls.match_head_motion(pred, mean, own, FPS, 2.0)
    zero, _ = controls.match_head_motion(pred, mean, own, FPS, 0.0)
    np.testing.assert_allclose(two - mean, 2 * (one - mean), atol=1e-5)
    assert np.ptp(zero, axis=0).max() < 1e-6
    with pytest.raises(ValueError):
        controls.match_head_motion(pred, mean, own, FPS, -1.0)


def test_a_still_prediction_is_not_blown_up_past_the_cap():
    own = _sway(500, 0.1)
    mean = own.mean(0)
    pred = mean + 1e-7 * (_sway(200, 0.1, seed=5) - mean)
    out, info = controls.match_head_motion(pred, mean, own, FPS, 1.0, max_gain=4.0)
    assert max(info["gain"]) <= 4.0 + 1e-9
    assert np.abs(out - mean).max() < 1e-3


def test_untracked_frames_do_not_count_as_motion():
    pose = np.zeros((40, 6))
    pose[20:, 0] = 0.5  # a jump of 0.5 rad where the face was lost (frames 19-20 invalid)
    valid = np.ones(40, bool)
    valid[19:21] = False
    pose[19:21, 0] = 0.25
    assert controls.angular_speed_deg_s(pose, FPS) > 10
    assert controls.angular_speed_deg_s(pose, FPS, valid) == pytest.approx(0.0, abs=1e-6)


def test_animate_calibrates_to_the_profile_and_can_be_switched_off(trained_tiny):
    """animate(): with the calibration, yaw spread and angular speed land within 30 % of the profile's own."""
    import dataclasses

    from a2f_synthetic import make_speaker
    from facial.audio2face import animate

    profile, audio = make_speaker(40.0, seed=11)
    out = animate(trained_tiny, audio, profile)
    own = profile.params.pose
    std_ratio = out.pose[:, :3].std(0) / controls.window_std(own, len(out))[:3]
    speed_ratio = controls.angular_speed_deg_s(out.pose, FPS) / controls.angular_speed_deg_s(own, FPS)
    assert np.all((std_ratio > 0.7) & (std_ratio < 1.3)), std_ratio
    assert 0.7 < speed_ratio < 1.3, speed_ratio
    off = trained_tiny.copy()
    off.config.inference = dataclasses.replace(off.config.inference, motion_calibration=False)
    plain = animate(off, audio, profile)
    assert not np.allclose(plain.pose, out.pose)
