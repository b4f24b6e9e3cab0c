"""The FaceMesh triangle mesh used by both renderers, and posed landmarks from :class:`FaceParams`.

FaceMesh's 468 surface points come with a tesselation given only as edges
(``mediapipe.solutions.face_mesh_connections.FACEMESH_TESSELATION``). :func:`derive_triangles`
turns the edges into 852 consistently oriented triangles once; the result is cached next to this
file as ``facemesh_triangles.npy`` (re-derived in memory if the file is missing, no download).

The tesselation has holes over the mouth opening and both eyes. Both renderers need those
regions, so they are triangulated explicitly here as strips between the upper and lower contour
(:data:`MOUTH_INTERIOR`, :data:`RIGHT_EYE_INTERIOR`, :data:`LEFT_EYE_INTERIOR`): when the lips or
lids close, these triangles collapse to zero area, which is what a closed mouth or eye looks like.
:func:`all_triangles` returns surface + interiors with a group label per triangle.
"""
from __future__ import annotations

import functools
import itertools
import logging
from pathlib import Path

import numpy as np

from facial.speaker import face_model as fm
from facial.types import FaceParams, SpeakerProfile

log = logging.getLogger(__name__)

TRIANGLES_FILE = Path(__file__).resolve().parent / "facemesh_triangles.npy"
N_SURFACE_POINTS = 468

# Closed contours as (upper, lower) polylines from one corner to the other (FaceMesh indices).
MOUTH_UPPER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
MOUTH_LOWER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
RIGHT_EYE_UPPER = np.array([fm.RIGHT_EYE_CORNERS[0], *fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_CORNERS[1]])
RIGHT_EYE_LOWER = np.array([fm.RIGHT_EYE_CORNERS[0], *fm.RIGHT_EYE_LOWER, fm.RIGHT_EYE_CORNERS[1]])
LEFT_EYE_UPPER = np.array([fm.LEFT_EYE_CORNERS[1], *fm.LEFT_EYE_UPPER[::-1], fm.LEFT_EYE_CORNERS[0]])
LEFT_EYE_LOWER = np.array([fm.LEFT_EYE_CORNERS[1], *fm.LEFT_EYE_LOWER[::-1], fm.LEFT_EYE_CORNERS[0]])
# Outer face contour (FaceMesh "face oval"), in order around the face.
FACE_OVAL = np.array([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
                      152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])

# Triangle groups (values of the label array returned by :func:`all_triangles`).
SURFACE, MOUTH_INTERIOR, RIGHT_EYE_INTERIOR, LEFT_EYE_INTERIOR = 0, 1, 2, 3


def _strip(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Triangulate the region between two polylines sharing their end points."""
    if len(upper) != len(lower) or upper[0] != lower[0] or upper[-1] != lower[-1]:
        raise ValueError("strip contours must have equal length and shared end points")
    tris = []
    for i in range(len(upper) - 1):
        for t in ((upper[i], upper[i + 1], lower[i + 1]), (upper[i], lower[i + 1], lower[i])):
            if len(set(t)) == 3:
                tris.append(t)
    return np.array(tris, dtype=np.int32)


def derive_triangles(edges=None, reference: np.ndarray | None = None) -> np.ndarray:
    """Triangles ``[852, 3]`` from FaceMesh's tesselation edges.

    Every 3-clique of the edge graph is a candidate; the tesselation is a manifold, so an edge
    borders at most two faces, and the few cliques whose three edges each border three candidates
    are not faces (they are removed). Faces are then oriented consistently by propagation over
    shared edges; with a frontal ``reference`` shape ``[478, ≥2]`` (x right, y down) the global
    sign is chosen so that its triangles have positive :func:`signed_area`.
    """
    if edges is None:
        from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION as edges
    undirected = {tuple(sorted(map(int, e))) for e in edges}
    adj: dict[int, set[int]] = {}
    for a, b in undirected:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    cliques = sorted({tuple(sorted((a, b, c))) for a, b in undirected for c in adj[a] & adj[b]})
    count: dict[tuple[int, int], int] = {}
    for t in cliques:
        for e in itertools.combinations(t, 2):
            count[e] = count.get(e, 0) + 1
    faces = [t for t in cliques if not all(count[e] >= 3 for e in itertools.combinations(t, 2))]
    # orient consistently: neighbours traverse their shared edge in opposite directions
    by_edge: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(faces):
        for e in itertools.combinations(t, 2):
            by_edge.setdefault(e, []).append(i)
    oriented: list[tuple[int, int, int] | None] = [None] * len(faces)
    for seed in range(len(faces)):
        if oriented[seed] is not None:
            continue
        oriented[seed] = faces[seed]
        stack = [seed]
        while stack:
            i = stack.pop()
            a, b, c = oriented[i]
            for u, v in ((a, b), (b, c), (c, a)):
                for j in by_edge[tuple(sorted((u, v)))]:
                    if j == i or oriented[j] is not None:
                        continue
                    w = next(x for x in faces[j] if x not in (u, v))
                    oriented[j] = (v, u, w)  # opposite traversal of the shared edge
                    stack.append(j)
    tris = np.array(oriented, dtype=np.int32)
    if reference is not None:
        area = signed_area(reference[:, :2], tris)
        if np.median(area) < 0:
            tris = tris[:, [0, 2, 1]]
    return tris


def signed_area(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed area ``[..., F]`` of each triangle of 2-D ``points`` (image axes x right, y down; the cached
    triangles are positive on a frontal face)."""
    p = np.asarray(points, dtype=np.float64)[..., :2]
    a, b, c = p[..., triangles[:, 0], :], p[..., triangles[:, 1], :], p[..., triangles[:, 2], :]
    return 0.5 * ((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))


@functools.lru_cache(maxsize=1)
def surface_triangles() -> np.ndarray:
    """The 852 FaceMesh surface triangles ``[F, 3]`` (int32), from the cached file or derived."""
    if TRIANGLES_FILE.exists():
        tris = np.load(TRIANGLES_FILE).astype(np.int32)
    else:
        log.info("%s missing; deriving FaceMesh triangles from mediapipe's tesselation", TRIANGLES_FILE.name)
        tris = derive_triangles()
    tris.setflags(write=False)
    return tris


@functools.lru_cache(maxsize=1)
def all_triangles() -> tuple[np.ndarray, np.ndarray]:
    """Surface + mouth-interior + eye-interior triangles ``[F', 3]`` and their group labels ``[F']``."""
    parts = [(surface_triangles(), SURFACE),
             (_strip(MOUTH_UPPER, MOUTH_LOWER), MOUTH_INTERIOR),
             (_strip(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), RIGHT_EYE_INTERIOR),
             (_strip(LEFT_EYE_UPPER, LEFT_EYE_LOWER), LEFT_EYE_INTERIOR)]
    tris = np.concatenate([p for p, _ in parts]).astype(np.int32)
    labels = np.concatenate([np.full(len(p), g, dtype=np.int8) for p, g in parts])
    tris.setflags(write=False)
    labels.setflags(write=False)
    return tris, labels


def mouth_polygon(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip contour ``[..., 20, 2]`` as a closed polygon (upper then lower reversed)."""
    idx = np.concatenate([MOUTH_UPPER, MOUTH_LOWER[-2:0:-1]])
    return np.asarray(landmarks)[..., idx, :2]


def eye_polygon(landmarks: np.ndarray, side: str) -> np.ndarray:
    """Lid contour ``[..., 16, 2]`` of the ``"right"`` or ``"left"`` eye as a closed polygon."""
    upper, lower = (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER) if side == "right" else (LEFT_EYE_UPPER, LEFT_EYE_LOWER)
    idx = np.concatenate([upper, lower[-2:0:-1]])
    return np.asarray(landmarks)[..., idx, :2]


def posed_landmarks(profile: SpeakerProfile, params: FaceParams, basis: fm.ExpressionBasis | None = None) -> np.ndarray:
    """Face-model landmarks ``[T, 478, 3]`` in the profile's pixel frame for ``params``."""
    basis = basis or default_basis()
    if params.n_expression != basis.k:
        raise ValueError(f"params have {params.n_expression} expression coefficients but the basis has {basis.k}; "
                         "use parameters made with the same expression basis as the speaker profile")
    return fm.landmarks_from_params(params.pose, params.expression, params.blink, profile.identity, basis, profile.blink_shape)


@functools.lru_cache(maxsize=1)
def default_basis() -> fm.ExpressionBasis:
    """The expression basis shipped with the package (loaded once)."""
    return fm.ExpressionBasis.from_pretrained()


def face_height(landmarks: np.ndarray) -> np.ndarray:
    """Forehead–chin distance in pixels ``[...]`` (a size unit for margins and feathering)."""
    lm = np.asarray(landmarks)
    return np.linalg.norm(lm[..., fm.CHIN, :2] - lm[..., fm.FOREHEAD, :2], axis=-1)
