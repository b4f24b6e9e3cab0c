"""Fixtures of the evaluation tests: the shared research clips (skipped when absent) and tiny
synthetic media written on the fly (never footage copied into the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(os.environ.get("FACIAL_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))

#: Short real clips used by the tests (4–6 s, 25 fps, one frontal face, speech in sync).
CLIP_A = "raw/pcavs/Audio_Source_00086.mp4"   # 5.3 s, 224², 25 fps
CLIP_B = "raw/pcavs/Input_00010.mp4"          # 4.3 s, 224², 25 fps


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; the test is skipped when it is not there."""
    if not (SHARED / "MANIFEST.csv").is_file():
        pytest.skip(f"shared research data not found at {SHARED} (set FACIAL_SHARED_DATA); real-clip tests skipped")
    return SHARED


def _shared_file(shared: Path, relative: str) -> Path:
    p = shared / relative
    if not p.is_file():
        pytest.skip(f"{p} missing from the shared data")
    return p


@pytest.fixture(scope="session")
def clip_a(shared) -> Path:
    return _shared_file(shared, CLIP_A)


@pytest.fixture(scope="session")
def clip_b(shared) -> Path:
    return _shared_file(shared, CLIP_B)


def write_synthetic_clip(path: Path, n_frames: int = 40, fps: float = 25.0, size: int = 64, seed: int = 0) -> Path:
    """A tiny mp4: a bright square drifting over a dark background, with a 220 Hz tone."""
    from facial import media
    from facial.types import AudioClip

    rng = np.random.default_rng(seed)
    frames = np.full((n_frames, size, size, 3), 30, dtype=np.uint8)
    for t in range(n_frames):
        x = 8 + (t % 20)
        frames[t, 20:36, x:x + 16] = 220
    frames = np.clip(frames.astype(int) + rng.integers(0, 5, frames.shape), 0, 255).astype(np.uint8)
    sr = 16000
    tt = np.arange(int(n_frames / fps * sr)) / sr
    audio = AudioClip((0.3 * np.sin(2 * np.pi * 220 * tt)).astype(np.float32), sr)
    return media.write_video(path, iter(frames), fps, audio)


@pytest.fixture()
def synthetic_clip(tmp_path) -> Path:
    return write_synthetic_clip(tmp_path / "synthetic.mp4")


@pytest.fixture()
def make_clip():
    """The :func:`write_synthetic_clip` factory (for tests that need several clips)."""
    return write_synthetic_clip
