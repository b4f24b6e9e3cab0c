"""FaceMesh triangles and the z-buffer rasteriser (synthetic geometry with known answers)."""
import itertools

import numpy as np

from facial.face_render import mesh
from facial.face_render.raster import rasterize


def test_cached_triangles_equal_derivation_from_mediapipe():
    tris = mesh.surface_triangles()
    assert tris.shape == (852, 3)
    assert tris.min() >= 0 and tris.max() < mesh.N_SURFACE_POINTS
    derived = mesh.derive_triangles()
    assert {tuple(sorted(t)) for t in tris} == {tuple(sorted(t)) for t in derived}


def test_triangles_form_an_oriented_manifold_with_four_holes():
    tris = mesh.surface_triangles()
    directed = [(t[i], t[(i + 1) % 3]) for t in tris for i in range(3)]
    assert len(set(directed)) == len(directed)  # consistent orientation: no directed edge twice
    count = {}
    for a, b in directed:
        count[tuple(sorted((a, b)))] = count.get(tuple(sorted((a, b))), 0) + 1
    assert max(count.values()) == 2
    boundary = [e for e, c in count.items() if c == 1]
    # outer oval (36) + inner lips (20) + two eyes (16 each)
    assert len(boundary) == 36 + 20 + 16 + 16
    # Euler characteristic of a sphere with four holes
    assert 468 - len(count) + len(tris) == 2 - 4


def test_interiors_close_the_mouth_and_eye_holes():
    tris, labels = mesh.all_triangles()
    assert set(np.unique(labels)) == {mesh.SURFACE, mesh.MOUTH_INTERIOR, mesh.RIGHT_EYE_INTERIOR, mesh.LEFT_EYE_INTERIOR}
    count = {}
    for t in tris:
        for a, b in itertools.combinations(sorted(t), 2):
            count[(a, b)] = count.get((a, b), 0) + 1
    boundary = [e for e, c in count.items() if c == 1]
    assert len(boundary) == 36  # only the outer face contour remains open
    assert set(np.unique(boundary)) <= set(mesh.FACE_OVAL.tolist())


def test_two_triangles_cover_a_square_without_cracks():
    v = np.array([[10, 10, 0], [40, 10, 0], [40, 30, 0], [10, 30, 0]], float)
    r = rasterize(v, np.array([[0, 1, 2], [0, 2, 3]]), (64, 48))
    full = r.full(r.mask, False)
    assert full[10:31, 10:41].all()
    assert full.sum() == 31 * 21


def test_barycentric_interpolation_is_exact_for_linear_attributes():
    v = np.array([[3.3, 4.1, 0], [50.2, 8.7, 0], [20.5, 44.9, 0]])
    r = rasterize(v, np.array([[0, 1, 2]]), (64, 64))
    ys, xs = np.nonzero(r.mask)
    val = r.interpolate(2.0 * v[:, 0] - 0.5 * v[:, 1] + 3.0)
    expect = 2.0 * (xs + r.x0) - 0.5 * (ys + r.y0) + 3.0
    assert np.abs(val[ys, xs] - expect).max() < 1e-2  # float32, edge pixels clamped into the triangle


def test_z_buffer_keeps_the_nearest_triangle():
    # a far square and a near one overlapping it (smaller z = nearer)
    far = [[0, 0, 5], [30, 0, 5], [30, 30, 5], [0, 30, 5]]
    near = [[10, 10, -5], [40, 10, -5], [40, 40, -5], [10, 40, -5]]
    v = np.array(far + near, float)
    tris = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    for order in (tris, tris[::-1]):
        r = rasterize(v, order, (48, 48))
        tri = r.full(r.triangle, -1)
        owner = np.where(tri >= 0, order[np.maximum(tri, 0), 0], -1)
        assert (owner[15:30, 15:30] == 4).all()  # overlap: the near square
        assert (owner[2:8, 2:8] == 0).all()
        assert np.isclose(r.full(r.depth, np.inf)[20, 20], -5)


def test_off_screen_and_degenerate_triangles_cover_nothing():
    v = np.array([[-50, -50, 0], [-10, -50, 0], [-10, -10, 0], [5, 5, 0], [5, 5, 0], [9, 9, 0]], float)
    r = rasterize(v, np.array([[0, 1, 2], [3, 4, 5]]), (32, 32))
    assert r.mask.sum() == 0
