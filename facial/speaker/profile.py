"""Save and load a :class:`~facial.types.SpeakerProfile` as a profile directory.

```
PROFILE_DIR/params.safetensors   pose [T,6], expression [T,K], blink [T], landmarks [T,478,3], valid [T],
                                 identity [478,3], blink_shape [478,3]
PROFILE_DIR/profile.json         fps, frame count, size, source file + hash, basis id, statistics
PROFILE_DIR/frames.mp4           the clip resampled to the profile's fps (frames used for rendering)
PROFILE_DIR/overlay.mp4          landmarks, pose axes and blink bar drawn over the clip (optional)
PROFILE_DIR/tracks.png           pose, blink and mouth-opening curves (optional)
```
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from facial import atomic, media
from facial.types import FaceParams, SpeakerProfile

log = logging.getLogger(__name__)

PARAMS_FILE = "params.safetensors"
PROFILE_FILE = "profile.json"
FRAMES_FILE = "frames.mp4"
FORMAT_VERSION = 1


def save_params(path: str | Path, params: FaceParams, **extra: np.ndarray) -> Path:
    """Write FaceParams (+ extra tensors) to a safetensors file atomically."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"pose": params.pose, "expression": params.expression, "blink": params.blink}
    tensors.update({k: np.ascontiguousarray(v) for k, v in extra.items()})
    with atomic.atomic_path(path) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata={"fps": str(params.fps)})
    return path


def load_params(path: str | Path) -> tuple[FaceParams, dict[str, np.ndarray]]:
    """Read a params.safetensors file → (FaceParams, other tensors)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no parameter file (run `facial track` or `facial animate` first)")
    tensors = load_file(str(path))
    with safe_open(str(path), "np") as f:
        fps = float((f.metadata() or {}).get("fps", media.DEFAULT_FPS))
    params = FaceParams(tensors.pop("pose"), tensors.pop("expression"), tensors.pop("blink"), fps)
    return params, tensors


def save_profile(profile: SpeakerProfile, directory: str | Path, *, copy_frames: bool = True) -> Path:
    """Write ``params.safetensors`` + ``profile.json`` (+ ``frames.mp4``) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_params(directory / PARAMS_FILE, profile.params, landmarks=profile.landmarks, valid=profile.valid.astype(np.uint8),
                identity=profile.identity, blink_shape=profile.blink_shape)
    video_name = None
    if copy_frames and profile.video is not None and Path(profile.video).resolve() != (directory / FRAMES_FILE).resolve():
        # only the tracked frames: a clip longer than its header said is never copied whole
        media.transcode(profile.video, directory / FRAMES_FILE, fps=profile.fps, size=profile.size,
                        duration=profile.n_frames / profile.fps)
        video_name = FRAMES_FILE
    elif (directory / FRAMES_FILE).exists():
        video_name = FRAMES_FILE
    info = {
        "format_version": FORMAT_VERSION,
        "fps": profile.fps,
        "n_frames": profile.n_frames,
        "size": list(profile.size),
        "source": str(profile.video) if profile.video else None,
        "source_hash": profile.source_hash,
        "frames": video_name,
        "basis_id": profile.basis_id,
        "n_expression": profile.params.n_expression,
        "stats": profile.stats,
    }
    atomic.write_text(directory / PROFILE_FILE, json.dumps(info, indent=2))
    profile.directory = directory
    return directory


def load_profile(directory: str | Path) -> SpeakerProfile:
    """Read a profile directory written by :func:`save_profile`."""
    directory = Path(directory)
    info_path = directory / PROFILE_FILE
    if not info_path.exists():
        raise FileNotFoundError(f"{directory} is not a speaker profile (no {PROFILE_FILE}); create one with `facial track CLIP -o {directory}`")
    info = json.loads(info_path.read_text())
    params, extra = load_params(directory / PARAMS_FILE)
    video = directory / info["frames"] if info.get("frames") else (Path(info["source"]) if info.get("source") else None)
    return SpeakerProfile(params=params, landmarks=extra["landmarks"], valid=extra["valid"].astype(bool), identity=extra["identity"],
                          blink_shape=extra["blink_shape"], size=tuple(info["size"]), fps=float(info["fps"]), video=video,
                          source_hash=info.get("source_hash", ""), basis_id=info.get("basis_id", ""), stats=info.get("stats", {}),
                          directory=directory)


def is_profile_dir(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / PROFILE_FILE).exists()
