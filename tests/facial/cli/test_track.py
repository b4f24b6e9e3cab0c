"""``facial track`` (facial.cli.track) on a real clip from ../shared."""
import pytest

from facial import media
from facial.speaker.profile import load_profile
from tests.conftest import shared_clip

pytestmark = pytest.mark.shared_data
CLIP = "pcavs__Input_00010"  # 4.3 s, 224², 25 fps, one frontal speaker


def test_cli_track_writes_profile(tmp_path):
    from facial.cli import main

    out = tmp_path / "prof"
    assert main(["track", str(shared_clip(CLIP)), "-o", str(out), "-q"]) == 0
    for name in ("params.safetensors", "profile.json", "frames.mp4", "overlay.mp4", "tracks.png"):
        assert (out / name).stat().st_size > 0, name
    prof = load_profile(out)
    assert prof.params.expression.shape[1] == 32 and prof.landmarks.shape[1:] == (478, 3)
    ov = media.probe(out / "overlay.mp4")
    assert ov.has_audio and abs(ov.duration - prof.duration) < 0.1
    assert main(["track", str(tmp_path / "missing.mp4"), "-o", str(out)]) == 2
