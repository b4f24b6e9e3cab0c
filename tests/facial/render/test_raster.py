"""The z-buffer rasteriser (synthetic geometry with known answers)."""
import numpy as np

from facial.face_render.raster import rasterize


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


def test_crop_is_the_same_raster_over_a_smaller_box():
    v = np.array([[3.3, 4.1, 0], [50.2, 8.7, 0], [20.5, 44.9, 0]])
    r = rasterize(v, np.array([[0, 1, 2]]), (64, 64))
    x0, y0, x1, y1 = r.box
    box = (x0 + 5, y0 + 7, x1 - 3, y1 - 4)
    c = r.crop(box)
    assert c.box == box and c.size == r.size and c.triangles is r.triangles
    attr = 2.0 * v[:, 0] - 0.5 * v[:, 1]
    assert np.array_equal(c.interpolate(attr), r.interpolate(attr)[7:-4, 5:-3])
    assert np.array_equal(c.mask, r.mask[7:-4, 5:-3])
