"""``facial`` command line: thin wrappers over the library.

```
facial track CLIP -o PROFILE_DIR          track a clip into a speaker profile
facial build-basis DATA -o DIR            learn the expression basis from many clips
facial train audio2face …                 pretrain FACIAL-GAN            (facial.audio2face.cli)
facial finetune PROFILE_DIR               personalise FACIAL-GAN         (facial.audio2face.cli)
facial animate --audio A --speaker P …    audio → FaceParams             (facial.audio2face.cli)
facial train-renderer PROFILE_DIR         train the neural renderer      (facial.pipeline_cli)
facial generate --audio A --speaker S -o OUT.mp4                         (facial.pipeline_cli)
```
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

log = logging.getLogger("facial")

# Modules that add their own sub-commands through ``register(subparsers)``.
_PLUGINS = ("facial.audio2face.cli", "facial.pipeline_cli")


def _cmd_track(args: argparse.Namespace) -> int:
    from facial.speaker.face_model import ExpressionBasis
    from facial.speaker.track import track_to_dir

    basis = ExpressionBasis.from_pretrained(args.basis) if args.basis else None
    profile = track_to_dir(args.clip, args.output, fps=args.fps, basis=basis, progress=not args.quiet,
                           overlay=not args.no_overlay, max_side=args.max_side)
    s = profile.stats
    log.info("profile written to %s: %d frames, face in %.0f%%, blink rate %s/min", args.output, s["n_frames"],
             100 * s["valid_fraction"], s["blink_rate_per_min"])
    for note in s.get("notes", []):
        log.warning("note: %s", note)
    return 0


def _cmd_build_basis(args: argparse.Namespace) -> int:
    from facial.speaker.basis import build_basis, list_clips

    clips = list_clips(args.data)
    if not clips:
        raise SystemExit(f"no clips found in {args.data}")
    basis = build_basis(clips, args.k, max_frames_per_clip=args.max_frames_per_clip, progress=not args.quiet)
    basis.save_pretrained(args.output)
    log.info("basis with K=%d (%.1f%% variance) written to %s", basis.k, 100 * float(basis.explained_variance.sum()), args.output)
    return 0


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facial", description="FACIAL talking faces: track, train, animate, render, generate.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("track", help="track a clip into a speaker profile directory")
    p.add_argument("clip", type=Path, help="video clip (any format ffmpeg reads) or a photo")
    p.add_argument("-o", "--output", type=Path, required=True, help="profile directory to write")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate to resample to (default 25)")
    p.add_argument("--basis", help="expression basis folder or HF repo id (default: the packaged one)")
    p.add_argument("--max-side", type=int, default=720, help="downscale frames so the longer side is at most this (default 720)")
    p.add_argument("--no-overlay", action="store_true", help="skip overlay.mp4")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_track)

    p = sub.add_parser("build-basis", help="learn the expression basis from a folder of clips or a MANIFEST.csv")
    p.add_argument("data", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("-k", type=int, default=32, help="number of components (default 32)")
    p.add_argument("--max-frames-per-clip", type=int, default=500)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=_cmd_build_basis)

    for name in _PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # a stage not installed/available
            log.debug("sub-commands of %s unavailable: %s", name, exc)
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
