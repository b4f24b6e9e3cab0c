"""The bad-input matrix, app rows: what a new (or hostile) user of the public Space can do gets a
clear error toast, the server decodes no more than its limits allow, and nothing stays behind."""
from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest


def _ffmpeg(*args: str) -> None:
    from facial import media

    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *args], check=True)


def lying_mkv(path: Path, seconds: float = 28.0, claims: float = 4.0, *, video: bool = True) -> Path:
    """An mkv holding ``seconds`` of media whose header says ``claims`` seconds."""
    inputs = ["-f", "lavfi", "-i", f"sine=f=220:d={seconds}:r=16000"]
    if video:
        inputs = ["-f", "lavfi", "-i", f"color=c=gray:s=64x64:r=25:d={seconds}", *inputs, "-c:v", "libx264", "-preset", "ultrafast"]
    _ffmpeg(*inputs, "-c:a", "pcm_s16le", str(path))
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Segment Info Duration, a double in ms
    data[at + 3:at + 11] = struct.pack(">d", claims * 1000.0)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture()
def real_handlers(tmp_path, helpers):
    """The app's handlers around the real pipeline, built the way app.py builds it, with 10 s limits."""
    from demo.config import DemoConfig
    from demo.handlers import Handlers
    from facial.pipeline import FacialPipeline

    config = DemoConfig(work_dir=tmp_path / "work", max_audio_s=10.0, max_clip_s=10.0)
    pipe = FacialPipeline(cache_dir=tmp_path / "cache", max_audio_seconds=config.max_audio_s, max_clip_seconds=config.max_clip_s,
                          limit_settings=("FACIAL_MAX_AUDIO_S", "FACIAL_MAX_CLIP_S"))
    return Handlers(pipe, config)


def test_a_speaker_clip_whose_header_lies_is_stopped_at_the_clip_limit(real_handlers, helpers, tmp_path, err):
    clip = lying_mkv(tmp_path / "claims4s.mkv")
    speech = helpers.tone_wav(tmp_path / "speech.wav", 1.0)
    msg = err(real_handlers.generate, str(speech), str(clip))
    assert "longer than its header says, over the limit of 10 s" in msg and "FACIAL_MAX_CLIP_S" in msg
    assert not any((tmp_path / "cache").rglob("*.mp4"))  # nothing of the clip was cached


def test_speech_whose_header_lies_is_stopped_at_the_audio_limit(real_handlers, helpers, tmp_path, err):
    speech = lying_mkv(tmp_path / "speech.mkv", 30.0, 4.0, video=False)
    clip = helpers.tiny_png(tmp_path / "face.png")
    msg = err(real_handlers.generate, str(speech), str(clip))
    assert "over the limit of 10 s" in msg and "FACIAL_MAX_AUDIO_S" in msg


def test_evaluate_decodes_no_more_than_the_clip_limit(real_handlers, tmp_path, monkeypatch):
    from facial import media

    clip = lying_mkv(tmp_path / "claims4s.mkv", 28.0, 4.0)
    bounds = []
    real_iter = media.iter_video

    def spy(path, fps=25.0, **kw):
        bounds.append(kw.get("duration"))
        return real_iter(path, fps, **kw)

    monkeypatch.setattr(media, "iter_video", spy)
    try:
        real_handlers.evaluate(str(clip), None, ["blink"], progress=None)
    except Exception:  # no face in a grey clip: the error is expected, the decode bound is what counts
        pass
    assert bounds and all(b is not None and b <= 10.0 + 1e-6 for b in bounds), bounds


def test_a_failed_request_leaves_no_run_folder(h, stub_pipeline, media_files, err):
    stub_pipeline.fail_with = ValueError("the model exploded")
    before = set(h.work_dir.iterdir())
    err(h.generate, str(media_files.wav), str(media_files.clip))
    assert set(h.work_dir.iterdir()) == before


def test_old_run_folders_are_pruned(h, media_files):
    import os
    import time

    old = h.new_run_dir("generate")
    past = time.time() - 2 * 3600
    os.utime(old, (past, past))
    h.generate(str(media_files.wav), str(media_files.clip), progress=None)
    assert not old.exists() and len(list(h.work_dir.iterdir())) == 1


def test_the_page_says_when_facial_gan_is_unavailable(stub_pipeline, tmp_path):
    from demo import build_demo
    from demo.config import DemoConfig

    stub_pipeline.driver_note = "FACIAL-GAN unavailable (no checkpoint); using the procedural envelope driver"
    demo = build_demo(stub_pipeline, DemoConfig(work_dir=tmp_path / "work"))
    texts = [c.get("props", {}).get("value") for c in demo.config["components"]]
    assert any(isinstance(t, str) and "FACIAL-GAN unavailable" in t for t in texts)


def test_the_profile_cache_keeps_under_its_cap(tmp_path):
    import os

    from facial.cache import enforce_cap

    parent = tmp_path / "profiles"
    for i in range(4):
        d = parent / f"p{i}"
        d.mkdir(parents=True)
        (d / "frames.mp4").write_bytes(b"x" * 1000)
        os.utime(d, (1000 + i, 1000 + i))  # p0 least recently used
    gone = enforce_cap(parent, 2500, keep=parent / "p0")
    assert sorted(p.name for p in gone) == ["p1", "p2"]
    assert sorted(p.name for p in parent.iterdir()) == ["p0", "p3"]


@pytest.mark.parametrize("field, value", [("clips.folder", "ABS"), ("clips.folder", "../../outside"),
                                          ("clips.manifest", "ABS_CSV"), ("cache_dir", "ABS")])
def test_an_uploaded_spec_cannot_read_outside_the_data_root(stub_pipeline, tmp_path, err, field, value):
    from demo.config import DemoConfig
    from demo.handlers import Handlers

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "passwords.csv").write_text("secret-first-line\n")
    given = {"ABS": str(outside), "ABS_CSV": str(outside / "passwords.csv")}.get(value, value)
    spec = tmp_path / "upload.yaml"
    clips = f"{{{field.split('.')[1]}: '{given}'}}" if field.startswith("clips") else "{folder: clips}"
    (root / "clips").mkdir()
    extra = f"cache_dir: '{outside / 'cache'}'\n" if field == "cache_dir" else ""
    spec.write_text(f"name: evil\nclips: {clips}\nprotocol: measure\nmethods: [replay]\nmetrics: [blink]\n{extra}")
    h = Handlers(stub_pipeline, DemoConfig(work_dir=tmp_path / "work", host="0.0.0.0", data_root=root))
    msg = err(h.run_benchmark, None, str(spec), "", "", progress=None)
    assert field in msg and "outside the data root" in msg and "secret-first-line" not in msg
    assert not (outside / "cache").exists() and not list(h.work_dir.iterdir())


def test_a_zip_whose_headers_understate_its_size_is_refused(tmp_path, err):
    import io
    import struct
    import zipfile

    from demo.uploads import safe_extract

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("clips/a.mp4", b"\0" * 5_000_000)  # 5 MB of zeros, a few kB compressed
    data = bytearray(buf.getvalue())
    struct.pack_into("<I", data, 22, 100)  # local header: "100 bytes"
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 100)  # central directory too
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(bytes(data))
    msg = err(safe_extract, bomb, tmp_path / "out", max_bytes=1000)
    assert "bomb.zip is damaged" in msg
    assert sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file()) <= 100


def test_a_zip_with_too_many_entries_is_refused(tmp_path, err):
    import zipfile

    from demo.uploads import MAX_ZIP_ENTRIES, safe_extract

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(MAX_ZIP_ENTRIES + 1):
            z.writestr(f"f{i}.txt", b"")
    assert "entries, over the limit" in err(safe_extract, many, tmp_path / "out", max_bytes=10**9)


@pytest.mark.slow
def test_app_rows_through_gradio_client(helpers, tmp_path):
    """The limit rows against a running app, as a user's browser or script meets them."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from facial.pipeline import FacialPipeline

    pipe = FacialPipeline(cache_dir=tmp_path / "cache", max_audio_seconds=10.0, max_clip_seconds=10.0,
                          limit_settings=("FACIAL_MAX_AUDIO_S", "FACIAL_MAX_CLIP_S"))
    demo, url = helpers.launch(pipe, tmp_path, max_audio_s=10.0, max_clip_s=10.0)
    try:
        client = Client(url, verbose=False)
        speech = helpers.tone_wav(tmp_path / "speech.wav", 1.0)
        clip = lying_mkv(tmp_path / "claims4s.mkv")
        with pytest.raises(AppError, match="longer than its header says.*FACIAL_MAX_CLIP_S"):
            client.predict(handle_file(str(speech)), handle_file(str(clip)), "warp", 1.0, 0, "fast", 0, api_name="/generate")
        long_speech = lying_mkv(tmp_path / "speech.mkv", 30.0, 4.0, video=False)
        photo = helpers.tiny_png(tmp_path / "face.png")
        with pytest.raises(AppError, match="over the limit of 10 s.*FACIAL_MAX_AUDIO_S"):
            client.predict(handle_file(str(long_speech)), handle_file(str(photo)), "warp", 1.0, 0, "fast", 0, api_name="/generate")
        work = demo.handlers.work_dir
        assert not [d for d in work.iterdir() if d.is_dir()], "a failed request left its run folder"
    finally:
        demo.close()
