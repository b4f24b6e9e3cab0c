"""Model cards are written by code: the committed cards of facial/assets equal what the code writes, every
card carries the Hub's YAML metadata, and a re-trained checkpoint gets a fresh card."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.hub_fixtures import packaged_basis, tiny_gan  # noqa: F401  (fixtures)


def _meta(text: str) -> dict:
    from huggingface_hub import ModelCard

    return ModelCard(text).data.to_dict()


def test_committed_asset_cards_equal_what_the_code_writes():
    from facial.hub.cards import asset_cards, assets_dir

    cards = asset_cards()
    folders = {p.parent.name for p in cards}
    assert {"audio2face", "expression_basis"} <= folders
    for path, text in cards.items():
        assert path.is_file(), f"{path} is missing: run `python -m facial.hub.cards`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `python -m facial.hub.cards`"
    # every packaged checkpoint folder has a card
    assert folders == {d.name for d in assets_dir().iterdir() if (d / "config.json").is_file()}


def test_asset_cards_carry_metadata_and_measured_numbers():
    from facial.hub.cards import asset_cards, assets_dir

    cards = {p.parent.name: t for p, t in asset_cards().items()}
    a2f = _meta(cards["audio2face"])
    assert a2f["library_name"] == "facial" and a2f["license"] == "other" and a2f["license_name"] == "research-only"
    assert "talking-face" in a2f["tags"]
    cfg = json.loads((assets_dir() / "audio2face" / "config.json").read_text())
    prov = cfg["provenance"]
    body = cards["audio2face"]
    assert f"{prov['best_score']:.3f}" in body and f"step {prov['best_step']}" in body  # measured on this checkpoint
    assert f"{len(prov['clips'])} clips" in body and all(c in body for c in prov["validation_clips"])
    assert "docs/AUDIO2FACE.md" in body  # where the speaker-disjoint protocol lives
    basis = _meta(cards["expression_basis"])
    assert basis["library_name"] == "facial" and "face-model" in basis["tags"]
    bcfg = json.loads((assets_dir() / "expression_basis" / "config.json").read_text())
    assert f"{bcfg['explained_variance_ratio_total']:.3f}" in cards["expression_basis"]


def test_cards_for_a_sync_expert_folder_when_it_appears(tmp_path, packaged_basis):
    """The sync expert's folder (facial/assets/sync_expert) gets a card as soon as it exists."""
    model_mod = pytest.importorskip("facial.sync_expert.model")
    from facial.hub.cards import asset_cards, assets_dir

    root = tmp_path / "assets"
    shutil.copytree(assets_dir() / "expression_basis", root / "expression_basis")
    expert = model_mod.SyncExpert()
    expert.config.provenance = {"data": "MANIFEST.csv", "val_accuracy": 0.8125, "steps": 300}
    expert.save_pretrained(root / "sync_expert")
    cards = {p.parent.name: t for p, t in asset_cards(root).items()}
    assert set(cards) == {"expression_basis", "sync_expert"}
    text = cards["sync_expert"]
    meta = _meta(text)
    assert meta["library_name"] == "facial" and "lip-sync" in meta["tags"]
    assert "val_accuracy | 0.812" in text and "SyncExpert.from_pretrained" in text


def test_a_retrained_checkpoint_gets_a_fresh_true_card(tmp_path):
    from facial.hub.cards import model_card

    model = tiny_gan(seed=1)
    model.config.provenance = {"clips": ["a", "b", "c"], "validation_clips": ["v1"], "best_step": 40, "best_score": 0.4567,
                               "validation": [{"step": 40, "score": 0.4567}, {"step": 80, "score": 0.401}],
                               "train": {"steps": 80, "batch_size": 4, "lr": 0.001, "device": "cpu", "seed": 0},
                               "steps_done": 80, "seconds": 12.0, "final_losses": {"step": 80, "total": 3.5}}
    model.save_pretrained(tmp_path / "one")
    first = model_card(tmp_path / "one", repo_id="alice/gan")
    assert "0.457" in first and "3 clips" in first and 'FacialGAN.from_pretrained("alice/gan")' in first
    model.config.provenance["best_score"] = 0.5
    tiny_gan(seed=2).save_pretrained(tmp_path / "two")
    second_model = tiny_gan(seed=2)
    second_model.config.provenance = dict(model.config.provenance)
    second_model.save_pretrained(tmp_path / "two")
    second = model_card(tmp_path / "two", repo_id="alice/gan")
    assert second != first and "0.5 |" in second
    # the weights' hash is in the card: other weights, other card
    from facial import hashing

    assert hashing.sha256_file(tmp_path / "two" / "model.safetensors") in second


def test_personalised_checkpoint_card(tmp_path):
    from facial.hub.cards import model_card

    tiny_gan(seed=1, personalised_for="spk").save_pretrained(tmp_path / "ft")
    text = model_card(tmp_path / "ft")
    assert "personalised to spk" in text and "personalised" in _meta(text)["tags"]
    assert "fine-tuned from base weights `0123456789ab`" in text


def test_cards_module_check_mode(tmp_path, monkeypatch, capsys):
    from facial.hub import cards

    root = tmp_path / "assets"
    tiny_gan().save_pretrained(root / "audio2face")
    monkeypatch.setattr(cards, "assets_dir", lambda: root)
    assert cards.main(["--check"]) == 1 and "stale" in capsys.readouterr().err
    assert cards.main([]) == 0 and (root / "audio2face" / "README.md").is_file()
    assert cards.main(["--check"]) == 0
