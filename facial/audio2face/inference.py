"""Audio → FaceParams with a (personalised) FACIAL-GAN.

Long audio is generated group by group: windows of ``seq_len`` frames that overlap by
``inference.overlap`` frames (the last window is aligned to the end of the audio, as in FACIAL's
test script). Each window is seeded with the previous window's prediction at its first frame and
the shared frames are cross-faded linearly, so there is no jump at window borders. Then come the
named smoothing filters, head-motion strength and blink-rate control.
"""
from __future__ import annotations

import logging

import numpy as np
import torch

from facial.audio2face import controls
from facial.audio2face.config import SmoothingConfig, resolve_smoothing
from facial.audio2face.model import FacialGAN
from facial.audio2face.smoothing import smooth_params
from facial.audio2face.stats import speaker_stats
from facial.layout import from_array, to_array
from facial.types import AudioClip, FaceParams, SpeakerProfile

log = logging.getLogger(__name__)


def window_starts(n_frames: int, seq_len: int, overlap: int) -> list[int]:
    """Start frames of the generation windows over ``n_frames`` (last one aligned to the end)."""
    if n_frames <= seq_len:
        return [0]
    step = seq_len - overlap
    starts = list(range(0, n_frames - seq_len, step))
    starts.append(n_frames - seq_len)
    return starts


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def predict_normalised(model: FacialGAN, features: np.ndarray, first: np.ndarray, *, style: int = 0) -> np.ndarray:
    """Windowed generation in network space: ``features [T, W, D]``, seed ``first [P]`` → ``[T, P]``."""
    cfg = model.config
    features = np.asarray(features, np.float32)
    n = len(features)
    if n == 0:
        raise ValueError("no audio frames to animate")
    seq_len, overlap = cfg.seq_len, cfg.inference.overlap
    device = _device_of(model)
    out = np.zeros((n, cfg.param_dim), np.float32)
    filled = 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            style_t = torch.tensor([style], dtype=torch.long, device=device)
            for start in window_starts(n, seq_len, overlap):
                stop = min(n, start + seq_len)
                seed = first if start == 0 else out[start]
                audio = torch.from_numpy(features[start:stop])[None].to(device)
                pred = model(audio, torch.from_numpy(np.asarray(seed, np.float32))[None].to(device), style_t)[0].cpu().numpy()
                shared = filled - start
                if shared > 0:
                    ramp = (np.arange(1, shared + 1, dtype=np.float32) / (shared + 1))[:, None]
                    out[start:filled] = (1 - ramp) * out[start:filled] + ramp * pred[:shared]
                out[max(filled, start):stop] = pred[max(shared, 0):]
                filled = stop
    finally:
        model.train(was_training)
    return out


def check_audio(audio: AudioClip, fps: float) -> int:
    """Number of frames for ``audio`` at ``fps``; raises a clear error for audio shorter than one frame."""
    if not isinstance(audio, AudioClip):
        raise TypeError(f"audio must be an AudioClip (see facial.media.load_audio), got {type(audio).__name__}")
    if audio.samples.ndim != 1:
        raise ValueError(f"audio must be mono [N] samples, got shape {audio.samples.shape}")
    if audio.duration < 1.0 / fps:
        raise ValueError(f"the audio is {audio.duration * 1000:.1f} ms long, shorter than one video frame "
                         f"({1000.0 / fps:.1f} ms at {fps:g} fps); give a longer recording")
    if not np.all(np.isfinite(audio.samples)):
        raise ValueError("the audio contains NaN or inf samples")
    return audio.n_frames(fps)


def animate(model: FacialGAN, audio: AudioClip, profile: SpeakerProfile, *, head_motion: float = 1.0,
            blink_rate: float | None = None, seed: int = 0, smoothing: SmoothingConfig | str | None = None,
            start: FaceParams | None = None) -> FaceParams:
    """Generate FaceParams for ``audio`` in the style of ``profile``'s speaker.

    - ``head_motion``: scales the pose deviation from the speaker's mean pose (0 = still head,
      1 = the speaker's own spread and angular speed, calibrated on the profile's footage when
      ``inference.motion_calibration`` is on).
    - ``blink_rate``: blinks per minute (``None`` = the speaker's own rate, measured on the profile).
    - ``seed``: seeds the blink sampling (and torch), so equal inputs give equal outputs.
    - ``smoothing``: a :class:`SmoothingConfig`, a preset name (``"reference"``, ``"none"``,
      ``"light"``, ``"strong"``) or ``None`` for the model's default.
    - ``start``: optional frame to start from (its first frame seeds the first window); by default
      the speaker's mean pose with a neutral face and open eyes.

    Returns FaceParams at ``profile.fps`` with ``round(audio duration × fps)`` frames.
    """
    cfg = model.config
    fps = float(profile.fps)
    n = check_audio(audio, fps)
    if profile.params.n_expression != cfg.n_expression:
        raise ValueError(f"the profile has {profile.params.n_expression} expression coefficients, the model {cfg.n_expression}; "
                         "re-track the speaker with the model's expression basis")
    if cfg.basis_id and profile.basis_id and cfg.basis_id != profile.basis_id:
        log.warning("profile basis %r differs from the model's %r: expressions may not mean the same", profile.basis_id, cfg.basis_id)
    if head_motion < 0:
        raise ValueError(f"head_motion must be ≥ 0, got {head_motion}")
    smooth_cfg = resolve_smoothing(smoothing, cfg.inference.smoothing)
    stats = speaker_stats(profile, model.typical_pose_rel_std.detach().cpu().numpy(), cfg.inference)
    features = cfg.audio.encoder()(audio, fps, n).windows
    if start is not None:
        seed_raw = start.slice(0, 1).to_array()
    else:
        seed_raw = to_array(stats.pose_mean[None], np.zeros((1, cfg.n_expression), np.float32), np.zeros(1, np.float32))
    first = model.normalise(seed_raw, stats.pose_mean, stats.pose_std)[0]
    torch.manual_seed(seed)
    z = predict_normalised(model, features, first)
    raw = model.denormalise(z, stats.pose_mean, stats.pose_std)
    _, expression, blink = from_array(raw)
    z_pose, _, _ = from_array(z)
    pose = controls.apply_head_motion(z_pose, stats.pose_mean, stats.pose_std, model.pose_gain.detach().cpu().numpy(), head_motion)
    params = smooth_params(FaceParams(pose, expression, np.clip(blink, 0.0, 1.0), fps), smooth_cfg)
    if cfg.inference.motion_calibration and stats.own and stats.pose_track is not None:
        raw_pose = controls.apply_head_motion(z_pose, stats.pose_mean, stats.pose_std, model.pose_gain.detach().cpu().numpy(), 1.0)
        sigmas = controls.MOTION_SIGMAS if smoothing is None else (smooth_cfg.pose_sigma,)
        params.pose, info = controls.match_head_motion(raw_pose, stats.pose_mean, stats.pose_track, fps, head_motion, sigmas=sigmas,
                                                       max_gain=cfg.inference.motion_max_gain, own_valid=stats.pose_valid)
        log.debug("head motion calibrated to the speaker: %s", info)
    inf = cfg.inference
    if inf.blink_control or blink_rate is not None:
        rate = stats.blink_rate_per_min if blink_rate is None else float(blink_rate)
        rng = np.random.default_rng(seed)
        params.blink = controls.place_blinks(params.blink, fps, rate, stats.blink_template, rng, threshold=inf.blink_threshold,
                                             min_gap_s=inf.blink_min_gap_s, baseline_fraction=inf.blink_baseline_fraction,
                                             sharpness=inf.blink_sharpness)
    return params
