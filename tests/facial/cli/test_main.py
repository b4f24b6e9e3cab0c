"""The ``facial`` entry point (facial.cli): sub-commands, exit codes, ``python -m facial.cli``, thread settings."""
from __future__ import annotations

import subprocess
import sys

import pytest

from facial.cli import get_args_parser, main
from facial.cli._common import configure_threads, threads_while

COMMANDS = ["track", "build-basis", "train", "finetune", "animate", "generate", "train-renderer", "publish"]


def test_every_command_group_is_registered_in_order():
    sub = next(a for a in get_args_parser()._actions if a.dest == "command")
    assert list(sub.choices) == COMMANDS


@pytest.mark.parametrize("argv", [[c, "--help"] for c in COMMANDS] + [["train", "audio2face", "--help"], ["--help"]])
def test_every_help_exits_cleanly(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0 and "usage: facial" in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
    assert main(["train"]) == 2  # a group without its target


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    assert main(["train-renderer", str(tmp_path / "not-a-profile")]) == 2


def test_python_dash_m_runs_the_same_command():
    proc = subprocess.run([sys.executable, "-m", "facial.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "train-renderer" in proc.stdout


def test_threads_are_set_by_the_cli_helper_and_restored_in_a_block():
    import torch

    before = torch.get_num_threads()
    try:
        configure_threads(None)
        assert torch.get_num_threads() == before
        with threads_while(1):
            assert torch.get_num_threads() == 1
            with threads_while(None):
                assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == before
        configure_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# Library modules that still set torch's thread count themselves, pending their owners' change
# (face2vid.train_renderer's ``threads`` argument: the ``facial train-renderer`` command sets it now).
PENDING_THREAD_SETTERS: set[str] = set()


def test_only_the_cli_sets_torch_threads():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    setters = set()
    for path in sorted((root / "facial").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Attribute) and n.attr == "set_num_threads" for n in ast.walk(tree)):
            setters.add(path.relative_to(root).as_posix())
    assert setters - PENDING_THREAD_SETTERS == {"facial/cli/_common.py"}
