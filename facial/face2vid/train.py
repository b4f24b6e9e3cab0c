"""Train the neural renderer on one speaker's clip: ``facial train-renderer PROFILE_DIR``.

Protocol (FACIAL trains Rendering-to-Video from scratch per person; ~10 GPU hours there):

- the clip's tracked parameters are rendered with the textured mesh (:mod:`facial.face_render`)
  over a fixed square face crop at ``size``; the real frames, cropped the same way, are targets;
- the **last** ``holdout`` (10 %) of the frames are never trained on; PSNR and SSIM on them
  are logged over training time, next to the training-free warp renderer's on the same frames
  (it may use only the first 90 % as sources), so the curve answers "is it better yet?";
- losses: L1 (λ 50; mesh-covered pixels weigh ``1 + face_weight``) + LSGAN (λ 1) + discriminator
  feature matching (λ 2), plus a VGG19 perceptual term (λ 10) only when the VGG19 weights exist
  offline (:func:`find_vgg19_weights`);
- Adam (lr 2e-4, β₁ 0.5), the lr decaying linearly to 0 over the last 40 % of the budget (the
  original: 20 epochs constant + 30 decaying);
- budget by wall-clock ``minutes`` or by ``steps``; GPU when present (``device="auto"``), bf16
  autocast and channels-last on CUDA; a small config (:meth:`Face2VidConfig.preset`) trains on CPU.

Output folder (default ``PROFILE_DIR/face2vid/``): ``config.json`` + ``model.safetensors``,
``train_log.csv`` (step, minutes, held-out PSNR/SSIM, losses), ``summary.json`` and ``curve.png``.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from facial.face2vid.data import RenderTensors, speaker_targets, to_float, to_tensor_images, to_uint8
from facial.face2vid.networks import (Face2VidConfig, MultiScaleDiscriminator, UNetGenerator, VGGPerceptual,
                                      feature_matching_loss, lsgan_loss)
from facial.face2vid.renderer import MIN_SECONDS, NeuralRenderer, resolve_device
from facial.types import SpeakerProfile

log = logging.getLogger(__name__)

VGG19_FILE = "vgg19-dcbb9e9d.pth"
MAX_TRAIN_FRAMES = 4500  # 3 minutes at 25 fps: what the paper asks for; longer clips are truncated


class ClipTooShortError(ValueError):
    """The speaker clip is too short to train (or hold out frames of) a neural renderer."""


def find_vgg19_weights() -> Path | None:
    """torchvision's VGG19 weights if present offline: ``$FACIAL_VGG19`` or the torch hub cache."""
    env = os.environ.get("FACIAL_VGG19")
    if env and Path(env).exists():
        return Path(env)
    hub = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    return hub if hub.exists() else None


def image_metrics(fake: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM over frames ``[T, H, W, 3]`` uint8 (scikit-image)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ps = [peak_signal_noise_ratio(r, f, data_range=255) for f, r in zip(fake, real)]
    ss = [structural_similarity(r, f, channel_axis=2, data_range=255) for f, r in zip(fake, real)]
    return float(np.mean(ps)), float(np.mean(ss))


def _load_profile(profile) -> SpeakerProfile:
    if isinstance(profile, SpeakerProfile):
        return profile
    from facial.speaker.profile import load_profile

    return load_profile(profile)


def check_trainable(profile: SpeakerProfile) -> None:
    """Raise :class:`ClipTooShortError` when the clip cannot train a neural renderer."""
    if profile.n_frames == 1:
        raise ClipTooShortError("a single photo cannot train the neural renderer (it needs a clip of at least "
                                f"{MIN_SECONDS:.0f} s); use the warp renderer (--renderer warp), which animates a photo")
    if profile.n_frames < 2 or profile.duration < MIN_SECONDS:
        raise ClipTooShortError(
            f"the speaker clip lasts {profile.duration:.1f} s; the neural renderer needs at least {MIN_SECONDS:.0f} s of video "
            "(2–3 minutes for good quality). Use the warp renderer (--renderer warp), which works from a short clip or one photo.")
    if profile.video is None:
        raise ClipTooShortError("the speaker profile has no frames.mp4; re-create it with `facial track CLIP -o DIR`")


def train_renderer(profile_dir: str | Path | SpeakerProfile, *, size: int = 256, minutes: float | None = None,
                   steps: int | None = None, device: str = "auto", progress: bool = True, config: Face2VidConfig | None = None,
                   out_dir: str | Path | None = None, eval_every: float | None = None, amp: str | None = "auto",
                   channels_last: bool | None = None, seed: int = 0,
                   compare_warp: bool = True) -> Path:
    """Train a :class:`NeuralRenderer` on a speaker profile; returns the folder it was saved to.

    ``minutes`` (wall clock, including evaluation) or ``steps`` bounds training (default 10
    minutes). ``eval_every``: seconds between held-out evaluations in minute mode, steps in step
    mode (default: 20 evaluations per run). ``amp``: "bf16", None, or "auto" (bf16 on CUDA).
    Torch's CPU thread count is the caller's (``facial train-renderer --threads`` sets it).
    """
    t_start = time.time()
    profile = _load_profile(profile_dir)
    check_trainable(profile)
    if minutes is None and steps is None:
        minutes = 10.0
    dev = resolve_device(device)
    use_amp = (amp == "bf16") or (amp == "auto" and dev.type == "cuda" and torch.cuda.is_bf16_supported())
    channels_last = dev.type == "cuda" if channels_last is None else channels_last
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = config or Face2VidConfig.preset(size)
    if profile.directory is None and out_dir is None:
        raise ValueError("give out_dir when training from an in-memory profile")
    out = Path(out_dir) if out_dir is not None else Path(profile.directory) / "face2vid"

    # ---------------------------------------------------------------- data
    from facial.face_render.render import MeshRenderer, face_box, reference_frame_index
    from facial.face_render.footage import load_speaker_frames

    n_total = min(profile.n_frames, MAX_TRAIN_FRAMES)
    frames = load_speaker_frames(profile, n_total)
    n_train = int(math.floor(n_total * (1.0 - cfg.holdout)))
    if n_train < cfg.window or n_total - n_train < 1:
        raise ClipTooShortError(f"{n_total} frames are too few to hold out {cfg.holdout:.0%} and train on windows of {cfg.window}")
    cfg.box = list(face_box(profile, frames=np.arange(n_total)))
    cfg.texture_index = reference_frame_index(profile, range(n_train))
    cfg.speaker_fps = float(profile.fps)
    params = profile.params.slice(0, n_total)
    log.info("neural renderer: %d frames (%d train, %d held out), crop %s → %d², device %s%s", n_total, n_train,
             n_total - n_train, cfg.box, cfg.size, dev, " bf16" if use_amp else "")
    rendered = MeshRenderer(profile, cfg.size, box=tuple(cfg.box), texture_index=cfg.texture_index).render(params, progress=progress)
    data = RenderTensors.from_rendered(rendered, dev)
    targets_np = speaker_targets(frames, cfg.box, cfg.size)
    targets = to_tensor_images(targets_np, dev)
    reference = targets_np[cfg.texture_index]
    eval_idx = np.unique(np.linspace(n_train, n_total - 1, min(cfg.eval_frames, n_total - n_train)).round().astype(int))

    baseline = {}
    if compare_warp:
        from facial.face_render.render import crop_frames
        from facial.face_render.warp import WarpRenderer

        warp = WarpRenderer(profile, pool=range(n_train), frames=frames).render(params.slice(n_train, n_total))
        warp_crop = crop_frames(warp.frames, tuple(cfg.box), (cfg.size, cfg.size))
        wp, ws = image_metrics(warp_crop[eval_idx - n_train], targets_np[eval_idx])
        baseline = {"warp_psnr": wp, "warp_ssim": ws}
        log.info("warp renderer on the held-out frames: PSNR %.2f dB, SSIM %.4f", wp, ws)
    static_p, static_s = image_metrics(np.repeat(reference[None], len(eval_idx), 0), targets_np[eval_idx])
    baseline.update({"reference_frame_psnr": static_p, "reference_frame_ssim": static_s})

    # ---------------------------------------------------------------- models
    renderer = NeuralRenderer(cfg, UNetGenerator(cfg), reference, reference_full=frames[cfg.texture_index], device=dev)
    gen = renderer.generator.train()
    disc = MultiScaleDiscriminator(cfg).to(dev).train()
    if channels_last:
        gen = gen.to(memory_format=torch.channels_last)
        disc = disc.to(memory_format=torch.channels_last)
    vgg_path = find_vgg19_weights() if cfg.lambda_perceptual > 0 else None
    perceptual = VGGPerceptual(str(vgg_path)).to(dev) if vgg_path else None
    if cfg.lambda_perceptual > 0 and perceptual is None:
        log.info("perceptual loss off: VGG19 weights not found offline (put %s in %s or set FACIAL_VGG19)",
                 VGG19_FILE, Path(torch.hub.get_dir()) / "checkpoints")
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    autocast = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if use_amp else (lambda: torch.autocast(dev.type, enabled=False))

    def evaluate() -> tuple[float, float]:
        gen.eval()
        outs = []
        with torch.no_grad(), autocast():
            for i in range(0, len(eval_idx), 8):
                outs.append(to_uint8(renderer.generate(data, eval_idx[i:i + 8])))
        gen.train()
        return image_metrics(np.concatenate(outs), targets_np[eval_idx])

    budget_s = None if minutes is None else float(minutes) * 60.0
    if eval_every is None:
        eval_every = (budget_s / 20.0) if budget_s is not None else max(1, int(steps) // 20)
    rows: list[dict] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    live_log = out.parent / f".{out.name}.train_log.partial.csv"
    t0 = time.time()

    def record(step: int, losses: dict) -> dict:
        ps, ss = evaluate()
        row = {"step": step, "minutes": round((time.time() - t0) / 60.0, 4), "psnr": round(ps, 4), "ssim": round(ss, 5),
               **{k: round(v, 5) for k, v in losses.items()}}
        rows.append(row)
        with open(live_log, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(rows[-1].keys()))
            wr.writeheader()
            wr.writerows(rows)
        log.info("step %d, %.1f min: held-out PSNR %.2f dB, SSIM %.4f", step, row["minutes"], ps, ss)
        return row

    from tqdm.auto import tqdm

    bar = tqdm(total=int(steps) if steps is not None else int(budget_s), desc="train renderer",
               unit="step" if steps is not None else "s", disable=not progress, leave=False)
    record(0, {"l1": float("nan"), "g_gan": float("nan"), "fm": float("nan"), "d": float("nan")})
    next_eval = eval_every
    step = 0
    train_idx = np.arange(n_train)
    ema = {}
    try:
        while True:
            elapsed = time.time() - t0
            if steps is not None and step >= steps:
                break
            if budget_s is not None and elapsed >= budget_s:
                break
            done = step / steps if steps is not None else elapsed / budget_s
            if cfg.lr_decay_start < 1.0 and done > cfg.lr_decay_start:  # pix2pix(HD): linear decay at the end
                lr = cfg.lr * max(0.0, (1.0 - done) / (1.0 - cfg.lr_decay_start))
                for opt in (opt_g, opt_d):
                    for group in opt.param_groups:
                        group["lr"] = lr
            centres = rng.choice(train_idx, size=cfg.batch_size)
            x, base = renderer.inputs(data, centres, 0, n_train)
            real = to_float(targets[torch.as_tensor(centres, device=dev)])
            cond = data.condition(centres)
            weight = 1.0 + cfg.face_weight * data.soft_mask(centres) if cfg.face_weight else None
            if channels_last:
                x, real, cond = (t.contiguous(memory_format=torch.channels_last) for t in (x, real, cond))
            with autocast():
                fake = gen(x, base)
                d_fake = disc(cond, fake.detach())
                d_real = disc(cond, real)
                loss_d = 0.5 * (lsgan_loss(d_fake, False) + lsgan_loss(d_real, True))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            with autocast():
                d_fake = disc(cond, fake)
                with torch.no_grad():
                    d_real = disc(cond, real)
                loss_gan = lsgan_loss(d_fake, True)
                loss_fm = feature_matching_loss(d_fake, d_real)
                err = (fake.float() - real).abs()
                loss_l1 = (err * weight).mean() / weight.mean() if weight is not None else err.mean()
                loss_g = cfg.lambda_gan * loss_gan + cfg.lambda_fm * loss_fm + cfg.lambda_l1 * loss_l1
                if perceptual is not None:
                    loss_g = loss_g + cfg.lambda_perceptual * perceptual(fake.float(), real)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            step += 1
            for k, v in (("l1", loss_l1), ("g_gan", loss_gan), ("fm", loss_fm), ("d", loss_d)):
                v = float(v.detach())
                ema[k] = 0.9 * ema.get(k, v) + 0.1 * v
            if steps is not None:
                bar.update(1)
                due = step >= next_eval
            else:
                bar.update(int(time.time() - t0) - bar.n)
                due = time.time() - t0 >= next_eval
            if due:
                record(step, ema)
                next_eval += eval_every
    except KeyboardInterrupt:
        log.warning("training interrupted at step %d; saving what was learnt", step)
    finally:
        bar.close()
    if rows[-1]["step"] != step:
        record(step, ema)
    gen.eval()
    cfg.extra = {"steps": step, "minutes": rows[-1]["minutes"], "device": str(dev), "bf16": bool(use_amp),
                 "held_out_psnr": rows[-1]["psnr"], "held_out_ssim": rows[-1]["ssim"], **{k: round(v, 4) for k, v in baseline.items()}}
    renderer.generator = gen.to(memory_format=torch.contiguous_format)
    renderer.save_pretrained(out)
    with open(out / "train_log.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[-1].keys()))
        wr.writeheader()
        wr.writerows(rows)
    live_log.unlink(missing_ok=True)
    summary = {"profile": str(profile.directory) if profile.directory else None, "frames": n_total, "train_frames": n_train,
               "held_out_frames": n_total - n_train, "eval_frames": len(eval_idx), "size": cfg.size, "steps": step,
               "train_minutes": rows[-1]["minutes"], "total_minutes": round((time.time() - t_start) / 60, 3),
               "device": str(dev), "torch_threads": torch.get_num_threads(), "bf16": bool(use_amp),
               "perceptual": bool(perceptual), "final": {"psnr": rows[-1]["psnr"], "ssim": rows[-1]["ssim"]},
               "baselines": {k: round(v, 4) for k, v in baseline.items()}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    try:
        plot_curve(rows, baseline, out / "curve.png")
    except Exception as exc:  # plotting is a convenience
        log.warning("could not draw the training curve: %s", exc)
    log.info("neural renderer saved to %s (held-out PSNR %.2f dB, SSIM %.4f after %d steps)", out, rows[-1]["psnr"], rows[-1]["ssim"], step)
    return out


def plot_curve(rows: list[dict], baseline: dict, path: Path) -> Path:
    """Held-out PSNR and SSIM against training minutes, with the warp renderer as a reference line."""
    from facial import plotting

    mins = [r["minutes"] for r in rows]
    fig, axes = plotting.new_figure(1, 2, figsize=(9, 3.2))
    for ax, key, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "ssim", "SSIM")):
        ax.plot(mins, [r[key] for r in rows], marker="o", ms=3, label="neural renderer")
        if f"warp_{key}" in baseline:
            ax.axhline(baseline[f"warp_{key}"], color="C1", ls="--", label="warp renderer")
        ax.set_xlabel("training minutes")
        ax.set_ylabel(f"held-out {label}")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    return plotting.save_figure(fig, path, dpi=110)
