"""``facial train audio2face``, ``facial finetune`` and ``facial animate`` (facial.cli.audio2face) on synthetic data:
the parser, fine-tuning and animating, and pretraining end to end (one process, and DDP under torchrun)."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from a2f_synthetic import make_speaker, synthetic_basis, tiny_config_json, write_profiles
from facial import media
from facial.audio2face import FacialGAN
from facial.cli import audio2face
from facial.speaker.face_model import ExpressionBasis
from facial.speaker.profile import load_params, save_profile


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facial")
    sub = parser.add_subparsers(dest="command")
    audio2face.register(sub)
    return parser


def test_register_adds_the_subcommands():
    parser = _parser()
    args = parser.parse_args(["train", "audio2face", "--data", "x.csv", "-o", "ckpt"])
    assert callable(args.func) and args.steps > 0
    args = parser.parse_args(["finetune", "prof", "--effort", "fast"])
    assert callable(args.func)
    args = parser.parse_args(["animate", "--audio", "a.wav", "--speaker", "prof", "-o", "p.safetensors", "--head-motion", "0.5"])
    assert args.head_motion == 0.5 and callable(args.func)


def test_finetune_and_animate_commands(trained_tiny, tmp_path, monkeypatch):
    monkeypatch.setattr("facial.speaker.face_model.ExpressionBasis.from_pretrained", classmethod(lambda cls, *a, **k: synthetic_basis()))
    profile, audio = make_speaker(6.0, seed=21)
    profile.video = media.save_wav(tmp_path / "clip.wav", audio)
    save_profile(profile, tmp_path / "prof", copy_frames=False)
    base = trained_tiny.save_pretrained(tmp_path / "base")
    speech = media.save_wav(tmp_path / "speech.wav", make_speaker(3.0, seed=22)[1])
    parser = _parser()
    args = parser.parse_args(["finetune", str(tmp_path / "prof"), "--base", str(base), "--steps", "3", "-q"])
    assert args.func(args) == 0
    assert any((tmp_path / "prof" / "audio2face").iterdir())
    out = tmp_path / "out" / "params.safetensors"
    args = parser.parse_args(["animate", "--audio", str(speech), "--speaker", str(tmp_path / "prof"), "-o", str(out),
                              "--model", str(base), "--blink-rate", "30"])
    assert args.func(args) == 0
    params, extra = load_params(out)
    assert len(params) == 75 and params.fps == profile.fps
    assert params.n_expression == profile.params.n_expression
    assert (tmp_path / "out" / "tracks.png").stat().st_size > 0


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
