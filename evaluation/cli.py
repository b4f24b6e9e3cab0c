"""``facial-eval``: score one clip, run a benchmark spec, list the metrics.

::

    facial-eval list [--markdown]
    facial-eval score VIDEO [--reference REF] [--audio AUDIO] [--metrics all] [--json OUT.json]
    facial-eval run SPEC.yaml -o OUT_DIR [--jobs N]
    facial-eval run SPEC.yaml -o OUT_DIR --backend ray [--address auto|ray://HOST:PORT] [--resources JSON]

Weights are never downloaded: ``--syncnet-weights`` / ``--s3fd-weights`` / ``--lpips-backbone``
name local files (or ``owner/repo`` already in the Hugging Face cache); without them the
corresponding metrics are reported unavailable with the reason.
Exit codes: 0 done, 1 failed (message on stderr), 2 bad command line.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("evaluation")


def _add_weights(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("weights (local files only; never downloaded)")
    g.add_argument("--syncnet-weights", metavar="PATH|REPO", help="syncnet_v2.model, a folder holding it, or owner/repo[/file] in the local HF cache")
    g.add_argument("--s3fd-weights", metavar="PATH|REPO", help="sfd_face.pth for SyncNet's face crops (default: FaceMesh boxes)")
    g.add_argument("--lpips-backbone", metavar="PATH", help="torchvision AlexNet ImageNet weights (alexnet-owt-7be5be79.pth)")


def get_args_parser() -> argparse.ArgumentParser:
    """The ``facial-eval`` argument parser."""
    parser = argparse.ArgumentParser(prog="facial-eval", description="Evaluate talking-face videos (FACIAL toolkit).")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list every metric with kind, direction, unit and needs")
    p.add_argument("--markdown", action="store_true", help="print the registry as a Markdown table")

    p = sub.add_parser("score", help="metrics of one clip")
    p.add_argument("video", type=Path, help="the clip to score")
    p.add_argument("--reference", type=Path, help="the real clip it should reproduce (frame-aligned; enables LMD, PSNR, SSIM, LPIPS, *_ratio)")
    p.add_argument("--audio", type=Path, help="the driving speech (default: the clip's own audio track)")
    p.add_argument("--metrics", default="default", help="comma-separated metric or group names (default: %(default)s; 'list' shows them)")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="write the result as JSON")
    p.add_argument("--max-seconds", type=float, help="score only the first seconds")
    p.add_argument("--cache-dir", type=Path, help="extraction cache (default: $FACIAL_EVAL_CACHE or ~/.cache/facial/eval)")
    p.add_argument("--no-cache", action="store_true", help="do not cache extractions")
    p.add_argument("--no-progress", action="store_true")
    _add_weights(p)

    p = sub.add_parser("run", help="run a benchmark spec (clips × methods × metrics)")
    p.add_argument("spec", type=Path, help="benchmark spec (YAML; see evaluation/specs/)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (created; re-runs reuse its cache)")
    p.add_argument("--jobs", type=int, default=1,
                   help="clips processed in parallel processes (default: %(default)s); with --backend ray and no "
                        "--address: the CPUs of the local Ray cluster started for the run")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local processes, or one Ray task per (method, clip) cell (pip install 'facial-toolkit[ray]'); "
                        "OUT and the clips must be on a filesystem every Ray node sees (docs/SCALE.md)")
    p.add_argument("--address", metavar="auto|ray://HOST:PORT",
                   help="Ray cluster to use (default: start a local one for this run)")
    p.add_argument("--resources", metavar="JSON",
                   help='Ray resources per task: {"num_cpus": 1} for every cell, or per method as in rows.csv, e.g. '
                        '\'{"*": {"num_cpus": 1}, "ours_neural": {"num_gpus": 1}}\' (or a .json file; default: 1 CPU each)')
    p.add_argument("--threads", type=int, default=1,
                   help="torch and BLAS threads of this process, as in the --jobs / Ray workers (default: %(default)s; "
                        "0 = the libraries' defaults)")
    p.add_argument("--no-progress", action="store_true")
    _add_weights(p)
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    return {"syncnet_weights": args.syncnet_weights, "s3fd_weights": args.s3fd_weights, "lpips_backbone": args.lpips_backbone}


def _print_score(result) -> None:
    from evaluation import registry
    from evaluation.tables import markdown_table

    rows = []
    for v in result.values:
        spec = registry.get(v.name)
        if v.is_ok:
            value = f"{v.value:.4g}"
            if spec.band:
                value += f"  (human {spec.band[0]:g}–{spec.band[1]:g})"
        else:
            value = f"{v.status}: {v.reason}"
        rows.append([v.name, spec.arrow, spec.unit, value])
    print(markdown_table(["metric", "dir", "unit", "value"], rows, align=["l", "c", "l", "l"]), end="")


def _cmd_score(args: argparse.Namespace) -> int:
    from evaluation.scoring import score_clip, values_to_json
    from evaluation.tables import write_text_atomic
    from evaluation.types import STATUS_ERROR, ClipInput, EvalConfig

    opts = {k: v for k, v in _overrides(args).items() if v}
    config = EvalConfig(max_seconds=args.max_seconds, **opts)
    if args.json is not None and args.json.resolve() in {p.resolve() for p in (args.video, args.reference, args.audio) if p}:
        raise ValueError(f"--json {args.json} would overwrite an input; choose another file name")
    cache = False if args.no_cache else args.cache_dir
    _warn_if_reference_differs(args.video, args.reference)
    result = score_clip(ClipInput(args.video, args.audio, args.reference), args.metrics, config,
                        cache_dir=cache, progress=not args.no_progress)
    _print_score(result)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(values_to_json(result), indent=1))
        log.info("wrote %s", args.json)
    errors = [v for v in result.values if v.status == STATUS_ERROR]
    if errors:  # an unreadable input is a failure, not a table of "error" cells with exit 0
        print(f"facial-eval: {len(errors)} of {len(result.values)} metrics failed ({errors[0].name}: {errors[0].reason})",
              file=sys.stderr)
        return 1
    return 0


def _warn_if_reference_differs(video: Path, reference: Path | None) -> None:
    """A reference of another frame size or length is scored on the common part: say so."""
    if reference is None:
        return
    from facial import media

    try:
        a, b = media.probe(video), media.probe(reference)
    except media.MediaError:
        return  # the metrics report unreadable files themselves
    if (a.width, a.height) != (b.width, b.height):
        log.warning("the reference %s is %sx%s but the clip %sx%s: landmark and image metrics assume the same framing",
                    reference.name, b.width, b.height, a.width, a.height)
    if a.duration and b.duration and abs(a.duration - b.duration) > 0.5:
        log.warning("the reference %s lasts %.1f s but the clip %.1f s: frame-aligned metrics compare the first %.1f s",
                    reference.name, b.duration, a.duration, min(a.duration, b.duration))


def _cmd_run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from evaluation.benchmark import load_spec, run_benchmark

    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    from facial.cli._common import configure_threads

    configure_threads(args.threads)  # process-wide: set here, at the entry point, never inside the library
    if args.threads:  # BLAS too, so that --jobs 1 sums like the workers (equal rows whatever the backend)
        from facial.cli._common import limit_native_threads

        limit_native_threads(args.threads)
    spec = load_spec(args.spec, overrides=_overrides(args))
    result = run_benchmark(spec, args.out, jobs=args.jobs, progress=not args.no_progress, argv=argv, backend=args.backend,
                           address=args.address, resources=args.resources)
    print(result.files["aggregate_md"].read_text(encoding="utf-8"))
    print(f"results in {result.out_dir} (rows.csv, aggregate.md/.tex/.csv, plots/, provenance.json)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``facial-eval``; returns the exit code."""
    parser = get_args_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    from evaluation.registry import UnknownMetricError

    try:
        if args.command == "list":
            from evaluation import registry

            if args.markdown:
                print(registry.markdown_cards(), end="")
            else:
                for s in registry.all_specs():
                    print(f"{s.name:22s} {s.kind.value:12s} {s.arrow:3s} {s.unit:10s} {s.summary}")
                print("\ngroups: " + ", ".join(k for k in registry.groups()))
            return 0
        if args.command == "score":
            return _cmd_score(args)
        if args.command == "run":
            return _cmd_run(args, list(argv) if argv is not None else sys.argv[1:])
    except UnknownMetricError as exc:
        print(f"facial-eval: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"facial-eval: {exc}", file=sys.stderr)
        if args.verbose:
            raise
        return 1
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
