"""The speaker's own footage as frames: ``frames.mp4`` of a profile decoded at the profile's fps
and size. The warp renderer takes its source frames from here, the mesh renderer its texture
frame and the neural renderer's training its targets.

:func:`load_speaker_frames` decodes them all; :class:`StreamedFrames` decodes in the background
and keeps only the frames a render plan uses, each available as soon as ffmpeg reaches it — so
rendering starts at once and a long clip's unused frames cost no memory.
"""
from __future__ import annotations

import logging
import subprocess
import threading

import numpy as np

from facial import media
from facial.types import SpeakerProfile

log = logging.getLogger(__name__)


def load_speaker_frames(profile: SpeakerProfile, max_frames: int | None = None) -> np.ndarray:
    """The profile's frames ``[S, H, W, 3]`` uint8 at the profile's fps and size (first ``max_frames``)."""
    if profile.video is None:
        raise ValueError("the speaker profile has no video (frames.mp4); re-create it with `facial track CLIP -o DIR`")
    n = profile.n_frames if max_frames is None else min(profile.n_frames, max_frames)
    w, h = profile.size
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    got = media.read_frames_into(profile.video, frames, fps=None if media.is_image(profile.video) else profile.fps)
    if got < n:
        log.warning("%s has %d frames, the profile %d; the missing ones repeat the last frame", profile.video, got, n)
        frames[got:] = frames[got - 1]
    return frames


class StreamedFrames:
    """The frames ``needed`` (clip indices) of a profile's footage, decoded in a background thread.

    ``frames[i]`` blocks until ffmpeg has decoded frame ``i`` (frames come in clip order) and
    raises ``KeyError`` for a frame not in ``needed``; a decoding error is raised there too. A
    clip shorter than the profile repeats its last frame, as :func:`load_speaker_frames` does.
    Call :meth:`close` (or use ``with``) to stop the decoder early.
    """

    def __init__(self, profile: SpeakerProfile, needed: np.ndarray):
        if profile.video is None:
            raise ValueError("the speaker profile has no video (frames.mp4); re-create it with `facial track CLIP -o DIR`")
        self.needed = np.unique(np.asarray(needed, dtype=np.int64))
        if len(self.needed) == 0 or self.needed[0] < 0 or self.needed[-1] >= profile.n_frames:
            raise ValueError(f"needed frames must lie in [0, {profile.n_frames})")
        self.profile = profile
        self._frames: dict[int, np.ndarray] = {}
        self._decoded = -1  # highest clip index read so far
        self._finished = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._decode, name="facial-frames", daemon=True)
        self._thread.start()

    def _decode(self) -> None:
        prof = self.profile
        w, h = prof.size
        last = int(self.needed[-1])
        wanted = set(self.needed.tolist())
        fps = None if media.is_image(prof.video) else prof.fps
        try:
            cmd = media.raw_frames_command(prof.video, (w, h), last + 1, fps)
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
            scratch = [np.empty((h, w, 3), np.uint8), np.empty((h, w, 3), np.uint8)]  # alternate: the last frame survives a failed read
            previous = None
            for i in range(last + 1):
                buf = np.empty((h, w, 3), np.uint8) if i in wanted else scratch[i % 2]
                if not media.read_raw_frame(self._proc.stdout, buf):
                    if previous is None:
                        raise media.MediaError(f"no frames could be decoded from {prof.video.name}")
                    log.warning("%s has %d frames, the profile %d; the missing ones repeat the last frame", prof.video, i,
                                prof.n_frames)
                    with self._cond:
                        for j in range(i, last + 1):
                            if j in wanted:
                                self._frames[j] = previous
                        self._decoded = last
                        self._cond.notify_all()
                    break
                previous = buf
                with self._cond:
                    if i in wanted:
                        self._frames[i] = buf
                    self._decoded = i
                    self._cond.notify_all()
        except BaseException as exc:  # raised to the reader
            self._error = exc
        finally:
            if self._proc is not None:
                media.finish_decoder(self._proc)
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def __getitem__(self, i: int) -> np.ndarray:
        i = int(i)
        with self._cond:
            while self._decoded < i and not self._finished:
                self._cond.wait()
            if i in self._frames:
                return self._frames[i]
            if self._error is not None:
                raise self._error
        raise KeyError(f"frame {i} is not among the frames this render plan uses")

    def close(self) -> None:
        """Stop decoding (frames already decoded stay readable)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        self._thread.join()

    def __enter__(self) -> StreamedFrames:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
