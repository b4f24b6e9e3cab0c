"""Speech features of FACIAL-GAN that depend less on the voice than plain log-mel.

:class:`LifteredLogMelEncoder` — log-mel with the pitch removed: the per-utterance normalised
log-mel frame (:class:`facial.audio.features.LogMelEncoder`) is taken to the cepstrum (DCT over
the mel bins), every coefficient from ``lifter`` up (the fine harmonic ripple of the voice's pitch)
is dropped, the utterance's mean cepstrum (the speaker's average vocal-tract / channel colour) is
subtracted, and the result is brought back to ``n_mels`` smoothed bins and z-scored per bin again.
The windows keep the log-mel shape, so the network is unchanged; a checkpoint records the choice
in ``config.json`` (``audio.lifter``; 0 = plain log-mel).

:class:`PhoneLogMelEncoder` — the log-mel followed by 40 soft phone posteriors per step from
pocketsphinx's phone-loop recogniser (:func:`recognise_phones`; its en-us acoustic model and phone
language model ship inside the PyPI wheel): ``audio.phones`` in ``config.json``, the default for
new checkpoints.

``audio.expert`` appends the lip-sync expert's audio embedding (:func:`expert_embeddings`: its audio
stream, trained contrastively against lip motion, on the 0.2 s of plain log-mel centred on every
step) — the "audio stream of the sync expert as the encoder" of issue #13. A checkpoint records the
expert's weights id (``audio.expert_id``) and refuses to run with another expert.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from facial.audio.features import LogMelEncoder
from facial.types import AudioClip


@dataclass
class LifteredLogMelEncoder(LogMelEncoder):
    lifter: int = 20
    name: str = "logmel80-lifter20"

    def spectrogram(self, audio: AudioClip) -> np.ndarray:
        if self.lifter <= 0:  # plain log-mel (the base of PhoneLogMelEncoder without liftering)
            return super().spectrogram(audio)
        from scipy.fft import dct, idct

        spec = super().spectrogram(audio).astype(np.float64)
        ceps = dct(spec, type=2, norm="ortho", axis=1)
        ceps[:, int(self.lifter):] = 0.0
        ceps -= ceps.mean(0, keepdims=True)  # cepstral mean normalisation (per utterance)
        smooth = idct(ceps, type=2, norm="ortho", axis=1)
        return ((smooth - smooth.mean(0, keepdims=True)) / (smooth.std(0, keepdims=True) + 1e-3)).astype(np.float32)


# --------------------------------------------------------------------------- phones
#: The phone set of CMUdict / pocketsphinx's en-us model (39 phones) plus silence, in feature order.
PHONES: tuple[str, ...] = ("SIL", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
                           "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
                           "UW", "V", "W", "Y", "Z", "ZH")
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}
PHONE_RATE = 100  # pocketsphinx frames per second (10 ms)


class PhoneRecogniserMissing(RuntimeError):
    """pocketsphinx (the phone recogniser of the ``phones`` features) is not installed."""


def recognise_phones(samples: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Frame-level phone labels ``[S]`` (indices into :data:`PHONES`, one per 10 ms) of 16 kHz mono speech.

    pocketsphinx's phone-loop decoder (``allphone`` with the en-us phone language model; the acoustic
    model and the phone LM ship inside the ``pocketsphinx`` wheel — nothing is downloaded) gives the
    best phone sequence with its segment boundaries; fillers and noise count as silence. Frame ``s``
    covers ``[s·10 ms, s·10 ms + 25.6 ms)``. The recogniser is English; on other languages it still
    returns the nearest English phones (coarser, and the log-mel part of the features is kept).
    """
    if sample_rate != 16000:
        raise ValueError(f"the phone recogniser reads 16 kHz speech, got {sample_rate} Hz")
    try:
        from pocketsphinx import Decoder, get_model_path
    except ImportError as exc:  # pragma: no cover - pocketsphinx is in requirements.txt
        raise PhoneRecogniserMissing("the 'phones' speech features need pocketsphinx: pip install pocketsphinx") from exc
    model = get_model_path()
    decoder = Decoder(hmm=os.path.join(model, "en-us", "en-us"), allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
                      lw=2.0, beam=1e-20, pbeam=1e-20, bestpath=True, loglevel="FATAL")
    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    n = int(np.ceil(len(samples) / (sample_rate / PHONE_RATE)))
    labels = np.zeros(n, np.int64)  # 0 = SIL
    for seg in decoder.seg():
        index = PHONE_INDEX.get(seg.word, 0)
        labels[max(seg.start_frame, 0):min(seg.end_frame + 1, n)] = index
    return labels


def phone_posteriors(labels: np.ndarray, n_steps: int, sigma: float = 1.5, shift: int = 1) -> np.ndarray:
    """One-hot phone labels ``[S]`` → soft ``[n_steps, len(PHONES)]`` on the log-mel grid: shifted by
    ``shift`` steps (a pocketsphinx frame's centre is ≈ 13 ms after its start, a log-mel step is centred
    on it), padded with silence or cut to ``n_steps``, and blurred over time with a Gaussian of ``sigma``
    steps so that boundaries are soft (rows still sum to 1)."""
    from facial.audio2face.smoothing import gaussian

    idx = np.zeros(n_steps, np.int64)
    src = np.asarray(labels, np.int64)[: max(n_steps - shift, 0)]
    idx[shift:shift + len(src)] = src
    onehot = np.eye(len(PHONES), dtype=np.float32)[idx]
    if sigma > 0:
        onehot = gaussian(onehot, sigma)
    return onehot.astype(np.float32)


# --------------------------------------------------------------------------- the sync expert's audio stream
def expert_path(spec: str) -> str | None:
    """``audio.expert`` → the argument of :func:`facial.sync_expert.loss.frozen_expert` (``"packaged"`` = the shipped expert)."""
    return None if spec == "packaged" else spec


def expert_embeddings(mel: np.ndarray, spec: str, expected_id: str = "", batch: int = 2048) -> np.ndarray:
    """Plain normalised log-mel ``[S, n_mels]`` (10 ms steps) → ``[S, E]``: the sync expert's audio
    embedding (unit norm, × √E so that channels are of order 1) of the ``mel_window`` steps centred
    on every step (edges padded by repetition). ``spec`` is a folder / Hub id or ``"packaged"``;
    with ``expected_id`` a ``ValueError`` is raised when the expert's weights are not those."""
    import torch

    from facial.sync_expert.loss import frozen_expert

    expert = frozen_expert(expert_path(spec))
    if expected_id and expert.weights_id() != expected_id:
        raise ValueError(f"this model's audio features come from sync expert {expected_id}, but {spec} holds {expert.weights_id()}; "
                         "point audio.expert at the expert the model was trained with")
    cfg = expert.config
    if mel.shape[1] != cfg.n_mels:
        raise ValueError(f"the sync expert reads {cfg.n_mels} mel bins, got {mel.shape[1]}")
    length = cfg.mel_window
    padded = np.pad(np.asarray(mel, np.float32), ((length // 2, length - length // 2 - 1), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, length, axis=0)  # [S, n_mels, L]
    device = next(expert.parameters()).device
    out = []
    with torch.inference_mode():
        for i in range(0, len(mel), batch):
            x = torch.from_numpy(np.ascontiguousarray(windows[i:i + batch].transpose(0, 2, 1))).to(device)
            out.append(expert.embed_audio(x).cpu().numpy())
    emb = np.concatenate(out) if out else np.zeros((0, cfg.embed_dim), np.float32)
    return (emb * np.sqrt(cfg.embed_dim)).astype(np.float32)


def expert_dim(spec: str) -> int:
    """Channels of :func:`expert_embeddings` for ``audio.expert = spec`` (the expert's embedding size)."""
    from facial.sync_expert.loss import frozen_expert

    return int(frozen_expert(expert_path(spec)).config.embed_dim)


@dataclass
class PhoneLogMelEncoder(LifteredLogMelEncoder):
    """Log-mel (liftered when ``lifter`` > 0) followed by ``len(PHONES)`` soft phone channels per step
    (``phones``) and the sync expert's audio embedding (``expert``, :func:`expert_embeddings`):
    ``[S, n_mels (+ 40) (+ E)]``. The phones are the voice-independent part (the paper fed
    DeepSpeech's character logits for the same reason); the log-mel keeps what the English recogniser
    misses; the expert's embedding is what a network trained only to match lips to speech hears."""

    lifter: int = 0
    phone_sigma: float = 1.5
    phones: bool = True
    expert: str = ""
    expert_id: str = ""
    name: str = "logmel80-phones40"

    @property
    def dim(self) -> int:
        return self.n_mels + (len(PHONES) if self.phones else 0) + (expert_dim(self.expert) if self.expert else 0)

    def spectrogram(self, audio: AudioClip) -> np.ndarray:
        if self.hop_ms != 1000.0 / PHONE_RATE:
            raise ValueError(f"the phone channels are on a {1000 / PHONE_RATE:.0f} ms grid; this encoder's hop is {self.hop_ms} ms")
        mel = super().spectrogram(audio)
        parts = [mel]
        if self.phones:
            samples = audio.samples
            if audio.sample_rate != 16000:
                import librosa

                samples = librosa.resample(samples, orig_sr=audio.sample_rate, target_sr=16000)
            parts.append(phone_posteriors(recognise_phones(samples, 16000), len(mel), self.phone_sigma))
        if self.expert:
            plain = LogMelEncoder.spectrogram(self, audio) if self.lifter > 0 else mel
            parts.append(expert_embeddings(plain, self.expert, self.expert_id))
        return np.concatenate(parts, axis=1)
