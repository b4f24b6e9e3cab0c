"""Pictures of a track: ``tracks.png`` (curves over time) and ``overlay.mp4`` (drawn over the clip)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facial import layout, media, plotting
from facial.speaker import blink as blink_mod
from facial.speaker import face_model as fm
from facial.types import FaceParams

AXIS_LENGTH = 0.8  # canonical units (stable points have unit RMS radius)


def plot_tracks(params: FaceParams, path: str | Path, *, mouth: np.ndarray | None = None, title: str = "",
                reference: FaceParams | None = None) -> Path:
    """Pose (deg / px), blink (with detected events) and mouth opening over time, as a PNG."""
    t = np.arange(len(params)) / params.fps
    rows = 4 if mouth is not None else 3
    fig, axes = plotting.new_figure(rows, 1, figsize=(10, 2.1 * rows), sharex=True)
    deg = np.degrees(params.rotation)
    for i, name in enumerate(layout.ROTATION_NAMES):
        axes[0].plot(t, deg[:, i], label=name, lw=1)
    if reference is not None:
        tr = np.arange(len(reference)) / reference.fps
        axes[0].plot(tr, np.degrees(layout.pose_column(reference.pose, "yaw")), "k--", lw=0.8, label="yaw (reference)")
    axes[0].set_ylabel("rotation (deg)")
    axes[0].legend(loc="upper right", fontsize=7, ncol=4)
    shift = params.translation - params.translation[:1]
    axes[1].plot(t, shift[:, 0], label="tx − tx₀", lw=1)
    axes[1].plot(t, shift[:, 1], label="ty − ty₀", lw=1)
    axes[1].set_ylabel("translation (px)")
    axes[1].legend(loc="upper right", fontsize=7)
    axes[2].plot(t, params.blink, color="tab:purple", lw=1)
    for s, e in blink_mod.detect_blinks(params.blink, params.fps):
        axes[2].axvspan(s / params.fps, e / params.fps, color="tab:purple", alpha=0.15)
    rate = blink_mod.blink_rate_per_min(params.blink, params.fps)
    axes[2].set_ylabel("blink (1 = closed)")
    axes[2].set_ylim(-0.05, 1.05)
    axes[2].set_title(f"{rate:.1f} blinks/min (human conversation: 10.5–32.5)", fontsize=8, loc="left")
    if mouth is not None:
        axes[3].plot(np.arange(len(mouth)) / params.fps, mouth, color="tab:red", lw=1)
        axes[3].set_ylabel("mouth opening")
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=10)
    return plotting.save_figure(fig, path, dpi=90)


def draw_overlay(frame: np.ndarray, landmarks: np.ndarray, pose: np.ndarray, blink: float, valid: bool = True) -> np.ndarray:
    """Landmarks, pose axes (x red, y green, z blue) and a blink bar drawn on a copy of ``frame``."""
    import cv2

    out = frame.copy()
    colour = (0, 255, 0) if valid else (255, 160, 0)
    for x, y in landmarks[:, :2].astype(int):
        cv2.circle(out, (int(x), int(y)), 1, colour, -1, lineType=cv2.LINE_AA)
    rot = fm.euler_to_matrix(layout.rotation(pose)[None])[0]
    origin = landmarks[1, :2]
    for axis, c in zip(np.eye(3), ((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        tip = origin + layout.scale(pose) * AXIS_LENGTH * (rot @ axis)[:2]
        cv2.arrowedLine(out, tuple(origin.astype(int)), tuple(tip.astype(int)), c, 2, tipLength=0.15)
    h = out.shape[0]
    bar = int(0.3 * h * float(blink))
    cv2.rectangle(out, (8, h - 10 - int(0.3 * h)), (20, h - 10), (255, 255, 255), 1)
    cv2.rectangle(out, (9, h - 10 - bar), (19, h - 10), (160, 60, 255), -1)
    return out


def write_overlay(video: str | Path, landmarks: np.ndarray, params: FaceParams, valid: np.ndarray, path: str | Path,
                  *, max_side: int | None = 720) -> Path:
    """Render ``overlay.mp4``: the clip (resampled to the track's fps) with the track drawn on it, plus its audio."""
    video = Path(video)

    def frames():
        t = 0
        for chunk in media.iter_video(video, params.fps, max_side=max_side):
            out = []
            for frame in chunk:
                k = min(t, len(params) - 1)
                out.append(draw_overlay(frame, landmarks[k], params.pose[k], params.blink[k], bool(valid[k])))
                t += 1
            yield np.stack(out)

    info = media.probe(video)
    audio = media.load_audio(video) if info.has_audio and not media.is_image(video) else None
    return media.write_video(path, frames(), params.fps, audio)
