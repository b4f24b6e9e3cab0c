"""``facial train-renderer``: stage (3), FACIAL's Rendering-to-Video network for one speaker.

```
facial train-renderer PROFILE_DIR [--size 256|512] [--minutes M | --steps N] [--device auto]
```
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from facial.cli._common import configure_threads

log = logging.getLogger(__name__)


def cmd_train_renderer(args: argparse.Namespace) -> int:
    """Handler of ``facial train-renderer``."""
    from facial.face2vid import train_renderer
    from facial.speaker.profile import is_profile_dir

    if not is_profile_dir(args.profile):
        raise ValueError(f"{args.profile} is not a speaker profile folder; make one with `facial track CLIP -o {args.profile}`")
    if args.minutes is not None and args.steps is not None:
        raise ValueError("give --minutes or --steps, not both")
    configure_threads(args.threads)
    out = train_renderer(args.profile, size=args.size, minutes=args.minutes, steps=args.steps, device=args.device,
                         progress=not args.quiet, out_dir=args.output, amp=None if args.no_bf16 else "auto", seed=args.seed)
    log.info("neural renderer written to %s (training curve: %s)", out, Path(out) / "curve.png")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-renderer`` to the ``facial`` CLI's sub-parsers."""
    p = subparsers.add_parser("train-renderer", help="train the neural renderer on a speaker profile",
                              description="Train FACIAL's Rendering-to-Video network on a speaker's clip, holding out the last "
                                          "10%% of frames and logging PSNR/SSIM on them (PROFILE_DIR/face2vid/train_log.csv, curve.png).")
    p.add_argument("profile", type=Path, help="speaker profile folder (from `facial track`)")
    p.add_argument("--size", type=int, default=256, help="square resolution: 256 or 512 (GPU); 64–128 train on a CPU")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="wall-clock training budget (default 10)")
    budget.add_argument("--steps", type=int, help="number of training steps")
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-bf16", action="store_true", help="disable bf16 autocast on CUDA")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", type=Path, help="output folder (default PROFILE_DIR/face2vid)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train_renderer)
