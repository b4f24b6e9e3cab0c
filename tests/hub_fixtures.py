"""Fixtures and builders shared by the Hub tests (tests/facial/hub, tests/facial/cli/test_publish.py,
tests/demo/test_hub_speakers.py): the local stand-in Hub and a synthetic speaker profile that is
ready to publish (tracked parameters, a personalised FACIAL-GAN, a tiny trained-renderer checkpoint).

Import the fixtures into a test module (``from tests.hub_fixtures import fake_hub, ...``). Nothing
here reaches the internet; no real footage is used.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.hub_server import FakeHub, use_fake_hub

sys.path.insert(0, str(Path(__file__).resolve().parent / "facial" / "audio2face"))  # a2f_synthetic.py

from a2f_synthetic import envelope, make_speaker, synth_audio, tiny_config  # noqa: E402

PRIVATE_SOURCE = "/home/someone/private/interview_raw.mp4"


@pytest.fixture
def fake_hub(tmp_path, monkeypatch) -> FakeHub:
    """A running stand-in Hub that ``huggingface_hub`` talks to (fresh HF cache under tmp_path)."""
    monkeypatch.setenv("FACIAL_CACHE", str(tmp_path / "facial_cache"))
    with use_fake_hub(tmp_path / "hf_cache", monkeypatch) as hub:
        yield hub


@pytest.fixture(scope="session")
def packaged_basis():
    from facial.speaker.face_model import ExpressionBasis

    return ExpressionBasis.from_pretrained()


def tiny_gan(n_expression: int = 32, seed: int = 0, personalised_for: str | None = None):
    """An untrained tiny FACIAL-GAN with random (seeded) weights."""
    import torch

    from facial.audio2face import FacialGAN

    torch.manual_seed(seed)
    model = FacialGAN(tiny_config(n_expression=n_expression))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    if personalised_for:
        model.config.personalised_for = personalised_for
        model.config.provenance = {"finetune": {"base": "0123456789ab", "steps": 40, "seconds": 3.5, "frames": 75,
                                                "final_losses": {"total": 1.25}}}
    return model.eval()


def tiny_renderer(profile, seed: int = 0):
    """A tiny neural-renderer checkpoint for ``profile`` (random weights, random reference frames)."""
    import torch

    from facial.face2vid import NeuralRenderer
    from facial.face2vid.networks import Face2VidConfig
    from facial.face_render.render import face_box

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    box = list(face_box(profile))
    cfg = Face2VidConfig.preset(32, box=box, texture_index=0, window=2, target_index=1)
    cfg.extra = {"steps": 12, "minutes": 0.1, "held_out_psnr": 21.5, "held_out_ssim": 0.61}
    w, h = profile.size
    ref = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    full = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return NeuralRenderer(cfg, reference=ref, reference_full=full, device="cpu")


def make_speaker_folder(root: Path, basis, *, seconds: float = 3.0, footage: bool = True, finetuned: bool = True,
                        renderer: bool = True, name: str = "spk") -> Path:
    """A profile folder like `facial track` + `facial finetune` + `facial train-renderer` leave behind,
    with the private bits publishing must drop (a local source path, renderer training logs)."""
    from facial.speaker.profile import save_profile

    profile, audio = make_speaker(seconds, 3, basis=basis)
    profile.video = None
    folder = save_profile(profile, Path(root) / name, copy_frames=False)
    info = json.loads((folder / "profile.json").read_text())
    info["source"] = PRIVATE_SOURCE
    if footage:  # stands for the clip; its bytes are only compared, never decoded
        (folder / "frames.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
        info["frames"] = "frames.mp4"
    (folder / "profile.json").write_text(json.dumps(info, indent=2))
    if finetuned:
        tiny_gan(basis.k, seed=1, personalised_for=name).save_pretrained(folder / "audio2face" / "fast-aaaaaaaaaaaa-synthetic000")
        tiny_gan(basis.k, seed=2, personalised_for=name).save_pretrained(folder / "audio2face" / "full-aaaaaaaaaaaa-synthetic000")
    if renderer:
        tiny_renderer(profile).save_pretrained(folder / "face2vid")
        (folder / "face2vid" / "summary.json").write_text(json.dumps({"profile": "/home/someone/private/profiles/spk"}))
        (folder / "face2vid" / "train_log.csv").write_text("step,psnr\n12,21.5\n")
    (folder / "overlay.mp4").write_bytes(b"overlay")
    return folder


def speech_wav(path: Path, seconds: float = 1.2, seed: int = 5) -> Path:
    """A synthetic speech-like recording (tone bursts), written as wav."""
    from facial import media

    rng = np.random.default_rng(seed)
    return media.save_wav(path, synth_audio(envelope(int(seconds * 25), rng), rng))


def tensors_equal(a: dict, b: dict) -> bool:
    """Bit-for-bit equality of two state dicts / tensor dicts (same keys, dtypes, shapes, bytes)."""
    import torch

    if set(a) != set(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray):
            x, y = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
        if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x, y):
            return False
    return True


def synthetic_basis_for_tests():
    """The small synthetic expression basis of the FACIAL-GAN tests (basis_id 'synthetic-test', K = 4)."""
    from a2f_synthetic import synthetic_basis

    return synthetic_basis()
