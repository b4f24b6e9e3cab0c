"""Fixtures of the FACIAL-GAN tests (synthetic data: see a2f_synthetic.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers module beside this file

from a2f_synthetic import synthetic_basis, trained_tiny_model


@pytest.fixture(scope="session")
def basis() -> fm.ExpressionBasis:
    return synthetic_basis()


@pytest.fixture(scope="session")
def trained_tiny():
    """A tiny FACIAL-GAN pretrained briefly on synthetic speakers (shared by several tests)."""
    return trained_tiny_model()
