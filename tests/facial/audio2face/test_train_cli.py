"""``facial train audio2face`` end to end on synthetic profiles (one process, and DDP under torchrun)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from a2f_synthetic import tiny_config_json, write_profiles
from facial.audio2face import FacialGAN
from facial.speaker.face_model import ExpressionBasis


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("a2f_train")
    basis = ExpressionBasis.from_pretrained()
    write_profiles(root / "profiles", [1, 2], 6.0, basis)
    return root, tiny_config_json(root / "tiny.json", basis.k)


def test_train_command_writes_a_checkpoint(data):
    from facial.cli import main

    root, cfg = data
    out = root / "ckpt"
    code = main(["train", "audio2face", "--data", str(root / "profiles"), "-o", str(out), "--config", str(cfg), "--steps", "3",
                 "--batch-size", "4", "--seq-len", "32", "--threads", "1", "-q"])
    assert code == 0
    model = FacialGAN.from_pretrained(out)
    assert model.config.seq_len == 32 and model.config.speakers == ["synth1", "synth2"]
    assert model.config.provenance["steps_done"] == 3
    assert (out / "training_log.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_train_under_torchrun_ddp_on_cpu(data):
    root, cfg = data
    out = root / "ckpt_ddp"
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "facial.cli", "train", "audio2face", "--data", str(root / "profiles"),
           "-o", str(out), "--config", str(cfg), "--steps", "4", "--batch-size", "2", "--seq-len", "32", "--device", "cpu", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DDP: rank" in proc.stderr
    assert FacialGAN.from_pretrained(out).config.provenance["steps_done"] == 4
