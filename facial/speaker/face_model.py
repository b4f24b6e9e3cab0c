"""The face model that replaces BFM + Deep3DFaceReconstruction + OpenFace.

A face in frame t is ``p_t = s_t · R_t · (identity + basis·e_t + blink_t · blink_shape) + [tx_t, ty_t, tz]``
with FaceMesh's 478 points, orthographic projection onto the image (x right, y down, pixels).

Rotation convention (radians): ``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)``, axes x right, y down,
z away from the camera, canonical face looking at the camera (−z):

- positive **yaw** turns the nose towards image-left (the subject's right);
- positive **pitch** moves the nose down (chin towards the chest);
- positive **roll** rotates the face clockwise in the image.

The canonical frame of a speaker is anatomical: x along the line between the outer eye corners,
y from the eyes towards the chin, origin at the centroid of the stable (rigid) landmarks, scale
such that the stable landmarks have unit RMS radius. This makes expression residuals comparable
across speakers, so one PCA basis serves everybody.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facial import layout

log = logging.getLogger(__name__)

# Landmarks that move little with expression (forehead, nose bridge, temples, eye corners).
STABLE = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 109, 338, 67, 297, 103, 332, 54, 284, 21, 251,
                   127, 356, 162, 389, 234, 454, 33, 133, 362, 263, 98, 327, 129, 358, 193, 417])
RIGHT_EYE_UPPER = np.array([246, 161, 160, 159, 158, 157, 173])
RIGHT_EYE_LOWER = np.array([7, 163, 144, 145, 153, 154, 155])
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_UPPER = np.array([466, 388, 387, 386, 385, 384, 398])
LEFT_EYE_LOWER = np.array([249, 390, 373, 374, 380, 381, 382])
LEFT_EYE_CORNERS = (263, 362)
IRIS = np.arange(468, 478)
EYE_REGION = np.unique(np.concatenate([RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_EYE_LOWER,
                                       np.array(RIGHT_EYE_CORNERS + LEFT_EYE_CORNERS), IRIS]))
LIPS_OUTER = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146])
LIPS_INNER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
MOUTH = np.concatenate([LIPS_OUTER, LIPS_INNER])
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
FOREHEAD, CHIN = 10, 152
N_POINTS = 478
#: Left–right mirror of the 478 FaceMesh points in the canonical frame: point ``i`` of a mirrored face is
#: point ``MIRROR[i]`` of the original with x negated (:func:`mirror_points`). An involution; the 28
#: midline points map to themselves. Found once by an optimal one-to-one matching of a tracked face's
#: canonical points to its mirror image; identical for every dev speaker's identity (a property of the
#: FaceMesh topology, not of a face).
MIRROR = np.array([
    0, 1, 2, 248, 4, 5, 6, 249, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277,
    278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301,
    302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 323, 94, 324,
    325, 326, 327, 328, 329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339, 340, 341, 342, 343, 344, 345, 346, 347, 348,
    349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366, 367, 368, 369, 370, 371, 372,
    373, 374, 375, 376, 377, 378, 379, 151, 152, 380, 381, 382, 383, 384, 385, 386, 387, 388, 389, 390, 164, 391, 392, 393,
    168, 394, 395, 396, 397, 398, 399, 175, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 195, 419, 197, 420, 199, 200, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433, 434, 435,
    436, 437, 438, 439, 440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459,
    460, 461, 462, 463, 464, 465, 466, 467, 3, 7, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,
    58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81,
    82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106,
    107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130,
    131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 153, 154, 155, 156,
    157, 158, 159, 160, 161, 162, 163, 165, 166, 167, 169, 170, 171, 172, 173, 174, 176, 177, 178, 179, 180, 181, 182, 183,
    184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 196, 198, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211,
    212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235,
    236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 473, 476, 475, 474, 477, 468, 471, 470, 469, 472,
])


# --------------------------------------------------------------------------- rotations
def euler_to_matrix(angles: np.ndarray) -> np.ndarray:
    """``[..., 3]`` (yaw, pitch, roll) radians → ``[..., 3, 3]`` with ``R = Rz(roll) Rx(pitch) Ry(yaw)``."""
    angles = np.asarray(angles, dtype=np.float64)
    a, b, c = angles[..., 0], angles[..., 1], angles[..., 2]
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    r = np.empty(angles.shape[:-1] + (3, 3))
    # Rx(b) @ Ry(a)
    m = np.stack([
        np.stack([ca, np.zeros_like(a), sa], -1),
        np.stack([sb * sa, cb, -sb * ca], -1),
        np.stack([-cb * sa, sb, cb * ca], -1),
    ], -2)
    rz = np.stack([
        np.stack([cc, -sc, np.zeros_like(c)], -1),
        np.stack([sc, cc, np.zeros_like(c)], -1),
        np.stack([np.zeros_like(c), np.zeros_like(c), np.ones_like(c)], -1),
    ], -2)
    r[...] = rz @ m
    return r


def matrix_to_euler(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`euler_to_matrix` (pitch in [-π/2, π/2])."""
    r = np.asarray(r, dtype=np.float64)
    pitch = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    yaw = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    roll = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return np.stack([yaw, pitch, roll], -1)


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity transform minimising ``|dst - (s R src + t)|²`` (Umeyama 1991).

    ``src``, ``dst``: ``[N, 3]``. Returns ``(s, R [3,3], t [3])`` with ``det(R) = +1``.
    """
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2, 2] = -1
    rot = u @ sign @ vt
    var = (xs ** 2).sum() / len(src)
    s = float(np.trace(np.diag(d) @ sign) / var)
    t = mu_d - s * rot @ mu_s
    return s, rot, t


# --------------------------------------------------------------------------- canonical frame
def canonical_frame(shape: np.ndarray) -> np.ndarray:
    """Express a ``[478, 3]`` shape in its anatomical canonical frame (see module docstring)."""
    shape = np.asarray(shape, dtype=np.float64)
    centre = shape[STABLE].mean(0)
    x = shape[LEFT_EYE_CORNERS[0]] - shape[RIGHT_EYE_CORNERS[0]]
    x /= np.linalg.norm(x)
    down = shape[CHIN] - 0.5 * (shape[LEFT_EYE_CORNERS[0]] + shape[RIGHT_EYE_CORNERS[0]])
    y = down - x * (down @ x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    basis = np.stack([x, y, z])  # rows
    out = (shape - centre) @ basis.T
    rms = np.sqrt((out[STABLE] ** 2).sum(1).mean())
    return (out / rms).astype(np.float32)


def fit_pose(identity: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigid similarity fit of the canonical ``identity`` to ``observed [478,3]`` (pixels).

    Returns ``(pose [6], canonical [478,3])``: the pose (yaw, pitch, roll, tx, ty, scale) and the
    observed shape mapped back into the canonical frame (for expression/blink residuals).
    """
    s, rot, t = umeyama(identity[STABLE].astype(np.float64), observed[STABLE].astype(np.float64))
    yaw, pitch, roll = matrix_to_euler(rot)
    canonical = ((observed - t) @ rot) / s
    return np.array([yaw, pitch, roll, t[0], t[1], s], dtype=np.float32), canonical.astype(np.float32)


def pose_to_transform(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pose [T,6]`` → ``(R [T,3,3], t [T,3] with tz = 0, s [T])``."""
    pose = np.asarray(pose, dtype=np.float64)
    t = np.concatenate([layout.translation(pose), np.zeros((len(pose), 1))], 1)
    return euler_to_matrix(layout.rotation(pose)), t, layout.scale(pose)


# --------------------------------------------------------------------------- expression basis
@dataclass
class ExpressionBasis:
    """Linear expression basis: ``components [K, 478, 3]`` (orthonormal when flattened).

    Shipped as ``config.json`` + ``model.safetensors`` (see :meth:`save_pretrained`). Eye-region
    points are zero in every component (blinks are a separate track).
    """

    components: np.ndarray
    explained_variance: np.ndarray
    basis_id: str = "facemesh-pca"
    meta: dict | None = None

    @property
    def k(self) -> int:
        return self.components.shape[0]

    def project(self, residual: np.ndarray) -> np.ndarray:
        """``[T, 478, 3]`` canonical residuals → ``[T, K]`` coefficients."""
        flat = residual.reshape(len(residual), -1)
        return (flat @ self.components.reshape(self.k, -1).T).astype(np.float32)

    def expand(self, coeffs: np.ndarray) -> np.ndarray:
        """``[T, K]`` coefficients → ``[T, 478, 3]`` canonical displacement."""
        return (np.asarray(coeffs) @ self.components.reshape(self.k, -1)).reshape(len(coeffs), N_POINTS, 3).astype(np.float32)

    def save_pretrained(self, directory: str | Path) -> Path:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"components": np.ascontiguousarray(self.components, dtype=np.float32),
                   "explained_variance": np.ascontiguousarray(self.explained_variance, dtype=np.float32)}, str(directory / "model.safetensors"))
        config = {"basis_id": self.basis_id, "k": self.k, "n_points": N_POINTS,
                  "explained_variance_ratio_total": float(self.explained_variance.sum()), **(self.meta or {})}
        (directory / "config.json").write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, revision: str | None = None) -> "ExpressionBasis":
        """Load from a local directory or a Hugging Face repo id (default: the basis shipped in the package)."""
        from safetensors.numpy import load_file

        from facial.hub import resolve_dir

        directory = resolve_dir(path if path is not None else default_basis_dir(), ("config.json", "model.safetensors"), revision=revision)
        config = json.loads((directory / "config.json").read_text())
        tensors = load_file(str(directory / "model.safetensors"))
        return cls(tensors["components"], tensors["explained_variance"], config.get("basis_id", "facemesh-pca"), config)


def mirror_points(points: np.ndarray) -> np.ndarray:
    """Canonical ``[..., 478, 3]`` points (or displacements) of the left–right mirrored face."""
    out = np.asarray(points)[..., MIRROR, :].copy()
    out[..., 0] *= -1
    return out


def expression_mirror(basis: ExpressionBasis) -> np.ndarray:
    """``[K, K]`` matrix ``M`` with ``e @ M`` = the coefficients of the mirrored expression ``e``: the
    mirrored displacement projected back onto the (orthonormal) basis. Exact for a basis closed under
    mirroring; the shipped PCA basis keeps 90–97 % of its leading components' mirror images (less for the
    small tail components)."""
    flat = basis.components.reshape(basis.k, -1).astype(np.float64)
    mirrored = mirror_points(basis.components.astype(np.float64)).reshape(basis.k, -1)
    return (mirrored @ flat.T).astype(np.float32)


def default_basis_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "expression_basis"


# --------------------------------------------------------------------------- blink shape & synthesis
def default_blink_shape(identity: np.ndarray) -> np.ndarray:
    """Geometric blink displacement when a speaker never blinks in the clip: lids meet on the corner line."""
    shape = np.zeros_like(identity, dtype=np.float32)
    for upper, lower, (c0, c1) in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_CORNERS), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_CORNERS)):
        a, b = identity[c0], identity[c1]
        d = (b - a) / np.linalg.norm(b - a)
        for idx, amount in ((upper, 0.85), (lower, 0.15)):
            p = identity[idx]
            proj = a + ((p - a) @ d)[:, None] * d
            shape[idx] = amount * (proj - p)
    return shape


def landmarks_from_params(pose: np.ndarray, expression: np.ndarray, blink: np.ndarray, identity: np.ndarray,
                          basis: ExpressionBasis, blink_shape: np.ndarray) -> np.ndarray:
    """Face-model landmarks in pixels ``[T, 478, 3]`` from FaceParams tracks."""
    canonical = identity[None] + basis.expand(expression) + np.asarray(blink, np.float32).reshape(-1, 1, 1) * blink_shape[None]
    rot, t, s = pose_to_transform(pose)
    out = s[:, None, None] * np.einsum("tij,tnj->tni", rot, canonical) + t[:, None, :]
    return out.astype(np.float32)


# --------------------------------------------------------------------------- measurements
def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap divided by face height (forehead–chin), ``[T, 478, ≥2]`` → ``[T]``."""
    lm = np.asarray(landmarks, dtype=np.float64)
    gap = np.linalg.norm(lm[:, LOWER_LIP_INNER, :2] - lm[:, UPPER_LIP_INNER, :2], axis=-1)
    height = np.linalg.norm(lm[:, CHIN, :2] - lm[:, FOREHEAD, :2], axis=-1)
    return (gap / np.maximum(height, 1e-6)).astype(np.float32)
