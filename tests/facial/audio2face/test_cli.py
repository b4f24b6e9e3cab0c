"""The ``facial`` sub-commands of stage (2) on synthetic data."""
from __future__ import annotations

import argparse


from a2f_synthetic import make_speaker, synthetic_basis
from facial import media
from facial.audio2face import cli
from facial.speaker.profile import load_params, save_profile


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facial")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
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
