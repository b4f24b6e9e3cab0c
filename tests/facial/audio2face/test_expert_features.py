"""The sync expert's audio stream as FACIAL-GAN's speech features (``audio.expert``, issue #13 item 2):
the embedding of the 0.2 s centred on every step, known answers against the expert itself, the
expert's weights pinned in the config and another expert refused, and a tiny model training on them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facial.audio2face.audio import expert_embeddings
from facial.audio2face.config import AudioConfig, FacialGANConfig
from facial.sync_expert.config import SyncExpertConfig
from facial.sync_expert.model import SyncExpert

N_MELS, EMBED = 32, 8


def _expert(path, seed: int = 0) -> SyncExpert:
    torch.manual_seed(seed)
    expert = SyncExpert(SyncExpertConfig(hidden=32, embed_dim=EMBED, audio_channels=(8, 8), n_mels=N_MELS))
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode differs from train mode
        for m in expert.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    expert.save_pretrained(path)
    return SyncExpert.from_pretrained(path)


def test_embeddings_are_the_experts_windows_centred_on_every_step(tmp_path):
    expert = _expert(tmp_path / "expert")
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(50, N_MELS)).astype(np.float32)
    got = expert_embeddings(mel, str(tmp_path / "expert"))
    assert got.shape == (50, EMBED)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), np.sqrt(EMBED), rtol=1e-5)  # unit norm × √E
    length = expert.config.mel_window                                                 # 20 steps = 0.2 s
    for s in (0, 3, 25, 49):
        idx = np.clip(np.arange(s - length // 2, s + length - length // 2), 0, len(mel) - 1)  # edges repeated
        with torch.no_grad():
            want = expert.embed_audio(torch.from_numpy(mel[idx])[None])[0].numpy() * np.sqrt(EMBED)
        np.testing.assert_allclose(got[s], want, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="32 mel bins"):
        expert_embeddings(rng.normal(size=(50, 40)).astype(np.float32), str(tmp_path / "expert"))


def test_the_config_pins_the_expert_and_refuses_another(tmp_path):
    from facial.types import AudioClip

    first, second = _expert(tmp_path / "a", seed=0), _expert(tmp_path / "b", seed=1)
    audio = AudioConfig(n_mels=N_MELS, window=16, phones=False, expert=str(tmp_path / "a"))
    assert audio.dim == N_MELS + EMBED
    pinned = audio.pinned()
    assert pinned.expert_id == first.weights_id() != second.weights_id()
    assert pinned.pinned() == pinned and AudioConfig(phones=False).pinned() == AudioConfig(phones=False)

    rng = np.random.default_rng(1)
    clip = AudioClip(rng.normal(0, 0.1, 16000 * 2).astype(np.float32), 16000)
    enc = pinned.encoder()
    assert enc.dim == N_MELS + EMBED and "expert" in enc.name
    windows = enc(clip, 25.0).windows
    assert windows.shape == (50, 16, N_MELS + EMBED)
    spec = AudioConfig(n_mels=N_MELS, window=16, phones=False).encoder().spectrogram(clip)
    np.testing.assert_array_equal(windows[..., :N_MELS], AudioConfig(n_mels=N_MELS, window=16, phones=False).encoder()(clip, 25.0).windows)
    centre = int(round(10.5 / 25.0 * 100))  # frame 10's centre step sits at window index 8
    np.testing.assert_allclose(windows[10, 8, N_MELS:], expert_embeddings(spec, str(tmp_path / "a"))[centre], rtol=1e-5)

    swapped = AudioConfig(**{**pinned.__dict__, "expert": str(tmp_path / "b")})  # same id, other weights
    with pytest.raises(ValueError, match="sync expert"):
        swapped.encoder()(clip, 25.0)

    # the pinned expert survives config.json; a config written before the option reads as "no expert"
    cfg = FacialGANConfig(audio=pinned)
    assert FacialGANConfig.from_dict(cfg.to_dict()).audio == pinned
    old = cfg.to_dict()
    for key in ("expert", "expert_id"):
        old["audio"].pop(key)
    assert FacialGANConfig.from_dict(old).audio.expert == "" and FacialGANConfig.from_dict(old).audio.dim == N_MELS


def test_a_tiny_model_pretrains_on_expert_features_and_records_the_expert(tmp_path):
    from facial.audio2face.inference import animate
    from facial.audio2face.trainer import TrainConfig
    from facial.training.pretrain import pretrain
    from tests.facial.audio2face.a2f_synthetic import make_clips, make_speaker, synthetic_basis, tiny_config

    torch.set_num_threads(1)
    expert = _expert(tmp_path / "expert")
    cfg = tiny_config(audio=AudioConfig(n_mels=N_MELS, window=16, phones=False, expert=str(tmp_path / "expert")))
    clips = make_clips(8.0, [1, 2], cfg)
    assert clips[0].features.shape[-1] == N_MELS + EMBED
    model, result = pretrain(clips, cfg, TrainConfig(steps=10, batch_size=4, lr=3e-3, stride=4), basis=synthetic_basis(), progress=False)
    assert model.config.audio.expert_id == expert.weights_id()
    profile, audio = make_speaker(4.0, 7)
    params = animate(model, audio, profile)
    assert len(params.expression) == 100 and np.isfinite(params.expression).all()
