"""``facial`` command line: thin wrappers over the library, one module per command group.

```
facial track CLIP -o PROFILE_DIR          track a clip into a speaker profile           (facial.cli.track)
facial build-basis DATA -o DIR            learn the expression basis from many clips    (facial.cli.track)
facial train audio2face …                 pretrain FACIAL-GAN                           (facial.cli.audio2face)
facial train sync-expert --data M -o DIR  train the lip-sync expert                     (facial.cli.sync_expert)
facial finetune PROFILE_DIR               personalise FACIAL-GAN                        (facial.cli.audio2face)
facial animate --audio A --speaker P …    audio → FaceParams                            (facial.cli.audio2face)
facial generate --audio A --speaker S -o OUT.mp4                                        (facial.cli.generate)
facial train-renderer PROFILE_DIR         train the neural renderer                     (facial.cli.render)
facial publish PATH --repo OWNER/NAME     checkpoint or speaker → Hugging Face Hub      (facial.cli.publish)
```
Also ``python -m facial.cli …`` (and ``torchrun … -m facial.cli …``). Torch's thread count is
set here, by the commands' ``--threads`` (:func:`facial.cli._common.configure_threads`), never by
the library.
"""
from __future__ import annotations

import argparse
import logging

from facial.cli import audio2face, generate, publish, render, sync_expert, track

log = logging.getLogger("facial")

# Command groups, in the order their sub-commands are listed; each adds them through ``register(subparsers)``.
_GROUPS = (track, audio2face, sync_expert, generate, render, publish)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facial", description="FACIAL talking faces: track, train, animate, render, generate.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``facial`` console script; returns the exit code (2 for bad input or no command)."""
    parser = get_args_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:  # bad input: one clear line, no traceback
        log.error("%s", exc)
        return 2
