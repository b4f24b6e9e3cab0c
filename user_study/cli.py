"""`facial-study`: build, serve and analyse a talking-face user study (thin layer over the library).

Examples::

    facial-study build --method ours=out/ours --method wav2lip=out/wav2lip --pairs ours:wav2lip -o study/
    facial-study serve study/ --port 7860
    facial-study analyze study/ study/answers/answers.csv downloads/*.csv
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from facial.media import MediaError
from user_study.types import StudyError

log = logging.getLogger("user_study")


def _method(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FOLDER (e.g. ours=results/ours)")
    name, folder = text.split("=", 1)
    if not name or not folder:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FOLDER (e.g. ours=results/ours)")
    return name, folder


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: give the panel size as WIDTHxHEIGHT, e.g. 256x256") from exc
    return w, h


def get_args_parser() -> argparse.ArgumentParser:
    """The argument parser of ``facial-study`` (subcommands build, serve, analyze)."""
    p = argparse.ArgumentParser(prog="facial-study", description="Build, run and analyse talking-face user studies.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="render stimuli and write the manifest, key and forms")
    b.add_argument("--spec", type=Path, help="YAML/JSON study spec (keys as the options below; options given here win)")
    b.add_argument("--method", action="append", type=_method, default=[], metavar="NAME=DIR",
                   help="a method's folder of output videos, named after their clips (repeat)")
    b.add_argument("--pairs", nargs="+", metavar="A:B", help="method pairs to compare (default: first method vs each other)")
    b.add_argument("-o", "--out", type=Path, required=True, help="study folder to create")
    b.add_argument("--scale", choices=["2afc", "mos5"], help="A/B choice (default) or 5-point ratings")
    b.add_argument("--layout", choices=["side_by_side", "sequential"], help="A | B side by side (default) or A then B")
    b.add_argument("--question", action="append", default=None, metavar="ID=PROMPT",
                   help="a question (repeat); default: lip_sync, head_motion, eye_blink, realism")
    b.add_argument("--checks", type=int, help="number of attention checks (default 2)")
    b.add_argument("--check-method", help="method whose clips make the attention checks (default: the first)")
    b.add_argument("--seed", type=int, help="design seed: counterbalancing, trial ids, checks (default 0)")
    b.add_argument("--order-seed", type=int, help="seed of the per-participant orders (default: derived)")
    b.add_argument("--duration", type=float, help="seconds per clip (default: the shortest clip)")
    b.add_argument("--size", type=_size, help="panel size WIDTHxHEIGHT (default 256x256)")
    b.add_argument("--fps", type=float, help="frame rate (default 25)")
    b.add_argument("--loudness", type=float, dest="loudness_dbfs", help="speech level in dBFS (default -23)")
    b.add_argument("--audio-from", help="method whose audio plays under side-by-side trials (default: the first)")
    b.add_argument("--title")
    b.add_argument("--instructions")
    b.add_argument("--embed-media", action="store_true", default=None, help="inline the videos in index.html (small studies)")
    b.add_argument("--base-url", help="URL prefix of the stimuli in questions.csv (for form services)")
    b.add_argument("--force", action="store_true", help="replace an existing study folder")

    s = sub.add_parser("serve", help="run the study as a Gradio app; answers go to STUDY_DIR/answers/answers.csv")
    s.add_argument("study_dir", type=Path)
    s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--answers", type=Path, help="answers CSV (default STUDY_DIR/answers/answers.csv)")

    a = sub.add_parser("analyze", help="attention screening, preferences / MOS, agreement, tables and a plot")
    a.add_argument("study_dir", type=Path)
    a.add_argument("answers", nargs="+", type=Path, help="answer files: CSV (form or serve) or the form's JSON")
    a.add_argument("--out", type=Path, help="results folder (default STUDY_DIR/results)")
    a.add_argument("--max-failed-checks", type=int, default=0, help="attention checks a participant may fail (default 0)")
    a.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level of the intervals (default 0.05)")
    return p


def _build_config(args: argparse.Namespace):
    from user_study.build import BuildConfig, parse_question
    from user_study.types import read_mapping

    spec: dict = read_mapping(args.spec) if args.spec else {}
    if args.spec:
        base = args.spec.parent
        spec["methods"] = {k: str((base / v) if not Path(v).is_absolute() else v) for k, v in dict(spec.get("methods") or {}).items()}
    if args.method:
        names = [n for n, _ in args.method]
        if len(set(names)) != len(names):
            raise StudyError(f"method names must be unique, got {names}")
        spec["methods"] = dict(args.method)
    if not spec.get("methods"):
        raise StudyError("give the method folders: --method NAME=FOLDER (at least two for an A/B study) or --spec")
    for opt in ("pairs", "scale", "layout", "checks", "check_method", "seed", "order_seed", "duration", "fps",
                "loudness_dbfs", "audio_from", "title", "instructions", "embed_media", "base_url"):
        v = getattr(args, opt)
        if v is not None:
            spec[opt] = v
    if args.question:
        spec["questions"] = [parse_question(q) for q in args.question]
    if args.size:
        spec["width"], spec["height"] = args.size
    return BuildConfig.from_mapping(spec)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``facial-study``; returns the exit status (0 ok, 2 bad input)."""
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "build":
            from user_study.build import build_study

            report = build_study(_build_config(args), args.out, force=args.force)
            print(f"Study {report['study_id']} in {args.out}: {report['n_trials']} trials "
                  f"({report['n_attention_checks']} attention checks), {report['n_clips']} clips of {report['clip_duration_s']:.2f} s.")
            if report["dropped_clips"]:
                print("Dropped (not in every method folder): " + "; ".join(f"{m}: {', '.join(c)}" for m, c in report["dropped_clips"].items()))
            print(f"Participants: open {args.out / 'public' / 'index.html'} (or host public/), or run `facial-study serve {args.out}`.")
            print(f"Keep {args.out / 'key.json'} private.")
        elif args.command == "serve":
            from user_study.app import serve

            serve(args.study_dir, host=args.host, port=args.port, answers_path=args.answers)
        elif args.command == "analyze":
            from user_study.analysis import analyze, default_results_dir, report_markdown, write_results

            result = analyze(args.study_dir, args.answers, max_failed_checks=args.max_failed_checks, alpha=args.alpha)
            out = args.out or default_results_dir(args.study_dir)
            write_results(result, out, protect=args.answers)
            print(report_markdown(result))
            print(f"Tables, plot and report in {out}")
    except (StudyError, MediaError) as exc:
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
