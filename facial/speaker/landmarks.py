"""MediaPipe FaceMesh tracking of a clip into 478 landmarks per frame.

FaceMesh (legacy ``mediapipe.solutions.face_mesh``, ``refine_landmarks=True``, video mode) runs on
each frame. When several faces are visible the one that is largest and most central in the first
frames is followed (by proximity afterwards) and a note says so. When the face is small in the
frame (under :data:`SMALL_FACE` of the frame height) or FaceMesh finds none, the face is located
with MediaPipe's full-range face detector and FaceMesh runs on an upscaled crop around it.
Frames without a face are interpolated when the gap is short; fewer than ``min_valid`` frames
with a face is an error.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from facial import media

log = logging.getLogger(__name__)

SMALL_FACE = 0.2
CROP_SIZE = 480
MIN_FACE_PX = 24


class FaceTrackingError(ValueError):
    """No usable face track; the message says why and what to do."""


@dataclass
class LandmarkTrack:
    """The one face-track type of the project (tracking and evaluation).

    - ``landmarks [T, 478, 3]`` in pixels (z in x units), ``valid [T]`` frames with a detected face;
    - ``fps``, ``size`` (w, h), ``notes`` (what tracking had to say), ``gaps`` (interpolated runs);
    - ``pose [T, 6]`` (:mod:`facial.layout` convention) when a rigid fit was made, else None.
    """

    landmarks: np.ndarray
    valid: np.ndarray
    fps: float
    size: tuple[int, int]
    notes: list[str] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    pose: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def valid_fraction(self) -> float:
        return float(self.valid.mean()) if len(self.valid) else 0.0

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def mouth_opening(self) -> np.ndarray:
        """Inner-lip gap / face height per frame (:func:`facial.speaker.face_model.mouth_opening`)."""
        from facial.speaker.face_model import mouth_opening

        return mouth_opening(self.landmarks)

    def eye_aperture(self) -> np.ndarray:
        """``[T, 2]`` lid aperture / eye width (:func:`facial.speaker.blink.eye_aperture`)."""
        from facial.speaker.blink import eye_aperture

        return eye_aperture(self.landmarks)


def _face_mesh(static: bool, max_faces: int = 4):
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
                                           min_detection_confidence=0.5, min_tracking_confidence=0.5)


def _to_pixels(face, width: int, height: int) -> np.ndarray:
    return np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark], dtype=np.float32)


def _detect_box(frame: np.ndarray) -> tuple[float, float, float, float] | None:
    """Largest face box (x0, y0, x1, y1) in pixels from the full-range detector, or None."""
    import mediapipe as mp

    h, w = frame.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.4) as det:
        res = det.process(frame)
    if not res.detections:
        return None
    boxes = []
    for d in res.detections:
        b = d.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


def _choose(faces: list[np.ndarray], previous: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """Pick one face: nearest to the previous one, else the largest and most central."""
    if previous is not None:
        prev_c = previous[:, :2].mean(0)
        return min(faces, key=lambda f: np.linalg.norm(f[:, :2].mean(0) - prev_c))
    centre = np.array([width / 2, height / 2])

    def score(f: np.ndarray) -> float:
        size = np.ptp(f[:, 1])
        off = np.linalg.norm(f[:, :2].mean(0) - centre) / max(width, height)
        return size * (1.0 - off)

    return max(faces, key=score)


class _Tracker:
    """Stateful per-frame tracker (full frame, or an upscaled crop around a small face)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.mesh = _face_mesh(static=False)
        self.previous: np.ndarray | None = None
        self.crop: tuple[int, int, int, int] | None = None
        self.crop_mesh = None
        self.max_faces_seen = 0
        self.used_crop = False

    def _set_crop(self, box: tuple[float, float, float, float]) -> None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * 2.2
        x0 = int(max(0, cx - side / 2))
        y0 = int(max(0, cy - side / 2))
        x1 = int(min(self.width, cx + side / 2))
        y1 = int(min(self.height, cy + side / 2))
        self.crop = (x0, y0, x1, y1)
        if self.crop_mesh is None:
            self.crop_mesh = _face_mesh(static=False, max_faces=1)
        self.used_crop = True

    def _run_crop(self, frame: np.ndarray) -> np.ndarray | None:
        import cv2

        x0, y0, x1, y1 = self.crop
        sub = frame[y0:y1, x0:x1]
        if sub.size == 0:
            return None
        scale = CROP_SIZE / max(sub.shape[:2])
        sub = cv2.resize(sub, (int(round(sub.shape[1] * scale)), int(round(sub.shape[0] * scale))), interpolation=cv2.INTER_CUBIC)
        res = self.crop_mesh.process(sub)
        if not res.multi_face_landmarks:
            return None
        lm = _to_pixels(res.multi_face_landmarks[0], sub.shape[1], sub.shape[0]) / scale
        lm[:, 0] += x0
        lm[:, 1] += y0
        return lm

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        if self.crop is None:
            res = self.mesh.process(frame)
            faces = [_to_pixels(f, self.width, self.height) for f in (res.multi_face_landmarks or [])]
            self.max_faces_seen = max(self.max_faces_seen, len(faces))
            if faces:
                lm = _choose(faces, self.previous, self.width, self.height)
                if np.ptp(lm[:, 1]) >= SMALL_FACE * self.height or max(self.width, self.height) <= CROP_SIZE:
                    self.previous = lm
                    return lm
                xs, ys = lm[:, 0], lm[:, 1]
                self._set_crop((xs.min(), ys.min(), xs.max(), ys.max()))
            else:
                box = _detect_box(frame)
                if box is None:
                    return None
                if box[3] - box[1] < MIN_FACE_PX / 2:
                    return None
                self._set_crop(box)
        lm = self._run_crop(frame)
        if lm is not None:
            self.previous = lm
            xs, ys = lm[:, 0], lm[:, 1]
            x0, y0, x1, y1 = self.crop
            # recentre the crop when the face drifts towards its border
            if xs.min() < x0 + 0.1 * (x1 - x0) or xs.max() > x1 - 0.1 * (x1 - x0) or ys.min() < y0 + 0.1 * (y1 - y0) or ys.max() > y1 - 0.1 * (y1 - y0):
                self._set_crop((xs.min(), ys.min(), xs.max(), ys.max()))
        return lm

    def close(self) -> None:
        self.mesh.close()
        if self.crop_mesh is not None:
            self.crop_mesh.close()


def interpolate_gaps(landmarks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill frames without a face by linear interpolation (edges hold the nearest valid frame)."""
    out = landmarks.copy()
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return out
    missing = np.flatnonzero(~valid)
    if len(missing):
        flat = landmarks[idx].reshape(len(idx), -1)
        for j in range(flat.shape[1]):
            out.reshape(len(out), -1)[missing, j] = np.interp(missing, idx, flat[:, j])
    return out


def find_gaps(valid: np.ndarray) -> list[tuple[int, int]]:
    gaps, t, n = [], 0, len(valid)
    while t < n:
        if not valid[t]:
            s = t
            while t < n and not valid[t]:
                t += 1
            gaps.append((s, t))
        else:
            t += 1
    return gaps


def track_frames(frames: Iterable[np.ndarray], fps: float, *, n_total: int | None = None, progress: bool = True,
                 min_valid: float = 0.8, max_gap_s: float = 0.5, source: str = "clip") -> LandmarkTrack:
    """Track an iterable of ``[n, H, W, 3]`` uint8 chunks (or single frames) into a :class:`LandmarkTrack`."""
    from tqdm.auto import tqdm

    tracker = None
    rows: list[np.ndarray | None] = []
    size = (0, 0)
    bar = tqdm(total=n_total, desc="tracking", unit="frame", disable=not progress, leave=False)
    try:
        for chunk in frames:
            chunk = chunk[None] if chunk.ndim == 3 else chunk
            if tracker is None:
                size = (chunk.shape[2], chunk.shape[1])
                tracker = _Tracker(*size)
            for frame in chunk:
                rows.append(tracker(np.ascontiguousarray(frame)))
            bar.update(len(chunk))
    finally:
        bar.close()
        if tracker is not None:
            tracker.close()
    if not rows:
        raise FaceTrackingError(f"{source} has no frames")
    valid = np.array([r is not None for r in rows])
    frac = float(valid.mean())
    if frac < min_valid:
        raise FaceTrackingError(
            f"a face was found in only {frac:.0%} of the frames of {source} (need {min_valid:.0%}); "
            "use a clip where one face is visible, frontal and at least ~60 px tall throughout")
    template = next(r for r in rows if r is not None)
    lm = np.stack([r if r is not None else np.zeros_like(template) for r in rows])
    notes = []
    if tracker.max_faces_seen > 1:
        notes.append(f"{tracker.max_faces_seen} faces visible; following the largest, most central one")
    if tracker.used_crop:
        notes.append("small face: tracked on an upscaled crop")
    gaps = find_gaps(valid)
    long_gaps = [(s, e) for s, e in gaps if (e - s) / fps > max_gap_s]
    if long_gaps:
        notes.append("no face in " + ", ".join(f"{s / fps:.2f}-{e / fps:.2f}s" for s, e in long_gaps) + " (interpolated)")
    for n in notes:
        log.warning("%s: %s", source, n)
    return LandmarkTrack(interpolate_gaps(lm, valid), valid, fps, size, notes, gaps)


def track_landmarks(video: str | Path, fps: float = media.DEFAULT_FPS, *, progress: bool = True, max_side: int | None = None,
                    min_valid: float = 0.8, max_seconds: float | None = None, limit_hint: str = "",
                    tee: Callable[[np.ndarray], None] | None = None) -> LandmarkTrack:
    """Track a video (or a photo: one frame) into a :class:`LandmarkTrack` at ``fps``.

    ``max_seconds`` bounds the decode (see :func:`facial.media.iter_video`): a longer clip is
    refused before more than that many seconds of frames are tracked, whatever its header says.
    ``tee`` receives every decoded ``[n, H, W, 3]`` chunk too (e.g. an encoder writing the frames).
    """
    info = media.probe(video)
    n_total = int(round(info.duration * fps)) if info.duration else None
    if n_total is not None and max_seconds is not None:
        n_total = min(n_total, int(round(max_seconds * fps)))
    # decoding runs ahead in a thread (ffmpeg works while FaceMesh does), one chunk at most
    chunks = media.prefetch(media.iter_video(video, fps, max_side=max_side, max_seconds=max_seconds, limit_hint=limit_hint),
                            depth=1)
    if tee is not None:
        chunks = _teed(chunks, tee)
    return track_frames(chunks, fps, n_total=n_total, progress=progress, min_valid=min_valid, source=Path(video).name)


def _teed(chunks: Iterable[np.ndarray], tee: Callable[[np.ndarray], None]) -> Iterator[np.ndarray]:
    for chunk in chunks:
        tee(chunk)
        yield chunk
