"""``sync_offset`` / ``sync_conf`` / ``sync_dist`` (family ``sync_expert``): registration, statuses
(ok with nothing but the package; unavailable on a too-short clip, without a face, with silence)
and the offset of a real clip whose audio is shifted."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation import registry
from evaluation.types import Direction, Kind

NAMES = ["sync_offset", "sync_conf", "sync_dist"]


def test_registered_with_cards_and_in_the_default_group():
    specs = {s.name: s for s in registry.resolve("sync_expert")}
    assert list(specs) == NAMES
    assert specs["sync_offset"].direction is Direction.TARGET and specs["sync_offset"].target == 0.0
    assert specs["sync_conf"].direction is Direction.HIGHER and specs["sync_dist"].direction is Direction.LOWER
    assert all(s.kind is Kind.MEASUREMENT and s.needs == ("video", "audio", "face") for s in specs.values())
    assert set(NAMES) <= set(registry.groups()["default"])
    assert "sync_expert" in registry.DEFAULT_GROUPS


def test_documented_in_evaluation_md():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "EVALUATION.md").read_text()
    for name in NAMES:
        assert f"`{name}`" in doc
    assert "python benchmarks/sync_expert_eval.py" in doc


def test_the_shipped_expert_loads():
    from facial.sync_expert.model import SyncExpert, default_checkpoint_dir

    assert (default_checkpoint_dir() / "README.md").is_file()
    model = SyncExpert.from_pretrained()
    assert model.config.visual_input in ("landmarks", "pixels") and model.config.provenance["val_persons"]
    size = sum(p.stat().st_size for p in default_checkpoint_dir().iterdir())
    assert size < 5 * 2 ** 20


def _no_face_clip(path, seconds: float = 2.0):
    """A grey noise video (no face) with a tone."""
    from facial import media
    from facial.types import AudioClip

    rng = np.random.default_rng(0)
    n = int(seconds * 25)
    frames = np.clip(120 + rng.normal(0, 10, size=(n, 64, 64, 3)), 0, 255).astype(np.uint8)
    t = np.arange(int(seconds * 16000)) / 16000
    return media.write_video(path, iter(frames), 25.0, AudioClip((0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000))


def test_no_face_is_unavailable_with_the_reason(tmp_path):
    from evaluation.scoring import score_clip

    video = _no_face_clip(tmp_path / "noface.mp4")
    res = score_clip(video, NAMES, cache_dir=False).by_name()
    for n in NAMES:
        assert res[n].status == "unavailable" and res[n].value is None
        assert "face" in res[n].reason


@pytest.mark.shared_data
def test_too_short_clip_is_unavailable(clip_a, tmp_path):
    from evaluation.scoring import score_clip
    from facial import media

    short = media.transcode(clip_a, tmp_path / "short.mp4", duration=0.6)  # 15 frames < 5 + 15
    res = score_clip(short, NAMES, cache_dir=tmp_path / "cache").by_name()
    for n in NAMES:
        assert res[n].status == "unavailable" and "needs at least 20" in res[n].reason, res[n].reason


@pytest.mark.shared_data
def test_silent_audio_is_unavailable(clip_a, tmp_path):
    from evaluation.scoring import score_clip
    from evaluation.types import ClipInput
    from facial import media
    from facial.types import AudioClip

    wav = media.save_wav(tmp_path / "silence.wav", AudioClip(np.zeros(16000 * 5, np.float32), 16000))
    res = score_clip(ClipInput(clip_a, audio=wav), NAMES, cache_dir=tmp_path / "cache").by_name()
    assert all(res[n].status == "unavailable" and "silent" in res[n].reason for n in NAMES)


@pytest.mark.shared_data
def test_real_clip_is_ok_and_a_delay_moves_the_offset(clip_a, tmp_path):
    """A validation-person clip (the expert never trained on this speaker): ok values, and its
    audio delayed by +5 / advanced by 3 frames moves ``sync_offset`` by that much (±1)."""
    from evaluation.scoring import score_clip
    from evaluation.types import ClipInput
    from facial import media
    from facial.types import AudioClip

    cache = tmp_path / "cache"
    res = score_clip(clip_a, NAMES, cache_dir=cache).by_name()
    for n in NAMES:
        assert res[n].is_ok, res[n].reason
        assert res[n].details["n_windows"] > 100 and len(res[n].details["curve"]) == 31
    base = res["sync_offset"].value
    assert abs(base) <= 1
    assert 0 < res["sync_dist"].value < 1 and res["sync_conf"].value > 0.1
    audio = media.load_audio(clip_a)
    for k in (5, -3):
        s = audio.samples
        shifted = np.concatenate([np.zeros(640 * k, np.float32), s]) if k > 0 else s[-640 * k:]
        wav = media.save_wav(tmp_path / f"shift{k}.wav", AudioClip(shifted, 16000))
        got = score_clip(ClipInput(clip_a, audio=wav), ["sync_offset"], cache_dir=cache).by_name()["sync_offset"]
        assert abs(got.value - base - k) <= 1, (k, got.value, base)


@pytest.mark.shared_data
def test_still_mouth_has_no_offset_but_a_low_confidence(clip_a, tmp_path):
    """A held frame with the real speech: ``sync_offset`` unavailable (no offset to find, as
    ``av_offset``), ``sync_conf`` / ``sync_dist`` still reported and the confidence far below the real clip's."""
    from evaluation.scoring import score_clip
    from facial import media

    first = media.read_video(clip_a, 25.0, max_frames=1).frames[0]
    audio = media.load_audio(clip_a, head_seconds=4.0)
    held = media.write_video(tmp_path / "held.mp4", (first for _ in range(100)), 25.0, audio)
    res = score_clip(held, NAMES, cache_dir=tmp_path / "cache").by_name()
    assert res["sync_offset"].status == "unavailable" and "does not move" in res["sync_offset"].reason
    assert res["sync_conf"].is_ok and res["sync_dist"].is_ok and res["sync_conf"].details["still_mouth"]
    assert res["sync_conf"].value < 0.08
