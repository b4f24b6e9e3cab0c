"""``facial train audio2face``, ``facial finetune`` and ``facial animate``: stage (2), FACIAL-GAN.

```
facial train audio2face --data DIR_OR_MANIFEST -o CKPT_DIR [--profiles-dir P] [--exclude-speakers a,b]
facial finetune PROFILE_DIR [--effort fast|full | --steps N] [--base CKPT]
facial animate --audio AUDIO --speaker PROFILE_DIR -o PARAMS.safetensors [--head-motion 1] [--blink-rate R]
```
Pretraining runs on CPU, one GPU (``--device cuda``) or several under torchrun (DDP)::

    torchrun --nproc_per_node 4 -m facial.cli train audio2face --data MANIFEST.csv --profiles-dir P -o CKPT --device cuda

``--batch-size`` is the global batch (split over the ranks), so with the same seed the checkpoint
equals the one-process run's (docs/SCALE.md).

Fine-tuning (``finetune``, and ``animate --effort fast|full``) runs with ``--threads`` torch
threads, else with the checkpoint's ``finetune.num_threads``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from facial.cli._common import configure_threads, threads_while

log = logging.getLogger(__name__)


def _model_config(args: argparse.Namespace):
    """FacialGANConfig from the defaults, ``--config`` JSON overrides and ``--seq-len``."""
    import json

    from facial.audio2face.config import FacialGANConfig

    cfg = FacialGANConfig()
    if args.config:
        cfg = FacialGANConfig.from_dict({**cfg.to_dict(), **json.loads(Path(args.config).read_text())})
    if args.seq_len:
        cfg = cfg.replace(seq_len=args.seq_len)
    return cfg


def _split(names: str | None) -> list[str]:
    return [s for s in (names or "").split(",") if s]


def _cmd_train(args: argparse.Namespace) -> int:
    """Handler of ``facial train audio2face``: arguments → configs → :func:`facial.training.pretrain.pretrain_from_data`."""
    from facial.audio2face.augment import AugmentConfig, VoiceAugment
    from facial.audio2face.distributed import teardown_distributed
    from facial.audio2face.trainer import TrainConfig
    from facial.training.pretrain import pretrain_from_data

    configure_threads(args.threads)
    cfg = _model_config(args)
    val_speakers = _split(args.val_speakers)
    tc = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, stride=args.stride, seq_len=args.seq_len,
                     max_seconds=args.max_minutes * 60 if args.max_minutes else None, device=args.device, seed=args.seed,
                     augment=AugmentConfig() if args.augment else None, validate_every=args.validate_every if val_speakers else 0,
                     min_clip_frames=args.min_clip_frames, ema=args.ema, realign_max_lag=args.realign_max_lag,
                     speaker_adversarial=args.speaker_adversarial, mirror=args.mirror)
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    pretrain_from_data(args.data, args.output, cfg, tc, profiles_dir=args.profiles_dir, manifest=args.manifest,
                       origins=args.origins.split(","), exclude_speakers=_split(args.exclude_speakers), val_speakers=val_speakers,
                       init=args.init, progress=not args.quiet, provenance={"command": command},
                       voices=VoiceAugment(variants=args.voice_variants) if args.voice_variants > 0 else None)
    teardown_distributed()  # under torchrun: every rank waits for rank 0's checkpoint, then leaves the group
    return 0


def _load_base(spec: str | None):
    from facial.audio2face.model import FacialGAN

    return FacialGAN.from_pretrained(spec)


def _finetune_threads(args: argparse.Namespace, base) -> int | None:
    """Threads while fine-tuning: ``--threads``, else the model's ``finetune.num_threads`` (0 = torch's default)."""
    return args.threads or base.config.finetune.num_threads or None


def _cmd_finetune(args: argparse.Namespace) -> int:
    from facial.audio2face.data import profile_audio
    from facial.audio2face.finetune import CACHE_DIR, cache_key, finetune, personalised
    from facial.speaker.profile import load_profile

    profile = load_profile(args.profile)
    base = _load_base(args.base)
    configure_threads(_finetune_threads(args, base))
    if args.steps is None and args.minutes is None:
        model = personalised(profile, effort=args.effort, base=base)
        log.info("personalised model (%s) stored in %s", args.effort, Path(args.profile) / CACHE_DIR / cache_key(base, profile, args.effort))
        return 0
    effort = f"steps{args.steps}" if args.steps is not None else f"min{args.minutes:g}"
    model = finetune(base, profile, profile_audio(profile), steps=args.steps, minutes=args.minutes, progress=not args.quiet)
    out = model.save_pretrained(Path(args.profile) / CACHE_DIR / cache_key(base, profile, effort))
    log.info("personalised model stored in %s", out)
    return 0


def _pick_model(args: argparse.Namespace, profile):
    """The model ``animate`` uses: an explicit effort, or (auto) the best cached personalised model for the base."""
    from facial.audio2face.finetune import cached_models, personalised
    from facial.audio2face.model import FacialGAN

    base = _load_base(args.model)
    if args.effort != "auto":
        with threads_while(_finetune_threads(args, base) if args.effort != "none" else None):
            return personalised(profile, effort=args.effort, base=base)
    if profile.directory is not None:
        base_id = base.weights_id()
        cached = [p for p in cached_models(profile.directory) if f"-{base_id}-" in p.name]
        cached.sort(key=lambda p: (not p.name.startswith("full"), not p.name.startswith("steps")))
        if cached:
            log.info("using personalised model %s", cached[0])
            return FacialGAN.from_pretrained(cached[0])
    log.info("no personalised model in the profile: using the generic one (run `facial finetune PROFILE_DIR` to personalise)")
    return base


def _cmd_animate(args: argparse.Namespace) -> int:
    from facial import media
    from facial.audio2face.inference import animate
    from facial.speaker.profile import load_profile, save_params

    configure_threads(args.threads)
    output = Path(args.output)
    if output.suffix != ".safetensors":
        raise ValueError(f"{output}: the output must be a .safetensors file")
    profile = load_profile(args.speaker)
    audio = media.load_audio(args.audio)
    model = _pick_model(args, profile)
    params = animate(model, audio, profile, head_motion=args.head_motion, blink_rate=args.blink_rate, seed=args.seed,
                     smoothing=args.smoothing)
    save_params(output, params)
    plot = Path(args.plot) if args.plot else output.parent / "tracks.png"
    write_plot(params, profile, plot, title=f"{Path(args.audio).name} → {Path(args.speaker).name}")
    log.info("wrote %s (%d frames at %g fps) and %s", output, len(params), params.fps, plot)
    return 0


def write_plot(params, profile, path: Path, *, title: str = "") -> Path:
    """tracks.png of generated params, with the mouth-opening curve through the face model when the basis matches."""
    from facial.speaker import face_model as fm
    from facial.speaker.plots import plot_tracks

    mouth = None
    try:
        basis = fm.ExpressionBasis.from_pretrained()
        if basis.k == params.n_expression:
            lm = fm.landmarks_from_params(params.pose, params.expression, params.blink, profile.identity, basis, profile.blink_shape)
            mouth = fm.mouth_opening(lm)
    except (FileNotFoundError, ValueError) as exc:
        log.debug("no mouth curve in the plot: %s", exc)
    return plot_tracks(params, path, mouth=mouth, title=title)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train audio2face``, ``finetune`` and ``animate`` to the ``facial`` CLI."""
    p = subparsers.add_parser("train", help="train a network (target: audio2face)")
    targets = p.add_subparsers(dest="target", metavar="TARGET")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    a = targets.add_parser("audio2face", help="pretrain FACIAL-GAN on many speakers",
                           description="Pretrain FACIAL-GAN. Runs on CPU, one GPU (--device cuda) or several under torchrun (DDP).")
    a.add_argument("--data", required=True, type=Path, help="MANIFEST.csv, a folder of profiles, one profile, or a folder of clips")
    a.add_argument("-o", "--output", required=True, type=Path, help="checkpoint folder to write (config.json + model.safetensors)")
    a.add_argument("--profiles-dir", type=Path, help="where tracked profiles are kept (needed for a MANIFEST or a folder of clips)")
    a.add_argument("--manifest", type=Path, help="MANIFEST.csv naming the speakers of a folder of profiles")
    a.add_argument("--origins", default="real,likely_real", help="manifest origins to use (default real,likely_real)")
    a.add_argument("--exclude-speakers", help="comma-separated speakers to hold out (manifest 'person' names)")
    a.add_argument("--val-speakers", help="comma-separated speakers kept out of training for early stopping (zero-shot mouth r)")
    a.add_argument("--validate-every", type=int, default=100, help="steps between validations (with --val-speakers)")
    a.add_argument("--no-augment", dest="augment", action="store_false", help="no audio-feature augmentation")
    a.add_argument("--steps", type=int, default=3000)
    a.add_argument("--batch-size", type=int, default=16,
                   help="the global batch: under torchrun each of the N ranks takes batch-size / N windows (default 16)")
    a.add_argument("--lr", type=float, default=1e-4)
    a.add_argument("--stride", type=int, default=5, help="frames between training windows (default 5)")
    a.add_argument("--seq-len", type=int, help="frames per group (default: the config's, 128)")
    a.add_argument("--max-minutes", type=float, help="stop after this much wall time")
    a.add_argument("--min-clip-frames", type=int, default=0,
                   help="pad clips at least this long but shorter than the group length back and forth in time (0: leave them out)")
    a.add_argument("--voice-variants", type=int, default=0,
                   help="copies of every training clip in other voices (speed ±10 %%, pitch ±2 semitones, noise; default 0)")
    a.add_argument("--realign-max-lag", type=int, default=8,
                   help="find each clip's audio-video offset (up to this many frames) and take it out before training (default 8; 0 = off)")
    a.add_argument("--mirror", action="store_true",
                   help="add a left-right mirrored copy of every training clip (pose and expression mirrored, same speech)")
    a.add_argument("--speaker-adversarial", type=float, default=0.0,
                   help="weight of a speaker classifier behind a gradient reversal on the audio frame branch (0 = off; one process only)")
    a.add_argument("--ema", type=float, default=0.99,
                   help="decay of an exponential moving average of the weights, validated and saved (default 0.99; 0 = off)")
    a.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    a.add_argument("--threads", type=int, help="torch CPU threads")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--config", type=Path, help="JSON file overriding FacialGANConfig fields")
    a.add_argument("--init", help="initialise from this checkpoint (folder or HF repo id)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    a.set_defaults(func=_cmd_train)

    f = subparsers.add_parser("finetune", help="personalise FACIAL-GAN to a speaker profile (stored in the profile)")
    f.add_argument("profile", type=Path, help="speaker profile folder (from `facial track`)")
    f.add_argument("--base", help="generic checkpoint folder or HF repo id (default: the packaged one)")
    f.add_argument("--effort", choices=("fast", "full"), default="full", help="preset budget (default full)")
    f.add_argument("--steps", type=int, help="train this many steps instead of a preset")
    f.add_argument("--minutes", type=float, help="train at most this long instead of a preset")
    f.add_argument("--threads", type=int)
    f.add_argument("-q", "--quiet", action="store_true")
    f.set_defaults(func=_cmd_finetune)

    n = subparsers.add_parser("animate", help="speech → FaceParams (params.safetensors + tracks.png)")
    n.add_argument("--audio", required=True, type=Path, help="speech recording (or a video with sound)")
    n.add_argument("--speaker", required=True, type=Path, help="speaker profile folder")
    n.add_argument("-o", "--output", required=True, type=Path, help="PARAMS.safetensors to write")
    n.add_argument("--model", help="generic checkpoint folder or HF repo id (default: the packaged one)")
    n.add_argument("--effort", choices=("auto", "none", "fast", "full"), default="auto",
                   help="personalisation: auto = a cached fine-tuned model if any, else the generic one")
    n.add_argument("--head-motion", type=float, default=1.0, help="head-motion strength (0 = still, 1 = the speaker's own)")
    n.add_argument("--blink-rate", type=float, help="blinks per minute (default: the speaker's own)")
    n.add_argument("--seed", type=int, default=0)
    n.add_argument("--smoothing", default=None, help="smoothing preset: reference, light, strong, none")
    n.add_argument("--plot", type=Path, help="where to write the plot (default: tracks.png beside the output)")
    n.add_argument("--threads", type=int)
    n.set_defaults(func=_cmd_animate)
