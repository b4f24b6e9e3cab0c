"""Personalisation: fine-tune the generic FACIAL-GAN on the target speaker's own clip (the paper's
"fine-tuning on the target's short reference video").

:func:`personalised` caches the result in ``PROFILE_DIR/audio2face/<effort>-<base id>-<recipe>-<clip id>/``
(``config.json`` + ``model.safetensors``) and reuses it.

Nothing here changes process-wide state: torch's thread count is left to the caller (the
``facial`` command line applies ``config.finetune.num_threads``; see :mod:`facial.cli.audio2face`).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

from facial.audio2face.model import Discriminator, FacialGAN
from facial.types import AudioClip, SpeakerProfile

log = logging.getLogger(__name__)

CACHE_DIR = "audio2face"
EFFORTS = ("none", "fast", "full")
ProgressCallback = Callable[[float, str], None]


def finetune_clips(model: FacialGAN, clips: Sequence, *, steps: int, max_seconds: float | None = None, lr: float | None = None,
                   batch_size: int | None = None, adversarial: bool | None = None, progress: bool = True,
                   callback: ProgressCallback | None = None, name: str = "") -> FacialGAN:
    """A personalised copy of ``model`` trained on ``clips`` (:class:`~facial.audio2face.data.ClipData`).

    Windows are ``min(seq_len, shortest clip)`` frames long at every start offset (stride from the
    config, 1 by default, as in the reference); all clips use the generic style slot (index 0),
    which thereby becomes this speaker's. After training the pose gain is recalibrated on the clips.
    ``batch_size`` / ``adversarial`` default to the ``full`` preset of ``model.config.finetune``.
    """
    from facial.audio2face.calibrate import calibrate_pose_gain
    from facial.audio2face.trainer import TrainConfig, train

    if not clips:
        raise ValueError("nothing to fine-tune on")
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    cfg = model.config
    if cfg.finetune.sync > 0:
        from facial.audio2face.losses import check_sync_audio

        check_sync_audio(model)  # early: before the offset search and the first step
    tuned = model.copy().to("cpu")
    base_id = model.weights_id()
    clips = [dataclasses.replace(c, style=0) for c in clips]
    offsets = [0] * len(clips)
    if cfg.finetune.realign_max_lag > 0:
        from facial.audio2face.realign import model_offset, shift_clip

        offsets = [model_offset(model, c, max_lag=cfg.finetune.realign_max_lag)[0] for c in clips]
        if any(offsets):
            log.info("audio-video offset of the speaker's clip(s), taken out before fine-tuning (frames; > 0 = face late): %s", offsets)
        clips = [shift_clip(c, lag) for c, lag in zip(clips, offsets)]
    seq_len = min(cfg.seq_len, min(len(c) for c in clips))
    ft = cfg.finetune
    full = ft.budget("full")
    batch_size = batch_size or full.batch_size
    adversarial = full.adversarial if adversarial is None else adversarial
    augment = None
    if ft.augment:
        from facial.audio2face.augment import AugmentConfig

        augment = AugmentConfig()
    tc = TrainConfig(steps=steps, batch_size=batch_size, lr=lr or ft.lr, stride=ft.stride, seq_len=seq_len, style_dropout=0.0,
                     max_seconds=max_seconds, log_every=max(1, min(50, steps // 4 or 1)), device="cpu", augment=augment)
    if ft.freeze_audio:
        for module in (tuned.frame, tuned.context.encoder):
            module.requires_grad_(False)
    t0 = time.perf_counter()

    def on_step(step: int, total: int, terms: dict) -> None:
        if callback is not None:
            frac = step / max(total, 1)
            if max_seconds:
                frac = max(frac, (time.perf_counter() - t0) / max_seconds)
            callback(min(1.0, frac), f"fine-tuning FACIAL-GAN: step {step}/{total}, loss {terms['total']:.3f}")

    result = None
    if steps > 0:
        # the sync term's weight while fine-tuning is finetune.sync; the checkpoint keeps the pretraining's losses
        tuned.config = cfg.replace(losses={**dataclasses.asdict(cfg.losses), "sync": ft.sync})
        try:
            result = train(tuned, clips, tc, discriminator=Discriminator(cfg) if adversarial else None, progress=progress,
                           callback=on_step, desc="finetune")
        finally:
            tuned.config = cfg.replace()
    tuned.requires_grad_(True)
    calibrate_pose_gain(tuned, clips, cfg.inference.max_pose_gain)
    tuned.config.personalised_for = name or clips[0].speaker
    tuned.config.provenance = {**cfg.provenance, "finetune": {"base": base_id, "steps": result.steps if result else 0,
                                                             "seconds": round(result.seconds, 1) if result else 0.0,
                                                             "frames": int(sum(len(c) for c in clips)), "av_offsets": offsets,
                                                             "sync": ft.sync if result else 0.0,
                                                             "final_losses": result.final if result else {}}}
    tuned.checkpoint_id = ""
    tuned.eval()
    if result is not None:
        log.info("fine-tuned on %s: %d steps in %.1f s, final loss %.4f", tuned.config.personalised_for, result.steps,
                 result.seconds, result.final.get("total", float("nan")))
    return tuned


def finetune(model: FacialGAN, profile: SpeakerProfile, audio: AudioClip, *, steps: int | None = None, minutes: float | None = None,
             progress: bool = True, lr: float | None = None, batch_size: int | None = None, adversarial: bool | None = None,
             callback: ProgressCallback | None = None) -> FacialGAN:
    """A copy of ``model`` personalised to ``profile`` (whose clip's speech is ``audio``).

    ``steps`` / ``minutes`` bound the training (whichever comes first); with neither, the
    ``"full"`` preset of ``model.config.finetune`` is used (as are its batch size and adversarial
    setting unless given).
    """
    from facial.audio2face.data import clip_from_profile

    if profile.params.n_expression != model.config.n_expression:
        raise ValueError(f"the profile has {profile.params.n_expression} expression coefficients, the model {model.config.n_expression}")
    full = model.config.finetune.budget("full")
    preset_steps, preset_seconds = full.steps, full.max_seconds
    if steps is None and minutes is None:
        steps, max_seconds = preset_steps, preset_seconds
    else:
        steps = preset_steps if steps is None else steps
        max_seconds = None if minutes is None else minutes * 60.0
    name = profile.directory.name if profile.directory else "speaker"
    clip = clip_from_profile(profile, audio, model.config.audio.encoder(), name=name, speaker=name,
                             pose_std_floor=model.config.inference.pose_std_floor)
    return finetune_clips(model, [clip], steps=steps, max_seconds=max_seconds, lr=lr, batch_size=batch_size, adversarial=adversarial,
                          progress=progress, callback=callback, name=name)


def cache_key(base: FacialGAN, profile: SpeakerProfile, effort: str) -> str:
    """Folder name of a cached personalised model: effort, base weights id, fine-tuning recipe, clip id.

    The recipe part hashes the base's ``finetune`` settings and the loss settings fine-tuning reads,
    so a changed recipe (e.g. ``finetune.sync``) on the same weights does not reuse a stale model."""
    from facial.hashing import sha256_json

    cfg = base.config.to_dict()
    recipe = sha256_json({"finetune": cfg["finetune"], "losses": cfg["losses"]}, length=8)
    clip_id = (profile.source_hash or "noclip")[:12]
    return f"{effort}-{base.weights_id()}-{recipe}-{clip_id}"


def personalised(profile_dir_or_profile: str | Path | SpeakerProfile, *, effort: str = "fast",
                 base: FacialGAN | str | Path | None = None, progress_callback: ProgressCallback | None = None) -> FacialGAN:
    """The FACIAL-GAN personalised to a speaker, fine-tuned once and cached in the profile.

    - ``effort``: ``"none"`` (the base model), ``"fast"`` (seconds; the app's default) or ``"full"``.
    - ``base``: a model, a checkpoint folder / Hugging Face repo id, or ``None`` (packaged checkpoint).
    - ``progress_callback(fraction, message)`` is called while fine-tuning.
    Cached in ``PROFILE_DIR/audio2face/<effort>-<base id>-<recipe>-<clip id>/`` when the profile has a folder.
    """
    from facial.audio2face.data import profile_audio
    from facial.speaker.profile import load_profile

    if effort not in EFFORTS:
        raise ValueError(f"unknown effort {effort!r}; use one of {', '.join(EFFORTS)}")
    profile = profile_dir_or_profile if isinstance(profile_dir_or_profile, SpeakerProfile) else load_profile(profile_dir_or_profile)
    base_model = base if isinstance(base, FacialGAN) else FacialGAN.from_pretrained(base)
    if effort == "none":
        return base_model
    key = cache_key(base_model, profile, effort)
    cache = Path(profile.directory) / CACHE_DIR / key if profile.directory is not None else None
    if cache is not None and (cache / "model.safetensors").exists() and (cache / "config.json").exists():
        log.info("using the cached personalised model %s", cache)
        if progress_callback is not None:
            progress_callback(1.0, "personalised FACIAL-GAN loaded from the profile")
        return FacialGAN.from_pretrained(cache)
    budget = base_model.config.finetune.budget(effort)
    audio = profile_audio(profile)
    if progress_callback is not None:
        progress_callback(0.0, f"fine-tuning FACIAL-GAN ({effort})")
    tuned = finetune(base_model, profile, audio, steps=budget.steps, minutes=budget.max_seconds / 60.0, batch_size=budget.batch_size,
                     adversarial=budget.adversarial, progress=progress_callback is None, callback=progress_callback)
    if cache is not None:
        try:
            tuned.save_pretrained(cache)
            log.info("personalised model saved to %s", cache)
        except OSError as exc:  # read-only profile: still usable in memory
            log.warning("could not cache the personalised model in %s (%s)", cache, exc)
    if progress_callback is not None:
        progress_callback(1.0, "FACIAL-GAN personalised")
    return tuned


def cached_models(profile_dir: str | Path) -> list[Path]:
    """Personalised checkpoints cached in a profile, newest first."""
    root = Path(profile_dir) / CACHE_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "model.safetensors").exists() and (p / "config.json").exists()]
    return sorted(found, key=lambda p: (p / "model.safetensors").stat().st_mtime, reverse=True)
