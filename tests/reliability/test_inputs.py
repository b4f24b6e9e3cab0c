"""The bad-input matrix, library rows: each hostile or broken input gets a clear one-line error
early, decoding is bounded by the limits whatever a header claims, and nothing is left behind.

The app rows (uploads through Gradio) live in tests/demo/; the spec rows in
tests/evaluation/benchmark/.
"""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from facial import atomic, media

FPS = 25.0


def _ffmpeg(*args: str) -> None:
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *args], check=True)


def _patch_mkv_duration(path: Path, seconds: float) -> None:
    """Rewrite the Segment Info Duration (EBML id 0x4489, a big-endian double in ms) of an mkv."""
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")
    assert at >= 0, "no 8-byte Duration element in the mkv"
    data[at + 3:at + 11] = struct.pack(">d", seconds * 1000.0)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def lying_mkv(tmp_path_factory) -> Path:
    """An mkv holding 28 s of video and audio whose header claims 4 s."""
    path = tmp_path_factory.mktemp("lie") / "lying.mkv"
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=28", "-f", "lavfi", "-i", "sine=f=220:d=28:r=16000",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", "-shortest", str(path))
    _patch_mkv_duration(path, 4.0)
    assert media.probe(path).duration == pytest.approx(4.0, abs=0.1)
    return path


def test_raw_h264_without_a_duration_stops_decoding_at_the_clip_limit(tmp_path):
    raw = tmp_path / "still.h264"  # a raw stream: no container, no duration in any header
    _ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=60", "-c:v", "libx264", "-preset", "ultrafast", "-f", "h264", str(raw))
    seen = 0
    with pytest.raises(media.MediaError, match=r"over the limit of 10 s; trim it or raise FACIAL_MAX_CLIP_S"):
        for chunk in media.iter_video(raw, FPS, max_seconds=10, limit_hint="FACIAL_MAX_CLIP_S"):
            seen += len(chunk)
    assert seen <= 10 * FPS  # refused before one frame past the limit reached the caller


def test_a_header_that_understates_the_video_is_not_trusted(lying_mkv):
    frames = 0
    with pytest.raises(media.MediaError, match="longer than its header says"):
        for chunk in media.iter_video(lying_mkv, FPS, max_seconds=10):
            frames += len(chunk)
    assert frames <= 10 * FPS


def test_a_header_that_understates_the_audio_is_not_trusted(lying_mkv):
    with pytest.raises(media.MediaError, match=r"longer than its header says, over the limit of 10 s; trim it or raise --max-audio"):
        media.load_audio(lying_mkv, max_seconds=10, limit_hint="--max-audio-seconds")
    assert media.load_audio(lying_mkv, max_seconds=30).duration == pytest.approx(28.0, abs=0.1)


def test_a_long_audio_header_is_refused_before_decoding(tmp_path):
    wav = tmp_path / "long.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "30", str(wav))
    with pytest.raises(media.MediaError, match=r"long.wav lasts 30.0 s, over the limit of 5 s; trim it or raise FACIAL_MAX_AUDIO_S"):
        media.load_audio(wav, max_seconds=5, limit_hint="FACIAL_MAX_AUDIO_S")


@pytest.mark.parametrize("name", ["photo%d.png", "a:b.png", "-dash.png"])
def test_file_names_are_taken_literally(tmp_path, name):
    import cv2

    path = tmp_path / name
    cv2.imwrite(str(tmp_path / "plain.png"), np.full((32, 48, 3), 128, np.uint8))
    shutil.move(tmp_path / "plain.png", path)
    assert media.read_video(path).frames.shape == (1, 32, 48, 3)


def test_a_truncated_mp4_with_its_index_in_front_is_called_truncated(tmp_path):
    whole = tmp_path / "whole.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=s=128x128:r=25:d=4", "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 5])
    assert len(media.read_video(whole)) == 100
    with pytest.raises(media.MediaError, match="cut.mp4 looks truncated: its header says 4.0 s"):
        media.read_video(cut)


@pytest.mark.parametrize("case", ["under_a_file", "is_a_folder", "read_only_folder"])
def test_unwritable_outputs_are_refused_before_any_work(tmp_path, case):
    if case == "under_a_file":
        (tmp_path / "file.txt").write_text("x")
        out = tmp_path / "file.txt" / "x.mp4"
    elif case == "is_a_folder":
        out = tmp_path / "x.mp4"
        out.mkdir()
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        probe = ro / ".probe"
        try:
            probe.write_text("x")  # root ignores permission bits: nothing to test then
            probe.unlink()
            pytest.skip("running as root: permission bits do not stop writes")
        except PermissionError:
            pass
        out = ro / "x.mp4"
    with pytest.raises(atomic.OutputNotWritable, match="x.mp4"):
        atomic.check_writable(out)
    assert not list(tmp_path.rglob("*.partial*"))


def test_generate_refuses_an_unwritable_output_before_tracking(tmp_path, monkeypatch):
    from facial import pipeline as pipeline_mod

    (tmp_path / "file.txt").write_text("x")
    pipe = pipeline_mod.FacialPipeline(cache_dir=tmp_path / "cache", driver="envelope")
    monkeypatch.setattr(pipe, "speaker_profile", lambda *a, **k: pytest.fail("tracked before checking the output"))
    wav = tmp_path / "s.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=f=200:d=1:r=16000", str(wav))
    with pytest.raises(atomic.OutputNotWritable, match=r"file.txt is a file, not a folder"):
        pipe.generate(wav, tmp_path / "face.png", tmp_path / "file.txt" / "out.mp4")
    assert not list(tmp_path.rglob("*.partial*"))


def test_atomic_path_leaves_nothing_when_the_write_fails(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


# --------------------------------------------------------------------------- checkpoints
@pytest.fixture
def checkpoint(tmp_path) -> Path:
    from facial.audio2face.model import default_checkpoint_dir

    src = default_checkpoint_dir()
    if not (src / "model.safetensors").exists():
        pytest.skip("the packaged FACIAL-GAN checkpoint is not installed")
    dst = tmp_path / "ckpt"
    shutil.copytree(src, dst)
    return dst


def _load(path):
    from facial.audio2face import FacialGAN

    return FacialGAN.from_pretrained(path)


def test_checkpoint_with_broken_json_names_the_file(checkpoint):
    from facial.hub import CheckpointError

    (checkpoint / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"ckpt/config.json is not valid JSON") as err:
        _load(checkpoint)
    assert "\n" not in str(err.value)


def test_checkpoint_that_is_not_safetensors_is_refused_without_loading_it(checkpoint):
    import pickle

    from facial.hub import CheckpointError

    (checkpoint / "model.safetensors").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match=r"model.safetensors is not a readable safetensors file"):
        _load(checkpoint)


def test_checkpoint_whose_config_does_not_fit_the_weights(checkpoint):
    from facial.hub import CheckpointError

    cfg = json.loads((checkpoint / "config.json").read_text())
    cfg["head_hidden"] = cfg["head_hidden"] * 2  # a layer width: every tensor of that layer changes shape
    (checkpoint / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"weights do not (fit|match)"):
        _load(checkpoint)


def test_a_mistyped_local_folder_is_not_taken_for_a_hub_repo(tmp_path, monkeypatch):
    from facial.hub import CheckpointNotFound

    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("huggingface_hub.snapshot_download", lambda **k: pytest.fail("went to the hub"))
    with pytest.raises(CheckpointNotFound, match="ckpt/nonexistent: no such folder"):
        _load("ckpt/nonexistent")


def test_auto_driver_does_not_hide_a_broken_packaged_checkpoint(checkpoint, monkeypatch):
    from facial import pipeline as pipeline_mod
    from facial.audio2face import model as model_mod
    from facial.hub import CheckpointError

    (checkpoint / "config.json").write_text("{")
    monkeypatch.setattr(model_mod, "default_checkpoint_dir", lambda: checkpoint)
    with pytest.raises(CheckpointError):
        pipeline_mod.FacialPipeline(driver="auto")


def test_auto_driver_uses_facial_gan_when_the_checkpoint_is_installed(checkpoint):
    from facial import pipeline as pipeline_mod

    pipe = pipeline_mod.FacialPipeline(driver="auto")
    assert pipe.base_model is not None and pipe.driver_note == ""


def test_auto_driver_falls_back_only_when_no_checkpoint_is_installed(tmp_path, monkeypatch):
    from facial import pipeline as pipeline_mod
    from facial.audio2face import model as model_mod

    monkeypatch.setattr(model_mod, "default_checkpoint_dir", lambda: tmp_path / "not-installed")
    pipe = pipeline_mod.FacialPipeline(driver="auto")
    assert pipe.base_model is None and "FACIAL-GAN unavailable" in pipe.driver_note


def test_facial_eval_score_on_an_unreadable_file_exits_non_zero(tmp_path, capsys):
    from evaluation.cli import main

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    assert main(["score", str(bad), "--no-cache", "--no-progress", "--metrics", "blink"]) == 1
    assert "metrics failed" in capsys.readouterr().err


def test_silent_speech_is_warned_about(tmp_path):
    from facial import pipeline as pipeline_mod
    from facial.types import AudioClip

    photo = tmp_path / "face.png"
    import skimage.data
    import cv2

    cv2.imwrite(str(photo), skimage.data.astronaut()[..., ::-1])
    pipe = pipeline_mod.FacialPipeline(cache_dir=tmp_path / "cache", driver="envelope")
    result = pipe.generate(AudioClip(np.zeros(8000, np.float32)), photo, tmp_path / "out.mp4")
    assert any("silent" in n for n in result.notes) and result.video.is_file()
