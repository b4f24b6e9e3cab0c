"""FaceMesh triangles: the cached surface, its manifold structure and the closing interiors."""
import itertools

import numpy as np

from facial.face_render import mesh


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
