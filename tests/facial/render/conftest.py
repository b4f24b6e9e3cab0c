"""Fixtures of the rendering tests: a real dev clip tracked once per session (skipped without ../shared),
the astronaut photo tracked as a one-frame profile, and the clip's decoded frames.

Tracked profiles and frames live in pytest's temporary folders, never in the repository.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_clip

CLIP = "mimictalk__May_5s"  # real, 5 s, 512², 25 fps, one frontal speaker who blinks
SPEECH = "sadtalker__RD_Radio31_000"  # real speech, 8 s


@pytest.fixture(scope="session")
def clip_profile(tmp_path_factory):
    """Profile folder of the real dev clip (tracked + saved, with frames.mp4)."""
    from facial.speaker.profile import load_profile, save_profile
    from facial.speaker.track import track_clip

    path = shared_clip(CLIP)
    directory = tmp_path_factory.mktemp("profile") / "may"
    save_profile(track_clip(path, progress=False), directory)
    return load_profile(directory)


@pytest.fixture(scope="session")
def clip_frames(clip_profile):
    from facial.face_render.footage import load_speaker_frames

    return load_speaker_frames(clip_profile)


@pytest.fixture(scope="session")
def photo_profile(tmp_path_factory):
    """One-frame profile of scikit-image's astronaut (public domain), with frames.mp4."""
    from facial.examples import astronaut_photo
    from facial.speaker.profile import load_profile, save_profile
    from facial.speaker.track import track_clip

    root = tmp_path_factory.mktemp("photo")
    photo = astronaut_photo(root / "astronaut.png")
    save_profile(track_clip(photo, progress=False), root / "profile")
    return load_profile(root / "profile")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


@pytest.fixture(scope="session")
def closed_photo_profile(tmp_path_factory, clip_profile, clip_frames):
    """One-frame profile of a photo with closed lips: the dev clip's most closed frame, written as a
    PNG in a temporary folder (the frame never enters the repository)."""
    import cv2

    from facial.speaker import face_model as fm
    from facial.speaker.profile import load_profile, save_profile
    from facial.speaker.track import track_clip

    t = int(np.argmin(fm.mouth_opening(clip_profile.landmarks) + 1.0 * (clip_profile.params.blink > 0.3)))
    root = tmp_path_factory.mktemp("closed_photo")
    cv2.imwrite(str(root / "closed.png"), np.ascontiguousarray(clip_frames[t][..., ::-1]))
    save_profile(track_clip(root / "closed.png", progress=False), root / "profile")
    return load_profile(root / "profile")
