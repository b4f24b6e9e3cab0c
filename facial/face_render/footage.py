"""The speaker's own footage as frames: ``frames.mp4`` of a profile decoded at the profile's fps
and size. The warp renderer takes its source frames from here, the mesh renderer its texture
frame and the neural renderer's training its targets.
"""
from __future__ import annotations

import logging

import numpy as np

from facial import media
from facial.types import SpeakerProfile

log = logging.getLogger(__name__)


def load_speaker_frames(profile: SpeakerProfile, max_frames: int | None = None) -> np.ndarray:
    """The profile's frames ``[S, H, W, 3]`` uint8 at the profile's fps and size (first ``max_frames``)."""
    if profile.video is None:
        raise ValueError("the speaker profile has no video (frames.mp4); re-create it with `facial track CLIP -o DIR`")
    n = profile.n_frames if max_frames is None else min(profile.n_frames, max_frames)
    w, h = profile.size
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    got = media.read_frames_into(profile.video, frames, fps=None if media.is_image(profile.video) else profile.fps)
    if got < n:
        log.warning("%s has %d frames, the profile %d; the missing ones repeat the last frame", profile.video, got, n)
        frames[got:] = frames[got - 1]
    return frames
