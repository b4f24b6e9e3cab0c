"""End to end: speech + a speaker (clip, photo or profile) → talking-face mp4.

```
speaker ─► track (cached by content hash) ─► SpeakerProfile
audio   ─┐
profile ─┴► FACIAL-GAN personalised (cached in the profile) ─► animate ─► FaceParams
FaceParams ─► warp renderer | neural renderer ─► frames ─► mp4 with the input audio (H.264)
```

:class:`FacialPipeline` is built once (expression basis + FACIAL-GAN base model) and serves many
:meth:`~FacialPipeline.generate` calls; :func:`generate` is the one-shot convenience. Speaker
profiles are cached under ``<cache>/profiles/<sha256 of the file>-<fps>fps/`` where ``<cache>`` is
the ``cache_dir`` argument, ``$FACIAL_CACHE`` or ``~/.cache/facial``.

When the FACIAL-GAN checkpoint is not installed, ``driver="auto"`` falls back to a procedural
driver (:func:`envelope_params`: mouth opening from the speech envelope, the speaker's own head
motion, blinks at the requested rate) and says so in the log and in ``GenerateResult.driver``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from facial import atomic, media
from facial.audio2face import controls
from facial.audio2face.drivers import envelope_params, freeze_pose_and_blinks
from facial.cache import cache_root, enforce_cap, profile_dir, touch
from facial.types import AudioClip, FaceParams, SpeakerProfile, VideoFrames

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]
DEFAULT_MAX_AUDIO_SECONDS = 120.0
SHORT_CLIP_SECONDS = 2.0
RENDERERS = ("warp", "neural")
SILENCE_LEVEL = 1e-3  # peak amplitude below which a recording counts as silent
STAGES = ("speaker", "audio", "finetune", "animate", "render", "mux")


@dataclass
class GenerateResult:
    """What :meth:`FacialPipeline.generate` made: the video, the parameters it rendered, where the
    speaker profile lives, seconds per stage, and which driver produced the motion."""

    video: Path
    params: FaceParams
    profile_dir: Path
    timings: dict[str, float]
    driver: str = "facial-gan"
    renderer: str = "warp"
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- parameter helpers
def resample_params(params: FaceParams, fps: float, n_frames: int | None = None) -> FaceParams:
    """Linearly resample a parameter track to ``fps`` (``n_frames`` output frames)."""
    if n_frames is None:
        n_frames = max(1, int(round(len(params) / params.fps * fps)))
    if abs(fps - params.fps) < 1e-6 and n_frames == len(params):
        return params
    t_src = np.arange(len(params)) / params.fps
    t_out = np.arange(n_frames) / fps
    arr = params.to_array()
    out = np.stack([np.interp(t_out, t_src, arr[:, j]) for j in range(arr.shape[1])], axis=1) if len(params) > 1 \
        else np.repeat(arr, n_frames, axis=0)
    return FaceParams.from_array(out.astype(np.float32), fps)


def fit_length(params: FaceParams, n_frames: int) -> FaceParams:
    """Trim or extend (holding the last frame) to exactly ``n_frames``."""
    if len(params) == n_frames:
        return params
    arr = params.to_array()
    if len(arr) > n_frames:
        arr = arr[:n_frames]
    else:
        arr = np.concatenate([arr, np.repeat(arr[-1:], n_frames - len(arr), 0)])
    return FaceParams.from_array(arr, params.fps)


# --------------------------------------------------------------------------- the pipeline
class FacialPipeline:
    """Audio + speaker → talking-face video (see the module docstring).

    - ``audio2face``: a ``FacialGAN``, a checkpoint folder / Hugging Face repo id, or None (the
      packaged checkpoint; when missing, ``driver="auto"`` uses :func:`envelope_params`).
    - ``driver``: ``"auto"``, ``"facial-gan"`` (error if unavailable) or ``"envelope"``.
    - ``max_audio_seconds`` / ``max_clip_seconds``: longer speech / speaker clips are refused with a
      clear message while decoding (a header that understates the length does not get through);
      ``limit_settings`` names the settings that raise them in the messages (command-line flags by
      default, the app passes its environment variables).
    - ``cache_max_bytes``: cap of the speaker-profile cache; the least recently used go first.
    - ``device``: for the neural renderer ("auto": CUDA when available).
    - ``render_workers``: threads of the warp renderer (frames rendered at once; the caller's choice).
    """

    def __init__(self, *, cache_dir: str | Path | None = None, audio2face: Any = None, basis=None,
                 max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS, device: str = "auto", driver: str = "auto",
                 max_clip_seconds: float | None = None, cache_max_bytes: float | None = None,
                 limit_settings: tuple[str, str] = ("--max-audio-seconds", "--max-clip-seconds"), render_workers: int = 1):
        from facial.face_render.mesh import default_basis

        if driver not in ("auto", "facial-gan", "envelope"):
            raise ValueError(f"unknown driver {driver!r}; use auto, facial-gan or envelope")
        self.cache_dir = cache_root(cache_dir)
        self.basis = basis or default_basis()
        self.max_audio_seconds = float(max_audio_seconds)
        self.max_clip_seconds = None if max_clip_seconds is None else float(max_clip_seconds)
        self.limit_settings = limit_settings
        self.cache_max_bytes = cache_max_bytes
        self.device = device
        self.driver = driver
        if render_workers < 1:
            raise ValueError(f"render_workers must be ≥ 1, got {render_workers}")
        self.render_workers = int(render_workers)
        self.base_model = None
        self.driver_note = ""
        if driver != "envelope":
            from facial.hub import CheckpointNotFound

            try:
                from facial.audio2face import FacialGAN

                self.base_model = audio2face if isinstance(audio2face, FacialGAN) else FacialGAN.from_pretrained(audio2face)
            except CheckpointNotFound as exc:
                # "auto" falls back only when no checkpoint is installed at all; a broken one is an error
                if driver == "facial-gan" or audio2face is not None:
                    raise
                self.driver_note = f"FACIAL-GAN unavailable ({exc}); using the procedural envelope driver"
                log.warning("%s", self.driver_note)

    # ------------------------------------------------------------------ speaker
    def profile_dir_for(self, speaker: str | Path, fps: float) -> Path:
        """Cache folder of a speaker file's profile (content hash + fps)."""
        return profile_dir(self.cache_dir, media.file_hash(speaker), fps)

    def speaker_profile(self, speaker: str | Path | SpeakerProfile, *, fps: float = media.DEFAULT_FPS,
                        progress: bool = False) -> SpeakerProfile:
        """A profile from a profile folder, a :class:`SpeakerProfile`, a clip/photo (tracked once, cached),
        or a speaker published on the Hugging Face Hub (``owner/name`` or ``owner/name@revision``,
        unpacked into the cache by :func:`facial.hub.load_speaker`). A local path always wins; a
        string that does not read as a repo id never goes to the network."""
        from facial.hub import is_repo_id, split_revision
        from facial.speaker.profile import FRAMES_FILE, is_profile_dir, load_profile, save_profile
        from facial.speaker.track import track_clip

        if isinstance(speaker, SpeakerProfile):
            return speaker
        if not isinstance(speaker, Path) and not Path(speaker).expanduser().exists() and is_repo_id(split_revision(str(speaker))[0]):
            from facial.hub import load_speaker

            profile = load_profile(load_speaker(str(speaker), cache_dir=self.cache_dir))
            basis_id = getattr(self.basis, "basis_id", "")
            if profile.basis_id and basis_id and profile.basis_id != basis_id:
                raise ValueError(f"the published speaker {speaker} was tracked with the expression basis {profile.basis_id!r}, "
                                 f"this pipeline uses {basis_id!r}; re-publish it with this basis")
            return profile
        speaker = Path(speaker)
        if is_profile_dir(speaker):
            return load_profile(speaker)
        if speaker.is_dir():
            raise ValueError(f"{speaker} is a folder but not a speaker profile (no profile.json); give a clip, a photo or a "
                             "folder made by `facial track`")
        if not speaker.exists():
            raise FileNotFoundError(f"{speaker}: no such speaker clip or photo")
        target = self.profile_dir_for(speaker, fps)
        if is_profile_dir(target):
            log.info("using the cached speaker profile %s", target)
            touch(target)
            return load_profile(target)
        with atomic.atomic_dir(target) as tmp:  # the frames are encoded into the profile while tracking
            profile = track_clip(speaker, fps=fps, basis=self.basis, progress=progress, max_seconds=self.max_clip_seconds,
                                 limit_hint=self.limit_settings[1], frames_to=Path(tmp) / FRAMES_FILE)
            save_profile(profile, tmp, copy_frames=False)
        log.info("speaker profile cached in %s", target)
        for gone in enforce_cap(target.parent, self.cache_max_bytes, keep=target):
            log.info("profile cache over %.2f GB: removed the least recently used %s", self.cache_max_bytes / 1e9, gone.name)
        return load_profile(target)

    # ------------------------------------------------------------------ motion
    def animate(self, audio: AudioClip, profile: SpeakerProfile, *, head_motion: float = 1.0, blink_rate: float | None = None,
                seed: int = 0, finetune_effort: str = "fast", progress: ProgressCallback | None = None) -> tuple[FaceParams, str]:
        """FaceParams at the profile's fps for ``audio`` and the name of the driver that made them."""
        cb = progress or (lambda s, f: None)
        if self.base_model is None:
            cb("finetune", 1.0)
            params = envelope_params(audio, profile, head_motion=head_motion, blink_rate=blink_rate, seed=seed, basis=self.basis)
            cb("animate", 1.0)
            return params, "envelope"
        from facial.audio2face import animate, personalised

        model = self.base_model
        effort = finetune_effort
        if profile.n_frames < 2 * profile.fps and effort != "none":
            log.info("speaker footage under 2 s: using the generic FACIAL-GAN (no fine-tuning)")
            effort = "none"
        if effort != "none":
            from facial.hub import speaker_model

            try:  # a published speaker brings its own personalised FACIAL-GAN (its clip may not be at hand)
                model = speaker_model(profile) or personalised(profile, effort=effort, base=self.base_model,
                                                               progress_callback=lambda f, msg="": cb("finetune", float(f)))
            except (ValueError, FileNotFoundError, media.MediaError) as exc:
                log.warning("could not personalise FACIAL-GAN (%s); using the generic model", exc)
                model = self.base_model
        cb("finetune", 1.0)
        params = animate(model, audio, profile, head_motion=head_motion, blink_rate=blink_rate, seed=seed)
        if model is self.base_model and profile.n_frames < 2 * profile.fps:
            params = controls.one_shot_mouth(params, profile, self.basis)
        cb("animate", 1.0)
        return params, "facial-gan"

    # ------------------------------------------------------------------ rendering
    def neural_renderer(self, profile: SpeakerProfile, options: dict | None = None, progress: ProgressCallback | None = None):
        """The speaker's trained neural renderer (trained now, and cached in the profile, if missing)."""
        from facial.face2vid import NeuralRenderer, train_renderer
        from facial.face2vid.train import check_trainable

        check_trainable(profile)
        opts = dict(options or {})
        folder = Path(opts.pop("out_dir", Path(profile.directory) / "face2vid"))
        size = opts.get("size")
        if (folder / "model.safetensors").exists():
            r = NeuralRenderer.from_pretrained(folder, device=opts.get("device", self.device))
            if size is None or r.config.size == size:
                log.info("using the trained neural renderer in %s", folder)
                return r
        from facial.hub import require_footage

        require_footage(profile, f"training a neural renderer{'' if size is None else f' at {size} px'}")
        opts.setdefault("device", self.device)
        if "minutes" not in opts and "steps" not in opts:
            opts["minutes"] = 10.0
        log.info("training the neural renderer for this speaker (%s)", ", ".join(f"{k}={v}" for k, v in opts.items()))
        out = train_renderer(profile.directory, out_dir=folder, progress=progress is None, **opts)
        return NeuralRenderer.from_pretrained(out, device=opts["device"])

    def warp_renderer(self, profile: SpeakerProfile):
        """The training-free :class:`~facial.face_render.WarpRenderer` over the profile's footage."""
        from facial.face_render import WarpRenderer
        from facial.hub import require_footage

        require_footage(profile, "the warp renderer (it draws from the clip's frames)")
        return WarpRenderer(profile, basis=self.basis, workers=self.render_workers)

    def render(self, params: FaceParams, profile: SpeakerProfile, renderer: str = "warp", *, neural_options: dict | None = None,
               progress: ProgressCallback | None = None) -> VideoFrames:
        """Render parameters with the chosen renderer (``"warp"`` or ``"neural"``)."""
        cb = progress or (lambda s, f: None)
        if renderer == "warp":
            return self.warp_renderer(profile).render(params, progress=lambda f: cb("render", f))
        if renderer == "neural":
            nr = self.neural_renderer(profile, neural_options, progress)
            return nr.render_params(profile, params, progress=lambda f: cb("render", f))
        raise ValueError(f"unknown renderer {renderer!r}; use one of {', '.join(RENDERERS)}")

    # ------------------------------------------------------------------ all together
    def generate(self, audio: str | Path | AudioClip, speaker: str | Path | SpeakerProfile, out_path: str | Path, *,
                 renderer: str = "warp", head_motion: float = 1.0, blink_rate: float | None = None, seed: int = 0,
                 finetune_effort: str = "fast", freeze_pose_blink: bool = False, fps: float = media.DEFAULT_FPS,
                 neural_options: dict | None = None, progress: ProgressCallback | None = None) -> GenerateResult:
        """Make ``out_path`` (mp4, H.264, the input audio, as long as the audio ±1 frame, ``fps`` frames/s).

        ``progress(stage, fraction)`` is called for the stages in :data:`STAGES`. Bad inputs raise
        ``ValueError``/``FileNotFoundError``/:class:`~facial.media.MediaError` with what to do,
        before anything is written.
        """
        cb = progress or (lambda s, f: None)
        out_path = Path(out_path)
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; use one of {', '.join(RENDERERS)}")
        if out_path.suffix.lower() != ".mp4":
            raise ValueError(f"the output {out_path} must end in .mp4")
        if fps <= 0 or fps > 120:
            raise ValueError(f"fps must be in (0, 120], got {fps}")
        if head_motion < 0:
            raise ValueError(f"head_motion must be ≥ 0, got {head_motion}")
        if blink_rate is not None and blink_rate < 0:
            raise ValueError(f"blink_rate must be ≥ 0 blinks per minute, got {blink_rate}")
        for p in (audio, speaker):
            if isinstance(p, (str, Path)) and Path(p).exists() and Path(p).resolve() == out_path.resolve():
                raise ValueError(f"the output {out_path} is one of the inputs; choose another output path")
        atomic.check_writable(out_path)  # before any work: a read-only or missing location fails now
        timings: dict[str, float] = {}
        notes: list[str] = [self.driver_note] if self.driver_note else []

        t = time.perf_counter()
        cb("audio", 0.0)
        clip = audio if isinstance(audio, AudioClip) else media.load_audio(audio, max_seconds=self.max_audio_seconds,
                                                                            limit_hint=self.limit_settings[0])
        if clip.duration > self.max_audio_seconds + 0.05:
            raise media.MediaError(f"the audio lasts {clip.duration:.1f} s, over the limit of {self.max_audio_seconds:g} s; "
                                   f"trim it or raise {self.limit_settings[0]}")
        if not np.any(np.abs(clip.samples) > SILENCE_LEVEL):
            msg = "the speech recording is silent: the lips will not move; check the microphone or the file"
            log.warning("%s", msg)
            notes.append(msg)
        if clip.duration < 1.0 / fps:
            raise media.MediaError(f"the audio lasts {clip.duration * 1000:.0f} ms, shorter than one frame; give a longer recording")
        cb("audio", 1.0)
        timings["audio"] = time.perf_counter() - t

        t = time.perf_counter()
        cb("speaker", 0.0)
        profile = self.speaker_profile(speaker, fps=media.DEFAULT_FPS)
        cb("speaker", 1.0)
        timings["speaker"] = time.perf_counter() - t
        if profile.n_frames > 1 and profile.duration < SHORT_CLIP_SECONDS:
            if renderer == "neural":
                from facial.face2vid.train import check_trainable

                check_trainable(profile)
            msg = (f"the speaker clip lasts {profile.duration:.1f} s (under {SHORT_CLIP_SECONDS:.0f} s): head motion and mouth "
                   "shapes can only come from these few frames; 10 s or more gives better results")
            log.warning("%s", msg)
            notes.append(msg)
        if renderer == "neural":
            from facial.face2vid.train import check_trainable

            check_trainable(profile)

        warp = self.warp_renderer(profile) if renderer == "warp" else None  # checks the footage before any work
        t = time.perf_counter()
        params, driver = self.animate(clip, profile, head_motion=head_motion, blink_rate=blink_rate, seed=seed,
                                      finetune_effort=finetune_effort, progress=cb)
        n_out = clip.n_frames(fps)
        params = fit_length(resample_params(params, fps, n_out), n_out)
        if freeze_pose_blink:
            params = freeze_pose_and_blinks(params, profile)
        timings["animate"] = time.perf_counter() - t

        t = time.perf_counter()
        cb("render", 0.0)
        if warp is not None:  # the footage decodes, frames render and stream into the encoder, all overlapped
            frames = warp.iter_frames(params, progress=lambda f: cb("render", f))
        else:
            frames = iter(self.render(params, profile, renderer, neural_options=neural_options, progress=cb).frames)
        done: dict[str, float] = {}

        def rendered():
            yield from frames
            done["render"] = time.perf_counter()
            cb("render", 1.0)
            cb("mux", 0.0)

        media.write_video(out_path, rendered(), fps, audio=clip)
        cb("mux", 1.0)
        end = time.perf_counter()
        timings["render"] = done.get("render", end) - t
        timings["mux"] = end - done.get("render", end)
        log.info("wrote %s: %d frames at %g fps (%s driver, %s renderer)", out_path, len(params), fps, driver, renderer)
        return GenerateResult(out_path, params, Path(profile.directory) if profile.directory else Path(), timings, driver,
                              renderer, notes)


def generate(audio_path: str | Path | None, speaker_path: str | Path | None, out_path: str | Path, *,
             cache_dir: str | Path | None = None, max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS, driver: str = "auto",
             **kwargs) -> GenerateResult:
    """One-shot :meth:`FacialPipeline.generate`; a missing audio or speaker uses the built-in example."""
    if audio_path is None or speaker_path is None:
        from facial.examples import default_inputs

        default_audio, default_speaker = default_inputs(cache_dir)
        audio_path = audio_path or default_audio
        speaker_path = speaker_path or default_speaker
    pipe = FacialPipeline(cache_dir=cache_dir, max_audio_seconds=max_audio_seconds, driver=driver)
    return pipe.generate(audio_path, speaker_path, out_path, **kwargs)
