"""facial.hub: publish → load round trips through a local stand-in Hub (bit-for-bit weights), revisions,
offline mode from the cache, one-line errors, the model_type registry. No test touches the internet."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.hub_fixtures import fake_hub, packaged_basis, tensors_equal, tiny_gan  # noqa: F401  (fixtures)
from tests.hub_server import offline


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    return msg


# ------------------------------------------------------------------ the public API keeps its names
def test_public_names_and_old_imports():
    import facial.hub as hub
    from facial.hub import CheckpointError, CheckpointNotFound, load_safetensors, read_config, resolve_dir  # noqa: F401

    assert issubclass(CheckpointNotFound, FileNotFoundError) and issubclass(CheckpointError, ValueError)
    for name in hub.__all__:
        assert getattr(hub, name) is not None
    assert callable(hub.publish) and callable(hub.push_to_hub) and callable(hub.load_speaker)


@pytest.mark.parametrize("text, expected", [
    ("alice/facial-gan", True), ("Org_1/model.v2", True), ("alice/spk", True),
    ("alice", False), ("a/b/c", False), ("./alice/gan", False), ("/abs/path", False), ("~/gan", False),
    ("clips/me.mp4", False), ("out/config.json", False), ("alice/--x", False), ("al ice/x", False), ("alice/", False),
])
def test_is_repo_id(text, expected):
    from facial.hub import is_repo_id

    assert is_repo_id(text) is expected


def test_a_mistyped_local_folder_never_reaches_the_hub(fake_hub, tmp_path, monkeypatch):
    from facial.audio2face import FacialGAN
    from facial.hub import CheckpointNotFound

    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path)
    for typo in ("ckpt/nonexistent", "ckpt/typo/deeper", "./gan", "clips/speaker.mp4"):
        with pytest.raises(CheckpointNotFound, match="no such folder") as info:
            FacialGAN.from_pretrained(typo)
        _one_line(info)
    assert fake_hub.requests == []


# ------------------------------------------------------------------ round trips
def test_facial_gan_publish_then_load_bit_for_bit(fake_hub):
    from facial.audio2face import FacialGAN
    from facial.hub import push_to_hub

    model = tiny_gan(seed=3)
    result = push_to_hub(model, "alice/facial-gan", commit_message="first weights")
    assert result.repo_id == "alice/facial-gan" and result.revision == "main" and result.kind == "facial-gan"
    assert result.files == ["LICENSE.md", "README.md", "config.json", "model.safetensors"]
    assert result.commit and result.url.endswith("/alice/facial-gan")
    remote = fake_hub.files("alice/facial-gan")
    assert {"README.md", "LICENSE.md", "config.json", "model.safetensors"} <= set(remote)
    assert b"license_link: LICENSE.md" in remote["README.md"] and b"Research-use only" in remote["LICENSE.md"]
    assert json.loads(remote["config.json"])["model_type"] == "facial-gan"
    loaded = FacialGAN.from_pretrained("alice/facial-gan")
    assert tensors_equal(model.state_dict(), loaded.state_dict())
    assert loaded.config.to_dict() == model.config.to_dict()
    # the large file went through the LFS upload, the card and config inline
    assert any(m == "PUT" and p.startswith("/lfs-upload/") for m, p in fake_hub.requests)


def test_neural_renderer_and_basis_round_trip(fake_hub, tmp_path, packaged_basis):
    from facial.face2vid import NeuralRenderer
    from facial.hub import from_pretrained, push_to_hub
    from facial.speaker.face_model import ExpressionBasis
    from tests.hub_fixtures import make_speaker, tiny_renderer

    profile, _ = make_speaker(2.0, 1, basis=packaged_basis)
    renderer = tiny_renderer(profile, seed=4)
    assert push_to_hub(renderer, "alice/renderer").kind == "facial-face2vid"
    back = NeuralRenderer.from_pretrained("alice/renderer", device="cpu")
    assert tensors_equal(renderer.generator.state_dict(), back.generator.state_dict())
    assert np.array_equal(back.reference, renderer.reference) and np.array_equal(back.reference_full, renderer.reference_full)
    assert back.config.to_dict() == renderer.config.to_dict()
    # generic loading by model_type picks the class from config.json
    assert isinstance(from_pretrained("alice/renderer", device="cpu"), NeuralRenderer)

    basis = ExpressionBasis(packaged_basis.components[:3].copy(), packaged_basis.explained_variance[:3].copy(), "test-basis", None)
    assert push_to_hub(basis, "alice/basis").kind == "facial-expression-basis"
    loaded = from_pretrained("alice/basis")
    assert isinstance(loaded, ExpressionBasis) and loaded.basis_id == "test-basis"
    assert np.array_equal(loaded.components, basis.components)


def test_sync_expert_plugs_in_by_model_type(fake_hub):
    model_mod = pytest.importorskip("facial.sync_expert.model")
    from facial.hub import from_pretrained, get_kind, push_to_hub

    assert get_kind("facial-sync-expert").loader == "facial.sync_expert.model:SyncExpert"
    expert = model_mod.SyncExpert().eval()
    result = push_to_hub(expert, "alice/sync")
    assert result.kind == "facial-sync-expert"
    back = from_pretrained("alice/sync")
    assert isinstance(back, model_mod.SyncExpert) and tensors_equal(expert.state_dict(), back.state_dict())
    assert b"facial-sync-expert" in fake_hub.files("alice/sync")["README.md"]


def test_revisions_are_branches_and_commits(fake_hub):
    from facial.audio2face import FacialGAN
    from facial.hub import push_to_hub

    first, second = tiny_gan(seed=10), tiny_gan(seed=11)
    r1 = push_to_hub(first, "alice/gan")
    r2 = push_to_hub(second, "alice/gan", revision="v2")
    assert r2.revision == "v2" and r2.url.endswith("/tree/v2")
    assert tensors_equal(FacialGAN.from_pretrained("alice/gan").state_dict(), first.state_dict())
    assert tensors_equal(FacialGAN.from_pretrained("alice/gan", revision="v2").state_dict(), second.state_dict())
    assert tensors_equal(FacialGAN.from_pretrained("alice/gan", revision=r1.commit).state_dict(), first.state_dict())
    assert r1.commit != r2.commit


def test_private_repo_needs_the_token(fake_hub, monkeypatch):
    from facial.audio2face import FacialGAN
    from facial.hub import CheckpointNotFound, push_to_hub

    model = tiny_gan()
    push_to_hub(model, "alice/secret", private=True)
    assert fake_hub.repos["alice/secret"].private
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(CheckpointNotFound) as info:
        FacialGAN.from_pretrained("alice/secret")
    msg = _one_line(info)
    assert "alice/secret" in msg and "HF_TOKEN" in msg
    monkeypatch.setenv("HF_TOKEN", fake_hub.token)
    assert tensors_equal(FacialGAN.from_pretrained("alice/secret").state_dict(), model.state_dict())


def test_offline_mode_uses_the_cache_and_sends_nothing(fake_hub, monkeypatch):
    from facial.audio2face import FacialGAN
    from facial.hub import CheckpointNotFound, push_to_hub

    model = tiny_gan(seed=5)
    push_to_hub(model, "alice/gan")
    push_to_hub(tiny_gan(seed=6), "alice/gan", revision="v2")
    FacialGAN.from_pretrained("alice/gan")  # cached once online (main only)
    offline(monkeypatch)
    before = len(fake_hub.requests)
    loaded = FacialGAN.from_pretrained("alice/gan")
    assert tensors_equal(loaded.state_dict(), model.state_dict())
    with pytest.raises(CheckpointNotFound, match="not in the local Hugging Face cache") as info:
        FacialGAN.from_pretrained("alice/gan", revision="v2")  # never downloaded
    assert "HF_HUB_OFFLINE" in _one_line(info)
    with pytest.raises(CheckpointNotFound, match="not in the local Hugging Face cache"):
        FacialGAN.from_pretrained("alice/never-seen")
    assert len(fake_hub.requests) == before


def test_wrong_repo_missing_file_wrong_revision_are_one_line(fake_hub, tmp_path):
    from facial.audio2face import FacialGAN
    from facial.hub import CheckpointNotFound, push_to_hub

    with pytest.raises(CheckpointNotFound, match="alice/typo: no such checkpoint repo") as info:
        FacialGAN.from_pretrained("alice/typo")
    _one_line(info)
    push_to_hub(tiny_gan(), "alice/gan")
    with pytest.raises(CheckpointNotFound, match="no revision 'v9'") as info:
        FacialGAN.from_pretrained("alice/gan", revision="v9")
    _one_line(info)
    # a repo that lacks the weights (someone uploaded only a config)
    fake_hub.create("bob/half").commit({"config.json": b'{"model_type": "facial-gan"}'}, "main")
    with pytest.raises(CheckpointNotFound, match="bob/half lacks model.safetensors") as info:
        FacialGAN.from_pretrained("bob/half")
    _one_line(info)


# ------------------------------------------------------------------ registry
def test_registry_plugs_in_a_new_kind_without_editing_the_hub(fake_hub, tmp_path, monkeypatch):
    from facial import hub
    from facial.hub import registry

    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))  # keep the global registry clean
    hub.register(hub.Kind("toy-net", "Toy net", "tests.facial.hub.toy_kind:ToyNet", description="a toy network",
                          tags=("facial", "toy")))
    from tests.facial.hub.toy_kind import ToyNet

    net = ToyNet(seed=7)
    result = hub.push_to_hub(net, "alice/toy")
    assert result.kind == "toy-net"
    card = fake_hub.files("alice/toy")["README.md"].decode()
    assert "# Toy net" in card and "library_name: facial" in card and "- toy" in card
    back = hub.from_pretrained("alice/toy")
    assert isinstance(back, ToyNet) and np.array_equal(back.weights, net.weights)
    with pytest.raises(ValueError, match="already registered"):
        hub.register(hub.Kind("toy-net", "Other", "x:y"))


def test_unknown_model_type_and_broken_folders_are_clear(tmp_path):
    from facial.hub import CheckpointError, kind_of, publish

    (tmp_path / "mystery").mkdir()
    (tmp_path / "mystery" / "config.json").write_text('{"model_type": "nope"}')
    with pytest.raises(CheckpointError, match="unknown model_type 'nope'"):
        kind_of(tmp_path / "mystery")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="neither a checkpoint"):
        kind_of(tmp_path / "empty")
    with pytest.raises(ValueError, match="not a valid Hugging Face repo id|owner/name"):
        publish(tmp_path / "mystery", "not a repo")


def test_publish_offline_or_without_write_access_is_one_line(fake_hub, monkeypatch):
    from facial.hub import push_to_hub
    from facial.hub.upload import HubUploadError

    monkeypatch.setenv("HF_TOKEN", "hf_not_the_right_one")
    with pytest.raises(HubUploadError, match="refused the token") as info:
        push_to_hub(tiny_gan(), "alice/gan")
    _one_line(info)
    offline(monkeypatch)
    with pytest.raises(HubUploadError, match="HF_HUB_OFFLINE") as info:
        push_to_hub(tiny_gan(), "alice/gan")
    _one_line(info)
