"""Landmark distance (LMD) between a clip and the real clip it should reproduce.

Metric cards
------------
The ER-NeRF / RAD-NeRF ``LMDMeter`` definition (Chen et al., ECCV 2018): per frame, take the 68
landmarks of the generated and of the real frame (here: FaceMesh mapped to the 68-point scheme,
:data:`evaluation.extractors.landmarks.FACEMESH_TO_68`), keep a region, centre each set on its own
mean (translation only: no scale, no Procrustes), and average the Euclidean distance between
corresponding points, in pixels of the real clip; then average over frames.

- ``lmd_mouth`` (px, ↓): mouth, points 48–67 (20 points).
- ``lmd_face`` (px, ↓): all 68 points.
- ``lmd_mouth_norm`` (IOD, ↓): ``lmd_mouth`` per frame divided by the real frame's inter-ocular
  distance (outer eye corners 36–45), averaged — comparable across resolutions.

Frames are paired by index (both clips resampled to 25 fps); when the frame counts differ the
shorter length is used and the result says so. When the clips have different frame sizes, the
clip's landmarks are scaled to the real clip's pixels (by the ratio of widths).
"""
from __future__ import annotations

import numpy as np

from evaluation.types import Direction, Kind, MetricSpec, MetricValue

FAMILY = "lmd"
_NEEDS = ("video", "face", "reference")

SPECS = [
    MetricSpec("lmd_mouth", FAMILY, Kind.METRIC, Direction.LOWER, "px", _NEEDS,
               "mean distance of the 20 mouth points (68-scheme 48–67), each set centred on its mean"),
    MetricSpec("lmd_face", FAMILY, Kind.METRIC, Direction.LOWER, "px", _NEEDS,
               "the same over all 68 points"),
    MetricSpec("lmd_mouth_norm", FAMILY, Kind.METRIC, Direction.LOWER, "IOD", _NEEDS,
               "lmd_mouth / inter-ocular distance (outer eye corners) of the real frame"),
]


def lmd(generated: np.ndarray, real: np.ndarray, points: np.ndarray | slice | None = None) -> np.ndarray:
    """Per-frame LMD ``[T]`` between ``[T, 68, ≥2]`` landmark sets (each centred on its own mean)."""
    g = np.asarray(generated, dtype=np.float64)[..., :2]
    r = np.asarray(real, dtype=np.float64)[..., :2]
    if g.shape != r.shape:
        raise ValueError(f"landmark sets differ in shape: {g.shape} vs {r.shape}")
    if points is not None:
        g, r = g[:, points], r[:, points]
    g = g - g.mean(axis=1, keepdims=True)
    r = r - r.mean(axis=1, keepdims=True)
    return np.linalg.norm(g - r, axis=-1).mean(axis=1)


def compute(ctx, names: list[str]) -> dict[str, MetricValue]:
    """LMD of the clip in ``ctx`` against its reference."""
    from evaluation.extractors.landmarks import MOUTH_68, inter_ocular, to_68

    gen = ctx.face("video")
    ref = ctx.face("reference")
    n = min(len(gen), len(ref))
    details: dict[str, object] = {"n_frames": n}
    if abs(len(gen) - len(ref)) > 1:
        details["note"] = f"frame counts differ ({len(gen)} vs {len(ref)} real); compared the first {n}"
    g68 = to_68(gen.landmarks)[:n, :, :2].astype(np.float64)
    r68 = to_68(ref.landmarks)[:n, :, :2].astype(np.float64)
    if gen.size != ref.size:
        g68 = g68 * (ref.size[0] / gen.size[0])
        details["rescaled"] = f"clip {gen.size[0]}x{gen.size[1]} → real {ref.size[0]}x{ref.size[1]}"
    mouth = lmd(g68, r68, MOUTH_68)
    values = {"lmd_mouth": float(mouth.mean()), "lmd_face": float(lmd(g68, r68).mean()),
              "lmd_mouth_norm": float((mouth / np.maximum(inter_ocular(r68), 1e-6)).mean())}
    return {name: MetricValue.ok(name, values[name], **details) for name in names}
