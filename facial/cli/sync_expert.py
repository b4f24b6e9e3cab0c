"""``facial train sync-expert``: train the lip-sync expert (:mod:`facial.sync_expert`).

```
facial train sync-expert --data ../shared/data/MANIFEST.csv -o DIR [--input landmarks|pixels|both]
                         [--val-persons a,b | --val-fraction 0.25] [--steps 1500] [--max-minutes 30] [--threads N]
                         [--neg-min-shift 2]
```
Writes ``DIR/config.json`` + ``DIR/model.safetensors``, ``DIR/curve.png`` (loss and accuracy) and
``DIR/training.json`` (history, split, per-clip validation offsets). ``--input both`` trains one
expert per input into ``DIR/landmarks`` and ``DIR/pixels`` and writes ``DIR/comparison.json``.
Clips are tracked once into ``--cache-dir`` (default ``$FACIAL_CACHE/sync_expert``). Unless
``--no-realign``, each training clip's own audio offset is first estimated by two landmark experts
trained on the other half of the persons (cross-fitting) and the training pairs of clips found 2–4
frames off are realigned by it (clips off by more than 4 frames are left out); this counts against
``--max-minutes``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from facial.cli._common import configure_threads

log = logging.getLogger(__name__)


def _cmd_train(args: argparse.Namespace) -> int:
    """Handler of ``facial train sync-expert``."""
    from facial.atomic import check_writable, write_text
    from facial.sync_expert.config import SyncExpertConfig
    from facial.sync_expert.train import TrainConfig, load_split, realign, train

    configure_threads(args.threads)
    check_writable(args.output, is_dir=True)
    kinds = ["landmarks", "pixels"] if args.input == "both" else [args.input]
    val_persons = [s for s in (args.val_persons or "").split(",") if s] or None
    tc = TrainConfig(steps=args.steps, segments=args.segments, anchors=args.anchors, lr=args.lr, weight_decay=args.weight_decay,
                     max_minutes=args.max_minutes,
                     validate_every=args.validate_every, audio_variants=args.audio_variants, augment=args.augment, seed=args.seed,
                     realign_steps=args.realign_steps, neg_min_shift=args.neg_min_shift)
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    base = SyncExpertConfig(lip_norm=args.lip_norm)
    train_clips, val_clips, chosen = load_split(args.data, base, val_persons=val_persons, val_fraction=args.val_fraction,
                                                origins=args.origins.split(","), cache_dir=args.cache_dir,
                                                audio_variants=args.audio_variants if args.augment else 0, seed=args.seed,
                                                progress=not args.quiet)
    offsets = None
    if args.realign:  # once, with landmark experts, for every input kind; its time counts against the budget
        t0 = time.perf_counter()
        offsets = realign(base, train_clips, tc, progress=not args.quiet)
        train_clips = [c for c in train_clips if not offsets.get(c.id, {}).get("dropped")]
        if args.max_minutes:
            spent = (time.perf_counter() - t0) / 60
            tc.max_minutes = max(args.max_minutes - spent, args.max_minutes / 2)
            log.info("realignment took %.1f min; %.1f min left for each expert", spent, tc.max_minutes)
    results = {}
    for kind in kinds:
        out = Path(args.output) / kind if len(kinds) > 1 else Path(args.output)
        res = train(base.replace(visual_input=kind), train_clips, val_clips, tc, progress=not args.quiet, output=out,
                    provenance={"command": command, "data": str(args.data)}, realigned=offsets)
        results[kind] = {"output": str(out), **res.summary["final"], "steps": res.summary["steps"], "seconds": res.summary["seconds"]}
        log.info("%s expert: %s (written to %s)", kind, ", ".join(f"{k} {v:.3f}" for k, v in res.summary["final"].items()
                                                                  if isinstance(v, float)), out)
    if len(kinds) > 1:
        write_text(Path(args.output) / "comparison.json", json.dumps({"val_persons": chosen, "results": results}, indent=2))
    return 0


def _train_targets(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The targets of ``facial train`` (created by :mod:`facial.cli.audio2face`; made here if absent)."""
    train = subparsers.choices.get("train")
    if train is None:
        train = subparsers.add_parser("train", help="train a network")
        train.set_defaults(func=lambda args: (train.print_help(), 2)[1])
        return train.add_subparsers(dest="target", metavar="TARGET")
    return next(a for a in train._actions if isinstance(a, argparse._SubParsersAction))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train sync-expert`` to the ``facial`` CLI (next to ``train audio2face``)."""
    s = _train_targets(subparsers).add_parser(
        "sync-expert", help="train the lip-sync expert (sync_offset / sync_conf / sync_dist)",
        description="Train the SyncNet-style lip-sync expert contrastively on real talking clips, with a speaker-disjoint "
                    "validation split (manifest column 'person'). CPU, minutes.")
    s.add_argument("--data", required=True, type=Path, help="MANIFEST.csv (id,path,kind,person,origin columns)")
    s.add_argument("-o", "--output", required=True, type=Path, help="checkpoint folder to write (config.json + model.safetensors)")
    s.add_argument("--input", choices=("landmarks", "pixels", "both"), default="landmarks",
                   help="visual input: lip landmarks, grayscale mouth crops, or both (one expert each, compared)")
    s.add_argument("--origins", default="real,likely_real", help="manifest origins to use (default real,likely_real)")
    s.add_argument("--val-persons", help="comma-separated 'person' labels kept for validation (default: a fixed hash draw)")
    s.add_argument("--val-fraction", type=float, default=0.25, help="share of persons held out when --val-persons is not given")
    s.add_argument("--steps", type=int, default=1500)
    s.add_argument("--max-minutes", type=float, default=30.0,
                   help="wall-time budget per expert, realignment included (the lr decays to it)")
    s.add_argument("--segments", type=int, default=16, help="segments per batch")
    s.add_argument("--anchors", type=int, default=8, help="consecutive anchor windows per segment")
    s.add_argument("--lr", type=float, default=2e-3)
    s.add_argument("--weight-decay", type=float, default=1e-3)
    s.add_argument("--validate-every", type=int, default=250)
    s.add_argument("--audio-variants", type=int, default=3, help="augmented log-mel versions (gain + noise) per training clip")
    s.add_argument("--lip-norm", choices=("global", "clip"), default="clip",
                   help="landmark expert: rescale each clip's lip motion to a common RMS (clip) or not (global)")
    s.add_argument("--no-realign", dest="realign", action="store_false",
                   help="take every training clip as in sync (default: estimate each clip's own offset with cross-fitted experts first)")
    s.add_argument("--realign-steps", type=int, default=800, help="steps of each cross-fitted expert used for realignment")
    s.add_argument("--neg-min-shift", type=int, default=2,
                   help="same-clip negatives are the audio shifted by at least this many frames (default 2; 1 adds the ±1-frame windows)")
    s.add_argument("--no-augment", dest="augment", action="store_false", help="no augmentation (crops, brightness, audio)")
    s.add_argument("--cache-dir", type=Path, help="where tracked inputs are cached (default $FACIAL_CACHE/sync_expert)")
    s.add_argument("--threads", type=int, help="torch CPU threads")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=_cmd_train)
