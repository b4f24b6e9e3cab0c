"""The FACIAL-GAN training loop, shared by pretraining (:mod:`facial.training.pretrain`) and
personalisation (:mod:`facial.audio2face.finetune`).

One process on CPU or one GPU, or several GPUs under ``torchrun`` (see
:mod:`facial.audio2face.distributed`). The loop never changes torch's thread count: that is the
command line's business (:func:`facial.cli._common.configure_threads`).

Same results on one process and on N ranks: ``batch_size`` is the *global* batch (each rank takes
``batch_size / N`` windows); the windows come from :class:`~torch.utils.data.DistributedSampler`
in both cases (one replica on one process), so the union of the ranks' batches at a step is the
single process's batch; DDP averages the gradients of equal-sized shards, which equals the
gradient of the global batch's mean loss; the per-window random draws (style dropout,
augmentation) are drawn for the whole global batch on every rank and each rank keeps its rows;
logged losses are averaged over ranks. The model's own ``nn.Dropout`` draws its masks per rank
(seed + rank), statistically the same as one process but not bit-identical: with ``dropout: 0``
a torchrun run reproduces the one-process checkpoint to float tolerance
(tests/facial/audio2face/test_ddp.py).
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
from facial.audio2face.distributed import (any_rank, is_main_process, mean_over_ranks, rank_and_world, resolve_device,
                                           setup_distributed)
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
    ``ema``: with a decay in (0, 1) an exponential moving average of the weights
    (:class:`torch.optim.swa_utils.AveragedModel`) is what gets validated and what the model holds at
    the end (steadier than the last step's weights on small data).
    """

    steps: int = 3000
    batch_size: int = 16  # the global batch: under DDP each of the N ranks takes batch_size / N
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
    min_clip_frames: int = 0  # pretraining: clips this long but shorter than seq_len are padded (data.pad_reflect); 0 = left out
    realign_max_lag: int = 0  # pretraining: take audio-video offsets up to this many frames out of the clips (0 = off)
    ema: float = 0.0  # decay of an exponential moving average of the weights (0 = off): validated, kept and returned
    mirror: bool = False  # pretraining: add a left-right mirrored copy of every training clip (data.mirror_clip)
    speaker_adversarial: float = 0.0  # weight of the speaker classifier behind a gradient reversal on the frame branch (0 = off)


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


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # noqa: D102
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return -grad


class SpeakerAdversary(torch.nn.Module):
    """Speaker classifier on the frame branch's audio embedding, behind a gradient reversal: it learns
    to tell the training speakers apart, and the encoder below it learns to make that impossible
    (a speaker-adversarial term, issue #13 item 2). Training-time only; not part of the checkpoint."""

    def __init__(self, dim: int, n_speakers: int, hidden: int = 64):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_speakers))

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.net(_ReverseGrad.apply(embedding))


class TrainStep:
    """One optimisation step on a batch: the LSGAN discriminator update (when adversarial training
    is on), then the generator's; returns the unweighted loss terms (floats, for logs)."""

    def __init__(self, model: FacialGAN, gen: torch.nn.Module, disc: torch.nn.Module | None, config: TrainConfig,
                 device: torch.device, rng: np.random.Generator, aug_gen: torch.Generator, rank: int = 0, world: int = 1):
        self.model, self.gen, self.disc, self.config, self.device = model, gen, disc, config, device
        self.rng, self.aug_gen = rng, aug_gen
        self.rank, self.world = rank, world  # this rank's windows are rows rank::world of the global batch
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=betas, weight_decay=config.weight_decay)
        self.opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas) if disc is not None else None
        self.n_styles = model.config.n_styles
        self.spectral = model.config.audio.n_mels  # augmentation shifts/masks the log-mel bins, not appended channels
        self.speaker_head = None
        if config.speaker_adversarial > 0:
            if world > 1:
                raise ValueError("the speaker-adversarial term is not supported under DDP; train on one process or set it to 0")
            if self.n_styles < 3:
                raise ValueError("the speaker-adversarial term needs at least two training speakers (style slots)")
            self.speaker_head = SpeakerAdversary(model.config.frame_dim, self.n_styles).to(device)
            self.opt_g.add_param_group({"params": list(self.speaker_head.parameters())})
            self._frame_out: list[torch.Tensor] = []
            self._hook = model.frame.register_forward_hook(self._keep_frame)

    def _keep_frame(self, _module, _inputs, out: torch.Tensor) -> None:
        if torch.is_grad_enabled():  # training forwards only (validation runs without gradients)
            self._frame_out.append(out)

    def close(self) -> None:
        """Remove the speaker-adversarial hook from the model (the returned model carries none)."""
        if self.speaker_head is not None:
            self._hook.remove()
            self._frame_out.clear()

    def _style(self, style: torch.Tensor) -> torch.Tensor:
        """Style indices with some replaced by the generic one (0), at rate ``style_dropout``."""
        if self.config.style_dropout > 0 and self.n_styles > 1:
            draws = self.rng.random(len(style) * self.world)[self.rank::self.world]  # the global batch's draws, our rows
            drop = torch.from_numpy(draws < self.config.style_dropout).to(self.device)
            style = torch.where(drop, torch.zeros_like(style), style)
        return style

    def _augment(self, audio: torch.Tensor) -> torch.Tensor:
        """Augment this rank's windows with the draws of their rows of the global batch (every rank
        draws for the whole batch from the same generator; each window is augmented independently)."""
        if self.world == 1:
            return augment_audio(audio, self.config.augment, self.aug_gen, self.spectral)
        full = audio.new_zeros((len(audio) * self.world, *audio.shape[1:]))
        full[self.rank::self.world] = audio
        return augment_audio(full, self.config.augment, self.aug_gen, self.spectral)[self.rank::self.world]

    def __call__(self, batch: Batch, step: int) -> dict[str, float]:
        config, disc = self.config, self.disc
        if config.augment is not None:
            batch.audio = self._augment(batch.audio)
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
        loss_g, terms = generator_loss(self.model, pred, batch.target, batch.first, disc(pred) if adv_now else None,
                                       audio=batch.audio)
        if self.speaker_head is not None:
            emb = self._frame_out.pop()  # [B·T, frame_dim]: the frame branch's audio embedding of this step
            self._frame_out.clear()
            speakers = batch.style.to(self.device).repeat_interleave(emb.shape[0] // len(batch.style))
            loss_s = torch.nn.functional.cross_entropy(self.speaker_head(emb), speakers)
            loss_g = loss_g + config.speaker_adversarial * loss_s
            terms["speaker"] = float(loss_s.detach())
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


def _averaged(model: FacialGAN, decay: float):
    """An EMA copy of ``model`` (``None`` when ``decay`` is 0)."""
    if not decay:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema must be 0 (off) or a decay in (0, 1), got {decay}")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _loader(dataset: SequenceDataset, config: TrainConfig, rank: int = 0, world: int = 1):
    """``(loader, sampler)`` of ``rank`` out of ``world``: every epoch a permutation of the windows
    seeded by ``(seed, epoch)`` (:class:`DistributedSampler`, also with one replica), cut into global
    batches of ``config.batch_size``, of which this rank takes every ``world``-th window (incomplete
    batches are dropped, so every step sees a full global batch and the ranks equal shards).

    With fewer windows than one batch (fine-tuning on a short clip; one process only) windows are
    drawn with replacement to fill the batch.
    """
    from torch.utils.data.distributed import DistributedSampler

    if config.batch_size < world or config.batch_size % world:
        raise ValueError(f"the batch size {config.batch_size} (the global batch) must be a multiple of the {world} ranks")
    per_rank = config.batch_size // world
    if len(dataset) >= config.batch_size:
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=config.seed, drop_last=True)
        drop_last = True
    elif world == 1:
        sampler = RandomSampler(dataset, replacement=True, num_samples=config.batch_size)
        drop_last = False
    else:
        raise ValueError(f"{len(dataset)} training windows cannot fill a global batch of {config.batch_size} on {world} ranks; "
                         "lower --batch-size or --stride")
    loader = DataLoader(dataset, batch_size=per_rank, sampler=sampler, collate_fn=collate, drop_last=drop_last,
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
    rank, world = rank_and_world() if ddp else (0, 1)
    torch.manual_seed(config.seed + rank)  # nn.Dropout's masks: independent per rank (DDP broadcasts rank 0's weights)
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
    loader, sampler = _loader(dataset, config, rank, world)
    if ddp:
        log.info("DDP rank %d/%d: %d of %d windows per epoch, %d of the global batch of %d per step", rank, world,
                 len(sampler), len(dataset), config.batch_size // world, config.batch_size)
    train_step = TrainStep(model, gen, disc, config, device, rng, aug_gen, rank, world)
    result = TrainResult(0, 0.0)
    running: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    main = is_main_process()
    bar = tqdm(total=config.steps, desc=desc, disable=not (progress and main), leave=False)
    step, epoch = 0, 0
    timed_out = False
    best = _BestWeights(validate, result, desc, main) if validate is not None and config.validate_every > 0 else None
    ema = _averaged(model, config.ema)
    kept = ema.module if ema is not None else model  # the weights that are validated and returned
    while step < config.steps:
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        epoch += 1
        for batch in loader:
            terms = train_step(batch, step)
            if ema is not None:
                ema.update_parameters(model)
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
                avg = mean_over_ranks({k: float(np.mean(v)) for k, v in running.items()}, device)
                running.clear()
                result.history.append({"step": step, "seconds": round(elapsed, 1), **{k: round(v, 5) for k, v in avg.items()}})
                bar.set_postfix(loss=f"{avg['total']:.3f}")
                if main:
                    log.info("%s step %d: %s", desc, step, ", ".join(f"{k} {v:.4f}" for k, v in avg.items()))
            if best is not None and (step % config.validate_every == 0 or done):
                best(kept, step)
            if done:
                break
        if step >= config.steps or timed_out:
            break
    bar.close()
    train_step.close()
    if ema is not None:
        model.load_state_dict(ema.module.state_dict())
    if best is not None:
        best.restore(model)
    result.steps = step
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result
