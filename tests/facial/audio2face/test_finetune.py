"""Personalisation: fine-tuning a copy of FACIAL-GAN on one speaker, and its cache in the profile."""
from __future__ import annotations

import pytest
import torch

from a2f_synthetic import make_speaker
from facial.audio2face import animate, finetune, personalised
from facial.audio2face.finetune import CACHE_DIR
from facial.speaker.profile import save_profile


def test_finetune_returns_a_personalised_copy(trained_tiny):
    profile, audio = make_speaker(6.0, seed=12)
    before = {k: v.clone() for k, v in trained_tiny.state_dict().items()}
    tuned = finetune(trained_tiny, profile, audio, steps=4, progress=False)
    assert tuned is not trained_tiny
    for k, v in trained_tiny.state_dict().items():
        torch.testing.assert_close(v, before[k])
    assert tuned.config.provenance["finetune"]["steps"] == 4
    assert any(not torch.equal(v, before[k]) for k, v in tuned.state_dict().items() if v.dtype.is_floating_point)
    assert len(animate(tuned, audio, profile)) == len(profile)


def test_finetune_with_frozen_audio_encoders_changes_only_the_rest(trained_tiny):
    profile, audio = make_speaker(6.0, seed=12)
    base = trained_tiny.copy()
    base.config = base.config.replace(finetune={**base.config.to_dict()["finetune"], "freeze_audio": True, "augment": True})
    tuned = finetune(base, profile, audio, steps=4, progress=False, lr=1e-2)
    frozen = ("frame.", "context.encoder.")
    before = dict(base.state_dict())
    for k, v in tuned.state_dict().items():
        if k.startswith(frozen):
            torch.testing.assert_close(v, before[k])
    assert any(not torch.equal(v, before[k]) for k, v in tuned.state_dict().items() if v.dtype.is_floating_point and not k.startswith(frozen))
    assert all(p.requires_grad for p in tuned.parameters())  # the returned model trains normally again


def test_personalised_caches_in_the_profile(trained_tiny, tmp_path):
    from facial import media

    profile, audio = make_speaker(6.0, seed=13)
    wav = media.save_wav(tmp_path / "speech.wav", audio)
    profile.video = wav
    save_profile(profile, tmp_path / "prof", copy_frames=False)
    base_dir = trained_tiny.save_pretrained(tmp_path / "base")
    seen = []
    m1 = personalised(tmp_path / "prof", effort="fast", base=str(base_dir), progress_callback=lambda f, msg: seen.append(f))
    cached = list((tmp_path / "prof" / CACHE_DIR).iterdir())
    assert len(cached) == 1 and cached[0].name.startswith("fast-")
    assert seen and seen[-1] == 1.0
    m2 = personalised(tmp_path / "prof", effort="fast", base=str(base_dir))
    assert m2.weights_id() == m1.weights_id() == m1.checkpoint_id
    assert personalised(tmp_path / "prof", effort="none", base=trained_tiny) is trained_tiny
    with pytest.raises(ValueError, match="effort"):
        personalised(tmp_path / "prof", effort="max", base=trained_tiny)


def test_personalised_without_audio_is_explained(trained_tiny, tmp_path):
    profile, _ = make_speaker(6.0, seed=14)
    save_profile(profile, tmp_path / "mute", copy_frames=False)
    with pytest.raises(ValueError, match="no clip with audio"):
        personalised(tmp_path / "mute", effort="fast", base=trained_tiny)


def test_finetune_adds_the_sync_term_and_keeps_the_pretraining_losses(tmp_path):
    """``finetune.sync`` is the lip-sync expert's weight while fine-tuning (the expert of
    ``losses.sync_expert``); the personalised copy keeps the pretraining's loss weights and records the
    weight it was tuned with; 0 turns the term off; a model whose audio the expert cannot read is
    refused before any work, with what to do."""
    from a2f_synthetic import tiny_config
    from facial.audio2face.config import AudioConfig, LossWeights
    from facial.audio2face.model import FacialGAN
    from facial.sync_expert.config import SyncExpertConfig
    from facial.sync_expert.model import SyncExpert

    torch.manual_seed(0)
    SyncExpert(SyncExpertConfig(hidden=32, embed_dim=8, audio_channels=(8, 8))).save_pretrained(tmp_path / "expert")
    cfg = tiny_config(audio=AudioConfig(window=16, phones=False))           # 80 mel bins, as the expert
    ft = cfg.to_dict()["finetune"]
    cfg = cfg.replace(losses=LossWeights(sync=0.0, sync_expert=str(tmp_path / "expert")), finetune={**ft, "sync": 2.0})
    model = FacialGAN(cfg)
    model.mouth_basis.copy_(0.05 * torch.randn_like(model.mouth_basis))
    profile, audio = make_speaker(6.0, seed=15)
    tuned = finetune(model, profile, audio, steps=2, progress=False)
    record = tuned.config.provenance["finetune"]
    assert "sync" in record["final_losses"] and record["sync"] == 2.0
    assert tuned.config.losses.sync == 0.0 and model.config.losses.sync == 0.0
    model.config = cfg.replace(finetune={**ft, "sync": 0.0})
    assert "sync" not in finetune(model, profile, audio, steps=2, progress=False).config.provenance["finetune"]["final_losses"]
    narrow = FacialGAN(tiny_config(finetune={**ft, "sync": 1.0}))            # 32 mel bins
    with pytest.raises(ValueError, match="80 mel bins.*finetune.sync"):
        finetune(narrow, profile, audio, steps=2, progress=False)


def test_a_changed_fine_tuning_recipe_does_not_reuse_the_cached_model(trained_tiny, tmp_path):
    """The cache key holds the base's weights and its fine-tuning recipe: the same weights with
    another ``finetune`` setting get another folder."""
    from facial.audio2face.finetune import cache_key

    profile, _ = make_speaker(6.0, seed=16)
    other = trained_tiny.copy()
    other.config = other.config.replace(finetune={**other.config.to_dict()["finetune"], "fast_steps": 7})
    assert other.weights_id() == trained_tiny.weights_id()
    assert cache_key(other, profile, "fast") != cache_key(trained_tiny, profile, "fast")
    assert cache_key(trained_tiny.copy(), profile, "fast") == cache_key(trained_tiny, profile, "fast")
