"""Learn the shared expression basis: PCA of canonical non-rigid residuals over many speakers.

``facial build-basis DATA -o DIR`` where DATA is a folder of clips or a MANIFEST.csv (rows with
``kind=talking_video`` and ``origin`` real/likely_real are used). Each clip contributes at most
``max_frames_per_clip`` evenly spaced frames so long clips do not dominate; eye-region points are
zeroed (blinks are their own track).
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from facial.speaker import face_model as fm
from facial.speaker.landmarks import FaceTrackingError, track_landmarks
from facial.speaker.track import estimate_identity, fit_sequence

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".m4v"}


def list_clips(data: str | Path, origins: tuple[str, ...] = ("real", "likely_real")) -> list[Path]:
    """Clips from a folder (recursively) or from a MANIFEST.csv (talking videos of the given origins)."""
    data = Path(data)
    if data.is_file() and data.suffix == ".csv":
        rows = list(csv.DictReader(open(data)))
        return [data.parent / r["path"] for r in rows if r.get("kind") == "talking_video" and r.get("origin") in origins]
    if data.is_dir():
        return sorted(p for p in data.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    raise FileNotFoundError(f"{data}: give a folder of clips or a MANIFEST.csv")


def clip_residuals(path: Path, max_frames: int, progress: bool = False) -> np.ndarray:
    track = track_landmarks(path, progress=progress)
    identity = estimate_identity(track.landmarks, track.valid)
    idx = np.flatnonzero(track.valid)
    idx = idx[np.linspace(0, len(idx) - 1, min(len(idx), max_frames)).astype(int)]
    _, residual = fit_sequence(track.landmarks[idx], identity)
    residual[:, fm.EYE_REGION] = 0.0
    return residual


def build_basis(clips: list[Path], k: int = 32, *, max_frames_per_clip: int = 500, progress: bool = True) -> fm.ExpressionBasis:
    """PCA over residuals of ``clips`` → :class:`ExpressionBasis` with ``k`` components."""
    from tqdm.auto import tqdm

    chunks, used = [], []
    for path in tqdm(clips, desc="basis clips", disable=not progress):
        try:
            chunks.append(clip_residuals(path, max_frames_per_clip))
            used.append(path.name)
        except FaceTrackingError as exc:
            log.warning("skipping %s: %s", path, exc)
    if not chunks:
        raise ValueError("no clip could be tracked; cannot build an expression basis")
    data = np.concatenate(chunks).reshape(sum(len(c) for c in chunks), -1).astype(np.float64)
    _, s, vt = np.linalg.svd(data, full_matrices=False)
    var = s ** 2
    ratio = var / var.sum()
    k = min(k, len(ratio))
    meta = {"n_clips": len(used), "n_frames": int(len(data)), "clips": used,
            "explained_variance_ratio": ratio[:k].round(6).tolist(),
            "eye_region_excluded": fm.EYE_REGION.tolist()}
    log.info("basis: %d components explain %.1f%% of %d frames from %d clips", k, 100 * ratio[:k].sum(), len(data), len(used))
    components = vt[:k].reshape(k, fm.N_POINTS, 3)
    components[:, fm.EYE_REGION] = 0.0  # exact zeros (SVD leaves ~1e-16 there)
    return fm.ExpressionBasis(components.astype(np.float32), ratio[:k].astype(np.float32),
                              basis_id=f"facemesh-pca{k}", meta=meta)
