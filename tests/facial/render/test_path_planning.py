"""The warp renderer's path planning: pose features, the smooth source path (dynamic programme with
play / hold / reverse / jump), the coherent mouth choice (synthetic costs with known answers), and
the source path on a real dev clip."""
import numpy as np
import pytest

from facial import layout
from facial.face_render import WarpRenderer
from facial.face_render.path_planning import coherent_choice, pose_features, smooth_path
from facial.face_render.warp import WarpConfig
from facial.types import FaceParams


def test_pose_features_measure_poses_in_cost_units():
    cfg = WarpConfig()
    pose = np.zeros((4, layout.POSE_DIM))
    pose[:, layout.SCALE] = 200.0
    pose[1, layout.YAW] = cfg.rotation_sigma
    pose[2, layout.ROLL] = cfg.roll_sigma
    pose[3, layout.SCALE] = 200.0 * np.exp(cfg.scale_sigma)
    f = pose_features(pose, cfg)
    assert f.shape == (4, layout.POSE_DIM)
    np.testing.assert_allclose(np.linalg.norm(f[1:] - f[0], axis=1), 1.0)


def test_smooth_path_plays_the_clip_when_the_target_does():
    t_len, s_len = 10, 20
    unary = (np.arange(s_len)[None, :] - np.arange(t_len)[:, None] - 3.0) ** 2
    path, total, jumps = smooth_path(unary, np.arange(s_len), WarpConfig(), None)
    assert path.tolist() == list(range(3, 13)) and total == 0.0 and jumps == 0


def test_smooth_path_crosses_a_gap_in_the_pool_only_by_jumping():
    frames = np.array([0, 1, 2, 3, 4, 100, 101, 102, 103, 104])  # two stretches of the clip
    wanted = np.arange(10)  # the first stretch, then the second
    unary = 100.0 * (np.arange(10)[None, :] - wanted[:, None]) ** 2
    cfg = WarpConfig(jump_cost=1.0, min_jump_gap=5)
    path, total, jumps = smooth_path(unary, frames, cfg, np.zeros((10, 10)))
    assert path.tolist() == wanted.tolist() and jumps == 1 and total == pytest.approx(1.0)
    path, _, jumps = smooth_path(unary, frames, cfg, None)  # no jumps: stays within one stretch
    assert jumps == 0 and (path.max() < 5 or path.min() >= 5)


def test_coherent_choice_prefers_continuing_the_clip():
    frames = np.arange(10)
    cost = np.full((4, 10), 5.0)
    for t in range(4):
        cost[t, t] = 0.0  # plays forwards: free transitions
        cost[t, 9 - t] = -0.1  # slightly cheaper, but plays backwards: a switch every frame
    out = coherent_choice(cost, frames, n_candidates=3, switch_cost=1.5, hold_cost=0.3)
    assert out.tolist() == [0, 1, 2, 3]


@pytest.mark.shared_data
def test_source_path_is_smooth(clip_profile, clip_frames):
    # drive with the clip's pose played backwards: the path should play the clip, not cut around
    p = clip_profile.params
    params = FaceParams(p.pose[::-1].copy(), p.expression, p.blink, p.fps)
    plan = WarpRenderer(clip_profile, frames=clip_frames).plan(params)
    steps = np.abs(np.diff(plan.source))
    assert plan.jumps == 0 and steps.max() <= 1
    assert np.mean(steps == 1) > 0.8  # mostly playing, rarely holding
