"""Fixtures of the command-line tests: the synthetic FACIAL-GAN helpers of tests/facial/audio2face."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "audio2face"))  # a2f_synthetic.py

from a2f_synthetic import trained_tiny_model


@pytest.fixture(scope="session")
def trained_tiny():
    """A tiny FACIAL-GAN pretrained briefly on synthetic speakers (the same one tests/facial/audio2face uses)."""
    return trained_tiny_model()
