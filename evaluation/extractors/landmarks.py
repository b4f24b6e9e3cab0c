"""Face tracks for evaluation: FaceMesh landmarks (478) per frame, their 68-point version, head
pose, and aligned face crops.

Tracking is :func:`facial.speaker.landmarks.track_frames` (MediaPipe FaceMesh,
``refine_landmarks=True``) on the clip resampled to 25 fps; head pose is the project's rigid
similarity fit (:func:`facial.speaker.track.estimate_identity` + :func:`~facial.speaker.track.fit_sequence`,
rotation convention in :mod:`facial.layout`). Landmarks are returned in pixels of the clip's own
frame size (tracking may run on a downscaled copy; coordinates are scaled back). Results are
cached by the clip's content hash.

FaceMesh → 68-point (iBUG 300-W / dlib) scheme
-----------------------------------------------
:data:`FACEMESH_TO_68` gives, for each of the 68 points, one or two FaceMesh indices (two are
averaged). The table follows the correspondence published in *PeizhiYan/Mediapipe_2_Dlib_Landmarks*
(``mp2dlib.py``, 2024), checked point by point against MediaPipe's canonical face-model UV
visualisation (``mediapipe/modules/face_geometry/data/canonical_face_model_uv_visualization.png``).
Regions in the 68 scheme: jaw 0–16, brows 17–26, nose 27–35, eyes 36–47 (36–41 the subject's
right eye, starting at its outer corner), mouth 48–67 (outer lip 48–59, inner lip 60–67).
The jaw line of FaceMesh is not the jaw line a 68-point detector finds (FaceMesh's contour is the
face oval), so ``lmd_face`` is comparable between our methods, not with published dlib numbers.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from evaluation.extractors.cache import ArrayCache, content_hash, params_key
from facial.speaker.landmarks import LandmarkTrack

log = logging.getLogger(__name__)

FACEMESH_TO_68: tuple[tuple[int, ...], ...] = (
    # jaw / face contour 0–16 (image left to right)
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),
    # brows 17–21 (subject's right), 22–26 (left)
    (70,), (63,), (105,), (66,), (107,),
    (336,), (296,), (334,), (293,), (300,),
    # nose bridge 27–30, nostrils 31–35
    (168, 6), (197, 195), (5,), (4,),
    (75,), (97,), (2,), (326,), (305,),
    # right eye 36–41: outer corner, upper lid ×2, inner corner, lower lid ×2
    (33,), (160,), (158,), (133,), (153,), (144,),
    # left eye 42–47: inner corner, upper lid ×2, outer corner, lower lid ×2
    (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lip 48–59: corner, upper lip, corner, lower lip back
    (61,), (39,), (37,), (0,), (267,), (269,), (291,), (321,), (314,), (17,), (84,), (91,),
    # inner lip 60–67
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),
)
assert len(FACEMESH_TO_68) == 68

JAW_68 = np.arange(0, 17)
EYES_68 = np.arange(36, 48)
RIGHT_EYE_68 = np.arange(36, 42)
LEFT_EYE_68 = np.arange(42, 48)
MOUTH_68 = np.arange(48, 68)
RIGHT_EYE_OUTER_68, LEFT_EYE_OUTER_68 = 36, 45

_PAIRS = np.array([(p[0], p[-1]) for p in FACEMESH_TO_68])

#: ArcFace's 5-point template (eye centres, nose tip, mouth corners) for a 112×112 crop.
_TEMPLATE_5 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)

EXTRACTOR_VERSION = 1


def to_68(landmarks: np.ndarray) -> np.ndarray:
    """``[..., 478, C]`` FaceMesh landmarks → ``[..., 68, C]`` in the 68-point scheme."""
    lm = np.asarray(landmarks)
    if lm.shape[-2] < 468:
        raise ValueError(f"expected FaceMesh landmarks [..., 478, C], got {lm.shape}")
    return 0.5 * (lm[..., _PAIRS[:, 0], :] + lm[..., _PAIRS[:, 1], :])


def inter_ocular(lm68: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners (points 36 and 45) of ``[..., 68, ≥2]`` landmarks."""
    lm68 = np.asarray(lm68, dtype=np.float64)
    return np.linalg.norm(lm68[..., RIGHT_EYE_OUTER_68, :2] - lm68[..., LEFT_EYE_OUTER_68, :2], axis=-1)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """``[T, 478, ≥2]`` → ``[T, 5, 2]``: right eye centre, left eye centre, nose tip, mouth corners."""
    lm68 = to_68(np.asarray(landmarks, dtype=np.float64)[..., :2])
    return np.stack([lm68[..., RIGHT_EYE_68, :].mean(-2), lm68[..., LEFT_EYE_68, :].mean(-2), lm68[..., 30, :],
                     lm68[..., 48, :], lm68[..., 54, :]], axis=-2)


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 similarity (rotation, uniform scale, translation) mapping ``src [N,2]`` onto ``dst``."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    u, d, vt = np.linalg.svd(xd.T @ xs)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / max((xs ** 2).sum(), 1e-12))
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align_crops(frames: np.ndarray, landmarks: np.ndarray, size: int = 224) -> np.ndarray:
    """Face crops ``[T, size, size, 3]``: each frame warped so its eye centres, nose tip and mouth
    corners land on ArcFace's 5-point template (scaled to ``size``)."""
    import cv2

    pts = five_points(landmarks)
    template = _TEMPLATE_5 * (size / 112.0)
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for t, frame in enumerate(frames):
        m = _similarity(pts[t], template)
        out[t] = cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    return out


#: Evaluation's face tracks are the project's one track type, with ``pose`` always fitted.
FaceTrack = LandmarkTrack


def head_pose(landmarks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``[T, 6]`` pose from landmarks with the project's face model (identity from this clip)."""
    from facial.speaker.track import estimate_identity, fit_sequence

    identity = estimate_identity(landmarks, valid)
    pose, _ = fit_sequence(landmarks, identity)
    return pose.astype(np.float32)


def extract_face_track(video: str | Path, *, fps: float = 25.0, cache: ArrayCache | None = None,
                       max_seconds: float | None = None, max_side: int | None = 720,
                       progress: bool = False) -> FaceTrack:
    """Track the face of ``video`` (resampled to ``fps``; the first ``max_seconds`` only when set).

    Raises :class:`facial.speaker.landmarks.FaceTrackingError` when fewer than 80 % of the frames
    show a face, and :class:`ImportError` when the tracker is not installed.
    """
    from facial import media
    from facial.speaker.landmarks import track_frames

    video = Path(video)
    cache = cache or ArrayCache(None)
    key = f"face-v{EXTRACTOR_VERSION}-{content_hash(video)[:24]}-{params_key(fps=fps, max_seconds=max_seconds, max_side=max_side)}"
    hit = cache.load(key)
    if hit is not None:
        return FaceTrack(hit["landmarks"], hit["valid"].astype(bool), float(hit["fps"]), tuple(int(v) for v in hit["size"]),
                         [str(n) for n in hit["notes"]], pose=hit["pose"])
    info = media.probe(video)
    if not info.has_video:
        raise media.MediaError(f"{video} has no video stream")
    duration = info.duration if max_seconds is None else min(info.duration or max_seconds, max_seconds)
    n_total = int(round(duration * fps)) if duration else None
    chunks = media.iter_video(video, fps, max_side=max_side, duration=max_seconds)
    track = track_frames(chunks, fps, n_total=n_total, progress=progress, source=video.name)
    landmarks = track.landmarks.astype(np.float32)
    size = track.size
    source_side = max(info.width or 0, info.height or 0)
    if source_side > max(track.size):  # tracked on a downscaled copy: back to the clip's pixels
        scale = source_side / max(track.size)
        landmarks = landmarks * np.float32(scale)
        size = (int(round(track.size[0] * scale)), int(round(track.size[1] * scale)))
    pose = head_pose(landmarks, track.valid)
    face = FaceTrack(landmarks, track.valid.astype(bool), float(fps), size, list(track.notes), pose=pose)
    cache.save(key, {"landmarks": face.landmarks, "valid": face.valid, "pose": face.pose, "fps": np.float64(fps),
                     "size": np.array(size), "notes": np.array(face.notes, dtype=str)})
    return face
