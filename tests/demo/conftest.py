"""Fixtures for the app tests: a stub pipeline that honours the ``FacialPipeline.generate`` contract,
tiny synthetic media, and a launched app (stub or real pipeline)."""
from __future__ import annotations

import csv
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FACIAL_SHARED", ROOT.parent / "shared"))
MANIFEST = SHARED / "data" / "MANIFEST.csv"
ARTIFACTS = ROOT / "artifacts"


# --------------------------------------------------------------------------- stub pipeline
@dataclass
class StubResult:
    video: Path
    params: object
    profile_dir: Path
    timings: dict
    driver: str = "stub"
    renderer: str = "warp"
    notes: list = None
    landmarks: np.ndarray | None = None


class StubPipeline:
    """Follows the contract of ``facial.pipeline.FacialPipeline`` (``generate``, ``profile_dir_for``,
    stage names audio/speaker/finetune/animate/render/mux) without any model.

    Writes a real (small) mp4 with the given speech and a profile folder keyed by the speaker file's
    content hash; a known speaker is neither tracked nor fine-tuned again (the ``finetune`` stage then
    only reports 1.0, as the real pipeline does when it loads the cached personalised model).
    ``fail_with`` makes the next call raise that exception (to test the error mapping).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.calls: list[dict] = []
        self.fail_with: BaseException | None = None
        self.delay = 0.0  # seconds each call sleeps (to observe queueing)
        self.spans: list[tuple[float, float]] = []

    def profile_dir_for(self, speaker, fps):
        from facial import media

        return self.root / "profiles" / f"{media.file_hash(speaker)[:20]}-{fps:g}fps"

    def generate(self, audio, speaker, out_path, *, renderer="warp", head_motion=1.0, blink_rate=None, seed=0,
                 finetune_effort="fast", freeze_pose_blink=False, progress=None):
        from facial import media
        from facial.types import FaceParams

        self.calls.append(dict(audio=Path(audio), speaker=Path(speaker), out_path=Path(out_path), renderer=renderer,
                               head_motion=head_motion, blink_rate=blink_rate, seed=seed, finetune_effort=finetune_effort))
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        progress = progress or (lambda stage, fraction: None)
        t_start = time.monotonic()
        time.sleep(self.delay)
        progress("audio", 0.0)
        speech = media.load_audio(audio)
        progress("audio", 1.0)
        profile = self.profile_dir_for(speaker, 25.0)
        progress("speaker", 0.0)
        new = not profile.exists()
        if new:
            profile.mkdir(parents=True)
            (profile / "profile.json").write_text('{"stub": true}')
        progress("speaker", 1.0)
        for f in ((0.0, 0.5, 1.0) if new else (1.0,)):
            progress("finetune", f)
        n = speech.n_frames(25.0)
        rng = np.random.default_rng(seed)
        params = FaceParams(pose=np.tile([0, 0, 0, 64, 64, 40.0], (n, 1)) + rng.normal(0, 0.01, (n, 6)) * head_motion,
                            expression=np.zeros((n, 32)), blink=np.clip(rng.normal(0.2, 0.2, n), 0, 1), fps=25.0)
        lm = rng.normal(0, 1, (n, 478, 3)).astype(np.float32)
        progress("animate", 1.0)
        for f in (0.0, 0.5, 1.0):
            progress("render", f)
        frames = np.full((n, 64, 64, 3), 90, dtype=np.uint8)
        frames[:, 20:44, 20:44] = (np.arange(n) * 7 % 255)[:, None, None, None]
        progress("mux", 0.0)
        media.write_video(out_path, [frames], 25.0, audio=speech)
        progress("mux", 1.0)
        timings = {"speaker": 0.01, "animate": 0.01, "render": 0.01}
        self.spans.append((t_start, time.monotonic()))
        return StubResult(Path(out_path), params, profile, timings, landmarks=lm, notes=["stub pipeline"])


@pytest.fixture()
def stub_pipeline(tmp_path):
    return StubPipeline(tmp_path / "stub")


@pytest.fixture()
def h(stub_pipeline, tmp_path):
    """The app's handlers around the stub pipeline, with short duration limits (2 s speech, 5 s clips)."""
    from demo.config import DemoConfig
    from demo.handlers import Handlers

    return Handlers(stub_pipeline, DemoConfig(work_dir=tmp_path / "work", max_audio_s=2.0, max_clip_s=5.0))


def gr_error_message(fn, *args, **kw) -> str:
    """The message of the :class:`gradio.Error` that ``fn(*args, **kw)`` raises (fails if it raises none)."""
    import gradio as gr

    with pytest.raises(gr.Error) as info:
        fn(*args, **kw)
    return info.value.message


@pytest.fixture()
def err():
    """``err(fn, *args, **kw)``: the message of the gr.Error the call raises."""
    return gr_error_message


# --------------------------------------------------------------------------- media
def tone_wav(path: Path, seconds: float = 1.0, sr: int = 16000) -> Path:
    from facial.media import save_wav
    from facial.types import AudioClip

    t = np.arange(int(seconds * sr)) / sr
    return save_wav(path, AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr))


def tiny_clip(path: Path, seconds: float = 1.0, *, audio: bool = True, size: int = 48) -> Path:
    from facial.media import write_video
    from facial.types import AudioClip

    n = int(round(seconds * 25))
    frames = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        frames[i, 10:30, (2 * i) % (size - 20):(2 * i) % (size - 20) + 20] = 200
    sound = AudioClip((0.2 * np.sin(np.arange(int(seconds * 16000)) / 16000 * 2 * np.pi * 200)).astype(np.float32)) if audio else None
    return write_video(path, [frames], 25, audio=sound)


def tiny_png(path: Path, size: int = 32) -> Path:
    import cv2

    img = np.zeros((size, size, 3), dtype=np.uint8)
    img[8:24, 8:24] = 255
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture()
def media_files(tmp_path):
    d = tmp_path / "media"
    d.mkdir()
    text = d / "notes.txt"
    text.write_text("this is not a video\n" * 20)
    return SimpleNamespace(
        wav=tone_wav(d / "speech.wav", 1.0),
        long_wav=tone_wav(d / "long.wav", 3.0),
        clip=tiny_clip(d / "speaker.mp4", 1.0),
        silent_clip=tiny_clip(d / "silent.mp4", 1.0, audio=False),
        photo=tiny_png(d / "face.png"),
        text=text,
    )


# --------------------------------------------------------------------------- shared research clips
def shared_path(manifest_id: str, kind: str | None = None) -> Path:
    """A file from ../shared/data by manifest id (and kind); skips when the research data is absent."""
    if not MANIFEST.exists():
        pytest.skip(f"research clips not available ({MANIFEST} missing); set FACIAL_SHARED to the shared folder")
    with open(MANIFEST, newline="") as f:
        for row in csv.DictReader(f):
            if row["id"] == manifest_id and (kind is None or row["kind"] == kind):
                path = MANIFEST.parent / row["path"]
                if not path.exists():
                    pytest.skip(f"{path} is listed in the manifest but missing")
                return path
    pytest.skip(f"{manifest_id} ({kind}) is not in {MANIFEST}")


def excerpt(src: Path, dst: Path, seconds: float, *, start: float = 0.0, video: bool = True) -> Path:
    """A short excerpt of a shared file into a temporary folder (never into the repository)."""
    from facial.media import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-ss", f"{start}", "-i", str(src), "-t", f"{seconds}"]
    cmd += (["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"] if video else ["-vn", "-ac", "1", "-ar", "16000"])
    subprocess.run(cmd + [str(dst)], check=True, capture_output=True)
    return dst


# --------------------------------------------------------------------------- launching
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_pipeline_or_skip(cache_dir: Path):
    """The real ``FacialPipeline`` with its own speaker cache, or skip when it is not in this checkout yet."""
    try:
        from facial.pipeline import FacialPipeline
    except ImportError as exc:
        pytest.skip(f"facial.pipeline.FacialPipeline is not available ({exc})")
    if not hasattr(FacialPipeline, "generate"):
        pytest.skip("FacialPipeline has no generate() yet")
    return FacialPipeline(cache_dir=cache_dir)


@pytest.fixture()
def real_pipeline(tmp_path):
    """A real pipeline whose speaker cache starts empty (so "a new speaker" really is new)."""
    return real_pipeline_or_skip(tmp_path / "facial-cache")


def launch(pipeline, tmp_path: Path, **config_changes):
    """Launch the app on a free local port (threaded); returns (demo, url). Close with ``demo.close()``."""
    from demo import build_demo
    from demo.config import DemoConfig

    config = DemoConfig(work_dir=tmp_path / "work", port=free_port(), **config_changes)
    demo = build_demo(pipeline, config)
    demo.queue(**config.queue_kwargs()).launch(prevent_thread_lock=True, quiet=True, **config.launch_kwargs())
    return demo, f"http://127.0.0.1:{config.port}/"


@pytest.fixture()
def launched_stub(stub_pipeline, tmp_path):
    demo, url = launch(stub_pipeline, tmp_path)
    try:
        yield SimpleNamespace(demo=demo, url=url, pipeline=stub_pipeline)
    finally:
        demo.close()


@pytest.fixture(scope="session")
def helpers():
    """The helper functions above, for tests (conftest is not importable as a module)."""
    return SimpleNamespace(tone_wav=tone_wav, tiny_clip=tiny_clip, tiny_png=tiny_png, shared_path=shared_path,
                           excerpt=excerpt, launch=launch, free_port=free_port, StubPipeline=StubPipeline,
                           artifacts=ARTIFACTS, root=ROOT)
