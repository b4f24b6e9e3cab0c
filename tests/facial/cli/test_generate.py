"""``facial generate`` (facial.cli.generate) and ``facial train-renderer`` (facial.cli.render): the parsers.

Generating end to end through the command (the built-in example) is in tests/facial/test_pipeline.py.
"""
from __future__ import annotations

import argparse

import pytest


def test_cli_registers_generate_and_train_renderer():
    from facial.cli import generate, render
    from facial.cli.generate import cmd_generate
    from facial.cli.render import cmd_train_renderer

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    generate.register(sub)
    render.register(sub)
    a = parser.parse_args(["generate", "-o", "x.mp4"])
    assert a.func is cmd_generate and a.audio is None and a.renderer == "warp" and a.fps == 25.0
    b = parser.parse_args(["train-renderer", "P", "--size", "512", "--minutes", "10"])
    assert b.func is cmd_train_renderer and b.size == 512 and b.minutes == 10.0
    with pytest.raises(SystemExit):
        parser.parse_args(["train-renderer", "P", "--minutes", "1", "--steps", "3"])
