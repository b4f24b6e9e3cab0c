"""A small vectorised triangle rasteriser with a z-buffer (numpy, CPU).

:func:`rasterize` covers the pixels of a triangle mesh projected orthographically onto an image:
for every pixel centre (integer coordinates, the convention of :func:`cv2.remap`) inside a
triangle it keeps the nearest triangle (smallest z; larger z = farther, as in FaceMesh) and the
barycentric coordinates of the pixel in it. :meth:`Raster.interpolate` then turns per-vertex
attributes (texture coordinates, source positions for a warp, colours) into per-pixel values.

The per-pixel loops (coverage test, z-buffer, interpolation) are compiled with Numba, so a 512²
face mesh rasterises in about a millisecond without a GPU (the first call in a new environment
compiles them, a few seconds, and caches the result next to the module).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

EDGE_EPS = 1e-4  # pixels exactly on a shared edge belong to both triangles; z-buffer picks one


@dataclass
class Raster:
    """Result of :func:`rasterize` over the box ``(x0, y0)`` + ``shape`` of an image of ``size``.

    - ``triangle [h, w]`` int32: index of the visible triangle, -1 where no triangle covers the pixel.
    - ``bary [h, w, 3]`` float32: barycentric coordinates in that triangle (0 where uncovered).
    - ``depth [h, w]`` float32: interpolated z (inf where uncovered).
    """

    triangle: np.ndarray
    bary: np.ndarray
    depth: np.ndarray
    x0: int
    y0: int
    size: tuple[int, int]
    triangles: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """``[h, w]`` bool: pixels covered by the mesh."""
        return self.triangle >= 0

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` (exclusive end) of the rasterised region in the image."""
        h, w = self.triangle.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def interpolate(self, attributes: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Per-vertex ``attributes [N, C]`` → per-pixel ``[h, w, C]`` float32 (``fill`` where uncovered)."""
        attributes = np.asarray(attributes, dtype=np.float32)
        squeeze = attributes.ndim == 1
        if squeeze:
            attributes = attributes[:, None]
        out = _interpolate_kernel(self.triangle, self.bary, np.asarray(self.triangles, np.int64),
                                  np.ascontiguousarray(attributes), np.float32(fill))
        return out[..., 0] if squeeze else out

    def crop(self, box: tuple[int, int, int, int]) -> Raster:
        """The part of this raster inside image box ``(x0, y0, x1, y1)`` (which must lie within :attr:`box`)."""
        x0, y0, x1, y1 = box
        sub = (slice(y0 - self.y0, y1 - self.y0), slice(x0 - self.x0, x1 - self.x0))
        return Raster(self.triangle[sub], self.bary[sub], self.depth[sub], x0, y0, self.size, self.triangles)

    def full(self, values: np.ndarray, fill=0) -> np.ndarray:
        """Paste a box-sized ``values [h, w, ...]`` into a full-image array of ``size`` filled with ``fill``."""
        w, h = self.size
        out = np.full((h, w) + values.shape[2:], fill, dtype=values.dtype)
        x0, y0, x1, y1 = self.box
        out[y0:y1, x0:x1] = values
        return out


def rasterize(vertices: np.ndarray, triangles: np.ndarray, size: tuple[int, int], *, margin: int = 1) -> Raster:
    """Rasterise ``vertices [N, 3]`` (x, y pixels, z depth; larger z = farther) with ``triangles [F, 3]``.

    ``size`` is the image (width, height). Only the bounding box of the visible mesh (plus
    ``margin``) is returned, see :class:`Raster`. Degenerate (zero-area) triangles cover nothing.
    A pixel centre covered by several triangles keeps the nearest (ties: the lowest triangle id).
    """
    width, height = int(size[0]), int(size[1])
    v = np.asarray(vertices, dtype=np.float64)
    tris = np.asarray(triangles, dtype=np.int64)
    if v.shape[1] < 3:
        v = np.concatenate([v[:, :2], np.zeros((len(v), 1))], axis=1)
    if len(tris) == 0 or len(v) == 0:
        return _empty(width, height, tris)
    used = v[tris.ravel()]
    # work inside the vertices' bounding box (clipped to the image), with room for the margin
    ox = int(np.clip(np.floor(used[:, 0].min()) - margin - 1, 0, width))
    oy = int(np.clip(np.floor(used[:, 1].min()) - margin - 1, 0, height))
    ex = int(np.clip(np.ceil(used[:, 0].max()) + margin + 2, ox, width))
    ey = int(np.clip(np.ceil(used[:, 1].max()) + margin + 2, oy, height))
    if ex <= ox or ey <= oy:
        return _empty(width, height, tris)
    ids, bary, depth, box = _rasterize_kernel(np.ascontiguousarray(v[:, :3]), np.ascontiguousarray(tris), ox, oy,
                                              ex - ox, ey - oy, EDGE_EPS)
    if box[0] < 0:
        return _empty(width, height, tris)
    x0, y0 = max(int(box[0]) - margin, 0), max(int(box[1]) - margin, 0)
    x1, y1 = min(int(box[2]) + margin + 1, width), min(int(box[3]) + margin + 1, height)
    sub = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
    return Raster(ids[sub].copy(), bary[sub].copy(), depth[sub].copy(), x0, y0, (width, height), tris)


@numba.njit(cache=True, nogil=True)
def _rasterize_kernel(v, tris, ox, oy, width, height, eps):  # pragma: no cover - compiled; tested through rasterize
    """Per-pixel z-buffer over the image region ``(ox, oy)`` + ``(width, height)``.

    Returns that region's ``(ids, bary, depth)`` and the image box ``(x0, y0, x1, y1)`` (inclusive)
    of the covered pixels, ``-1`` when none is.
    """
    ids = np.full((height, width), -1, np.int32)
    bary = np.zeros((height, width, 3), np.float32)
    depth = np.full((height, width), np.inf, np.float32)
    zbuf = np.full((height, width), np.inf)
    box = np.array([-1, -1, -1, -1], np.int64)
    for f in range(tris.shape[0]):
        i0, i1, i2 = tris[f, 0], tris[f, 1], tris[f, 2]
        ax, ay, az = v[i0, 0], v[i0, 1], v[i0, 2]
        e1x, e1y = v[i1, 0] - ax, v[i1, 1] - ay
        e2x, e2y = v[i2, 0] - ax, v[i2, 1] - ay
        denom = e1x * e2y - e1y * e2x
        if abs(denom) <= 1e-9:
            continue
        inv = 1.0 / denom
        xmin = min(ax, v[i1, 0], v[i2, 0])
        xmax = max(ax, v[i1, 0], v[i2, 0])
        ymin = min(ay, v[i1, 1], v[i2, 1])
        ymax = max(ay, v[i1, 1], v[i2, 1])
        bx0 = max(int(np.ceil(xmin - eps)), ox)
        bx1 = min(int(np.floor(xmax + eps)), ox + width - 1)
        by0 = max(int(np.ceil(ymin - eps)), oy)
        by1 = min(int(np.floor(ymax + eps)), oy + height - 1)
        z1, z2 = v[i1, 2], v[i2, 2]
        for py in range(by0, by1 + 1):
            dy = py - ay
            for px in range(bx0, bx1 + 1):
                dx = px - ax
                l1 = (dx * e2y - dy * e2x) * inv
                l2 = (e1x * dy - e1y * dx) * inv
                l0 = 1.0 - l1 - l2
                if l0 < -eps or l1 < -eps or l2 < -eps:
                    continue
                z = l0 * az + l1 * z1 + l2 * z2
                qy, qx = py - oy, px - ox
                if z < zbuf[qy, qx]:
                    zbuf[qy, qx] = z
                    ids[qy, qx] = f
                    c0, c1, c2 = max(l0, 0.0), max(l1, 0.0), max(l2, 0.0)
                    tot = c0 + c1 + c2
                    bary[qy, qx, 0] = c0 / tot
                    bary[qy, qx, 1] = c1 / tot
                    bary[qy, qx, 2] = c2 / tot
                    depth[qy, qx] = z
                    if box[0] < 0:
                        box[0], box[1], box[2], box[3] = px, py, px, py
                    else:
                        box[0], box[1] = min(box[0], px), min(box[1], py)
                        box[2], box[3] = max(box[2], px), max(box[3], py)
    return ids, bary, depth, box


@numba.njit(cache=True, nogil=True)
def _interpolate_kernel(ids, bary, triangles, attributes, fill):  # pragma: no cover - compiled; tested through Raster
    h, w = ids.shape
    c = attributes.shape[1]
    out = np.full((h, w, c), fill, np.float32)
    for y in range(h):
        for x in range(w):
            f = ids[y, x]
            if f < 0:
                continue
            t0, t1, t2 = triangles[f, 0], triangles[f, 1], triangles[f, 2]
            b0, b1, b2 = bary[y, x, 0], bary[y, x, 1], bary[y, x, 2]
            for k in range(c):
                out[y, x, k] = b0 * attributes[t0, k] + b1 * attributes[t1, k] + b2 * attributes[t2, k]
    return out


def _empty(width: int, height: int, tris: np.ndarray) -> Raster:
    return Raster(np.full((0, 0), -1, np.int32), np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), 0, 0,
                  (width, height), tris)
