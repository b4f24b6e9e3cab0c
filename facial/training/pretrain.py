"""Pretraining FACIAL-GAN on many speakers: from a corpus (MANIFEST.csv or folders) to a checkpoint.

Runs on CPU, one GPU, or several under ``torchrun`` (DDP, see :mod:`facial.audio2face.distributed`)::

    torchrun --nproc_per_node 4 -m facial.cli train audio2face --data MANIFEST.csv --profiles-dir P -o CKPT --device cuda

``--batch-size`` is the global batch (each of the 4 ranks takes a quarter), so the same command with
the same seed trains the same model on one process or on N (see :mod:`facial.audio2face.trainer`
and docs/SCALE.md).

The training loop itself is FACIAL-GAN's own (:mod:`facial.audio2face.trainer`); this module
chooses the speakers, their style slots, the statistics and the held-out validation.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from facial import atomic
from facial.audio2face.calibrate import calibrate_pose_gain, compute_statistics
from facial.audio2face.config import FacialGANConfig
from facial.audio2face.data import ClipData, pad_reflect
from facial.audio2face.distributed import is_main_process
from facial.audio2face.face import mouth_basis_from
from facial.audio2face.model import Discriminator, FacialGAN
from facial.audio2face.trainer import TrainConfig, TrainResult, train
from facial.layout import from_array
from facial.training.corpus import DEFAULT_ORIGINS, discover, load_clips
from facial.training.validation import ValidationClip, load_validation, mouth_correlation

log = logging.getLogger(__name__)


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

    model_config = model_config.replace(audio=model_config.audio.pinned())  # the sync expert's weights, if its features are used
    basis = basis or ExpressionBasis.from_pretrained()
    if basis.k != model_config.n_expression:
        raise ValueError(f"the expression basis has K={basis.k}, the config asks for {model_config.n_expression}")
    k = {len(from_array(c.params)[1][0]) for c in clips}
    if k != {model_config.n_expression}:
        raise ValueError(f"clips have expression sizes {sorted(k)}, the config {model_config.n_expression}")
    seq_len = train_config.seq_len or model_config.seq_len
    moved: dict[str, int] = {}
    if train_config.realign_max_lag > 0 and len({c.speaker for c in clips}) < 2:
        log.warning("audio-video offsets are not looked for: finding them needs clips of at least two speakers")
    elif train_config.realign_max_lag > 0:
        from facial.audio2face.realign import realign_clips

        clips, moved = realign_clips(clips, basis, max_lag=train_config.realign_max_lag)
    if train_config.mirror:
        from facial.audio2face.data import mirror_clip
        from facial.speaker.face_model import expression_mirror

        matrix = expression_mirror(basis)
        clips = list(clips) + [mirror_clip(c, matrix) for c in clips]
        log.info("mirrored copies of the %d training clips added", len(clips) // 2)
    pad_from = int(train_config.min_clip_frames or 0)
    if pad_from > 0:
        padded = [c.name for c in clips if pad_from <= len(c) < seq_len]
        clips = [pad_reflect(c, seq_len) if pad_from <= len(c) < seq_len else c for c in clips]
        if padded:
            log.info("%d clip(s) shorter than %d frames padded back and forth in time: %s", len(padded), seq_len, ", ".join(padded))
    short = [c.name for c in clips if len(c) < seq_len]
    clips = [c for c in clips if len(c) >= seq_len]
    if short:
        log.info("%d clip(s) shorter than %d frames left out: %s", len(short), seq_len, ", ".join(short))
    if not clips:
        raise ValueError(f"no training clip has {seq_len} frames; lower --seq-len")
    speakers = assign_styles(clips)
    cfg = model_config.replace(n_styles=len(speakers) + 1, speakers=speakers, basis_id=basis.basis_id,
                               fps=float(clips[0].fps))
    import torch

    torch.manual_seed(train_config.seed)  # the same initial weights for the same seed (and on every rank)
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
                               "seconds": round(result.seconds, 1), "clips": [c.name for c in clips], "av_offsets": moved,
                               "final_losses": result.final, "validation_clips": [v.name for v in validation],
                               "validation": result.validation, "best_step": result.best_step, "best_score": result.best_score,
                               "losses_at_best_step": next((h for h in result.history if h["step"] == result.best_step), None)}
    return model, result


def pretrain_from_data(data: str | Path, output: str | Path, model_config: FacialGANConfig, train_config: TrainConfig, *,
                       profiles_dir: str | Path | None = None, manifest: str | Path | None = None,
                       origins: Sequence[str] = DEFAULT_ORIGINS, exclude_speakers: Sequence[str] = (),
                       val_speakers: Sequence[str] = (), init: FacialGAN | str | Path | None = None, progress: bool = True,
                       provenance: dict | None = None, voices=None) -> tuple[FacialGAN, TrainResult]:
    """Discover the corpus in ``data`` (see :func:`~facial.training.corpus.discover`), pretrain, and
    save the checkpoint plus ``training_log.json`` to ``output`` (on the main process only).

    ``val_speakers`` are kept out of training and used for early stopping; ``init`` is a model, a
    checkpoint folder or a Hugging Face repo id to start from; ``provenance`` is recorded in the
    checkpoint's config beside ``data`` and the held-out speakers. ``voices``
    (:class:`facial.audio2face.augment.VoiceAugment`) adds copies of every training clip in other
    voices (not of the validation clips).
    """
    val_speakers = list(val_speakers)
    exclude = list(exclude_speakers)
    entries = discover(data, profiles_dir=profiles_dir, manifest=manifest, exclude_speakers=exclude, origins=origins,
                       progress=progress)
    val_entries = [e for e in entries if e.speaker in val_speakers]
    entries = [e for e in entries if e.speaker not in val_speakers]
    if val_speakers and not val_entries:
        raise ValueError(f"none of the validation speakers {val_speakers} is in the data")
    if not entries:
        raise ValueError(f"no usable training clips in {data}")
    clips = load_clips(entries, model_config.audio.encoder(), progress=progress, pose_std_floor=model_config.inference.pose_std_floor,
                       voices=voices, seed=train_config.seed)
    validation = load_validation(val_entries)
    if init is not None and not isinstance(init, FacialGAN):
        init = FacialGAN.from_pretrained(init)
    provenance = {**(provenance or {}), "data": str(data), "held_out_speakers": exclude}
    if voices is not None:
        provenance["voices"] = asdict(voices)
    model, result = pretrain(clips, model_config, train_config, init=init, progress=progress, provenance=provenance,
                             validation=validation)
    if is_main_process():
        model.save_pretrained(output)
        atomic.write_text(Path(output) / "training_log.json", json.dumps(result.history, indent=1))
        log.info("saved %s (%d steps in %.0f s, final %s)", output, result.steps, result.seconds,
                 {k: v for k, v in result.final.items() if k not in ("step", "seconds")})
    return model, result
