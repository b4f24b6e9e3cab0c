"""Method adapters: spec parsing, built-in baselines on synthetic clips, external manifests."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from evaluation import methods as mt


def test_make_methods_names_and_errors(tmp_path):
    ms = mt.make_methods(["ground_truth", "static", "replay", "lips_only", "ours"])
    assert [m.name for m in ms] == ["ground_truth", "static", "replay", "lips_only", "ours_warp", "ours_neural"]
    assert ms[3].freeze_pose_blink and not ms[4].freeze_pose_blink
    one = mt.make_methods([{"name": "facial", "type": "ours", "renderer": "neural"}, {"name": "gt", "type": "ground_truth"}])
    assert [m.name for m in one] == ["facial", "gt"] and one[0].renderer == "neural"
    with pytest.raises(ValueError, match="did you mean 'replay'|Did you mean 'replay'"):
        mt.make_methods(["replya"])
    with pytest.raises(ValueError, match="unique"):
        mt.make_methods(["static", "static"])
    with pytest.raises(ValueError, match="exactly one"):
        mt.make_methods([{"name": "x", "type": "external"}])


def test_pipeline_unavailable_while_facial_pipeline_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "facial.pipeline", None)  # import fails
    m = mt.make_methods(["ours"])[0]
    reason = m.available()
    assert reason and "facial.pipeline" in reason
    with pytest.raises(mt.MethodUnavailable):
        m.produce(None, None)


def test_pipeline_calls_generate_with_the_documented_arguments(monkeypatch, tmp_path):
    import types

    calls = {}

    def generate(audio_path, speaker_path, out_path, *, renderer="warp", head_motion=1.0, freeze_pose_blink=False, seed=0):
        calls.update(audio=audio_path, speaker=speaker_path, renderer=renderer, freeze=freeze_pose_blink, seed=seed)
        out_path.write_bytes(b"mp4")

    monkeypatch.setitem(sys.modules, "facial.pipeline", types.SimpleNamespace(generate=generate))
    task = mt.ClipTask("c1", "self_reenactment", tmp_path / "src.mp4", tmp_path / "spk.mp4", tmp_path / "drv.wav",
                       tmp_path / "ref.mp4", tmp_path / "ref.mp4", 50)
    lips = mt.make_methods(["lips_only"])[0]
    assert lips.available() is None
    out = lips.produce(task, tmp_path)
    assert out == tmp_path / "c1.mp4" and calls["freeze"] is True and calls["speaker"] == task.speaker_video
    assert calls["audio"] == task.driving_audio and calls["renderer"] == "warp"


def _task(tmp_path, write_synthetic_clip, n_frames=30):
    from facial import media
    from facial.types import AudioClip

    spk = write_synthetic_clip(tmp_path / "speaker.mp4", n_frames=12)
    wav = media.save_wav(tmp_path / "driving.wav", AudioClip(np.zeros(int(n_frames / 25 * 16000), np.float32) + 0.01, 16000))
    return mt.ClipTask("clip1", "self_reenactment", spk, spk, wav, None, None, n_frames)


def test_static_holds_the_first_frame_and_replay_ping_pongs(tmp_path, make_clip):
    from facial import media

    task = _task(tmp_path, make_clip)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    speaker = media.read_video(task.speaker_video).frames
    static = media.read_video(mt.Static().produce(task, out_dir)).frames
    assert len(static) == 30
    assert np.abs(static.astype(int) - static[0].astype(int)).max() <= 6  # one frame (up to coding noise)
    assert np.abs(static[0].astype(int) - speaker[0].astype(int)).mean() < 3
    replay_path = mt.Replay().produce(task, out_dir)
    assert media.probe(replay_path).has_audio
    replay = media.read_video(replay_path).frames
    assert len(replay) == 30
    order = np.r_[np.arange(12), np.arange(10, 0, -1)]  # forwards then backwards, no jump
    expected = np.resize(order, 30)
    for t in (0, 11, 12, 20, 22, 29):
        diffs = [np.abs(replay[t].astype(int) - speaker[k].astype(int)).mean() for k in range(12)]
        assert int(np.argmin(diffs)) == expected[t], t


def test_external_manifest_with_filters(tmp_path, make_clip):
    write_synthetic_clip = make_clip
    a = write_synthetic_clip(tmp_path / "vids" / "a.mp4", n_frames=5)
    b = write_synthetic_clip(tmp_path / "vids" / "b.mp4", n_frames=5)
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path,kind,origin,notes\n"
                        "a,vids/a.mp4,talking_video,generated,GENERATED Wav2Lip output\n"
                        "b,vids/b.mp4,talking_video,generated,GENERATED SadTalker output\n"
                        "s,vids/s.wav,speech_audio,real,speech\n")
    w2l = mt.External("wav2lip", manifest=manifest, contains={"notes": "wav2lip"})
    assert [r["clip"] for r in w2l.rows()] == ["a"] and w2l.rows()[0]["video"] == a
    every = mt.External("all", manifest=manifest, filter={"origin": "generated"})
    assert [r["clip"] for r in every.rows()] == ["a", "b"]  # the speech_audio row is not a video
    task = mt.ClipTask("b", "measure", b, b, b, None, None, 5)
    assert every.produce(task, tmp_path) == b
    with pytest.raises(mt.MethodUnavailable, match="no output for clip b"):
        w2l.produce(task, tmp_path)
    folder = mt.External("dir", folder=tmp_path / "vids")
    assert [r["clip"] for r in folder.rows()] == ["a", "b"]
    with pytest.raises(ValueError, match="no column 'orign'.*origin"):
        mt.read_manifest(manifest, {"orign": "real"})


def test_facial_fingerprint_is_a_short_stable_hash():
    fp = mt._facial_fingerprint()
    assert len(fp) == 16 and all(c in "0123456789abcdef" for c in fp) and fp == mt._facial_fingerprint()
