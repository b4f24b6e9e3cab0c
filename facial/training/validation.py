"""Early stopping for pretraining: held-out speakers and the score they give a model (zero-shot
mouth-opening correlation)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from facial.audio2face.model import FacialGAN
from facial.types import AudioClip


@dataclass
class ValidationClip:
    """A held-out clip for early stopping: its profile and its speech (fitted to the profile's length)."""

    name: str
    profile: object
    audio: object


def load_validation(entries, progress: bool = False) -> list[ValidationClip]:
    """:class:`ValidationClip` for each :class:`~facial.training.corpus.ProfileEntry`."""
    from facial.audio2face.data import profile_audio
    from facial.speaker.profile import load_profile

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
