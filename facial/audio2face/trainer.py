"""The FACIAL-GAN training loop, shared by pretraining (:mod:`facial.training.pretrain`) and
personalisation (:mod:`facial.audio2face.finetune`).

One process on CPU or one GPU, or several GPUs under ``torchrun`` (see
:mod:`facial.audio2face.distributed`). The loop never changes torch's thread count: that is the
command line's business (:func:`facial.cli._common.configure_threads`).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from facial.audio2face.augment import AugmentConfig, augment_audio
from facial.audio2face.data import Batch, ClipData, SequenceDataset, collate
from facial.audio2face.distributed import any_rank, is_main_process, resolve_device, setup_distributed
from facial.audio2face.losses import discriminator_loss, generator_loss
from facial.audio2face.model import Discriminator, FacialGAN

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


class TrainStep:
    """One optimisation step on a batch: the LSGAN discriminator update (when adversarial training
    is on), then the generator's; returns the unweighted loss terms (floats, for logs)."""

    def __init__(self, model: FacialGAN, gen: torch.nn.Module, disc: torch.nn.Module | None, config: TrainConfig,
                 device: torch.device, rng: np.random.Generator, aug_gen: torch.Generator):
        self.model, self.gen, self.disc, self.config, self.device = model, gen, disc, config, device
        self.rng, self.aug_gen = rng, aug_gen
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=betas, weight_decay=config.weight_decay)
        self.opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas) if disc is not None else None
        self.n_styles = model.config.n_styles

    def _style(self, style: torch.Tensor) -> torch.Tensor:
        """Style indices with some replaced by the generic one (0), at rate ``style_dropout``."""
        if self.config.style_dropout > 0 and self.n_styles > 1:
            drop = torch.from_numpy(self.rng.random(len(style)) < self.config.style_dropout).to(self.device)
            style = torch.where(drop, torch.zeros_like(style), style)
        return style

    def __call__(self, batch: Batch, step: int) -> dict[str, float]:
        config, disc = self.config, self.disc
        if config.augment is not None:
            batch.audio = augment_audio(batch.audio, config.augment, self.aug_gen)
        batch = batch.to(self.device)
        pred = self.gen(batch.audio, batch.first, self._style(batch.style))
        adv_now = disc is not None and step >= config.adversarial_start
        terms_d = {}
        if adv_now:
            self.opt_d.zero_grad(set_to_none=True)
            scores = disc(torch.cat([batch.target, pred.detach()]))  # one forward (DDP-friendly)
            loss_d = discriminator_loss(scores[:len(pred)], scores[len(pred):])
            loss_d.backward()
            self.opt_d.step()
            terms_d = {"discriminator": float(loss_d.detach())}
        loss_g, terms = generator_loss(self.model, pred, batch.target, batch.first, disc(pred) if adv_now else None)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.gen.parameters(), config.grad_clip)
        self.opt_g.step()
        if not math.isfinite(float(loss_g.detach())):
            raise FloatingPointError(f"generator loss became {float(loss_g)} at step {step}; lower the learning rate")
        return {"total": float(loss_g.detach()), **terms, **terms_d}


class _BestWeights:
    """Early stopping: score the model with ``validate`` and keep a copy of the best-scoring weights."""

    def __init__(self, validate: Callable[[FacialGAN], float], result: TrainResult, desc: str, main: bool):
        self.validate, self.result, self.desc, self.main = validate, result, desc, main
        self.state: dict | None = None

    def __call__(self, model: FacialGAN, step: int) -> None:
        score = float(self.validate(model))
        model.train()
        self.result.validation.append({"step": step, "score": round(score, 4)})
        if self.main:
            log.info("%s step %d: validation score %.4f", self.desc, step, score)
        if self.result.best_score is None or score > self.result.best_score:
            self.result.best_score, self.result.best_step = score, step
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restore(self, model: FacialGAN) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
            log.info("%s: restored the weights of step %d (validation score %.4f)", self.desc, self.result.best_step,
                     self.result.best_score)


def _loader(dataset: SequenceDataset, config: TrainConfig, ddp: bool):
    """``(loader, sampler)``: a shard per rank under DDP, else random windows (with replacement when
    there are fewer windows than a batch)."""
    if ddp:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, shuffle=True, seed=config.seed)
    else:
        small = len(dataset) < config.batch_size
        sampler = RandomSampler(dataset, replacement=small, num_samples=max(len(dataset), config.batch_size) if small else None)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, collate_fn=collate, drop_last=False,
                        num_workers=config.num_workers)
    return loader, sampler


def _wrap_ddp(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(module, device_ids=[device.index] if device.type == "cuda" else None)


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
    dataset = SequenceDataset(clips, model.normalise, config.seq_len or model.config.seq_len, config.stride)
    use_adv = discriminator is not None and model.config.losses.adversarial > 0
    gen: torch.nn.Module = model
    disc: torch.nn.Module | None = discriminator.to(device).train() if use_adv else None
    if ddp:
        gen = _wrap_ddp(model, device)
        disc = _wrap_ddp(disc, device) if disc is not None else None
    loader, sampler = _loader(dataset, config, ddp)
    train_step = TrainStep(model, gen, disc, config, device, rng, aug_gen)
    result = TrainResult(0, 0.0)
    running: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    main = is_main_process()
    bar = tqdm(total=config.steps, desc=desc, disable=not (progress and main), leave=False)
    step, epoch = 0, 0
    timed_out = False
    best = _BestWeights(validate, result, desc, main) if validate is not None and config.validate_every > 0 else None
    while step < config.steps:
        if ddp:
            sampler.set_epoch(epoch)
        epoch += 1
        for batch in loader:
            terms = train_step(batch, step)
            for k, v in terms.items():
                running.setdefault(k, []).append(v)
            step += 1
            bar.update(1)
            if callback is not None:
                callback(step, config.steps, terms)
            elapsed = time.perf_counter() - t0
            timed_out = config.max_seconds is not None and elapsed >= config.max_seconds
            if ddp and config.max_seconds is not None:  # all ranks must stop at the same step
                timed_out = any_rank(timed_out, device)
            done = step >= config.steps or timed_out
            if step % config.log_every == 0 or done:
                avg = {k: float(np.mean(v)) for k, v in running.items()}
                running.clear()
                result.history.append({"step": step, "seconds": round(elapsed, 1), **{k: round(v, 5) for k, v in avg.items()}})
                bar.set_postfix(loss=f"{avg['total']:.3f}")
                if main:
                    log.info("%s step %d: %s", desc, step, ", ".join(f"{k} {v:.4f}" for k, v in avg.items()))
            if best is not None and (step % config.validate_every == 0 or done):
                best(model, step)
            if done:
                break
        if step >= config.steps or timed_out:
            break
    bar.close()
    if best is not None:
        best.restore(model)
    result.steps = step
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result
