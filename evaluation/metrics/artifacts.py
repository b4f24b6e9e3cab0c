"""Rendering glitches: bright specks at closed-mouth corners, blend seams, flicker of the face.

Metric cards
------------
Each metric flags frames and reports the **fraction of the scored frames that are flagged**
(0 = no glitch seen; ``details`` hold the count, the flagged frame indices and the raw per-frame
statistics). The thresholds were set so that real footage scores 0 (docs/EVALUATION.md lists the
clips and the largest real values).

- ``mouth_specks`` (fraction of frames, ↓): frames whose lips are nearly closed (inner-lip gap
  < 0.02 of the face height) and that show a **bright, whitish speck at an inner mouth corner** —
  what tooth rows drawn on a closed mouth look like. Around each inner-lip corner (FaceMesh 78 /
  308) a box along the lip line (from 0.1 of the inner mouth width outside the corner to 0.3
  inside it, ±max(1.5 px, 0.06 × width) across) is searched for pixels with luma ≥ 150, at least
  45 levels above the 90th percentile of the lips' luma (the ring between the outer and inner lip
  contours, without the search boxes), 15 above the median of the skin ring around the lips, and
  whitish (max − min of RGB ≤ 0.22 × max). A corner with at least max(3, 0.0002 × face height²)
  such pixels flags the frame — unless the middle of the lip line (0.35–0.65 of the width) is
  bright too (over 10 % of its box): that is teeth seen through parted lips (or a frame the
  tracker has not caught up with), not a speck confined to the corners.
- ``blend_seams`` (fraction of frames, ↓): frames with a **colour step along a paste border**
  around the mouth. 17 closed contours around the mouth (the outer lips scaled by 1.45 … 2.25 in x
  and 1.3 × that in y, kept below the nose: the warp renderer's mouth patch is 1.45 × 1.9) are
  sampled at 48 points each, those inside the face oval kept;
  at each point the mean colour of a band just inside minus one just outside (0.25–1 w off the
  contour, ``w = max(1 px, 0.004 × face height)``), less a third of the same difference at
  2.5–3.5 w (a linear gradient cancels; a hard step of A levels gives 0.35–0.66 A depending on
  where the pixel edge falls), is averaged over the contour with its sign: a patch pasted brighter
  or darker than its surroundings gives a consistent step, skin texture and shading do not. The
  frame's value is the largest |step| over the channels and contours; over 8 levels flags it: a
  hard-edged patch 25–40 levels off (the measure's floor is natural structure: real clips reach
  4.2, the astronaut photo warped through a smile up to 6.3; feathered pastes score as the clip).
- ``face_flicker`` (fraction of frames, ↓): frames where the colour of the face **jumps for one
  frame**. Median RGB of skin discs (radius 0.04 × face height, placed by landmarks averaged over
  5 frames so tracking jitter does not move them) in two groups — upper face (FaceMesh 151, 9, 6,
  50, 280) and lower face (164, 200, 199, 205, 425: where a mouth patch is pasted); the signed
  second temporal difference ``x_t − (x_{t−1} + x_{t+1}) / 2`` of each disc, its median over the
  group (a whole region changing, not one disc that a moving lip enters), largest |value| over
  groups and channels; over 10 levels flags the frame. Real footage stays at or under 8 (talking
  HDTF clips with compression noise), the warp renderer's output mostly under 5.

Landmarks are the evaluation face track of the clip (FaceMesh via
:mod:`evaluation.extractors.landmarks`); frames without a tracked face are not scored. All three
need the frames themselves, decoded once at the evaluation fps.
"""
from __future__ import annotations

import warnings

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricUnavailable, MetricValue

FAMILY = "artifacts"
_NEEDS = ("video", "face")

CLOSED_OPENING = 0.02  # inner-lip gap / face height below which the lips count as nearly closed
SPECK_MIN_LUMA = 150.0
SPECK_ABOVE_LIPS = 45.0  # levels above the lips' 90th percentile of luma
SPECK_MAX_CHROMA = 0.22  # (max − min) / max of RGB: whitish (skin is 0.25–0.5, teeth ≤ 0.15)
SPECK_ABOVE_SKIN = 15.0  # levels above the median luma of the skin ring around the lips
SPECK_MIN_AREA = 0.0002  # × face height², at least 3 px
SPECK_MAX_CENTRE = 0.1  # fraction of bright pixels in the centre box above which the specks are teeth
SEAM_SCALES = tuple(round(1.45 + 0.05 * i, 2) for i in range(17))  # 17 contours, 1.45 … 2.25
SEAM_POINTS = 48
SEAM_BAND = 0.004  # × face height, at least 1 px
SEAM_THRESHOLD = 8.0  # levels
FLICKER_GROUPS = ((151, 9, 6, 50, 280), (164, 200, 199, 205, 425))  # upper face, lower face
FLICKER_RADIUS = 0.04  # × face height
FLICKER_THRESHOLD = 10.0  # levels
FLICKER_SMOOTH = 5  # frames: moving average of the landmarks that place the discs

SPECS = [
    MetricSpec("mouth_specks", FAMILY, Kind.MEASUREMENT, Direction.LOWER, "fraction", _NEEDS,
               "frames with a bright whitish speck at an inner mouth corner while the lips are nearly closed"),
    MetricSpec("blend_seams", FAMILY, Kind.MEASUREMENT, Direction.LOWER, "fraction", _NEEDS,
               "frames with a consistent colour step (> 8 levels) along a closed contour around the mouth"),
    MetricSpec("face_flicker", FAMILY, Kind.MEASUREMENT, Direction.LOWER, "fraction", _NEEDS,
               "frames where a skin region's colour jumps for one frame (2nd temporal difference > 10 levels)"),
]

# FaceMesh indices (kept here so the module imports numpy only)
_LIPS_OUTER = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146])
_LIPS_INNER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
_FACE_OVAL = np.array([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
                       152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])
_INNER_CORNERS = (78, 308)
_UPPER_INNER, _LOWER_INNER, _FOREHEAD, _CHIN, _NOSE = 13, 14, 10, 152, 2


def face_height(lm: np.ndarray) -> float:
    """Forehead (10) to chin (152) distance of one frame's landmarks ``[478, ≥2]``."""
    return float(np.linalg.norm(lm[_CHIN, :2] - lm[_FOREHEAD, :2]))


def mouth_opening(lm: np.ndarray) -> float:
    """Inner-lip gap / face height of one frame."""
    return float(np.linalg.norm(lm[_LOWER_INNER, :2] - lm[_UPPER_INNER, :2])) / max(face_height(lm), 1e-6)


def _luma(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float32)
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


# --------------------------------------------------------------------------- specks
def lip_line_boxes(lm: np.ndarray) -> list[np.ndarray]:
    """Search boxes along the lip line of one frame's landmarks (``[4, 2]`` polygons, pixels):
    right corner, left corner, centre."""
    lm = np.asarray(lm, np.float64)[:, :2]
    r, l = lm[_INNER_CORNERS[0]], lm[_INNER_CORNERS[1]]
    width = float(np.linalg.norm(l - r))
    ax = (l - r) / max(width, 1e-6)
    nrm = np.array([-ax[1], ax[0]])
    half = max(1.5, 0.06 * width)
    out = []
    for a, b in ((r - ax * 0.1 * width, r + ax * 0.3 * width), (l + ax * 0.1 * width, l - ax * 0.3 * width),
                 (r + ax * 0.35 * width, r + ax * 0.65 * width)):
        out.append(np.array([a + nrm * half, b + nrm * half, b - nrm * half, a - nrm * half]))
    return out


def _poly_mask(shape: tuple[int, int], polys: list[np.ndarray], offset=(0, 0)) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    for p in polys:
        pts = np.round((np.asarray(p, np.float64)[:, :2] - np.asarray(offset, np.float64)) * 4).astype(np.int32)
        cv2.fillPoly(m, [pts], 1, shift=2)
    return m.astype(bool)


def speck_pixels(frame: np.ndarray, lm: np.ndarray) -> tuple[int, int, float]:
    """Bright whitish pixels in the right and left inner-corner boxes of one RGB frame, and the
    fraction of such pixels in the centre box of the lip line (see the card)."""
    lm = np.asarray(lm, np.float64)[:, :2]
    h, w = frame.shape[:2]
    outer = lm[_LIPS_OUTER]
    c = outer.mean(0)
    ring = c + (outer - c) * 1.35
    x0, y0 = int(max(0, np.floor(ring[:, 0].min()) - 1)), int(max(0, np.floor(ring[:, 1].min()) - 1))
    x1, y1 = int(min(w, np.ceil(ring[:, 0].max()) + 2)), int(min(h, np.ceil(ring[:, 1].max()) + 2))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0, 0, 0.0
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    y = _luma(crop)
    mx, mn = crop.max(-1), crop.min(-1)
    boxes = lip_line_boxes(lm)
    shape = crop.shape[:2]
    lips = _poly_mask(shape, [outer], (x0, y0)) & ~_poly_mask(shape, [lm[_LIPS_INNER]], (x0, y0))
    lips &= ~_poly_mask(shape, boxes, (x0, y0))
    skin = _poly_mask(shape, [ring], (x0, y0)) & ~_poly_mask(shape, [outer], (x0, y0))
    ref = float(np.percentile(y[lips], 90)) if lips.sum() >= 10 else float(np.percentile(y, 50))
    skin_ref = float(np.median(y[skin])) if skin.sum() >= 10 else 0.0
    floor = max(SPECK_MIN_LUMA, ref + SPECK_ABOVE_LIPS, skin_ref + SPECK_ABOVE_SKIN)
    bright = (y >= floor) & ((mx - mn) <= SPECK_MAX_CHROMA * np.maximum(mx, 1.0))
    masks = [_poly_mask(shape, [b], (x0, y0)) for b in boxes]
    centre = float(bright[masks[2]].mean()) if masks[2].any() else 0.0
    return int((bright & masks[0]).sum()), int((bright & masks[1]).sum()), centre


def mouth_specks(frames: np.ndarray, landmarks: np.ndarray, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per frame: ``closed`` (nearly closed lips), ``pixels`` (largest corner count), ``flagged``."""
    n = len(frames)
    valid = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    closed = np.zeros(n, bool)
    pixels = np.zeros(n, np.int64)
    flagged = np.zeros(n, bool)
    for t in range(n):
        if not valid[t]:
            continue
        lm = landmarks[t]
        closed[t] = mouth_opening(lm) < CLOSED_OPENING
        if not closed[t]:
            continue
        right, left, centre = speck_pixels(frames[t], lm)
        pixels[t] = max(right, left)
        # teeth seen through parted lips (or a frame the tracker has not caught up with) are
        # bright in the middle of the lip line too: only specks confined to the corners count
        flagged[t] = pixels[t] >= max(3.0, SPECK_MIN_AREA * face_height(lm) ** 2) and centre < SPECK_MAX_CENTRE
    return {"closed": closed, "pixels": pixels, "flagged": flagged}


# --------------------------------------------------------------------------- seams
def _resample_closed(poly: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points evenly spaced along a closed polygon and their outward unit normals."""
    p = np.concatenate([poly, poly[:1]])
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 1e-6:
        return np.repeat(poly[:1], n, 0), np.zeros((n, 2))
    q = np.linspace(0, s[-1], n, endpoint=False)
    pts = np.stack([np.interp(q, s, p[:, 0]), np.interp(q, s, p[:, 1])], 1)
    eps = 0.5 * s[-1] / n
    ahead = np.stack([np.interp((q + eps) % s[-1], s, p[:, 0]), np.interp((q + eps) % s[-1], s, p[:, 1])], 1)
    behind = np.stack([np.interp((q - eps) % s[-1], s, p[:, 0]), np.interp((q - eps) % s[-1], s, p[:, 1])], 1)
    tang = ahead - behind
    nrm = np.stack([tang[:, 1], -tang[:, 0]], 1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-9)
    centre = poly.mean(0)
    flip = ((pts - centre) * nrm).sum(1) < 0
    nrm[flip] *= -1
    return pts, nrm


def seam_contours(lm: np.ndarray) -> list[np.ndarray]:
    """The contours checked for seams: outer lips scaled by :data:`SEAM_SCALES` (x) and 1.3 × that (y), below the nose."""
    lm = np.asarray(lm, np.float64)[:, :2]
    lips = lm[_LIPS_OUTER]
    c = lips.mean(0)
    top = 0.5 * (lm[_NOSE, 1] + lips[:, 1].min())
    out = []
    for s in SEAM_SCALES:
        p = c + (lips - c) * np.array([s, 1.3 * s])
        p[:, 1] = np.maximum(p[:, 1], top)
        out.append(p)
    return out


def seam_step(frame: np.ndarray, lm: np.ndarray) -> float:
    """Largest consistent colour step (levels) across the seam contours of one frame (see the card)."""
    import cv2

    lm = np.asarray(lm, np.float64)[:, :2]
    fh = face_height(lm)
    wband = max(1.0, SEAM_BAND * fh)
    img = frame.astype(np.float32)
    oval = lm[_FACE_OVAL].astype(np.float32).reshape(-1, 1, 2)
    h, w = img.shape[:2]
    best = 0.0
    for poly in seam_contours(lm):
        pts, nrm = _resample_closed(poly, SEAM_POINTS)
        reach = 3.5 * wband
        inside = np.array([cv2.pointPolygonTest(oval, (float(x), float(y)), True) > reach for x, y in pts])
        inb = ((pts - nrm * reach)[:, 0] >= 0) & ((pts + nrm * reach)[:, 0] < w - 1)
        inb &= ((pts - nrm * reach)[:, 1] >= 0) & ((pts + nrm * reach)[:, 1] < h - 1)
        ok = inside & inb
        if ok.sum() < SEAM_POINTS // 3:
            continue
        p, nv = pts[ok], nrm[ok]

        def band(d0: float, d1: float) -> np.ndarray:
            ds = np.linspace(d0, d1, 3)
            q = p[:, None, :] + nv[:, None, :] * ds[None, :, None]  # [P, 3, 2]
            mx, my = q[..., 0].astype(np.float32), q[..., 1].astype(np.float32)
            return cv2.remap(img, mx, my, cv2.INTER_LINEAR).mean(1)  # [P, 3 channels]

        # a linear gradient gives near = far / 3; a hard step of A gives near = far = A: step ≈ 2A/3
        # (less where the pixel-aligned edge falls inside the near bands)
        near = band(-wband, -0.25 * wband) - band(0.25 * wband, wband)  # inside − outside
        far = band(-3.5 * wband, -2.5 * wband) - band(2.5 * wband, 3.5 * wband)
        step = near - far / 3.0
        best = max(best, float(np.abs(step.mean(0)).max()))
    return best


# --------------------------------------------------------------------------- flicker
def skin_colours(frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``[T, discs, 3]`` median RGB of the skin discs (:data:`FLICKER_GROUPS`, in order) per frame.

    The discs are placed by the landmarks averaged over :data:`FLICKER_SMOOTH` frames, so that
    tracking jitter does not move them."""
    from scipy.ndimage import uniform_filter1d

    discs = [i for g in FLICKER_GROUPS for i in g]
    n = len(frames)
    lms = uniform_filter1d(np.asarray(landmarks, np.float64)[:, :, :2], FLICKER_SMOOTH, axis=0, mode="nearest") if n else landmarks
    out = np.full((n, len(discs), 3), np.nan)
    for t in range(n):
        lm = lms[t]
        r = max(2.0, FLICKER_RADIUS * face_height(lm))
        h, w = frames[t].shape[:2]
        for k, idx in enumerate(discs):
            cx, cy = lm[idx]
            x0, x1 = int(max(0, np.floor(cx - r))), int(min(w, np.ceil(cx + r) + 1))
            y0, y1 = int(max(0, np.floor(cy - r))), int(min(h, np.ceil(cy + r) + 1))
            if x1 <= x0 or y1 <= y0:
                continue
            ys, xs = np.mgrid[y0:y1, x0:x1]
            m = (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
            if m.any():
                out[t, k] = np.median(frames[t][y0:y1, x0:x1][m].astype(np.float64), axis=0)
    return out


def flicker(frames: np.ndarray, landmarks: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """``[T]`` one-frame colour jump of the face (levels, see the card); NaN where not scored."""
    n = len(frames)
    valid = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    score = np.full(n, np.nan)
    if n < 3:
        return score
    col = skin_colours(frames, landmarks)
    d2 = col[1:-1] - 0.5 * (col[:-2] + col[2:])  # [T-2, discs, 3], signed
    per_group = []
    k = 0
    for g in FLICKER_GROUPS:
        with warnings.catch_warnings():  # all-NaN frames (face off screen) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            per_group.append(np.abs(np.nanmedian(d2[:, k:k + len(g)], axis=1)).max(-1))  # [T-2]
        k += len(g)
    m = np.nanmax(np.stack(per_group, 1), axis=1) if per_group else np.zeros(n - 2)
    ok = valid[1:-1] & valid[:-2] & valid[2:] & np.isfinite(m)
    score[1:-1] = np.where(ok, m, np.nan)
    return score


# --------------------------------------------------------------------------- family entry
def _summary(flags: np.ndarray, scored: np.ndarray, name: str, **details) -> MetricValue:
    n = int(scored.sum())
    if n == 0:
        return MetricValue.unavailable(name, "no frame could be scored", **details)
    idx = np.flatnonzero(flags & scored)
    return MetricValue.ok(name, len(idx) / n, n_flagged=int(len(idx)), n_scored=n, flagged_frames=idx[:200].tolist(), **details)


def score_frames(frames: np.ndarray, landmarks: np.ndarray, valid: np.ndarray | None = None,
                 names: tuple[str, ...] = ("mouth_specks", "blend_seams", "face_flicker")) -> dict[str, MetricValue]:
    """The artifact metrics of decoded RGB ``frames [T, H, W, 3]`` with face ``landmarks [T, 478, ≥2]`` (pixels)."""
    n = min(len(frames), len(landmarks))
    frames, landmarks = frames[:n], np.asarray(landmarks)[:n]
    valid = np.ones(n, bool) if valid is None else np.asarray(valid, bool)[:n]
    out: dict[str, MetricValue] = {}
    if "mouth_specks" in names:
        s = mouth_specks(frames, landmarks, valid)
        out["mouth_specks"] = _summary(s["flagged"], valid, "mouth_specks", n_closed=int(s["closed"].sum()),
                                       max_speck_px=int(s["pixels"].max()) if n else 0)
    if "blend_seams" in names:
        steps = np.array([seam_step(frames[t], landmarks[t]) if valid[t] else np.nan for t in range(n)])
        ok = np.isfinite(steps)
        out["blend_seams"] = _summary(np.nan_to_num(steps) > SEAM_THRESHOLD, ok, "blend_seams",
                                      threshold=SEAM_THRESHOLD,
                                      p95_step=round(float(np.percentile(steps[ok], 95)), 3) if ok.any() else None,
                                      max_step=round(float(steps[ok].max()), 3) if ok.any() else None)
    if "face_flicker" in names:
        f = flicker(frames, landmarks, valid)
        ok = np.isfinite(f)
        out["face_flicker"] = _summary(np.nan_to_num(f) > FLICKER_THRESHOLD, ok, "face_flicker",
                                       threshold=FLICKER_THRESHOLD,
                                       p95_jump=round(float(np.percentile(f[ok], 95)), 3) if ok.any() else None,
                                       max_jump=round(float(f[ok].max()), 3) if ok.any() else None)
    return out


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """Artifact metrics of the clip in ``ctx`` (frames decoded at the evaluation fps)."""
    from facial import media

    face = ctx.face("video")
    n = len(face)
    chunks = []
    got = 0
    for chunk in media.iter_video(ctx.inputs.video, ctx.config.fps, duration=ctx.config.max_seconds):
        chunks.append(chunk[: n - got])
        got += len(chunks[-1])
        if got >= n:
            break
    if not chunks:
        raise MetricUnavailable("no decodable frames")
    frames = np.concatenate(chunks)
    if frames.shape[1:3] != (face.size[1], face.size[0]):
        raise MetricUnavailable(f"decoded frames {frames.shape[2]}×{frames.shape[1]} do not match the face track's {face.size}")
    return score_frames(frames, face.landmarks, face.valid, tuple(names))
