"""Training FACIAL-GAN: pretraining on many speakers and the shared loop used for fine-tuning.

One process on CPU or one GPU, or several GPUs under ``torchrun`` (DDP: the process group is
initialised only when ``WORLD_SIZE`` > 1; each rank sees a shard of the windows; rank 0 logs and
saves). The device comes from an argument, never from import-time probing.

```
torchrun --nproc_per_node 4 -m facial.cli train audio2face --data MANIFEST.csv --profiles-dir P -o CKPT --device cuda
```
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from facial.audio2face.config import FacialGANConfig
from facial.audio2face.face import mouth_basis_from, mouth_rms
from facial.audio2face.inference import predict_normalised
from facial.audio2face.losses import discriminator_loss, generator_loss
from facial.audio2face.model import Discriminator, FacialGAN
from facial.audio2face.stats import relative_pose_std
from facial.layout import from_array
from facial.training.datasets import ClipData, SequenceDataset, collate

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimisation settings (the reference uses Adam, lr 1e-4 for general training, batch 16–64).

    ``steps``/``max_seconds``: stop at whichever comes first. ``stride``: frames between training
    windows (the reference's "sliding distance" 5). ``seq_len``: group length for training
    (``None`` = the model's). ``style_dropout``: probability of training a window with the generic
    style (index 0) instead of its speaker's, so the generic embedding serves unseen speakers.
    """

    steps: int = 3000
    batch_size: int = 16
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    stride: int = 5
    seq_len: int | None = None
    style_dropout: float = 0.3
    adversarial_start: int = 0
    grad_clip: float = 5.0
    log_every: int = 50
    seed: int = 0
    max_seconds: float | None = None
    device: str = "cpu"
    num_workers: int = 0
    augment: "AugmentConfig | None" = None
    validate_every: int = 0


@dataclass
class AugmentConfig:
    """Audio-feature augmentation for training (SpecAugment-style, on the normalised log-mel windows).

    - ``mel_shift``: roll every window of a sample by up to ± this many mel bins (a crude
      vocal-tract-length change, so that the mapping does not latch onto one voice);
    - ``freq_masks`` × up to ``freq_mask_width`` bins set to 0 (the utterance mean) per sample;
    - ``noise``: std of Gaussian noise added to the features.
    """

    mel_shift: int = 2
    freq_masks: int = 2
    freq_mask_width: int = 8
    noise: float = 0.1


def augment_audio(audio: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Augment a batch of windows ``[B, T, W, D]`` (each sample differently)."""
    b, _, _, d = audio.shape
    out = audio.clone()
    if cfg.mel_shift > 0:
        shifts = torch.randint(-cfg.mel_shift, cfg.mel_shift + 1, (b,), generator=generator)
        for i, k in enumerate(shifts.tolist()):
            if k:
                out[i] = torch.roll(out[i], k, dims=-1)
                if k > 0:
                    out[i, ..., :k] = 0.0
                else:
                    out[i, ..., k:] = 0.0
    for _ in range(cfg.freq_masks):
        widths = torch.randint(0, cfg.freq_mask_width + 1, (b,), generator=generator)
        starts = torch.randint(0, d, (b,), generator=generator)
        for i in range(b):
            out[i, ..., starts[i]:starts[i] + widths[i]] = 0.0
    if cfg.noise > 0:
        out = out + cfg.noise * torch.randn(out.shape, generator=generator)
    return out


@dataclass
class TrainResult:
    """What a training run did: ``history`` of averaged loss terms every ``log_every`` steps."""

    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    best_step: int | None = None
    best_score: float | None = None

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


# --------------------------------------------------------------------------- distributed
def distributed_env() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from torchrun's environment (``(0, 0, 1)`` otherwise)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` → a torch device (the local rank's GPU under torchrun)."""
    _, local_rank, world = distributed_env()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
        if device == "cuda" and world > 1:
            device = f"cuda:{local_rank}"
    return torch.device(device)


def setup_distributed(device: torch.device) -> bool:
    """Initialise the process group when launched by torchrun with WORLD_SIZE > 1; returns whether DDP is on."""
    import torch.distributed as dist

    _, local_rank, world = distributed_env()
    if world <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        log.info("DDP: rank %d/%d on %s (%s)", dist.get_rank(), world, device, backend)
    return True


def is_main_process() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


# --------------------------------------------------------------------------- statistics
def compute_statistics(model: FacialGAN, clips: Sequence[ClipData], mouth_basis: np.ndarray) -> None:
    """Set the model's normalisation buffers from the training clips (expression/blink z-scores,
    RMS mouth displacement, median relative pose spread)."""
    if not clips:
        raise ValueError("no training clips")
    allp = np.concatenate([c.params for c in clips]).astype(np.float64)
    mean, std = allp.mean(0), allp.std(0)
    _, expression, _ = from_array(allp)
    rel = np.median(np.stack([relative_pose_std(c.pose_mean, c.pose_std) for c in clips]), axis=0)
    model.set_statistics(mean.astype(np.float32), std.astype(np.float32), mouth_basis, mouth_rms(expression, mouth_basis), rel)


def calibrate_pose_gain(model: FacialGAN, clips: Sequence[ClipData], max_gain: float) -> np.ndarray:
    """Per-axis gain ``clip(std(real z-pose) / std(predicted z-pose), 1, max_gain)`` over ``clips``.

    Regression networks under-predict the spread of weakly predictable tracks such as head pose;
    the gain restores the speaker's own spread at ``head_motion = 1``. Stored in ``model.pose_gain``.
    """
    lay = model.layout
    real, pred = [], []
    for c in clips:
        z = model.normalise(c.params, c.pose_mean, c.pose_std)
        p = predict_normalised(model, c.features, z[0], style=c.style)
        real.append(z[:, lay.pose])
        pred.append(p[:, lay.pose])
    real_std = np.concatenate(real).std(0)
    pred_std = np.concatenate(pred).std(0)
    gain = np.clip(real_std / np.maximum(pred_std, 1e-6), 1.0, max_gain).astype(np.float32)
    with torch.no_grad():
        model.pose_gain.copy_(torch.from_numpy(gain))
    log.info("pose gain (real/predicted spread): %s", np.round(gain, 2).tolist())
    return gain


# --------------------------------------------------------------------------- the loop
def train(model: FacialGAN, clips: Sequence[ClipData], config: TrainConfig, *, discriminator: Discriminator | None = None,
          progress: bool = True, callback: Callable[[int, int, dict], None] | None = None, desc: str = "train",
          validate: Callable[[FacialGAN], float] | None = None) -> TrainResult:
    """Train ``model`` (in place) on windows of ``clips``; the discriminator is used when given and
    the adversarial weight is positive. ``callback(step, total_steps, terms)`` is called after every step.
    With ``validate`` (model → score, higher is better) and ``config.validate_every`` > 0 the
    best-scoring weights are restored at the end."""
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    ddp = setup_distributed(device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    aug_gen = torch.Generator().manual_seed(config.seed)
    model.to(device).train()
    seq_len = config.seq_len or model.config.seq_len
    dataset = SequenceDataset(clips, model.normalise, seq_len, config.stride)
    use_adv = discriminator is not None and model.config.losses.adversarial > 0
    gen: torch.nn.Module = model
    disc: torch.nn.Module | None = discriminator.to(device).train() if use_adv else None
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP
        from torch.utils.data.distributed import DistributedSampler

        ids = [device.index] if device.type == "cuda" else None
        gen = DDP(model, device_ids=ids)
        if disc is not None:
            disc = DDP(disc, device_ids=ids)
        sampler = DistributedSampler(dataset, shuffle=True, seed=config.seed)
    else:
        sampler = RandomSampler(dataset, replacement=len(dataset) < config.batch_size,
                                num_samples=max(len(dataset), config.batch_size) if len(dataset) < config.batch_size else None)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, collate_fn=collate, drop_last=False,
                        num_workers=config.num_workers)
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=betas, weight_decay=config.weight_decay)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas) if disc is not None else None
    result = TrainResult(0, 0.0)
    running: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    main = is_main_process()
    bar = tqdm(total=config.steps, desc=desc, disable=not (progress and main), leave=False)
    step, epoch = 0, 0
    timed_out = False
    n_styles = model.config.n_styles
    best_state: dict | None = None

    def run_validation() -> None:
        nonlocal best_state
        score = float(validate(model))
        model.train()
        result.validation.append({"step": step, "score": round(score, 4)})
        if main:
            log.info("%s step %d: validation score %.4f", desc, step, score)
        if result.best_score is None or score > result.best_score:
            result.best_score, result.best_step = score, step
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    validating = validate is not None and config.validate_every > 0
    while step < config.steps:
        if ddp:
            sampler.set_epoch(epoch)
        epoch += 1
        for batch in loader:
            if config.augment is not None:
                batch.audio = augment_audio(batch.audio, config.augment, aug_gen)
            batch = batch.to(device)
            style = batch.style
            if config.style_dropout > 0 and n_styles > 1:
                drop = torch.from_numpy(rng.random(len(style)) < config.style_dropout).to(device)
                style = torch.where(drop, torch.zeros_like(style), style)
            pred = gen(batch.audio, batch.first, style)
            adv_now = disc is not None and step >= config.adversarial_start
            terms_d = {}
            if adv_now:
                opt_d.zero_grad(set_to_none=True)
                scores = disc(torch.cat([batch.target, pred.detach()]))  # one forward (DDP-friendly)
                loss_d = discriminator_loss(scores[:len(pred)], scores[len(pred):])
                loss_d.backward()
                opt_d.step()
                terms_d = {"discriminator": float(loss_d.detach())}
            loss_g, terms = generator_loss(model, pred, batch.target, batch.first, disc(pred) if adv_now else None)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(gen.parameters(), config.grad_clip)
            opt_g.step()
            if not math.isfinite(float(loss_g.detach())):
                raise FloatingPointError(f"generator loss became {float(loss_g)} at step {step}; lower the learning rate")
            terms = {"total": float(loss_g.detach()), **terms, **terms_d}
            for k, v in terms.items():
                running.setdefault(k, []).append(v)
            step += 1
            bar.update(1)
            if callback is not None:
                callback(step, config.steps, terms)
            elapsed = time.perf_counter() - t0
            timed_out = config.max_seconds is not None and elapsed >= config.max_seconds
            if ddp and config.max_seconds is not None:  # all ranks must stop at the same step
                import torch.distributed as dist

                flag = torch.tensor([float(timed_out)], device=device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                timed_out = bool(flag.item())
            done = step >= config.steps or timed_out
            if step % config.log_every == 0 or done:
                avg = {k: float(np.mean(v)) for k, v in running.items()}
                running.clear()
                result.history.append({"step": step, "seconds": round(elapsed, 1), **{k: round(v, 5) for k, v in avg.items()}})
                bar.set_postfix(loss=f"{avg['total']:.3f}")
                if main:
                    log.info("%s step %d: %s", desc, step, ", ".join(f"{k} {v:.4f}" for k, v in avg.items()))
            if validating and (step % config.validate_every == 0 or done):
                run_validation()
            if done:
                break
        if step >= config.steps or timed_out:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
        log.info("%s: restored the weights of step %d (validation score %.4f)", desc, result.best_step, result.best_score)
    result.steps = step
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result


# --------------------------------------------------------------------------- validation
@dataclass
class ValidationClip:
    """A held-out clip for early stopping: its profile and its speech (fitted to the profile's length)."""

    name: str
    profile: object
    audio: object


def load_validation(entries, progress: bool = False) -> list[ValidationClip]:
    """:class:`ValidationClip` for each :class:`~facial.training.datasets.ProfileEntry`."""
    from facial.speaker.profile import load_profile
    from facial.training.datasets import profile_audio
    from facial.types import AudioClip

    out = []
    for e in entries:
        profile = load_profile(e.directory)
        audio = profile_audio(profile)
        n = int(round(profile.n_frames / profile.fps * audio.sample_rate))
        samples = np.pad(audio.samples[:n], (0, max(0, n - len(audio.samples))))
        out.append(ValidationClip(e.name, profile, AudioClip(samples.astype(np.float32), audio.sample_rate)))
    return out


def mouth_correlation(model: FacialGAN, clips: Sequence[ValidationClip], basis) -> float:
    """Mean Pearson r between the predicted lip opening (under the speaker's mean pose) and the tracked mouth opening."""
    from facial.audio2face.inference import animate
    from facial.audio2face.metrics import lip_opening, pearson
    from facial.speaker import face_model as fm

    scores = []
    for c in clips:
        p = c.profile
        out = animate(model, c.audio, p)
        n = min(len(out), p.n_frames)
        r = pearson(lip_opening(out.expression[:n], p, basis), fm.mouth_opening(p.landmarks[:n]))
        scores.append(0.0 if np.isnan(r) else r)
    return float(np.mean(scores))


# --------------------------------------------------------------------------- pretraining
def assign_styles(clips: Sequence[ClipData]) -> list[str]:
    """Give every speaker an embedding index (1…N; 0 is the generic style); returns the speaker list."""
    speakers = sorted({c.speaker for c in clips})
    for c in clips:
        c.style = 1 + speakers.index(c.speaker)
    return speakers


def pretrain(clips: Sequence[ClipData], model_config: FacialGANConfig, train_config: TrainConfig, *, basis=None,
             init: FacialGAN | None = None, progress: bool = True, provenance: dict | None = None,
             validation: Sequence[ValidationClip] = ()) -> tuple[FacialGAN, TrainResult]:
    """Pretrain FACIAL-GAN on many speakers' clips (returns the model and the training record).

    With ``validation`` clips (other speakers) and ``train_config.validate_every`` > 0, the weights
    with the best zero-shot mouth-opening correlation on them are kept (early stopping).
    """
    from facial.speaker.face_model import ExpressionBasis

    basis = basis or ExpressionBasis.from_pretrained()
    if basis.k != model_config.n_expression:
        raise ValueError(f"the expression basis has K={basis.k}, the config asks for {model_config.n_expression}")
    k = {len(from_array(c.params)[1][0]) for c in clips}
    if k != {model_config.n_expression}:
        raise ValueError(f"clips have expression sizes {sorted(k)}, the config {model_config.n_expression}")
    seq_len = train_config.seq_len or model_config.seq_len
    short = [c.name for c in clips if len(c) < seq_len]
    clips = [c for c in clips if len(c) >= seq_len]
    if short:
        log.info("%d clip(s) shorter than %d frames left out: %s", len(short), seq_len, ", ".join(short))
    if not clips:
        raise ValueError(f"no training clip has {seq_len} frames; lower --seq-len")
    speakers = assign_styles(clips)
    cfg = model_config.replace(n_styles=len(speakers) + 1, speakers=speakers, basis_id=basis.basis_id,
                               fps=float(clips[0].fps))
    model = FacialGAN(cfg)
    if init is not None:
        own = model.state_dict()
        loaded = {k: v for k, v in init.state_dict().items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(loaded, strict=False)
        log.info("initialised %d/%d tensors from %s", len(loaded), len(own), init.weights_id())
    compute_statistics(model, clips, mouth_basis_from(basis))
    log.info("FACIAL-GAN: %d parameters, %d clips, %d speakers, %.1f min of footage", model.n_parameters(), len(clips),
             len(speakers), sum(c.duration for c in clips) / 60)
    validate = (lambda m: mouth_correlation(m, validation, basis)) if validation else None
    result = train(model, clips, train_config, discriminator=Discriminator(cfg), progress=progress, desc="pretrain", validate=validate)
    model.to("cpu")
    calibrate_pose_gain(model, clips, cfg.inference.max_pose_gain)
    model.config.provenance = {**(provenance or {}), "train": asdict(train_config), "steps_done": result.steps,
                               "seconds": round(result.seconds, 1), "clips": [c.name for c in clips],
                               "final_losses": result.final, "validation_clips": [v.name for v in validation],
                               "validation": result.validation, "best_step": result.best_step, "best_score": result.best_score,
                               "losses_at_best_step": next((h for h in result.history if h["step"] == result.best_step), None)}
    return model, result


def run_pretraining(args) -> int:
    """Handler of ``facial train audio2face`` (see :mod:`facial.audio2face.cli` for the arguments)."""
    import json

    from facial.training.datasets import discover, load_clips

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = FacialGANConfig()
    if args.config:
        cfg = FacialGANConfig.from_dict({**cfg.to_dict(), **json.loads(Path(args.config).read_text())})
    if args.seq_len:
        cfg = cfg.replace(seq_len=args.seq_len)
    val_speakers = [s for s in (args.val_speakers or "").split(",") if s]
    tc = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, stride=args.stride, seq_len=args.seq_len,
                     max_seconds=args.max_minutes * 60 if args.max_minutes else None, device=args.device, seed=args.seed,
                     augment=AugmentConfig() if args.augment else None, validate_every=args.validate_every if val_speakers else 0)
    exclude = [s for s in (args.exclude_speakers or "").split(",") if s]
    entries = discover(args.data, profiles_dir=args.profiles_dir, manifest=args.manifest, exclude_speakers=exclude,
                       origins=args.origins.split(","), progress=not args.quiet)
    val_entries = [e for e in entries if e.speaker in val_speakers]
    entries = [e for e in entries if e.speaker not in val_speakers]
    if val_speakers and not val_entries:
        raise ValueError(f"none of the validation speakers {val_speakers} is in the data")
    if not entries:
        raise ValueError(f"no usable training clips in {args.data}")
    clips = load_clips(entries, cfg.audio.encoder(), progress=not args.quiet, pose_std_floor=cfg.inference.pose_std_floor)
    validation = load_validation(val_entries)
    init = FacialGAN.from_pretrained(args.init) if args.init else None
    provenance = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "data": str(args.data), "held_out_speakers": exclude}
    model, result = pretrain(clips, cfg, tc, init=init, progress=not args.quiet, provenance=provenance, validation=validation)
    if is_main_process():
        model.save_pretrained(args.output)
        (Path(args.output) / "training_log.json").write_text(json.dumps(result.history, indent=1))
        log.info("saved %s (%d steps in %.0f s, final %s)", args.output, result.steps, result.seconds,
                 {k: v for k, v in result.final.items() if k not in ("step", "seconds")})
    return 0
