import numpy as np
import pytest

from facial.speaker import face_model as fm


def _shape(seed=0):
    """A random but face-like shape: a flattened ellipsoid cloud with the eye corners in place."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(fm.N_POINTS, 3)) * np.array([1.0, 1.3, 0.5])
    pts[fm.RIGHT_EYE_CORNERS[0]] = [-0.9, -0.4, 0.1]
    pts[fm.LEFT_EYE_CORNERS[0]] = [0.9, -0.4, 0.1]
    pts[fm.CHIN] = [0.0, 1.6, 0.0]
    return pts


def test_euler_round_trip_and_convention():
    rng = np.random.default_rng(1)
    ang = rng.uniform(-1.2, 1.2, size=(200, 3))
    np.testing.assert_allclose(fm.matrix_to_euler(fm.euler_to_matrix(ang)), ang, atol=1e-9)
    nose = np.array([0.0, 0.0, -1.0])  # points at the camera
    assert (fm.euler_to_matrix(np.array([0.3, 0, 0])) @ nose)[0] < 0   # +yaw: nose to image-left
    assert (fm.euler_to_matrix(np.array([0, 0.3, 0])) @ nose)[1] > 0   # +pitch: nose down
    assert (fm.euler_to_matrix(np.array([0, 0, 0.3])) @ np.array([1.0, 0, 0]))[1] > 0  # +roll: clockwise


def test_umeyama_recovers_similarity():
    src = _shape()
    rot = fm.euler_to_matrix(np.array([0.2, -0.1, 0.3]))
    dst = 2.5 * src @ rot.T + np.array([10.0, -4.0, 3.0])
    s, r, t = fm.umeyama(src, dst)
    assert s == pytest.approx(2.5)
    np.testing.assert_allclose(r, rot, atol=1e-9)
    np.testing.assert_allclose(t, [10, -4, 3], atol=1e-9)


def test_fit_pose_inverts_landmarks_from_params():
    identity = fm.canonical_frame(_shape())
    basis = fm.ExpressionBasis(np.zeros((2, fm.N_POINTS, 3), np.float32), np.zeros(2, np.float32))
    pose = np.array([[0.25, -0.15, 0.1, 200.0, 150.0, 80.0]], np.float32)
    lm = fm.landmarks_from_params(pose, np.zeros((1, 2)), np.zeros(1), identity, basis, np.zeros_like(identity))
    fitted, canonical = fm.fit_pose(identity, lm[0])
    np.testing.assert_allclose(fitted, pose[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(canonical, identity, atol=1e-4)


def test_canonical_frame_is_pose_invariant():
    shape = _shape(3)
    rot = fm.euler_to_matrix(np.array([0.4, 0.2, -0.3]))
    moved = 37.0 * shape @ rot.T + 5.0
    np.testing.assert_allclose(fm.canonical_frame(moved), fm.canonical_frame(shape), atol=1e-4)
    c = fm.canonical_frame(shape)
    assert np.sqrt((c[fm.STABLE] ** 2).sum(1).mean()) == pytest.approx(1.0, abs=1e-5)


def test_packaged_basis():
    basis = fm.ExpressionBasis.from_pretrained()
    flat = basis.components.reshape(basis.k, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(basis.k), atol=1e-4)
    assert np.abs(basis.components[:, fm.EYE_REGION]).max() == 0
    assert basis.meta["n_clips"] >= 20 and 0.5 < basis.explained_variance.sum() <= 1.0
    coeffs = np.random.default_rng(0).normal(size=(4, basis.k)).astype(np.float32)
    np.testing.assert_allclose(basis.project(basis.expand(coeffs)), coeffs, atol=1e-4)


def test_basis_save_load(tmp_path):
    comps = np.linalg.qr(np.random.default_rng(0).normal(size=(fm.N_POINTS * 3, 3)))[0].T.reshape(3, fm.N_POINTS, 3)
    b = fm.ExpressionBasis(comps.astype(np.float32), np.array([0.5, 0.3, 0.1], np.float32), "test")
    b.save_pretrained(tmp_path / "b")
    c = fm.ExpressionBasis.from_pretrained(tmp_path / "b")
    np.testing.assert_array_equal(c.components, b.components)
    assert c.basis_id == "test" and c.k == 3


def test_missing_checkpoint_message(tmp_path):
    from facial.hub import CheckpointNotFound

    (tmp_path / "x").mkdir()
    with pytest.raises(CheckpointNotFound, match="lacks"):
        fm.ExpressionBasis.from_pretrained(tmp_path / "x")
    with pytest.raises(CheckpointNotFound, match="not a Hugging Face repo id"):
        fm.ExpressionBasis.from_pretrained(tmp_path / "nope" / "deeper" / "still")


def test_mouth_opening():
    lm = np.zeros((2, fm.N_POINTS, 3))
    lm[:, fm.FOREHEAD, 1] = 0
    lm[:, fm.CHIN, 1] = 100
    lm[:, fm.UPPER_LIP_INNER, 1] = 60
    lm[:, fm.LOWER_LIP_INNER, 1] = [60, 70]
    np.testing.assert_allclose(fm.mouth_opening(lm), [0.0, 0.1], atol=1e-6)
