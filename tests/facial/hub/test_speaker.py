"""Speaker profiles through the Hub: what is published (never the footage unless asked, never local paths),
consent on the card, loading ``owner/name`` into a usable profile, and the pipeline generating with it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.hub_fixtures import (PRIVATE_SOURCE, fake_hub, make_speaker_folder, packaged_basis, speech_wav,  # noqa: F401
                                tensors_equal)
from tests.hub_server import offline

CONSENT = "Recorded in 2024 with the written consent of the speaker to be animated and published."


@pytest.fixture
def speaker_dir(tmp_path, packaged_basis):
    return make_speaker_folder(tmp_path / "profiles", packaged_basis)


def _load_state(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_stage_publishes_only_what_animating_needs(speaker_dir, tmp_path):
    from facial.hub.upload import stage

    kind, files = stage(speaker_dir, tmp_path / "up", repo_id="alice/spk", consent=CONSENT)
    assert kind == "facial-speaker"
    assert files == ["LICENSE.md", "README.md", "audio2face/full-aaaaaaaaaaaa-synthetic000/config.json",
                     "audio2face/full-aaaaaaaaaaaa-synthetic000/model.safetensors", "face2vid/config.json",
                     "face2vid/model.safetensors", "params.safetensors", "profile.json"]
    staged = (tmp_path / "up")
    info = json.loads((staged / "profile.json").read_text())
    assert info["source"] is None and info["frames"] is None  # the local path stays private; no footage
    assert info["source_hash"] == "synthetic0003"
    assert info["hub"] == {"format": 1, "name": "spk", "repo": "alice/spk", "consent": CONSENT, "footage": False,
                           "audio2face": "audio2face/full-aaaaaaaaaaaa-synthetic000", "face2vid": "face2vid"}
    every_byte = b"".join(p.read_bytes() for p in staged.rglob("*") if p.is_file())
    assert PRIVATE_SOURCE.encode() not in every_byte and b"/home/someone" not in every_byte
    card = (staged / "README.md").read_text()
    assert CONSENT in card and "synthetic0003" in card and "**not** published" in card
    assert "facial generate --speaker alice/spk" in card and "speaker-profile" in card
    assert "license_name: consented-likeness" in card and "impersonate" in (staged / "LICENSE.md").read_text()


def test_consent_and_something_to_render_with_are_required(speaker_dir, tmp_path, packaged_basis):
    from facial.hub import PublishError
    from facial.hub.upload import stage

    with pytest.raises(PublishError, match="consent"):
        stage(speaker_dir, tmp_path / "a", repo_id="alice/spk", consent="  ")
    bare = make_speaker_folder(tmp_path / "bare", packaged_basis, renderer=False, footage=False)
    with pytest.raises(PublishError, match="no trained neural renderer.*train-renderer"):
        stage(bare, tmp_path / "b", repo_id="alice/spk", consent=CONSENT)
    with pytest.raises(PublishError, match="no frames.mp4"):
        stage(bare, tmp_path / "c", repo_id="alice/spk", consent=CONSENT, include_footage=True)


def test_footage_only_when_asked(speaker_dir, tmp_path):
    from facial.hub.upload import stage

    _, files = stage(speaker_dir, tmp_path / "up", repo_id="alice/spk", consent=CONSENT, include_footage=True)
    assert "frames.mp4" in files
    assert (tmp_path / "up" / "frames.mp4").read_bytes() == (speaker_dir / "frames.mp4").read_bytes()
    info = json.loads((tmp_path / "up" / "profile.json").read_text())
    assert info["frames"] == "frames.mp4" and info["hub"]["footage"] is True
    assert "included as `frames.mp4`" in (tmp_path / "up" / "README.md").read_text()


def test_publish_and_load_a_speaker_bit_for_bit(fake_hub, speaker_dir):
    from facial.hub import has_footage, load_speaker, publish, speaker_model
    from facial.speaker.profile import load_params, load_profile

    result = publish(speaker_dir, "alice/spk", consent=CONSENT, private=True)
    assert result.kind == "facial-speaker" and "frames.mp4" not in fake_hub.files("alice/spk")
    folder = load_speaker("alice/spk")
    assert folder.is_relative_to(__import__("facial.hub.speaker", fromlist=["x"]).speakers_root())
    assert (folder / "params.safetensors").read_bytes() == (speaker_dir / "params.safetensors").read_bytes()
    a, extra_a = load_params(folder / "params.safetensors")
    b, extra_b = load_params(speaker_dir / "params.safetensors")
    assert np.array_equal(a.to_array(), b.to_array()) and tensors_equal(extra_a, extra_b)
    tuned = speaker_dir / "audio2face" / "full-aaaaaaaaaaaa-synthetic000"
    assert tensors_equal(_load_state(folder / "audio2face" / tuned.name), _load_state(tuned))
    assert tensors_equal(_load_state(folder / "face2vid"), _load_state(speaker_dir / "face2vid"))
    model = speaker_model(folder)
    assert model is not None and tensors_equal(model.state_dict(), _load_state(tuned))
    # no footage: the renderer's own reference frame becomes the texture
    profile = load_profile(folder)
    assert not has_footage(profile) and profile.video.name == "reference.png"
    import cv2

    ref = cv2.imread(str(profile.video))[..., ::-1]
    assert np.array_equal(ref, _load_state(speaker_dir / "face2vid")["reference_full"].numpy())
    # loading again is a cache hit: same folder
    assert load_speaker("alice/spk") == folder


def test_republishing_without_footage_removes_it_from_the_branch(fake_hub, speaker_dir):
    from facial.hub import load_speaker, publish

    publish(speaker_dir, "alice/spk", consent=CONSENT, include_footage=True)
    assert "frames.mp4" in fake_hub.files("alice/spk")
    folder = load_speaker("alice/spk@main")
    assert json.loads((folder / "profile.json").read_text())["hub"]["footage"] is True
    publish(speaker_dir, "alice/spk", consent=CONSENT)
    assert "frames.mp4" not in fake_hub.files("alice/spk")


def test_speaker_revisions_and_offline(fake_hub, speaker_dir, monkeypatch):
    from facial.hub import CheckpointNotFound, load_speaker, publish

    publish(speaker_dir, "alice/spk", consent=CONSENT)
    publish(speaker_dir, "alice/spk", consent=CONSENT + " (v2)", revision="v2")
    v2 = load_speaker("alice/spk@v2")
    assert json.loads((v2 / "profile.json").read_text())["hub"]["consent"].endswith("(v2)")
    main = load_speaker("alice/spk")
    assert main != v2
    offline(monkeypatch)
    n = len(fake_hub.requests)
    assert load_speaker("alice/spk") == main and load_speaker("alice/spk", revision="v2") == v2
    with pytest.raises(CheckpointNotFound, match="not in the local Hugging Face cache"):
        load_speaker("alice/other")
    assert len(fake_hub.requests) == n


def test_a_checkpoint_repo_is_not_a_speaker(fake_hub):
    from facial.hub import CheckpointNotFound, load_speaker, push_to_hub
    from tests.hub_fixtures import tiny_gan

    push_to_hub(tiny_gan(), "alice/gan")
    with pytest.raises(CheckpointNotFound, match="not a FACIAL speaker"):
        load_speaker("alice/gan")
    with pytest.raises(CheckpointNotFound, match="no such speaker repo"):
        load_speaker("alice/nobody")


def test_pipeline_local_path_wins_and_typos_stay_local(fake_hub, speaker_dir, tmp_path, monkeypatch):
    from facial.pipeline import FacialPipeline

    pipe = FacialPipeline(driver="envelope", cache_dir=tmp_path / "cache")
    # a local folder spelled like a repo id wins over the Hub
    (tmp_path / "alice").mkdir()
    import shutil

    shutil.copytree(speaker_dir, tmp_path / "alice" / "spk")
    monkeypatch.chdir(tmp_path)
    assert pipe.speaker_profile("alice/spk").directory.resolve() == (tmp_path / "alice" / "spk").resolve()
    with pytest.raises(FileNotFoundError):
        pipe.speaker_profile("alice/spk2")  # ./alice exists: a mistyped local path, not a repo id
    with pytest.raises(FileNotFoundError, match="no such speaker clip"):
        pipe.speaker_profile("clips/speaker.mp4")
    assert fake_hub.requests == []


def test_pipeline_generates_with_a_published_speaker(fake_hub, speaker_dir, tmp_path):
    """Published without footage: its own fine-tuned FACIAL-GAN and trained renderer draw it; warp is refused."""
    from facial import media
    from facial.pipeline import FacialPipeline
    from tests.hub_fixtures import tiny_gan

    from facial.hub import publish

    publish(speaker_dir, "alice/spk", consent=CONSENT)
    base = tmp_path / "base"
    tiny_gan(seed=9).save_pretrained(base)
    pipe = FacialPipeline(audio2face=str(base), cache_dir=tmp_path / "cache", device="cpu")
    profile = pipe.speaker_profile("alice/spk")
    wav = speech_wav(tmp_path / "speech.wav", 1.2)
    res = pipe.generate(wav, profile, tmp_path / "out.mp4", renderer="neural", finetune_effort="fast")
    assert res.renderer == "neural" and res.driver == "facial-gan"
    info = media.probe(res.video)
    assert info.has_video and info.has_audio and abs(info.duration - 1.2) < 0.2
    # it did not fine-tune (no clip): the published model was used, nothing was added to the profile
    assert sorted(p.name for p in (profile.directory / "audio2face").iterdir()) == ["full-aaaaaaaaaaaa-synthetic000"]
    with pytest.raises(ValueError, match="published without its footage.*neural"):
        pipe.generate(wav, "alice/spk", tmp_path / "warp.mp4", renderer="warp")
    with pytest.raises(ValueError, match="published without its footage"):
        pipe.generate(wav, profile, tmp_path / "n64.mp4", renderer="neural", neural_options={"size": 64})


def test_a_speaker_tracked_with_another_basis_is_refused(fake_hub, tmp_path):
    from facial.hub import publish
    from facial.pipeline import FacialPipeline
    from tests.hub_fixtures import synthetic_basis_for_tests

    other = make_speaker_folder(tmp_path / "p", synthetic_basis_for_tests())
    publish(other, "alice/other-basis", consent=CONSENT)
    pipe = FacialPipeline(driver="envelope", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="expression basis 'synthetic-test'"):
        pipe.speaker_profile("alice/other-basis")
