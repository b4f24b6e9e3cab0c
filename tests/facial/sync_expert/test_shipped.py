"""The shipped expert on a real clip of a person it never trained on: shifting the audio by +5 / −3
frames moves the offset by that much (±1), through the library path (track, cache, score)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_clip

pytestmark = pytest.mark.shared_data

CLIP = "videoretalking__5"  # person_vr5: a validation person of the shipped expert


def test_shipped_expert_recovers_audio_shifts_on_an_unseen_person(tmp_path):
    from facial import media
    from facial.sync_expert.model import SyncExpert
    from facial.sync_expert.scoring import score_video
    from facial.types import AudioClip

    video = shared_clip(CLIP)
    model = SyncExpert.from_pretrained()
    assert "person_vr5" in model.config.provenance["val_persons"]
    assert "person_vr5" not in model.config.provenance["train_persons"]
    base = score_video(video, model, cache_dir=tmp_path)
    assert abs(base.offset) <= 2 and base.conf > 0.1 and base.n_windows > 100
    audio = media.load_audio(video)
    for k in (5, -3):
        s = audio.samples
        shifted = np.concatenate([np.zeros(640 * k, np.float32), s])[: len(s)] if k > 0 else np.concatenate(
            [s[-640 * k:], np.zeros(-640 * k, np.float32)])
        wav = media.save_wav(tmp_path / f"shift{k}.wav", AudioClip(shifted, 16000))
        got = score_video(video, model, audio=wav, cache_dir=tmp_path)
        assert abs(got.offset - base.offset - k) <= 1, (k, got.offset, base.offset)
