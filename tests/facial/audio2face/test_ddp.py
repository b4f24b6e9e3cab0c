"""FACIAL-GAN training on N ranks equals one process (facial.audio2face.trainer / distributed).

In process: the sampler shards each global batch between the ranks, and the per-window random draws
(style dropout, augmentation) of a rank are its rows of the one-process draws. Under torchrun (gloo,
two CPU ranks): ``facial train audio2face`` writes the checkpoint of the one-process run with the same
global batch and seed, to float tolerance, and only rank 0 writes it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from a2f_synthetic import make_clips, tiny_config, tiny_config_json, write_profiles
from facial.audio2face.augment import AugmentConfig
from facial.audio2face.data import Sample, SequenceDataset
from facial.audio2face.model import FacialGAN
from facial.audio2face.trainer import TrainConfig, TrainStep, _loader

_BESIDE = Path(sys.executable).parent / "torchrun"  # this environment's, before any other on PATH
TORCHRUN = str(_BESIDE) if _BESIDE.exists() else (shutil.which("torchrun") or str(_BESIDE))


class _Indexed(SequenceDataset):
    """The windows of a SequenceDataset, each carrying its own index as ``style`` (to follow it through the loader)."""

    def __getitem__(self, i: int) -> Sample:
        sample = super().__getitem__(i)
        sample.style = i
        return sample


def _dataset(n_seconds: float = 4.0) -> SequenceDataset:
    cfg = tiny_config()
    return _Indexed(make_clips(n_seconds, [1, 2], cfg), FacialGAN(cfg).normalise, cfg.seq_len, stride=3)


def _batches(loader, sampler, epochs: int = 2) -> list[list[int]]:
    """Window indices of every batch over ``epochs`` epochs."""
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        out += [b.style.tolist() for b in loader]
    return out


def test_the_ranks_batches_are_disjoint_and_together_the_one_process_batch():
    ds = _dataset()
    config = TrainConfig(batch_size=8, seed=3)
    one = _batches(*_loader(ds, config))
    ranks = [_batches(*_loader(ds, config, rank, 2)) for rank in (0, 1)]
    assert len(one) == len(ranks[0]) == len(ranks[1]) == 2 * (len(ds) // 8)  # full global batches only
    for step, batch in enumerate(one):
        r0, r1 = ranks[0][step], ranks[1][step]
        assert len(r0) == len(r1) == 4 and not set(r0) & set(r1)  # each rank sees other windows
        assert r0 == batch[0::2] and r1 == batch[1::2]  # rank r holds rows r::2 of the global batch
    assert one[0] != one[len(one) // 2]  # a new permutation every epoch
    with pytest.raises(ValueError, match="multiple of the 3 ranks"):
        _loader(ds, TrainConfig(batch_size=8), 0, 3)
    with pytest.raises(ValueError, match="cannot fill a global batch"):
        _loader(ds, TrainConfig(batch_size=len(ds) + 2), 0, 2)
    small, _ = _loader(ds, TrainConfig(batch_size=len(ds) + 2))  # one process: drawn with replacement
    assert [len(b.style) for b in small] == [len(ds) + 2]


def test_style_dropout_and_augmentation_draws_are_sharded_like_the_batch():
    cfg = tiny_config(n_styles=3)
    model = FacialGAN(cfg)
    config = TrainConfig(batch_size=6, style_dropout=0.5, augment=AugmentConfig(), seed=5)

    def step(rank: int, world: int) -> TrainStep:
        return TrainStep(model, model, None, config, torch.device("cpu"), np.random.default_rng(5),
                         torch.Generator().manual_seed(5), rank, world)

    audio = torch.randn(6, cfg.seq_len, cfg.audio.window, cfg.audio.n_mels)
    style = torch.tensor([1, 2, 1, 2, 1, 2])
    one = step(0, 1)
    whole_style, whole_audio = one._style(style), one._augment(audio)
    assert (whole_style == 0).any() and (whole_style != 0).any()
    for rank in (0, 1, 2):
        shard = step(rank, 3)
        torch.testing.assert_close(shard._style(style[rank::3]), whole_style[rank::3], rtol=0, atol=0)
        torch.testing.assert_close(shard._augment(audio[rank::3]), whole_audio[rank::3], rtol=0, atol=0)


# --------------------------------------------------------------------------- torchrun
def _load(folder: Path) -> FacialGAN:
    """A checkpoint folder, read with safetensors directly."""
    from safetensors.torch import load_file

    from facial.audio2face.config import FacialGANConfig

    raw = json.loads((folder / "config.json").read_text())
    raw.pop("model_type", None)
    model = FacialGAN(FacialGANConfig.from_dict(raw))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()


def _dead_tensors(model: FacialGAN) -> set[str]:
    """Parameters the output does not depend on (zero gradient: a bias right before a GroupNorm with
    one channel per group). Adam turns their rounding-noise gradients into full-size steps, so they
    drift apart between any two summation orders, without changing what the network computes."""
    cfg = model.config
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, cfg.seq_len, cfg.audio.window, cfg.audio.n_mels, generator=g)
    first = torch.randn(4, cfg.param_dim, generator=g)
    model.train()
    model.zero_grad()
    model(x, first, torch.arange(4) % cfg.n_styles).pow(2).mean().backward()
    model.eval()
    return {k for k, p in model.named_parameters() if p.grad is not None and float(p.grad.abs().max()) < 1e-6}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from facial.speaker.face_model import ExpressionBasis

    root = tmp_path_factory.mktemp("ddp")
    basis = ExpressionBasis.from_pretrained()
    write_profiles(root / "profiles", [1, 2], 6.0, basis)
    cfg = root / "tiny.json"
    tiny_config_json(cfg, basis.k)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "dropout": 0.0}))  # nn.Dropout draws per rank
    return root, cfg


@pytest.mark.skipif(not Path(TORCHRUN).exists(), reason="torchrun not installed")
def test_torchrun_two_ranks_write_the_one_process_checkpoint(corpus):
    root, cfg = corpus
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["train", "audio2face", "--data", str(root / "profiles"), "--config", str(cfg), "--steps", "20",
              "--batch-size", "8", "--seq-len", "32", "--stride", "4", "--lr", "1e-3", "--device", "cpu", "--threads", "1",
              "--seed", "7", "-q"]
    one = subprocess.run([sys.executable, "-m", "facial.cli", *common, "-o", str(root / "one")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", "facial.cli", *common, "-o", str(root / "two")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    # two gloo ranks, each with half of every global batch of 8; one checkpoint, written once
    assert "DDP: rank 0/2" in two.stderr and "DDP: rank 1/2" in two.stderr, two.stderr[-2000:]
    assert "4 of the global batch of 8 per step" in two.stderr
    assert two.stderr.count("INFO facial.training.pretrain: saved") == 1

    a, b = _load(root / "one"), _load(root / "two")
    assert a.config.speakers == b.config.speakers and b.config.provenance["steps_done"] == 20
    dead = _dead_tensors(a)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if k not in dead:
            torch.testing.assert_close(sb[k], sa[k], rtol=1e-4, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}")
    # the network computes the same function (dead tensors included)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, a.config.seq_len, a.config.audio.window, a.config.audio.n_mels, generator=g)
    first = torch.randn(3, a.config.param_dim, generator=g)
    style = torch.arange(3) % a.config.n_styles
    with torch.no_grad():
        torch.testing.assert_close(b(x, first, style), a(x, first, style), rtol=1e-4, atol=1e-5)
    # the logged losses are the global batch's (averaged over the ranks)
    log_a = json.loads((root / "one" / "training_log.json").read_text())
    log_b = json.loads((root / "two" / "training_log.json").read_text())
    assert [h["step"] for h in log_a] == [h["step"] for h in log_b]
    for ha, hb in zip(log_a, log_b):
        for term in ha:
            if term not in ("step", "seconds"):
                assert hb[term] == pytest.approx(ha[term], rel=1e-4, abs=1e-5), (ha["step"], term)
