"""The built-in example the project makes itself (nothing from the research data ships).

- speaker: scikit-image's public-domain astronaut photo (``skimage.data.astronaut()``, NASA,
  Eileen Collins), written as a PNG;
- speech: :data:`SENTENCE` synthesised offline with espeak-ng — the ``espeak-ng`` binary when it
  is on ``PATH`` (Debian package ``espeak-ng``), else the library bundled in the PyPI package
  ``espeakng-loader`` through ctypes.

Both files are created once in ``<cache>/examples/`` (``$FACIAL_CACHE`` or ``~/.cache/facial``)
by :func:`default_inputs`.
"""
from __future__ import annotations

import ctypes
import logging
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from facial import atomic, hashing
from facial.cache import cache_root

log = logging.getLogger(__name__)

SENTENCE = "Hello! I am a talking face made from one photo. Watch my mouth open on each vowel: ah, oh, and wow!"
# The speech must be one the lips visibly follow. FACIAL-GAN learned from real voices; measured with
# the packaged (generic) model on the astronaut (mouth opening vs speech envelope, best r within
# ±4 frames): espeak-ng's "en-us+f3" variant follows best (the default "en-us" voice: r ≈ 0.03,
# "en-us+m3": ≈ 0, "en-gb+f3": 0.08); slower speech helps (f3: 0.17 at 150 wpm, 0.21 at 130,
# 0.27 at 110); this sentence with its open vowels gives r ≈ 0.34 at 110 wpm (the previous one 0.27).
VOICE = "en-us+f3"
WORDS_PER_MINUTE = 110
_LOCK = threading.Lock()


def astronaut_photo(path: str | Path) -> Path:
    """Write scikit-image's astronaut photo (public domain) to ``path`` (PNG) and return it."""
    import cv2
    import skimage.data

    path = Path(path)
    img = skimage.data.astronaut()
    with atomic.atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(img[..., ::-1])):
            raise OSError(f"could not write {path}")
    return path


def _espeak_binary(text: str, out: Path, voice: str, wpm: int) -> bool:
    exe = shutil.which("espeak-ng")
    if not exe:
        return False
    proc = subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(out), text], capture_output=True)
    if proc.returncode != 0 or not out.exists():
        log.warning("espeak-ng failed (%s); trying espeakng-loader", proc.stderr.decode(errors="replace").strip()[-200:])
        return False
    return True


def _espeak_library(text: str, voice: str, wpm: int) -> tuple[np.ndarray, int]:
    """Synthesise with the libespeak-ng shipped by ``espeakng-loader`` → (int16 samples, sample rate)."""
    try:
        import espeakng_loader
    except ImportError as exc:
        raise RuntimeError("no speech synthesiser: install the Debian package `espeak-ng` or `pip install espeakng-loader`") from exc
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    data = espeakng_loader.get_data_path()
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def on_audio(wav, n, events):  # called synchronously from espeak_Synth
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    cb = callback_type(on_audio)
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [callback_type]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                 ctypes.c_void_p, ctypes.c_void_p]
    with _LOCK:
        rate = lib.espeak_Initialize(2, 0, data.encode(), 0)  # AUDIO_OUTPUT_SYNCHRONOUS
        if rate <= 0:
            raise RuntimeError(f"espeak-ng could not start (data folder {data})")
        lib.espeak_SetSynthCallback(cb)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(1, int(wpm), 0)  # espeakRATE
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        err = lib.espeak_Synth(buf, len(buf), 0, 1, 0, 1, None, None)  # POS_CHARACTER, espeakCHARS_UTF8
        if err != 0:
            raise RuntimeError(f"espeak-ng synthesis failed (error {err})")
        lib.espeak_Synchronize()
    if not chunks:
        raise RuntimeError("espeak-ng produced no audio")
    return np.concatenate(chunks).astype(np.int16), int(rate)


def synthesize_speech(text: str, path: str | Path, *, voice: str = VOICE, wpm: int = WORDS_PER_MINUTE) -> Path:
    """Speak ``text`` into a WAV file with espeak-ng (offline) and return its path."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="facial-tts-") as tmp:
        out = Path(tmp) / "speech.wav"
        if not _espeak_binary(text, out, voice, wpm):
            samples, rate = _espeak_library(text, voice, wpm)
            sf.write(str(out), samples, rate, subtype="PCM_16")
        atomic.copy_file(out, path)
    return path


def default_inputs(cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """``(audio_path, speaker_path)`` of the built-in example, created on first use."""
    root = cache_root(cache_dir) / "examples"
    speaker = root / "astronaut.png"
    key = hashing.sha256_text(f"{SENTENCE}|{VOICE}|{WORDS_PER_MINUTE}", length=10)
    audio = root / f"example_sentence-{key}.wav"
    if not speaker.exists():
        astronaut_photo(speaker)
        log.info("example speaker written to %s (scikit-image astronaut, public domain)", speaker)
    if not audio.exists():
        synthesize_speech(SENTENCE, audio)
        log.info("example speech synthesised with espeak-ng to %s", audio)
    return audio, speaker
