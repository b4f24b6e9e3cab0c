"""Media I/O: the only module that runs ffmpeg.

- :func:`probe` — duration, frame rate, size and streams of any file ffmpeg reads (PyAV).
- :func:`iter_video` / :func:`read_video` — uint8 RGB frames resampled to a constant target fps
  (variable-rate input handled by ffmpeg's ``fps`` filter), streamed in chunks.
- :func:`load_audio` — mono float32 at 16 kHz from an audio or a video file.
- :func:`write_video` — H.264/yuv420p mp4 with the audio muxed in, written atomically.

ffmpeg is the system binary when one is on ``PATH``, else the static build that ships with
``imageio-ffmpeg``. Subprocesses are always run with argument lists.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from facial import atomic, hashing
from facial.types import AudioClip, VideoFrames

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0
SAMPLE_RATE = 16000
TRUNCATED_FRACTION = 0.5  # fewer decoded frames than this share of the header's duration: truncated
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class MediaError(ValueError):
    """A media file could not be read or written; the message says why and what to do."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (system first, then imageio-ffmpeg's bundled build)."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # pragma: no cover - depends on the machine
        raise MediaError("ffmpeg not found: install it (`apt-get install -y ffmpeg`) or `pip install imageio-ffmpeg`") from exc


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration: float
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    n_frames: int | None = None
    video_duration: float | None = None  # the video stream's own duration when the header states one


def _check_exists(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if path.is_dir():
        raise MediaError(f"{path} is a folder; give a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)")
    return path


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration of a media file. Raises :class:`MediaError` for unreadable files."""
    import av

    path = _check_exists(Path(path))
    try:
        with av.open(str(path)) as container:
            v = next((s for s in container.streams if s.type == "video"), None)
            a = next((s for s in container.streams if s.type == "audio"), None)
            duration = float(container.duration / 1e6) if container.duration else 0.0
            fps = width = height = n_frames = video_duration = None
            if v is not None:
                rate = v.average_rate or v.guessed_rate
                fps = float(rate) if rate else None
                width, height = v.codec_context.width, v.codec_context.height
                n_frames = int(v.frames) if v.frames else None
                if v.duration and v.time_base:
                    video_duration = float(v.duration * v.time_base)
                if not duration and video_duration:
                    duration = video_duration
            if a is not None and not duration and a.duration and a.time_base:
                duration = float(a.duration * a.time_base)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path} is not a readable audio/video file ({exc}); convert it to mp4/wav") from exc
    return MediaInfo(path, duration, v is not None, a is not None, fps, width, height, n_frames, video_duration)


def _run(cmd: list[str], *, input: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, input=input, capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise MediaError(f"ffmpeg failed ({' | '.join(tail)})")
    return proc


def _ffmpeg_input(src: Path, *, start: float = 0.0, duration: float | None = None, filters: list[str] | None = None) -> list[str]:
    """The one ffmpeg command prefix for reading ``src``: seek to ``start``, keep ``duration`` seconds,
    apply the video ``filters``; callers append output options and the destination."""
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y"]
    if start > 0:
        cmd += ["-ss", f"{start:.3f}"]
    cmd += [*_literal_input(src)]
    if duration is not None:
        cmd += ["-t", f"{duration:.3f}"]
    if filters:
        cmd += ["-vf", ",".join(filters)]
    return cmd


def _literal_input(src: Path) -> list[str]:
    """``-i`` arguments that make ffmpeg read ``src`` literally: the ``file:`` protocol (a name with
    ``:`` or a leading ``-`` is not a protocol or an option) and, for images, no ``%d`` patterns."""
    pattern_off = ["-f", "image2", "-pattern_type", "none"] if is_image(src) and "%" in Path(src).name else []
    return [*pattern_off, "-i", f"file:{Path(src)}"]


def _read_ppm_header(stream) -> tuple[int, int] | None:
    """Read the header of one binary PPM (P6) image from a pipe: ``(width, height)``; None at end of stream.
    The ``width × height × 3`` bytes of pixels follow (:func:`read_raw_frame`)."""
    tokens: list[bytes] = []
    while len(tokens) < 4:
        line = stream.readline()
        if not line:
            return None
        line = line.split(b"#")[0]
        tokens.extend(line.split())
    return int(tokens[1]), int(tokens[2])


def iter_video(
    path: str | Path,
    fps: float | None = DEFAULT_FPS,
    *,
    chunk: int = 64,
    max_side: int | None = None,
    start: float = 0.0,
    duration: float | None = None,
    max_seconds: float | None = None,
    limit_hint: str = "",
) -> Iterator[np.ndarray]:
    """Yield ``[n, H, W, 3]`` uint8 RGB chunks resampled to ``fps`` (None keeps the source rate).

    ``max_side`` downscales so the longer side is at most that many pixels. Rotation metadata is
    applied (frames come out as they are displayed). Images yield a single frame.

    ``max_seconds`` bounds the decode itself, whatever the container header claims: ffmpeg stops
    one frame past the limit, and a clip that has that frame is refused with :class:`MediaError`
    (``limit_hint`` names the setting that raises the limit). A clip whose frames end well before
    the duration its header states is refused as truncated.
    """
    path = _check_exists(Path(path))
    info = probe(path)
    if not info.has_video:
        raise MediaError(f"{path} has no video stream; give a video clip or a photo of the speaker")
    rate = fps or info.fps or DEFAULT_FPS
    max_frames = None
    if max_seconds is not None and not is_image(path):
        if info.duration and info.duration - start > max_seconds + 0.05:
            raise MediaError(_too_long(path.name, info.duration - start, max_seconds, limit_hint))
        max_frames = int(np.floor(max_seconds * rate + 1e-6))
        duration = min(duration, max_seconds + 2.0 / rate) if duration is not None else max_seconds + 2.0 / rate
    filters = []
    if fps is not None and not is_image(path):
        filters.append(f"fps={fps}")
    if max_side:
        filters.append(f"scale='if(gt(iw,ih),min({max_side},iw),-2)':'if(gt(iw,ih),-2,min({max_side},ih))'")
    cmd = _ffmpeg_input(path, start=start, duration=duration, filters=filters)
    if max_frames is not None:
        cmd += ["-frames:v", str(max_frames + 1)]
    cmd += ["-an", "-f", "image2pipe", "-vcodec", "ppm", "-"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf: np.ndarray | None = None  # the chunk being filled: frames are read straight into it
    k = 0
    n_total = 0
    try:
        while True:
            size = _read_ppm_header(proc.stdout)
            if size is None:
                break
            w, h = size
            if buf is not None and buf.shape[1:3] != (h, w):  # the size changed: hand over what is there
                n_total += k
                yield buf[:k]
                buf, k = None, 0
            if buf is None:
                buf = np.empty((chunk, h, w, 3), np.uint8)
            if not read_raw_frame(proc.stdout, buf[k]):
                break
            k += 1
            if max_frames is not None and n_total + k > max_frames:
                raise MediaError(_too_long(path.name, None, max_seconds, limit_hint))
            if k == chunk:
                n_total += k
                yield buf
                buf, k = None, 0
        if buf is not None and k:
            n_total += k
            yield buf[:k]
    finally:
        err = finish_decoder(proc)
    if n_total == 0:
        raise MediaError(f"no frames could be decoded from {path.name} ({err.strip()[-200:]})")
    expected = (info.video_duration or info.duration or 0.0) - start
    if duration is not None:
        expected = min(expected, duration)
    if not is_image(path) and expected > 1.0 and n_total / rate < TRUNCATED_FRACTION * expected:
        raise MediaError(f"{path.name} looks truncated: its header says {expected:.1f} s but only {n_total / rate:.1f} s of "
                         "frames decode; export or upload the whole file again")


def finish_decoder(proc: subprocess.Popen) -> str:
    """Close a decoding ffmpeg's pipes and wait for it; returns what it wrote to stderr (for messages)."""
    proc.stdout.close()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.wait()
    return err


def raw_frames_command(path: str | Path, size: tuple[int, int], n: int, fps: float | None = DEFAULT_FPS) -> list[str]:
    """The ffmpeg command that writes the first ``n`` frames of ``path``, scaled to ``size = (w, h)``, as raw RGB24 to stdout."""
    path = _check_exists(Path(path))
    w, h = size
    filters = ([] if fps is None or is_image(path) else [f"fps={fps}"]) + [f"scale={w}:{h}"]
    return _ffmpeg_input(path, filters=filters) + ["-frames:v", str(n), "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]


def read_raw_frame(stream, out: np.ndarray) -> bool:
    """Fill the C-contiguous uint8 ``out`` from a raw-video ``stream`` with ``readinto``; False at the end of the stream."""
    view, got = memoryview(out.reshape(-1)), 0
    while got < len(view):
        k = stream.readinto(view[got:])
        if not k:
            return False
        got += k
    return True


def read_frames_into(path: str | Path, out: np.ndarray, fps: float | None = DEFAULT_FPS) -> int:
    """Decode the first ``len(out)`` frames of ``path``, scaled to ``out``'s size, straight into ``out [n, H, W, 3]`` uint8.

    The fast path for a clip whose frame count and size are known (a speaker profile's
    ``frames.mp4``): one buffer, filled by ``readinto`` from ffmpeg's pipe — no per-frame copies.
    Returns the number of frames decoded (fewer when the clip is shorter).
    """
    path = _check_exists(Path(path))
    n, h, w = out.shape[0], out.shape[1], out.shape[2]
    if out.dtype != np.uint8 or out.shape[3:] != (3,) or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous uint8 array [n, H, W, 3]")
    proc = subprocess.Popen(raw_frames_command(path, (w, h), n, fps), stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    done = 0
    try:
        while done < n and read_raw_frame(proc.stdout, out[done]):
            done += 1
    finally:
        err = finish_decoder(proc)
    if done == 0:
        raise MediaError(f"no frames could be decoded from {path.name} ({err.strip()[-200:]})")
    return done


def read_video(path: str | Path, fps: float | None = DEFAULT_FPS, *, max_frames: int | None = None, max_side: int | None = None) -> VideoFrames:
    """Decode a whole clip (or its first ``max_frames``) into :class:`VideoFrames`."""
    info = probe(path)
    chunks = []
    n = 0
    duration = None if max_frames is None or fps is None else (max_frames + 1) / fps
    for c in iter_video(path, fps, max_side=max_side, duration=duration):
        chunks.append(c)
        n += len(c)
        if max_frames is not None and n >= max_frames:
            break
    frames = np.concatenate(chunks)[:max_frames]
    return VideoFrames(frames, float(fps if fps is not None else (info.fps or DEFAULT_FPS)))


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, *, max_seconds: float | None = None,
               limit_hint: str = "", head_seconds: float | None = None) -> AudioClip:
    """Mono float32 audio at ``sample_rate`` from any audio or video file.

    Raises :class:`MediaError` when the file has no audio stream or is longer than ``max_seconds``
    — checked on the header first and then on the decode itself, which stops just past the limit
    (a header that understates the length cannot make the server decode an hour of audio).
    ``limit_hint`` names the setting that raises the limit (e.g. ``--max-audio-seconds``).
    ``head_seconds`` decodes only the first seconds (no refusal: for scoring the start of a clip).
    """
    path = _check_exists(Path(path))
    info = probe(path)
    if not info.has_audio:
        raise MediaError(f"{path.name} has no audio stream; give a speech recording (wav/mp3/m4a) or a video with sound")
    if max_seconds is not None and info.duration > max_seconds + 0.05:
        raise MediaError(_too_long(path.name, info.duration, max_seconds, limit_hint))
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", *_literal_input(path)]
    if max_seconds is not None or head_seconds is not None:
        bound = min(v for v in (None if max_seconds is None else max_seconds + 0.5, head_seconds) if v is not None)
        cmd += ["-t", f"{bound:.3f}"]
    proc = _run(cmd + ["-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-"])
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    if samples.size == 0:
        raise MediaError(f"{path.name}: the audio stream decoded to no samples")
    if max_seconds is not None and samples.size > (max_seconds + 0.05) * sample_rate:
        raise MediaError(_too_long(path.name, None, max_seconds, limit_hint))
    return AudioClip(samples, sample_rate)


def _too_long(name: str, seconds: float | None, limit: float, hint: str) -> str:
    length = f"lasts {seconds:.1f} s" if seconds is not None else "is longer than its header says"
    how = f"raise {hint}" if hint else "raise the limit"
    return f"{name} {length}, over the limit of {limit:g} s; trim it or {how}"


def save_wav(path: str | Path, audio: AudioClip) -> Path:
    import soundfile as sf

    path = Path(path)
    sf.write(str(path), np.clip(audio.samples, -1, 1), audio.sample_rate, subtype="PCM_16")
    return path


def _fit_audio(audio: AudioClip, seconds: float) -> AudioClip:
    n = int(round(seconds * audio.sample_rate))
    s = audio.samples[:n]
    if len(s) < n:
        s = np.pad(s, (0, n - len(s)))
    return AudioClip(s.astype(np.float32), audio.sample_rate)


def write_video(
    path: str | Path,
    frames: VideoFrames | Iterable[np.ndarray],
    fps: float = DEFAULT_FPS,
    audio: AudioClip | None = None,
    *,
    crf: int = 18,
    preset: str = "veryfast",
) -> Path:
    """Encode frames (``VideoFrames`` or an iterable of ``[H,W,3]``/``[n,H,W,3]`` uint8 arrays) to mp4.

    H.264, yuv420p (odd sizes are cropped by one pixel), ``audio`` muxed as AAC and fitted to the
    video's duration. The file appears only when complete (written to a temporary name first).
    """
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise MediaError(f"output {path} must end in .mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frames, VideoFrames):
        fps = frames.fps
        frames = iter(frames.frames)
    with tempfile.TemporaryDirectory(prefix="facial-mux-") as tmp:
        tmp_out = Path(tmp) / "out.mp4"
        proc = None
        n = 0
        size = None
        try:
            for item in frames:
                batch = item[None] if item.ndim == 3 else item
                if proc is None:
                    h, w = batch.shape[1] // 2 * 2, batch.shape[2] // 2 * 2
                    size = (batch.shape[1], batch.shape[2])
                    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                           "-s", f"{w}x{h}", "-r", f"{fps}", "-i", "-", "-an", "-c:v", "libx264", "-preset", preset,
                           "-crf", str(crf), "-pix_fmt", "yuv420p", str(Path(tmp) / "video.mp4")]
                    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
                if batch.shape[1:3] != size:
                    raise MediaError(f"frame size changed from {size} to {batch.shape[1:3]} while writing {path}")
                data = np.ascontiguousarray(batch[:, :h, :w].astype(np.uint8, copy=False))
                proc.stdin.write(data.tobytes())
                n += len(batch)
        except BrokenPipeError as exc:
            raise MediaError(f"ffmpeg stopped while writing {path}: {proc.stderr.read().decode(errors='replace')[-300:]}") from exc
        finally:
            if proc is not None:
                proc.stdin.close()
                err = proc.stderr.read().decode(errors="replace")
                proc.wait()
        if proc is None or n == 0:
            raise MediaError(f"no frames to write to {path}")
        if proc.returncode != 0:
            raise MediaError(f"ffmpeg could not encode {path}: {err.strip()[-300:]}")
        video = Path(tmp) / "video.mp4"
        if audio is not None:
            wav = save_wav(Path(tmp) / "audio.wav", _fit_audio(audio, n / fps))
            _run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(video), "-i", str(wav), "-map", "0:v:0",
                  "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(tmp_out)])
        else:
            _run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(video), "-c", "copy", "-movflags", "+faststart", str(tmp_out)])
        atomic.copy_file(tmp_out, path)
    log.info("wrote %s (%d frames at %g fps%s)", path, n, fps, ", with audio" if audio is not None else "")
    return path


def transcode(src: str | Path, dst: str | Path, *, fps: float = DEFAULT_FPS, size: tuple[int, int] | None = None,
              start: float = 0.0, duration: float | None = None, crf: int = 18) -> Path:
    """Re-encode ``src`` to an H.264 mp4 at a constant ``fps`` (and ``size`` = (w, h)), keeping its audio if any.

    Images become a one-frame video. Written atomically.
    """
    src, dst = _check_exists(Path(src)), Path(dst)
    info = probe(src)
    filters = [] if is_image(src) else [f"fps={fps}"]
    if size is not None:
        filters.append(f"scale={size[0]}:{size[1]}")
        if size[0] % 2 or size[1] % 2:
            filters.append("pad=ceil(iw/2)*2:ceil(ih/2)*2")
    cmd = _ffmpeg_input(src, start=start, duration=duration, filters=filters)
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    cmd += (["-c:a", "aac", "-b:a", "128k", "-ac", "1"] if info.has_audio else ["-an"])
    with atomic.atomic_path(dst) as tmp:
        _run(cmd + ["-movflags", "+faststart", str(tmp)])
    return dst


def prefetch(items: Iterable, depth: int = 2) -> Iterator:
    """Run the iterator ``items`` in a background thread, up to ``depth`` items ahead of the consumer.

    For a decoder (:func:`iter_video`) feeding a slow consumer (face tracking): ffmpeg decodes the
    next frames while the current ones are processed, instead of waiting for the pipe to be read.
    Errors of the producer are raised in the consumer; when the consumer stops early, the producer
    stops too (and its generator is closed, which ends ffmpeg).
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put((None, item)):
                    break
        except BaseException as exc:  # handed to the consumer
            put((exc, None))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            put((None, end))

    thread = threading.Thread(target=run, name="facial-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            exc, item = q.get()
            if exc is not None:
                raise exc
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """:func:`write_video` fed from another loop: :meth:`write` hands frames over, the encoding runs
    in a thread (ffmpeg in its own process), so decoding/tracking and encoding overlap.

    ``audio_from``: a media file whose audio is muxed in afterwards (AAC, mono), cut to the
    video's length — the equivalent of :func:`transcode`'s audio. ``preset``: x264's. Use as a context manager: on
    leaving normally the file is finished (errors raised there), on an exception nothing is written.
    """

    _END, _ABORT = object(), object()

    def __init__(self, path: str | Path, fps: float, *, audio_from: str | Path | None = None, queue_size: int = 4,
                 preset: str = "veryfast"):
        import queue
        import threading

        self.path, self.fps, self.audio_from, self.preset = Path(path), float(fps), audio_from, preset
        self.frames = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._ended = False
        self._video = Path(tempfile.mkdtemp(prefix="facial-frames-")) / "video.mp4"
        self._thread = threading.Thread(target=self._run, name="facial-encode", daemon=True)
        self._thread.start()

    def _items(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is self._END or item is self._ABORT:
                self._ended = True
                if item is self._ABORT:
                    raise MediaError("encoding aborted")
                return
            yield item

    def _run(self) -> None:
        try:
            write_video(self._video, self._items(), self.fps, preset=self.preset)
        except BaseException as exc:  # re-raised in close()
            self._error = exc
            while not self._ended:  # drain until the producer says it is done: it must never block on a full queue
                item = self._queue.get()
                self._ended = item is self._END or item is self._ABORT

    def write(self, frames: np.ndarray) -> None:
        """Queue ``[H, W, 3]`` or ``[n, H, W, 3]`` uint8 frames (blocks while the encoder is behind)."""
        if self._error is None:
            self._queue.put(frames)
            self.frames += 1 if frames.ndim == 3 else len(frames)

    def close(self) -> Path:
        """Finish the video (and the audio), move it to ``path``; raises the encoder's error, if any."""
        self._queue.put(self._END)
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
            if self.audio_from is not None and probe(self.audio_from).has_audio:
                cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(self._video), *_literal_input(Path(self.audio_from)),
                       "-map", "0:v:0", "-map", "1:a:0", "-t", f"{self.frames / self.fps:.3f}", "-c:v", "copy",
                       "-c:a", "aac", "-b:a", "128k", "-ac", "1", "-movflags", "+faststart"]
                with atomic.atomic_path(self.path) as tmp:
                    _run(cmd + [str(tmp)])
            else:
                atomic.copy_file(self._video, self.path)
            return self.path
        finally:
            shutil.rmtree(self._video.parent, ignore_errors=True)

    def abort(self) -> None:
        """Stop the encoder and write nothing."""
        self._queue.put(self._ABORT)
        self._thread.join()
        shutil.rmtree(self._video.parent, ignore_errors=True)

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def file_hash(path: str | Path) -> str:
    """sha256 of a file's content (hex), used as cache key for tracked speakers."""
    return hashing.sha256_file(path)
