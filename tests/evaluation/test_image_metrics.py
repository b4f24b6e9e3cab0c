"""PSNR / SSIM known answers; LPIPS without downloads (unavailable, random trunk, local file)."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics import image as im
from evaluation.types import MetricUnavailable


def test_psnr_ssim_known_answers():
    rng = np.random.default_rng(0)
    a = rng.integers(20, 200, (3, 32, 32, 3)).astype(np.uint8)
    psnr, ssim = im.psnr_ssim(a, a)
    assert np.all(psnr == im.PSNR_CAP_DB) and np.allclose(ssim, 1.0)
    psnr, ssim = im.psnr_ssim(a + 10, a)  # uniform error of 10 grey levels
    assert np.allclose(psnr, 20 * np.log10(255 / 10))
    assert np.all(ssim < 1.0)


def test_lpips_unavailable_names_the_file_and_never_downloads(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(MetricUnavailable) as info:
        im.lpips_model(None)
    msg = str(info.value)
    assert im.ALEXNET_FILE in msg and str(tmp_path / "hub" / "checkpoints") in msg
    assert not (tmp_path / "hub").exists()  # nothing was fetched


def test_lpips_code_path_random_trunk_and_local_file(tmp_path):
    import torch

    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (2, 64, 64, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-60, 60, a.shape), 0, 255).astype(np.uint8)
    model = im.lpips_model(random_backbone=True)
    assert np.allclose(im.lpips_distance(model, a, a), 0.0, atol=1e-6)
    assert np.all(im.lpips_distance(model, a, b) > 0)
    # a file laid out like torchvision's alexnet state dict (trunk only; the classifier is not used)
    torch.manual_seed(1)
    trunk = {}
    for i in range(1, 6):
        for name, module in getattr(im.lpips_model(random_backbone=True).net, f"slice{i}").named_children():
            for k, p in module.named_parameters():
                trunk[f"features.{name}.{k}"] = torch.randn_like(p)
    path = tmp_path / im.ALEXNET_FILE
    torch.save(trunk, path)
    loaded = im.lpips_model(path)
    assert torch.equal(loaded.net.slice1[0].weight, torch.load(path, weights_only=True)["features.0.weight"])
    bad = tmp_path / "bad.pth"
    torch.save({"nope": torch.zeros(1)}, bad)
    with pytest.raises(MetricUnavailable):
        im.lpips_model(bad)
