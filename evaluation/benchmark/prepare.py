"""Protocol preparation: cut a clip into the speaker video, driving audio and reference of a protocol.

The prepared inputs live under ``OUT/prepared/<clip>/<protocol>-<key>/`` (``speaker.mp4``,
``driving.wav``, ``reference.mp4`` for self-reenactment, ``task.json``) so that external tools can
be run on exactly the same inputs; ``key`` hashes the clip's content, the protocol and the driver.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from evaluation.benchmark.spec import ClipRef, SpecError
from facial import atomic
from facial.hashing import sha256_json


def _frames(path: Path, fps: float) -> Iterator[np.ndarray]:
    from facial import media

    for chunk in media.iter_video(path, fps):
        yield from chunk


class _Counter:
    def __init__(self, it: Iterable):
        self.it, self.n = it, 0

    def __iter__(self):
        for x in self.it:
            self.n += 1
            yield x


def _driving_clip(clip: ClipRef, clips: list[ClipRef]) -> ClipRef:
    """The clip whose speech drives ``clip`` in cross-driving: the next one (cyclically) of another person."""
    i = next(k for k, c in enumerate(clips) if c.id == clip.id)
    n = len(clips)
    for k in range(1, n):
        other = clips[(i + k) % n]
        if not clip.person or other.person != clip.person:
            return other
    if n > 1:
        return clips[(i + 1) % n]
    raise SpecError("cross_driving needs at least two clips (each is driven by another clip's speech)")


def prepare_task(clip: ClipRef, protocol: dict[str, Any], root: Path, clips: list[ClipRef], fps: float = 25.0):
    """Cut ``clip`` for ``protocol`` into ``root/<clip>/<key>/`` (reused when present) → ClipTask."""
    from evaluation.extractors.cache import content_hash
    from evaluation.methods import ClipTask
    from facial import media

    name = protocol["name"]
    src = Path(clip.path)
    if not src.exists():
        raise FileNotFoundError(f"clip {clip.id}: {src} does not exist")
    if name == "measure":
        info = media.probe(src)
        n = int(round(info.duration * fps))
        return ClipTask(clip.id, name, src, src, src, None, None, n, fps)
    driver = _driving_clip(clip, clips) if name == "cross_driving" else None
    key = sha256_json({"src": content_hash(src), "protocol": protocol, "fps": fps,
                       "driver": content_hash(driver.path) if driver else None}, length=12)
    final = root / clip.id / f"{name}-{key}"
    meta_file = final / "task.json"
    if not meta_file.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))  # hidden, beside `final`
        try:
            meta = _cut(clip, src, protocol, driver, fps, tmp)
            if not meta_file.exists():  # another worker may have finished first: keep its folder
                atomic.replace_dir(tmp, final)
                atomic.write_text(meta_file, json.dumps(meta, indent=1))  # last: marks the folder complete
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    meta = json.loads(meta_file.read_text())
    reference = final / "reference.mp4" if name == "self_reenactment" else None
    footage = reference if name == "self_reenactment" else final / "speaker.mp4"
    return ClipTask(clip.id, name, src, final / "speaker.mp4", final / "driving.wav", reference, footage,
                    int(meta["n_frames"]), fps)


def _cut(clip: ClipRef, src: Path, protocol: dict[str, Any], driver: ClipRef | None, fps: float, out: Path) -> dict[str, Any]:
    """Write ``speaker.mp4``, ``driving.wav`` (and ``reference.mp4``) of ``clip`` into ``out`` → task.json content."""
    from facial import media
    from facial.types import AudioClip

    audio = media.load_audio(src)
    hop = audio.sample_rate / fps
    est = int(round(media.probe(src).duration * fps))
    frames = _frames(src, fps)
    if protocol["name"] == "self_reenactment":
        n_speaker = int(round(est * (1.0 - float(protocol["test_fraction"]))))
        n_test = est - n_speaker
        if protocol.get("max_test_seconds"):
            n_test = min(n_test, int(round(float(protocol["max_test_seconds"]) * fps)))
        if n_test < float(protocol.get("min_test_seconds") or 0) * fps or n_speaker < fps:
            raise SpecError(f"clip {clip.id} ({est / fps:.1f} s) is too short for this split")
        c1 = _Counter(islice(frames, n_speaker))
        media.write_video(out / "speaker.mp4", c1, fps, AudioClip(audio.samples[: int(round(n_speaker * hop))], audio.sample_rate))
        c2 = _Counter(islice(frames, n_test))
        a0 = int(round(c1.n * hop))
        media.write_video(out / "reference.mp4", c2, fps, AudioClip(audio.samples[a0: a0 + int(round(n_test * hop))], audio.sample_rate))
        driving = AudioClip(audio.samples[a0: a0 + int(round(c2.n * hop))], audio.sample_rate)
        n_out = c2.n
    else:
        limit = protocol.get("speaker_seconds")
        c1 = _Counter(islice(frames, int(round(float(limit) * fps))) if limit else frames)
        media.write_video(out / "speaker.mp4", c1, fps, audio)
        speech = media.load_audio(driver.path)
        if protocol.get("max_seconds"):
            speech = AudioClip(speech.samples[: int(float(protocol["max_seconds"]) * speech.sample_rate)], speech.sample_rate)
        driving = speech
        n_out = speech.n_frames(fps)
    media.save_wav(out / "driving.wav", driving)
    return {"clip": clip.id, "source": str(src), "protocol": protocol, "driver": driver.id if driver else clip.id, "n_frames": n_out}
