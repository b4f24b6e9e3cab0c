"""``facial publish`` and ``facial generate --speaker owner/name`` against the local stand-in Hub."""
from __future__ import annotations

import json

import pytest

from tests.hub_fixtures import fake_hub, make_speaker_folder, packaged_basis, speech_wav, tensors_equal, tiny_gan  # noqa: F401
from tests.hub_server import offline

CONSENT = "She agreed in writing to be animated and published (2024-05-02)."


def _main(*argv: str) -> int:
    from facial.cli import main

    return main([str(a) for a in argv])


def test_publish_is_registered_with_its_options():
    from facial.cli import get_args_parser
    from facial.cli.publish import cmd_publish

    a = get_args_parser().parse_args(["publish", "ckpt", "--repo", "alice/gan", "--private", "--revision", "v1", "-m", "hi"])
    assert a.func is cmd_publish and a.repo == "alice/gan" and a.private and a.revision == "v1" and a.message == "hi"
    assert not a.include_footage and a.consent is None
    with pytest.raises(SystemExit):
        get_args_parser().parse_args(["publish", "ckpt"])  # --repo is required


def test_publish_a_checkpoint_folder(fake_hub, tmp_path, capsys):
    from facial.audio2face import FacialGAN

    model = tiny_gan(seed=4)
    model.save_pretrained(tmp_path / "ckpt")
    assert _main("publish", tmp_path / "ckpt", "--repo", "alice/gan", "--revision", "v1", "-m", "weights v1") == 0
    out = capsys.readouterr().out
    assert "alice/gan/tree/v1" in out and "facial-gan" in out
    assert fake_hub.repos["alice/gan"].refs["v1"] != fake_hub.repos["alice/gan"].refs["main"]
    assert tensors_equal(FacialGAN.from_pretrained("alice/gan", revision="v1").state_dict(), model.state_dict())
    assert "README.md" in fake_hub.files("alice/gan", "v1")
    assert not (tmp_path / "ckpt" / "README.md").exists()  # the folder itself is left as it was


def test_publish_the_packaged_checkpoint_with_its_committed_card(fake_hub):
    from facial.audio2face.model import default_checkpoint_dir

    folder = default_checkpoint_dir()
    assert _main("publish", folder, "--repo", "facial/facial-gan", "--private") == 0
    remote = fake_hub.files("facial/facial-gan")
    assert fake_hub.repos["facial/facial-gan"].private
    assert remote["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    card = remote["README.md"].decode()
    committed = (folder / "README.md").read_text()
    assert card == committed.replace("OWNER/NAME", "facial/facial-gan")


def test_publish_a_speaker_needs_consent_and_keeps_the_footage(fake_hub, tmp_path, packaged_basis, caplog):
    folder = make_speaker_folder(tmp_path / "profiles", packaged_basis)
    assert _main("publish", folder, "--repo", "alice/spk") == 2
    assert "consent" in caplog.text
    assert "alice/spk" not in fake_hub.repos  # refused before anything was sent
    assert _main("publish", folder, "--repo", "alice/spk", "--consent", CONSENT, "--private") == 0
    remote = fake_hub.files("alice/spk")
    assert "frames.mp4" not in remote and CONSENT in remote["README.md"].decode()
    assert json.loads(remote["profile.json"])["source"] is None


def test_bad_input_exits_2_and_hub_refusals_exit_1(fake_hub, tmp_path, monkeypatch, caplog):
    tiny_gan().save_pretrained(tmp_path / "ckpt")
    assert _main("publish", tmp_path / "nowhere", "--repo", "alice/gan") == 2
    assert _main("publish", tmp_path / "ckpt", "--repo", "not a repo") == 2
    assert _main("publish", tmp_path / "ckpt", "--repo", "alice/gan", "--include-footage") == 2
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    caplog.clear()
    assert _main("publish", tmp_path / "ckpt", "--repo", "alice/gan") == 1
    assert "HF_TOKEN" in caplog.text and "Traceback" not in caplog.text


def test_dry_run_lists_files_without_the_network(fake_hub, tmp_path, capsys, packaged_basis):
    folder = make_speaker_folder(tmp_path / "profiles", packaged_basis)
    assert _main("publish", folder, "--repo", "alice/spk", "--consent", CONSENT, "--include-footage", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would publish" in out and "frames.mp4" in out and "overlay.mp4" not in out
    assert fake_hub.requests == []


def test_generate_with_a_published_speaker_then_offline(fake_hub, tmp_path, packaged_basis, monkeypatch):
    """``facial generate --speaker owner/name``: fetched once, then from the cache with HF_HUB_OFFLINE=1."""
    from facial import media

    folder = make_speaker_folder(tmp_path / "profiles", packaged_basis)
    assert _main("publish", folder, "--repo", "alice/spk", "--consent", CONSENT) == 0
    base = tmp_path / "base"
    tiny_gan(seed=9).save_pretrained(base)
    wav = speech_wav(tmp_path / "speech.wav", 1.0)
    args = ["generate", "--audio", wav, "--speaker", "alice/spk", "--audio2face", base, "--cache-dir", tmp_path / "cache",
            "--device", "cpu", "-q"]
    assert _main(*args, "-o", tmp_path / "out.mp4") == 0  # warp asked (default), neural used: no footage
    assert media.probe(tmp_path / "out.mp4").has_video
    offline(monkeypatch)
    n = len(fake_hub.requests)
    assert _main(*args, "-o", tmp_path / "again.mp4") == 0
    assert len(fake_hub.requests) == n and media.probe(tmp_path / "again.mp4").has_video
    # a speaker never fetched: one clear line, exit 2
    assert _main(*args[:4], "alice/unknown", *args[5:], "-o", tmp_path / "x.mp4") == 2
