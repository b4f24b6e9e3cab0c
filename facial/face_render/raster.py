"""A small vectorised triangle rasteriser with a z-buffer (numpy, CPU).

:func:`rasterize` covers the pixels of a triangle mesh projected orthographically onto an image:
for every pixel centre (integer coordinates, the convention of :func:`cv2.remap`) inside a
triangle it keeps the nearest triangle (smallest z; larger z = farther, as in FaceMesh) and the
barycentric coordinates of the pixel in it. :meth:`Raster.interpolate` then turns per-vertex
attributes (texture coordinates, source positions for a warp, colours) into per-pixel values.

All candidate pixels of all triangle bounding boxes are generated at once, tested and
depth-sorted with numpy, so a 512² face renders in a few milliseconds without a GPU.
"""
from __future__ import annotations

from dataclasses import dataclass

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
        out = np.full(self.triangle.shape + (attributes.shape[1],), fill, dtype=np.float32)
        m = self.mask
        tri = self.triangles[self.triangle[m]]  # [n, 3]
        b = self.bary[m]  # [n, 3]
        out[m] = np.einsum("nk,nkc->nc", b, attributes[tri])
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
    """
    width, height = int(size[0]), int(size[1])
    v = np.asarray(vertices, dtype=np.float64)
    tris = np.asarray(triangles, dtype=np.int64)
    if v.shape[1] < 3:
        v = np.concatenate([v[:, :2], np.zeros((len(v), 1))], axis=1)
    p = v[tris]  # [F, 3, 3]
    xs, ys = p[..., 0], p[..., 1]
    bx0 = np.clip(np.ceil(xs.min(1) - EDGE_EPS), 0, width).astype(np.int64)
    bx1 = np.clip(np.floor(xs.max(1) + EDGE_EPS), -1, width - 1).astype(np.int64)
    by0 = np.clip(np.ceil(ys.min(1) - EDGE_EPS), 0, height).astype(np.int64)
    by1 = np.clip(np.floor(ys.max(1) + EDGE_EPS), -1, height - 1).astype(np.int64)
    bw = np.maximum(bx1 - bx0 + 1, 0)
    bh = np.maximum(by1 - by0 + 1, 0)
    ax, ay = xs[:, 0], ys[:, 0]
    e1x, e1y = xs[:, 1] - ax, ys[:, 1] - ay
    e2x, e2y = xs[:, 2] - ax, ys[:, 2] - ay
    denom = e1x * e2y - e1y * e2x
    ok = np.abs(denom) > 1e-9
    counts = np.where(ok, bw * bh, 0)
    total = int(counts.sum())
    if total == 0:
        return _empty(width, height, tris)
    fid = np.repeat(np.arange(len(tris)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    local = np.arange(total, dtype=np.int64) - start
    w_f = bw[fid]
    px = bx0[fid] + local % w_f
    py = by0[fid] + local // w_f
    dx = px - ax[fid]
    dy = py - ay[fid]
    inv = 1.0 / denom[fid]
    l1 = (dx * e2y[fid] - dy * e2x[fid]) * inv
    l2 = (e1x[fid] * dy - e1y[fid] * dx) * inv
    l0 = 1.0 - l1 - l2
    inside = (l0 >= -EDGE_EPS) & (l1 >= -EDGE_EPS) & (l2 >= -EDGE_EPS)
    fid, px, py, l0, l1, l2 = fid[inside], px[inside], py[inside], l0[inside], l1[inside], l2[inside]
    if len(fid) == 0:
        return _empty(width, height, tris)
    zs = p[..., 2]
    z = l0 * zs[fid, 0] + l1 * zs[fid, 1] + l2 * zs[fid, 2]
    pid = py * width + px
    # z-buffer: the nearest candidate per pixel (ties: the first candidate, i.e. the lowest triangle
    # id). np.minimum.at is ~40× faster than sorting all candidates by (pixel, depth)
    zbuf = np.full(width * height, np.inf)
    np.minimum.at(zbuf, pid, z)
    nearest = np.flatnonzero(z == zbuf[pid])
    _, first = np.unique(pid[nearest], return_index=True)
    keep = nearest[first]
    x0, x1 = int(px[keep].min()) - margin, int(px[keep].max()) + margin + 1
    y0, y1 = int(py[keep].min()) - margin, int(py[keep].max()) + margin + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    h, w = y1 - y0, x1 - x0
    tri_img = np.full((h, w), -1, dtype=np.int32)
    bary = np.zeros((h, w, 3), dtype=np.float32)
    depth = np.full((h, w), np.inf, dtype=np.float32)
    ly, lx = py[keep] - y0, px[keep] - x0
    tri_img[ly, lx] = fid[keep]
    b = np.stack([l0[keep], l1[keep], l2[keep]], axis=1)
    b = np.clip(b, 0.0, None)
    bary[ly, lx] = b / b.sum(1, keepdims=True)
    depth[ly, lx] = z[keep]
    return Raster(tri_img, bary, depth, x0, y0, (width, height), tris)


def _empty(width: int, height: int, tris: np.ndarray) -> Raster:
    return Raster(np.full((0, 0), -1, np.int32), np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), 0, 0,
                  (width, height), tris)
