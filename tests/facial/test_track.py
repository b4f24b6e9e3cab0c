"""Tracking real clips (../shared) and synthetic edits of them with known answers."""
import numpy as np
import pytest

from facial import media
from facial.audio import speech_envelope
from facial.speaker import face_model as fm
from facial.speaker.landmarks import FaceTrackingError, track_frames
from facial.speaker.track import profile_from_landmarks, track_clip
from tests.conftest import shared_clip

pytestmark = pytest.mark.shared_data
CLIP = "pcavs__Input_00010"  # 4.3 s, 224², 25 fps, one frontal speaker


@pytest.fixture(scope="module")
def clip_frames():
    return media.read_video(shared_clip(CLIP), fps=25)


@pytest.fixture(scope="module")
def tracked(clip_frames):
    return track_frames(iter([clip_frames.frames]), 25.0, progress=False)


def test_real_clip_tracks_every_frame(tracked):
    assert tracked.landmarks.shape == (len(tracked), 478, 3)
    assert tracked.valid_fraction >= 0.95 and not tracked.notes


def test_mirrored_clip_flips_yaw_and_roll(clip_frames, tracked):
    basis = fm.ExpressionBasis.from_pretrained()
    mirrored = track_frames(iter([clip_frames.frames[:, :, ::-1].copy()]), 25.0, progress=False)
    a = profile_from_landmarks(tracked, basis).params.pose
    b = profile_from_landmarks(mirrored, basis).params.pose
    # yaw and roll change sign under a horizontal flip, pitch does not
    assert np.corrcoef(a[:, 0], -b[:, 0])[0, 1] > 0.8
    assert np.abs(a[:, 0] + b[:, 0]).mean() < np.radians(4)
    assert np.abs(a[:, 1] - b[:, 1]).mean() < np.radians(4)
    width = clip_frames.frames.shape[2]
    assert np.abs(a[:, 3] - (width - b[:, 3])).mean() < 3


def test_small_face_is_tracked_on_a_crop(clip_frames, tracked):
    n, h, w, _ = clip_frames.frames.shape
    canvas = np.zeros((n, 4 * h, 4 * w, 3), np.uint8)
    y0, x0 = 3 * h, int(0.5 * w)
    canvas[:, y0:y0 + h, x0:x0 + w] = clip_frames.frames
    small = track_frames(iter([canvas[:40]]), 25.0, progress=False)
    assert small.valid_fraction >= 0.95
    assert any("small face" in note for note in small.notes)
    err = np.abs(small.landmarks[:, :, :2] - (tracked.landmarks[:40, :, :2] + [x0, y0]))
    assert np.median(err) < 3.0


def test_two_faces_follow_the_larger(clip_frames, tracked):
    import cv2

    n, h, w, _ = clip_frames.frames.shape
    canvas = np.zeros((30, h, w + w // 2, 3), np.uint8)
    canvas[:, :, :w] = clip_frames.frames[:30]
    for i in range(30):
        canvas[i, h // 4:h // 4 + h // 2, w:] = cv2.resize(clip_frames.frames[i], (w // 2, h // 2))
    two = track_frames(iter([canvas]), 25.0, progress=False)
    assert any("faces visible" in note for note in two.notes)
    assert np.median(np.abs(two.landmarks[:, :, :2] - tracked.landmarks[:30, :, :2])) < 2.0


def test_mouth_follows_speech(tracked):
    audio = media.load_audio(shared_clip(CLIP))
    env = speech_envelope(audio, 25.0, len(tracked))
    mouth = fm.mouth_opening(tracked.landmarks)
    assert np.corrcoef(mouth, env)[0, 1] > 0.2


def test_no_face_is_a_clear_error():
    frames = np.full((20, 120, 160, 3), 90, np.uint8)
    with pytest.raises(FaceTrackingError, match="face was found in only 0%"):
        track_frames(iter([frames]), 25.0, progress=False)


def test_short_gaps_are_interpolated(clip_frames):
    frames = clip_frames.frames[:30].copy()
    frames[10:13] = 0  # 3 black frames
    t = track_frames(iter([frames]), 25.0, progress=False)
    assert not t.valid[10:13].any() and t.valid[:10].all()
    np.testing.assert_allclose(t.landmarks[11], 0.5 * (t.landmarks[10] + t.landmarks[12]), atol=1e-3)
    assert t.gaps == [(10, 13)]


def test_photo_gives_one_frame_profile():
    from skimage import data

    import tempfile, cv2, pathlib
    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "astronaut.png"
        cv2.imwrite(str(p), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        prof = track_clip(p, progress=False)
    assert len(prof) == 1 and prof.params.blink[0] == 0.0
