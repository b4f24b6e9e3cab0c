"""LSE through syncnet-python: unavailable without weights, weight resolution without downloads,
and the scoring code path with randomly initialised networks."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.extractors import syncnet as sn
from evaluation.scoring import score_clip
from evaluation.types import ClipInput, EvalConfig, MetricUnavailable


def test_without_weights_lse_is_unavailable_with_the_reason(synthetic_clip):
    res = score_clip(ClipInput(synthetic_clip), "sync", EvalConfig(), cache_dir=False).by_name()
    for name in ("lse_c", "lse_d", "lse_offset"):
        assert res[name].status == "unavailable" and res[name].value is None
        assert "syncnet_v2.model" in res[name].reason and "never downloaded" in res[name].reason


def test_weights_resolution_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(MetricUnavailable, match="not in the local cache"):
        sn.resolve_weights("someone/syncnet", sn.SYNCNET_FILE)
    with pytest.raises(MetricUnavailable, match="no such weights file"):
        sn.resolve_weights(str(tmp_path / "missing.model"), sn.SYNCNET_FILE)
    (tmp_path / "w").mkdir()
    with pytest.raises(MetricUnavailable, match="holds no"):
        sn.resolve_weights(tmp_path / "w", sn.SYNCNET_FILE)
    (tmp_path / "w" / sn.SYNCNET_FILE).write_bytes(b"x")
    assert sn.resolve_weights(tmp_path / "w", sn.SYNCNET_FILE) == tmp_path / "w" / sn.SYNCNET_FILE
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.model"))


def _moving_mouth_crops(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 40, (n, sn.CROP_SIZE, sn.CROP_SIZE, 3)).astype(np.uint8)
    for t in range(n):
        h = 10 + int(20 * abs(np.sin(t / 3)))
        crops[t, 150:150 + h, 80:144] = 200
    return crops


def test_scoring_code_path_with_random_weights_and_a_weights_file(tmp_path):
    import torch

    n = 12
    samples = (0.2 * np.sin(2 * np.pi * 180 * np.arange(n * 640) / 16000)).astype(np.float32)
    crops = _moving_mouth_crops(n)
    net = sn.load_syncnet(None, seed=3)
    scores = sn.sync_scores(net, crops, samples, vshift=15)
    assert scores.n_windows == n - 5
    assert scores.dists.shape == (31,) and np.all(np.isfinite(scores.dists))
    assert -15 <= scores.offset <= 15
    assert scores.min_dist == pytest.approx(float(scores.dists.min()))
    assert scores.confidence == pytest.approx(float(np.median(scores.dists) - scores.dists.min()), abs=1e-5)
    # the same weights saved as a plain state dict and loaded by path give the same scores
    path = tmp_path / sn.SYNCNET_FILE
    torch.save(net.state_dict(), path)
    loaded = sn.load_syncnet(path)
    again = sn.sync_scores(loaded, crops, samples, vshift=15)
    assert again.offset == scores.offset and np.allclose(again.dists, scores.dists, atol=1e-5)
    # a pickled object (not a state dict of tensors) is refused, never unpickled
    bad = tmp_path / "pickled.model"
    torch.save(torch.nn.Linear(2, 2), bad)
    with pytest.raises(MetricUnavailable, match="plain state dict"):
        sn.load_syncnet(bad)
    with pytest.raises(MetricUnavailable, match="too short"):
        sn.sync_scores(net, crops[:4], samples)


def test_crop_geometry_follows_syncnet_pipeline():
    boxes = np.tile([[40.0, 60.0, 120.0, 160.0]], (20, 1))  # w 80, h 100 → half-size 50, centre (80, 110)
    win = sn.crop_windows(boxes)
    assert np.allclose(win, [[50, 80, 110]])
    frame = np.zeros((240, 240, 3), dtype=np.uint8)
    frame[110, 80] = [255, 0, 0]  # red (RGB) at the box centre
    crop = sn.crop_face(frame, win[0])
    assert crop.shape == (224, 224, 3)
    # the centre sits at 1/(2+4·0.4)·… of the crop height: y from (my − bs) to (my + bs·1.8)
    ys, xs = np.nonzero(crop[..., 2] > 50)  # BGR: red in channel 2
    assert abs(xs.mean() - 112) < 4 and abs(ys.mean() - 224 * 50 / 140) < 4


@pytest.mark.shared_data
def test_lse_end_to_end_with_random_init_on_a_real_clip(clip_a, tmp_path):
    res = score_clip(ClipInput(clip_a), "sync", EvalConfig(syncnet_random_init=True, max_seconds=1.2),
                     cache_dir=tmp_path).by_name()
    for name in ("lse_c", "lse_d", "lse_offset"):
        v = res[name]
        assert v.is_ok, v.reason
        assert v.details["crop"] == "facemesh-box" and "RANDOM" in v.details["weights"]
    assert res["lse_c"].value >= 0 and res["lse_d"].value > 0 and abs(res["lse_offset"].value) <= 15


def test_s3fd_crop_code_path_with_random_weights(tmp_path, make_clip):
    """With S3FD weights given, faces come from S3FD; random weights find no face, and LSE says so."""
    import torch
    from syncnet_python.detectors.s3fd.nets import S3FDNet

    torch.manual_seed(0)
    path = tmp_path / sn.S3FD_FILE
    torch.save(S3FDNet(device="cpu").state_dict(), path)
    clip = make_clip(tmp_path / "clip.mp4", n_frames=4, size=256)
    res = score_clip(ClipInput(clip), "sync", EvalConfig(syncnet_random_init=True, s3fd_weights=str(path)), cache_dir=False)
    v = res.by_name()["lse_c"]
    assert v.status == "unavailable" and "S3FD found no face" in v.reason
    bad = tmp_path / "bad.pth"
    torch.save({"conv": torch.zeros(1)}, bad)
    with pytest.raises(MetricUnavailable, match="does not hold S3FD weights"):
        sn.load_s3fd(bad)
