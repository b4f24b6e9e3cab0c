"""The generic checkpoint shipped in facial/assets/audio2face (and a real recording, when ../shared is present)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from a2f_synthetic import make_speaker
from facial.audio2face import FacialGAN, animate
from facial.audio2face.model import default_checkpoint_dir
from facial.speaker.face_model import ExpressionBasis

MAX_BYTES = 10 * 1024 * 1024
SHARED = Path(os.environ.get("FACIAL_SHARED", Path(__file__).resolve().parents[4] / "shared"))


@pytest.fixture(scope="module")
def packaged() -> FacialGAN:
    if not (default_checkpoint_dir() / "model.safetensors").exists():
        pytest.skip(f"no packaged checkpoint in {default_checkpoint_dir()} (train one: see docs/AUDIO2FACE.md)")
    return FacialGAN.from_pretrained()


def test_packaged_checkpoint_is_small_and_matches_the_basis(packaged):
    assert (default_checkpoint_dir() / "model.safetensors").stat().st_size < MAX_BYTES
    basis = ExpressionBasis.from_pretrained()
    assert packaged.config.n_expression == basis.k
    assert packaged.config.basis_id == basis.basis_id
    assert float(packaged.mouth_scale) > 0 and np.all(packaged.param_std.numpy() > 0)


def test_packaged_checkpoint_animates(packaged):
    basis = ExpressionBasis.from_pretrained()
    profile, audio = make_speaker(8.0, seed=4, basis=basis)
    out = animate(packaged, audio, profile)
    assert len(out) == 200 and np.isfinite(out.to_array()).all()


@pytest.mark.shared_data
def test_packaged_checkpoint_on_real_speech(packaged):
    manifest = SHARED / "data" / "MANIFEST.csv"
    if not manifest.exists():
        pytest.skip(f"research recordings not available ({manifest} missing); set FACIAL_SHARED")
    row = next((r for r in csv.DictReader(open(manifest)) if r["id"] == "facial__obama2"), None)
    if row is None or not (manifest.parent / row["path"]).exists():
        pytest.skip("facial__obama2 recording missing from the shared data")
    from facial import media
    from facial.types import AudioClip

    speech = media.load_audio(manifest.parent / row["path"])
    speech = AudioClip(speech.samples[: 6 * speech.sample_rate], speech.sample_rate)
    profile, _ = make_speaker(8.0, seed=4, basis=ExpressionBasis.from_pretrained())
    out = animate(packaged, speech, profile)
    assert len(out) == 150
    assert out.expression.std(0).max() > 0  # the mouth moves with real speech
