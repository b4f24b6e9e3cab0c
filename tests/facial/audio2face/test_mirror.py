"""Mirrored faces (issue #13 item 3): the FaceMesh mirror map, and a mirrored clip's parameters that
rebuild exactly the left–right flipped landmarks of the original (known answer on a basis closed
under mirroring)."""
from __future__ import annotations

import numpy as np

from facial import layout
from facial.audio2face.data import ClipData, mirror_clip
from facial.speaker import face_model as fm


def test_the_mirror_map_swaps_left_and_right_and_keeps_the_midline():
    m = fm.MIRROR
    assert sorted(m) == list(range(fm.N_POINTS)) and (m[m] == np.arange(fm.N_POINTS)).all()  # a permutation, an involution
    i = np.arange(20)
    for contour in (fm.LIPS_OUTER, fm.LIPS_INNER):  # the corners swap, the lips' midpoints stay
        np.testing.assert_array_equal(m[contour], contour[(10 - i) % 20])
    for right, left in ((fm.RIGHT_EYE_UPPER, fm.LEFT_EYE_UPPER), (fm.RIGHT_EYE_LOWER, fm.LEFT_EYE_LOWER),
                        (fm.RIGHT_EYE_CORNERS, fm.LEFT_EYE_CORNERS)):
        np.testing.assert_array_equal(m[np.asarray(right)], np.asarray(left))
    for midline in (fm.FOREHEAD, fm.CHIN, fm.UPPER_LIP_INNER, fm.LOWER_LIP_INNER, 1, 4):
        assert m[midline] == midline
    assert np.isin(fm.IRIS, m[fm.IRIS]).all()


def _symmetric_setup(k: int = 6, seed: int = 0):
    """A symmetric identity and a basis closed under mirroring (mirror-even and mirror-odd components)."""
    rng = np.random.default_rng(seed)
    identity = rng.normal(size=(fm.N_POINTS, 3))
    identity = 0.5 * (identity + fm.mirror_points(identity))
    raw = rng.normal(size=(k // 2, fm.N_POINTS, 3))
    comps = np.concatenate([raw + fm.mirror_points(raw), raw - fm.mirror_points(raw)])
    comps[:, fm.EYE_REGION] = 0.0
    q, _ = np.linalg.qr(comps.reshape(k, -1).T)
    basis = fm.ExpressionBasis(q.T.reshape(k, fm.N_POINTS, 3).astype(np.float32), np.ones(k, np.float32))
    return identity.astype(np.float32), basis


def test_a_mirrored_clip_rebuilds_the_flipped_face():
    identity, basis = _symmetric_setup()
    matrix = fm.expression_mirror(basis)
    np.testing.assert_allclose(matrix @ matrix, np.eye(basis.k), atol=1e-5)  # mirroring twice is the identity
    rng = np.random.default_rng(1)
    n = 40
    t = np.arange(n) / 25.0
    pose = np.stack([0.2 * np.sin(t), 0.1 * np.cos(t), 0.15 * np.sin(2 * t), 260 + 5 * t, 250 + np.sin(t), 100 + t], 1).astype(np.float32)
    expression = rng.normal(0, 0.05, size=(n, basis.k)).astype(np.float32)
    blink = np.clip(rng.normal(0.2, 0.3, n), 0, 1).astype(np.float32)
    params = layout.to_array(pose, expression, blink)
    clip = ClipData("c", "s", np.zeros((n, 4, 3), np.float32), params, 25.0, pose.mean(0), pose.std(0))
    mirrored = mirror_clip(clip, matrix)
    blink_shape = fm.default_blink_shape(identity)
    original = fm.landmarks_from_params(pose, expression, blink, identity, basis, blink_shape)
    flipped = original[:, fm.MIRROR].copy()
    flipped[..., 0] = 512.0 - flipped[..., 0]                                     # the video flipped left-right
    pose_m, expression_m, blink_m = layout.from_array(mirrored.params)
    rebuilt = fm.landmarks_from_params(pose_m, expression_m, blink_m, identity, basis, blink_shape)
    shift = (flipped[..., 0] - rebuilt[..., 0]).mean()                             # tx is mirrored about the clip's mean
    np.testing.assert_allclose(rebuilt[..., 0] + shift, flipped[..., 0], atol=2e-3)
    np.testing.assert_allclose(rebuilt[..., 1:], flipped[..., 1:], atol=2e-3)
    np.testing.assert_array_equal(mirrored.features, clip.features)                # same speech
    np.testing.assert_allclose(mirrored.pose_mean[[0, 2]], -clip.pose_mean[[0, 2]])
    np.testing.assert_allclose(mirror_clip(mirrored, matrix).params, clip.params, atol=1e-4)


def test_the_shipped_basis_keeps_a_mirrored_mouth_opening():
    """On the shipped PCA basis (not exactly closed under mirroring) the mirrored expression keeps the
    mouth opening of tracked-like expressions (a mix of the leading components)."""
    basis = fm.ExpressionBasis.from_pretrained()
    matrix = fm.expression_mirror(basis)
    rng = np.random.default_rng(0)
    scale = np.sqrt(basis.explained_variance / basis.explained_variance.sum())
    expression = (rng.normal(size=(200, basis.k)) * scale * 0.5).astype(np.float32)

    def gap(e):  # the inner lips' midpoints lie on the midline: mirroring must keep their vertical gap
        d = basis.expand(e)
        return d[:, fm.LOWER_LIP_INNER, 1] - d[:, fm.UPPER_LIP_INNER, 1]

    assert np.corrcoef(gap(expression), gap(expression @ matrix))[0, 1] > 0.95


def test_pretraining_with_mirror_adds_a_mirrored_copy_of_every_clip():
    import torch

    from facial.audio2face.trainer import TrainConfig
    from facial.training.pretrain import pretrain
    from tests.facial.audio2face.a2f_synthetic import make_clips, synthetic_basis, tiny_config

    torch.set_num_threads(1)
    cfg = tiny_config()
    clips = make_clips(6.0, [1, 2], cfg)
    model, _ = pretrain(clips, cfg, TrainConfig(steps=3, batch_size=4, stride=8, mirror=True), basis=synthetic_basis(), progress=False)
    assert model.config.provenance["clips"] == ["synth1", "synth2", "synth1[mirror]", "synth2[mirror]"]
    assert model.config.provenance["train"]["mirror"] is True
