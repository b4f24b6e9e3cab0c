"""Synthetic speakers for FACIAL-GAN tests (helpers; fixtures in conftest.py): speech whose loudness envelope *is* the mouth track.

The audio is a harmonic tone amplitude-modulated by a syllable-like envelope; expression
coefficient 0 equals the envelope (a known audio → mouth mapping). Pose is a slow sway, blinks
are placed at a known rate. No real footage is used.
"""
from __future__ import annotations

import functools

import numpy as np

from facial.audio2face.config import AudioConfig, FacialGANConfig, FinetuneConfig, InferenceConfig
from facial.speaker import face_model as fm
from facial.types import AudioClip, FaceParams, SpeakerProfile

FPS = 25.0
SR = 16000
K = 4
MOUTH_GAIN = 0.3


def tiny_config(**changes) -> FacialGANConfig:
    cfg = FacialGANConfig(
        n_expression=K, seq_len=32, audio=AudioConfig(n_mels=32, window=16, phones=False), context_steps=4, context_channels=16, context_layers=1,
        unet_channels=8, unet_levels=2, unet_max_mult=2, context_dim=8, frame_channels=(16, 16), frame_dim=8, style_dim=4,
        head_hidden=32, dropout=0.0, disc_channels=8, disc_layers=2, inference=InferenceConfig(overlap=8),
        finetune=FinetuneConfig(fast_batch_size=4, full_batch_size=4, fast_steps=5, full_steps=10, sync=0.0))
    return cfg.replace(**changes) if changes else cfg


def synthetic_basis(k: int = K, seed: int = 0) -> fm.ExpressionBasis:
    rng = np.random.default_rng(seed)
    comp = rng.normal(size=(k, fm.N_POINTS, 3))
    comp[:, fm.EYE_REGION] = 0.0
    flat = comp.reshape(k, -1)
    q, _ = np.linalg.qr(flat.T)
    comp = q.T.reshape(k, fm.N_POINTS, 3).astype(np.float32)
    return fm.ExpressionBasis(comp, np.full(k, 1.0 / k, np.float32), "synthetic-test")


def envelope(n: int, rng: np.random.Generator) -> np.ndarray:
    """Syllable-like mouth track in [0, 1] at frame rate (bursts of 3–8 frames, pauses)."""
    env = np.zeros(n, np.float32)
    t = 0
    while t < n:
        t += int(rng.integers(2, 10))
        length = int(rng.integers(3, 9))
        if t >= n:
            break
        seg = np.sin(np.linspace(0, np.pi, length)) * rng.uniform(0.5, 1.0)
        env[t:t + length] = seg[: max(0, min(length, n - t))]
        t += length
    return env


def synth_audio(env: np.ndarray, rng: np.random.Generator, fps: float = FPS) -> AudioClip:
    n_samples = int(round(len(env) / fps * SR))
    t = np.arange(n_samples) / SR
    frame_t = (np.arange(len(env)) + 0.5) / fps
    amp = np.interp(t, frame_t, env)
    f0 = 140.0
    tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
    samples = 0.3 * amp * tone + 0.003 * rng.normal(size=n_samples)
    return AudioClip(samples.astype(np.float32), SR)


def blink_track(n: int, fps: float, rate_per_min: float, rng: np.random.Generator) -> np.ndarray:
    blink = np.zeros(n, np.float32)
    count = int(round(rate_per_min * n / fps / 60))
    shape = np.array([0.2, 0.7, 1.0, 0.7, 0.2], np.float32)
    for c in np.linspace(10, n - 10, max(count, 1) + 2)[1:-1].astype(int)[:count]:
        blink[c - 2:c + 3] = np.maximum(blink[c - 2:c + 3], shape)
    return blink


def make_speaker(seconds: float, seed: int = 0, *, basis: fm.ExpressionBasis | None = None, blink_rate: float = 20.0,
                 fps: float = FPS) -> tuple[SpeakerProfile, AudioClip]:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    env = envelope(n, rng)
    audio = synth_audio(env, rng, fps)
    basis = basis or synthetic_basis()
    expression = 0.01 * rng.normal(size=(n, basis.k)).astype(np.float32)
    expression[:, 0] = MOUTH_GAIN * env
    t = np.arange(n) / fps
    phase = rng.uniform(0, 2 * np.pi)
    pose = np.stack([0.05 * np.sin(0.7 * t + phase), 0.03 * np.sin(0.4 * t), 0.02 * np.cos(0.5 * t),
                     256 + 6 * np.sin(0.3 * t), 250 + 4 * np.cos(0.35 * t), 100 + 1.0 * np.sin(0.2 * t)], 1).astype(np.float32)
    blink = blink_track(n, fps, blink_rate, rng)
    params = FaceParams(pose, expression, blink, fps)
    identity = fm.canonical_frame(rng.normal(size=(fm.N_POINTS, 3)).astype(np.float32))
    blink_shape = fm.default_blink_shape(identity)
    landmarks = fm.landmarks_from_params(pose, expression, blink, identity, basis, blink_shape)
    from facial.speaker.blink import blink_rate_per_min

    profile = SpeakerProfile(params=params, landmarks=landmarks, valid=np.ones(n, bool), identity=identity, blink_shape=blink_shape,
                             size=(512, 512), fps=fps, source_hash=f"synthetic{seed:04d}", basis_id=basis.basis_id,
                             stats={"blink_rate_per_min": blink_rate_per_min(blink, fps)})
    return profile, audio


def make_clips(seconds: float, seeds, config: FacialGANConfig):
    from facial.audio2face.data import clip_from_profile

    clips = []
    for s in seeds:
        profile, audio = make_speaker(seconds, s)
        clips.append(clip_from_profile(profile, audio, config.audio.encoder(), name=f"synth{s}", speaker=f"speaker{s % 2}"))
    return clips


@functools.cache
def trained_tiny_model():
    """A tiny FACIAL-GAN pretrained briefly on synthetic speakers, built once per test session
    (behind the ``trained_tiny`` fixtures of tests/facial/audio2face and tests/facial/cli)."""
    import torch

    from facial.audio2face.trainer import TrainConfig
    from facial.training.pretrain import pretrain

    torch.set_num_threads(1)
    cfg = tiny_config()
    clips = make_clips(20.0, [1, 2], cfg)
    model, _ = pretrain(clips, cfg, TrainConfig(steps=150, batch_size=8, lr=3e-3, stride=2, log_every=50), basis=synthetic_basis(),
                        progress=False)
    return model


def write_profiles(root, seeds, seconds: float, basis: fm.ExpressionBasis):
    """Synthetic profile folders (``root/synthN``) whose 'source' clip is a wav of their speech."""
    from pathlib import Path

    from facial import media
    from facial.speaker.profile import save_profile

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dirs = []
    for s in seeds:
        profile, audio = make_speaker(seconds, s, basis=basis)
        profile.video = media.save_wav(root / f"synth{s}.wav", audio)
        dirs.append(save_profile(profile, root / f"synth{s}", copy_frames=False))
    return dirs


def tiny_config_json(path, n_expression: int):
    """A JSON file of FacialGANConfig overrides for ``facial train audio2face --config``."""
    import json

    cfg = tiny_config(n_expression=n_expression).to_dict()
    keep = ("n_expression", "audio", "context_steps", "context_channels", "context_layers", "unet_channels", "unet_levels",
            "unet_max_mult", "context_dim", "frame_channels", "frame_dim", "style_dim", "head_hidden", "disc_channels", "disc_layers",
            "inference")
    # finetune.sync off: the lip-sync expert reads 80 mel bins, the tiny model 32
    path.write_text(json.dumps({**{k: cfg[k] for k in keep}, "finetune": {"sync": 0.0}}))
    return path
