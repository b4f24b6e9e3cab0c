"""``facial track`` and ``facial build-basis``: stage (1), the speaker.

```
facial track CLIP -o PROFILE_DIR [--fps 25] [--basis B] [--max-side 720] [--no-overlay]
facial build-basis DATA -o DIR [-k 32] [--max-frames-per-clip 500]
```
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("facial")


def cmd_track(args: argparse.Namespace) -> int:
    """Handler of ``facial track``."""
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


def cmd_build_basis(args: argparse.Namespace) -> int:
    """Handler of ``facial build-basis``."""
    from facial.speaker.basis import build_basis, list_clips

    clips = list_clips(args.data)
    if not clips:
        raise SystemExit(f"no clips found in {args.data}")
    basis = build_basis(clips, args.k, max_frames_per_clip=args.max_frames_per_clip, progress=not args.quiet)
    basis.save_pretrained(args.output)
    log.info("basis with K=%d (%.1f%% variance) written to %s", basis.k, 100 * float(basis.explained_variance.sum()), args.output)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``track`` and ``build-basis`` to the ``facial`` CLI's sub-parsers."""
    p = subparsers.add_parser("track", help="track a clip into a speaker profile directory")
    p.add_argument("clip", type=Path, help="video clip (any format ffmpeg reads) or a photo")
    p.add_argument("-o", "--output", type=Path, required=True, help="profile directory to write")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate to resample to (default 25)")
    p.add_argument("--basis", help="expression basis folder or HF repo id (default: the packaged one)")
    p.add_argument("--max-side", type=int, default=720, help="downscale frames so the longer side is at most this (default 720)")
    p.add_argument("--no-overlay", action="store_true", help="skip overlay.mp4")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_track)

    p = subparsers.add_parser("build-basis", help="learn the expression basis from a folder of clips or a MANIFEST.csv")
    p.add_argument("data", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("-k", type=int, default=32, help="number of components (default 32)")
    p.add_argument("--max-frames-per-clip", type=int, default=500)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_build_basis)
