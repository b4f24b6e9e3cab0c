"""Fixtures of the FACIAL-GAN tests (synthetic data: see a2f_synthetic.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers module beside this file

from a2f_synthetic import make_clips, synthetic_basis, tiny_config


@pytest.fixture(scope="session")
def basis() -> fm.ExpressionBasis:
    return synthetic_basis()


@pytest.fixture(scope="session")
def trained_tiny():
    """A tiny FACIAL-GAN pretrained briefly on synthetic speakers (shared by several tests)."""
    from facial.training.train_audio2face import TrainConfig, pretrain

    torch.set_num_threads(1)
    cfg = tiny_config()
    clips = make_clips(20.0, [1, 2], cfg)
    model, _ = pretrain(clips, cfg, TrainConfig(steps=150, batch_size=8, lr=3e-3, stride=2, log_every=50), basis=synthetic_basis(),
                        progress=False)
    return model
