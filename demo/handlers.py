"""What the buttons of the app do: check the inputs, call the libraries, return file paths.

Every problem the user can fix reaches them as :class:`gradio.Error` saying what was wrong and what
to do (:func:`user_error` maps the libraries' exceptions). Each request writes into its own new
folder under the app's work folder; no user file is ever written to or overwritten.

The handlers take plain values (file paths, numbers) so they can be called directly in tests;
``progress`` is any callable with :class:`gradio.Progress`'s signature.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import gradio as gr

from demo.config import DemoConfig

log = logging.getLogger(__name__)

RENDERERS = ("warp", "neural")
FINETUNE_EFFORTS = ("none", "fast", "full")
HEAD_MOTION_RANGE = (0.0, 2.0)
BLINK_RATE_RANGE = (0.0, 60.0)  # blinks per minute; 0 = the speaker's own rate
MIN_AUDIO_S = 0.3
ERROR_SECONDS = 30  # how long an error toast stays (the user can close it sooner)

#: Overall progress range of each pipeline stage, so one bar moves forward across the stages.
#: Keys are the app's stage names; :data:`STAGE_ALIASES` maps the pipeline's names onto them.
STAGE_SPANS = {
    "audio": (0.0, 0.03),
    "tracking": (0.03, 0.40),
    "fine-tuning": (0.40, 0.65),
    "predicting": (0.65, 0.70),
    "rendering": (0.70, 0.96),
    "encoding": (0.96, 0.99),  # then 0.99: plotting the curves
}
STAGE_LABELS = {
    "audio": "Reading the speech",
    "tracking": "Tracking the speaker's face",
    "fine-tuning": "Fine-tuning to the speaker",
    "predicting": "Predicting face motion from the speech",
    "rendering": "Rendering the video",
    "encoding": "Writing the mp4",
}
STAGE_ALIASES = {
    "speaker": "tracking", "track": "tracking",
    "finetune": "fine-tuning", "finetuning": "fine-tuning", "fine-tune": "fine-tuning",
    "animate": "predicting", "generating": "predicting",
    "render": "rendering",
    "mux": "encoding", "writing": "encoding",
}


def _stage_key(stage: str) -> str:
    s = stage.strip().lower().replace("_", "-").replace(" ", "-")
    return STAGE_ALIASES.get(s, s)


# --------------------------------------------------------------------------- errors
def _error(message: str) -> gr.Error:
    return gr.Error(message, duration=ERROR_SECONDS, print_exception=False)


def _short(text: str, names: dict[str, str]) -> str:
    """``text`` with long temporary upload paths replaced by the file names the user knows."""
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if path:
            text = text.replace(path, name)
    return text


def user_error(exc: BaseException, what: str, files: Iterable[str | Path | None] = ()) -> gr.Error:
    """A :class:`gradio.Error` for a library exception: what failed (``what``), why, and what to do."""
    from facial.media import MediaError

    names = {str(f): Path(f).name for f in files if f}
    msg = _short(str(exc).strip() or type(exc).__name__, names)
    tracking_error = _tracking_error_type()
    if tracking_error is not None and isinstance(exc, tracking_error):
        return _error(f"{what}: no usable face was found ({msg}). Upload a clip or photo where one face is clearly "
                      "visible, roughly frontal and at least ~100 pixels tall.")
    if isinstance(exc, MediaError):
        return _error(f"{what}: {msg}")
    if isinstance(exc, FileNotFoundError):
        return _error(f"{what}: a file is missing ({msg}). Upload it again; if it is a checkpoint, "
                      "check FACIAL_CHECKPOINT.")
    if isinstance(exc, (ValueError, KeyError)):
        return _error(f"{what}: {msg}")
    log.error("%s failed unexpectedly", what, exc_info=exc)
    return _error(f"{what} failed unexpectedly ({type(exc).__name__}: {msg}). This is a bug, not your input: "
                  "please report it with the server log.")


def _tracking_error_type():
    try:
        from facial.speaker.landmarks import FaceTrackingError
    except Exception:  # pragma: no cover - the speaker package is part of the project
        return None
    return FaceTrackingError


def _path(value: Any) -> Path | None:
    """A file path from what Gradio hands over (str, dict with ``path``, FileData-like object)."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        value = value.get("path") or value.get("name")
    elif hasattr(value, "path") and not isinstance(value, (str, Path)):
        value = value.path
    return Path(value) if value else None


# --------------------------------------------------------------------------- progress
@dataclass
class StageProgress:
    """Adapter from the pipeline's ``progress(stage, fraction)`` to :class:`gradio.Progress`.

    Known stages (:data:`STAGE_SPANS`, pipeline names via :data:`STAGE_ALIASES`) are mapped onto one
    forward-moving bar; the description names the stage. ``seen`` lists the stages in order;
    ``worked`` those that reported a fraction below 1 (work was done, not just loaded from a cache).
    ``labels`` overrides the description of a stage (e.g. a cached speaker is not tracked).
    """

    progress: Callable[..., Any] | None
    labels: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    worked: set[str] = field(default_factory=set)

    def __call__(self, stage: str, fraction: float = 0.0) -> None:
        key = _stage_key(stage)
        if key not in self.seen:
            self.seen.append(key)
        f = min(max(float(fraction), 0.0), 1.0)
        if f < 1.0:
            self.worked.add(key)
        lo, hi = STAGE_SPANS.get(key, (0.0, 1.0))
        label = self.labels.get(key) or STAGE_LABELS.get(key) or key.replace("-", " ").capitalize()
        if self.progress is not None:
            self.progress(lo + (hi - lo) * f, desc=f"{label} ({f:.0%})")


# --------------------------------------------------------------------------- files
def _zip_dir(src: Path, dst: Path) -> Path:
    """Zip the content of folder ``src`` into the new file ``dst``."""
    tmp = dst.with_name(f".{dst.name}.partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file() and not p.is_symlink():
                zf.write(p, p.relative_to(src).as_posix())
    os.replace(tmp, dst)
    return dst


def safe_extract(archive: Path, dest: Path, *, max_bytes: int) -> Path:
    """Extract a zip into ``dest``, refusing absolute paths, ``..``, links and archives over ``max_bytes``."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _error(f"{archive.name} is not a zip archive ({exc}); upload a .zip file") from exc
    with zf:
        total = 0
        for info in zf.infolist():
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in Path(name).parts or re.match(r"^[A-Za-z]:", name):
                raise _error(f"{archive.name} contains the unsafe path {name!r}; zip the folders with relative paths")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise _error(f"{archive.name} contains a symbolic link ({name}); zip real files only")
            total += info.file_size
        if total > max_bytes:
            raise _error(f"{archive.name} unpacks to {total / 2**20:.0f} MB, over the limit of {max_bytes / 2**20:.0f} MB; "
                         "upload fewer or shorter clips, or raise FACIAL_MAX_UPLOAD_MB")
        dest.mkdir(parents=True, exist_ok=True)
        zf.extractall(dest)
    return dest


def _single_root(folder: Path) -> Path:
    """``folder``, or its only sub-folder when the zip wrapped everything in one folder."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


# --------------------------------------------------------------------------- the handlers
class Handlers:
    """The app's actions, bound to one pipeline and one :class:`~demo.config.DemoConfig`."""

    def __init__(self, pipeline: Any, config: DemoConfig | None = None):
        self.pipeline = pipeline
        self.config = config or DemoConfig()
        self._work: Path | None = None
        self._zips: dict[str, Path] = {}

    # ---------------------------------------------------------------- helpers
    @property
    def work_dir(self) -> Path:
        """Parent of the per-request folders (made on first use; a new temp folder unless configured)."""
        if self._work is None:
            if self.config.work_dir is not None:
                self.config.work_dir.mkdir(parents=True, exist_ok=True)
                self._work = Path(tempfile.mkdtemp(prefix="facial-app-", dir=self.config.work_dir))
            else:
                self._work = Path(tempfile.mkdtemp(prefix="facial-app-"))
        return self._work

    def new_run_dir(self, kind: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=self.work_dir))

    @property
    def renderers(self) -> tuple[str, ...]:
        return tuple(getattr(self.pipeline, "renderers", None) or RENDERERS)

    @property
    def finetune_efforts(self) -> tuple[str, ...]:
        return tuple(getattr(self.pipeline, "finetune_efforts", None) or FINETUNE_EFFORTS)

    def _check_size(self, path: Path, what: str) -> None:
        size = path.stat().st_size
        if size > self.config.max_upload_bytes:
            raise _error(f"{what} '{path.name}' is {size / 2**20:.0f} MB, over the upload limit of "
                         f"{self.config.max_upload_mb:g} MB; upload a shorter or more compressed file "
                         "(or raise FACIAL_MAX_UPLOAD_MB)")
        if size == 0:
            raise _error(f"{what} '{path.name}' is empty (0 bytes); upload the file again")

    def check_audio(self, value: Any) -> Path:
        """The speech file, checked: readable, has sound, within the duration limit."""
        from facial.media import MediaError, probe

        path = _path(value)
        if path is None:
            raise _error("No speech given: upload or record an audio file (wav, mp3, m4a), "
                         "or click “Use the built-in example”.")
        if not path.is_file():
            raise _error(f"The speech file '{path.name}' is gone from the server; upload it again.")
        self._check_size(path, "The speech file")
        try:
            info = probe(path)
        except MediaError as exc:
            raise _error(f"The speech file '{path.name}' is not audio that can be read; upload a wav, mp3 or m4a "
                         "recording (a video with sound works too).") from exc
        if not info.has_audio:
            raise _error(f"The speech file '{path.name}' has no sound track; upload a speech recording "
                         "(wav, mp3, m4a) or a video with sound.")
        if info.duration > self.config.max_audio_s + 0.05:
            raise _error(f"The speech '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                         f"{self.config.max_audio_s:g} s; trim it (or raise FACIAL_MAX_AUDIO_S).")
        if 0 < info.duration < MIN_AUDIO_S:
            raise _error(f"The speech '{path.name}' lasts only {info.duration:.2f} s; give at least "
                         f"{MIN_AUDIO_S:g} s of speech.")
        return path

    def check_speaker(self, value: Any) -> Path:
        """The speaker clip or photo, checked: a readable picture, within the duration limit."""
        from facial.media import MediaError, is_image, probe

        path = _path(value)
        if path is None:
            raise _error("No speaker given: upload a short video of the person talking (mp4, mov, webm; "
                         "a few seconds, face visible) or one photo, or click “Use the built-in example”.")
        if not path.is_file():
            raise _error(f"The speaker file '{path.name}' is gone from the server; upload it again.")
        self._check_size(path, "The speaker file")
        try:
            info = probe(path)
        except MediaError as exc:
            raise _error(f"The speaker file '{path.name}' is not a video or photo: it could not be decoded. "
                         "Upload a clip (mp4, mov, webm) or a photo (jpg, png) of the speaker.") from exc
        if not info.has_video:
            raise _error(f"The speaker file '{path.name}' has no picture (is it audio only?). Upload a clip "
                         "(mp4, mov, webm) or a photo (jpg, png) of the speaker.")
        if not is_image(path) and info.duration > self.config.max_clip_s + 0.05:
            raise _error(f"The speaker clip '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                         f"{self.config.max_clip_s:g} s; trim it (10–60 s is plenty) or raise FACIAL_MAX_CLIP_S.")
        return path

    def check_video(self, value: Any, what: str) -> Path:
        """A clip to evaluate: readable, has a picture, within the duration limit."""
        from facial.media import MediaError, is_image, probe

        path = _path(value)
        if path is None:
            raise _error(f"No {what} given: upload an mp4 (or mov, webm) clip.")
        self._check_size(path, f"The {what}")
        try:
            info = probe(path)
        except MediaError as exc:
            raise _error(f"The {what} '{path.name}' is not a video that can be decoded; upload an mp4, mov or webm clip.") from exc
        if not info.has_video or is_image(path):
            raise _error(f"The {what} '{path.name}' is not a video (no moving picture); upload an mp4, mov or webm clip.")
        if info.duration > self.config.max_clip_s + 0.05:
            raise _error(f"The {what} '{path.name}' lasts {info.duration:.1f} s, over the limit of "
                         f"{self.config.max_clip_s:g} s; trim it (or raise FACIAL_MAX_CLIP_S).")
        return path

    # ---------------------------------------------------------------- generate tab
    def example_inputs(self) -> tuple[str, str]:
        """The built-in example: (speech, speaker photo)."""
        try:
            from facial.examples import default_inputs

            audio, speaker = default_inputs()
        except Exception as exc:
            raise user_error(exc, "The built-in example could not be prepared") from exc
        return str(audio), str(speaker)

    def preview_speaker(self, value: Any) -> tuple[Any, Any]:
        """(video preview, photo preview) of an uploaded speaker file; raises gr.Error if it is unusable."""
        from facial.media import is_image

        if _path(value) is None:
            return gr.update(value=None, visible=False), gr.update(value=None, visible=False)
        path = self.check_speaker(value)
        if is_image(path):
            return gr.update(value=None, visible=False), gr.update(value=str(path), visible=True)
        return gr.update(value=str(path), visible=True), gr.update(value=None, visible=False)

    def generate(self, audio: Any, speaker: Any, renderer: str = "warp", head_motion: float = 1.0,
                 blink_rate: float | None = 0.0, finetune_effort: str = "fast", seed: float | None = 0,
                 progress: Callable[..., Any] | None = gr.Progress()) -> tuple[str, str, str, str]:
        """Speech + speaker → (video, curves plot, speaker profile zip, Markdown summary)."""
        audio_path = self.check_audio(audio)
        speaker_path = self.check_speaker(speaker)
        if renderer not in self.renderers:
            raise _error(f"Unknown renderer {renderer!r}; choose one of {', '.join(self.renderers)}.")
        if finetune_effort not in self.finetune_efforts:
            raise _error(f"Unknown fine-tuning effort {finetune_effort!r}; choose one of {', '.join(self.finetune_efforts)}.")
        try:
            head_motion = float(head_motion)
            rate = float(blink_rate) if blink_rate not in (None, "") else 0.0
            seed_i = int(seed) if seed not in (None, "") else 0
        except (TypeError, ValueError) as exc:
            raise _error(f"Options must be numbers ({exc}); reset them to the defaults.") from exc
        lo, hi = HEAD_MOTION_RANGE
        if not lo <= head_motion <= hi:
            raise _error(f"Head-motion strength must lie in [{lo:g}, {hi:g}] (1 = the speaker's own), got {head_motion:g}.")
        lo, hi = BLINK_RATE_RANGE
        if not lo <= rate <= hi:
            raise _error(f"Blink rate must lie in [{lo:g}, {hi:g}] blinks/min (0 = the speaker's own rate), got {rate:g}.")
        if seed_i < 0:
            raise _error(f"Seed must be 0 or a positive whole number, got {seed_i}.")

        run = self.new_run_dir("generate")
        out = run / "facial_result.mp4"
        seen_before = self.speaker_cached(speaker_path)
        stages = StageProgress(progress, labels={"tracking": "Loading the saved speaker profile"} if seen_before else {})
        files = (audio_path, speaker_path)
        t0 = time.perf_counter()
        log.info("generate: audio=%s speaker=%s renderer=%s head_motion=%g blink_rate=%g effort=%s seed=%d",
                 audio_path.name, speaker_path.name, renderer, head_motion, rate, finetune_effort, seed_i)
        try:
            result = self.pipeline.generate(
                audio_path, speaker_path, out, renderer=renderer, head_motion=head_motion,
                blink_rate=rate if rate > 0 else None, seed=seed_i, finetune_effort=finetune_effort, progress=stages)
        except gr.Error:
            raise
        except Exception as exc:
            raise user_error(exc, "Generation failed", files) from exc
        wall = time.perf_counter() - t0
        video = Path(result.video)
        if not video.is_file():
            raise _error("Generation finished without writing a video; please report this with the server log.")
        if progress is not None:
            progress(0.99, desc="Plotting the predicted curves")
        plot = self.plot_result(result, run / "predicted_curves.png")
        profile_zip = self.profile_zip(result, run)
        summary = self.generate_summary(result, stages, wall, seen_before)
        log.info("generate: done in %.1f s -> %s", wall, video)
        return str(video), str(plot), str(profile_zip), summary

    def mouth_curve(self, result: Any):
        """Mouth opening of the predicted frames (inner-lip gap / face height), or None if it cannot be computed."""
        from facial.speaker import face_model as fm

        try:
            landmarks = getattr(result, "landmarks", None)
            if landmarks is None:
                from facial.speaker.profile import load_profile

                profile = load_profile(result.profile_dir)
                basis = getattr(self.pipeline, "basis", None) or fm.ExpressionBasis.from_pretrained()
                p = result.params
                if p.n_expression != basis.k:
                    return None
                landmarks = fm.landmarks_from_params(p.pose, p.expression, p.blink, profile.identity, basis, profile.blink_shape)
            return fm.mouth_opening(landmarks)
        except Exception as exc:  # a plot without the mouth row is better than no result
            log.warning("mouth curve unavailable: %s", exc)
            return None

    def plot_result(self, result: Any, path: Path) -> Path:
        from facial.speaker.plots import plot_tracks

        return plot_tracks(result.params, path, mouth=self.mouth_curve(result))

    def profile_zip(self, result: Any, run: Path) -> Path:
        """The speaker profile folder as a zip (made once per profile folder)."""
        src = Path(result.profile_dir)
        key = str(src.resolve())
        cached = self._zips.get(key)
        if cached is not None and cached.is_file():
            return cached
        dst = _zip_dir(src, run / f"speaker_profile_{src.name[:16]}.zip")
        self._zips[key] = dst
        return dst

    def speaker_cached(self, speaker: Path) -> bool:
        """Whether the pipeline already holds a profile of this speaker file (same content hash)."""
        from facial.media import DEFAULT_FPS

        find = getattr(self.pipeline, "profile_dir_for", None)
        if find is None:
            return False
        try:
            folder = Path(find(speaker, DEFAULT_FPS))
        except Exception as exc:  # the cache lookup must never stop a generation
            log.debug("profile cache lookup failed: %s", exc)
            return False
        return (folder / "profile.json").is_file()

    @staticmethod
    def generate_summary(result: Any, stages: StageProgress, wall: float, seen_before: bool) -> str:
        params = result.params
        lines = [f"**Done in {wall:.1f} s** — {len(params)} frames at {params.fps:g} fps ({len(params) / params.fps:.1f} s)"
                 + (f", {getattr(result, 'renderer', '')} renderer" if getattr(result, "renderer", "") else "")
                 + (f", motion from {result.driver}" if getattr(result, "driver", "") else "") + "."]
        tuned = "fine-tuning" in stages.worked
        if seen_before and not tuned:
            lines.append("Speaker seen before (same file): tracking and fine-tuning were skipped, the saved profile was reused.")
        elif seen_before:
            lines.append("Speaker seen before (same file): tracking was skipped (saved profile reused); fine-tuned for this effort.")
        timings = dict(getattr(result, "timings", {}) or {})
        parts = [f"{k} {float(v):.1f} s" for k, v in timings.items() if isinstance(v, (int, float))]
        if parts:
            lines.append("Stages: " + ", ".join(parts) + ".")
        for note in getattr(result, "notes", None) or []:
            lines.append(f"Note: {note}")
        return "\n\n".join(lines)

    # ---------------------------------------------------------------- evaluate tab
    def evaluate(self, video: Any, reference: Any = None, metrics: Sequence[str] | str | None = None,
                 progress: Callable[..., Any] | None = gr.Progress()) -> tuple[Any, str | None, str]:
        """Clip (+ optional frame-aligned real clip) → (metric table, curves plot, JSON download)."""
        import pandas as pd

        from evaluation import registry
        from evaluation.scoring import score_clip, values_to_json
        from evaluation.types import ClipInput

        video_path = self.check_video(video, "video to evaluate")
        ref_path = self.check_video(reference, "reference clip") if _path(reference) is not None else None
        metrics = [m for m in ([metrics] if isinstance(metrics, str) else (metrics or [])) if m] or ["default"]
        try:
            registry.resolve(metrics)
        except Exception as exc:
            raise user_error(exc, "Unknown metric") from exc
        if progress is not None:
            progress(0.05, desc="Tracking the face and computing the metrics")
        run = self.new_run_dir("evaluate")
        try:
            result = score_clip(ClipInput(video_path, reference=ref_path), metrics, progress=False)
        except Exception as exc:
            raise user_error(exc, "Evaluation failed", (video_path, ref_path)) from exc
        rows = []
        for v in result.values:
            spec = registry.get(v.name)
            rows.append({
                "metric": v.name,
                "better": spec.arrow,
                "value": round(v.value, 4) if v.value is not None else None,
                "unit": spec.unit,
                "status": "ok" if v.is_ok else f"{v.status}: {v.reason}",
                "what it measures": spec.summary,
            })
        table = pd.DataFrame(rows, columns=["metric", "better", "value", "unit", "status", "what it measures"])
        plot = self.plot_traces(result.traces, run / "evaluated_curves.png", title=video_path.name) if result.traces else None
        out = run / f"{Path(video_path).stem}_metrics.json"
        out.write_text(json.dumps(values_to_json(result), indent=2, ensure_ascii=False))
        return table, (str(plot) if plot else None), str(out)

    @staticmethod
    def plot_traces(traces: dict, path: Path, *, title: str = "", fps: float = 25.0) -> Path:
        """Yaw/pitch/roll, blink and mouth opening of an evaluated clip, as a PNG."""
        import numpy as np
        from matplotlib.figure import Figure

        groups = [("rotation (deg)", [k for k in ("yaw", "pitch", "roll") if k in traces]),
                  ("blink (1 = closed)", ["blink"] if "blink" in traces else []),
                  ("mouth opening", ["mouth"] if "mouth" in traces else [])]
        groups = [g for g in groups if g[1]]
        fig = Figure(figsize=(10, 2.1 * len(groups)))
        axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (label, keys) in zip(axes, groups):
            for k in keys:
                y = np.asarray(traces[k], dtype=float)
                ax.plot(np.arange(len(y)) / fps, y, lw=1, label=k)
            ax.set_ylabel(label)
            if len(keys) > 1:
                ax.legend(loc="upper right", fontsize=7, ncol=3)
        axes[-1].set_xlabel("time (s)")
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        return path

    @staticmethod
    def metric_choices() -> list[str]:
        """Group names first, then every metric name (for the Evaluate tab's picker)."""
        try:
            from evaluation import registry

            groups = list(registry.groups())
            return groups + [n for n in registry.names() if n not in groups]
        except Exception as exc:  # the app still starts; Evaluate reports the problem when used
            log.warning("metric registry unavailable: %s", exc)
            return ["default"]

    # ---------------------------------------------------------------- benchmark tab
    @staticmethod
    def benchmark_specs() -> list[str]:
        """Names of the bundled benchmark specs (``evaluation/specs/*.yaml``)."""
        try:
            import evaluation

            folder = Path(evaluation.__file__).resolve().parent / "specs"
        except Exception:  # pragma: no cover
            return []
        return sorted(p.name for p in folder.glob("*.y*ml")) if folder.is_dir() else []

    def run_benchmark(self, spec_name: str | None, spec_upload: Any = None, methods_text: str = "", reference_dir: str = "",
                      progress: Callable[..., Any] | None = gr.Progress(track_tqdm=True)) -> tuple[str, list[str], str]:
        """A bundled or uploaded spec, or method folders → (Markdown summary, plot files, results zip).

        Method folders (``NAME=FOLDER`` lines, videos named after their clips) are scored as they are
        (``measure`` protocol, measurements only); a folder of the real clips adds ``ground_truth``.
        """
        from evaluation.benchmark import load_spec, run_benchmark, spec_from_dict

        upload = _path(spec_upload)
        given = [bool(spec_name), upload is not None, bool((methods_text or "").strip())]
        if sum(given) == 0:
            raise _error("Nothing to run: pick a bundled spec, upload a spec (YAML), or give method folders (NAME=FOLDER lines).")
        if sum(given) > 1:
            raise _error("Give only one of: a bundled spec, an uploaded spec, or method folders (clear the others).")
        run = self.new_run_dir("benchmark")
        try:
            if spec_name:
                import evaluation

                path = Path(evaluation.__file__).resolve().parent / "specs" / Path(spec_name).name
                if not path.is_file():
                    raise _error(f"No bundled spec named {spec_name!r}; pick one of {', '.join(self.benchmark_specs()) or 'none'}.")
                spec = load_spec(path)
            elif upload is not None:
                self._check_server_paths_allowed("Uploaded benchmark specs (they name clips on the server)")
                self._check_size(upload, "The spec")
                spec = load_spec(upload)
            else:
                methods = self._method_folders(methods_text, None, run)
                entries: list[Any] = [{"name": n, "folder": str(p)} for n, p in methods.items()]
                clips = {"folder": str(next(iter(methods.values())))}
                if (reference_dir or "").strip():
                    clips = {"folder": str(self.server_folder(reference_dir.strip()))}
                    entries.insert(0, "ground_truth")
                spec = spec_from_dict({"name": "method_folders", "clips": clips, "protocol": "measure",
                                       "methods": entries, "metrics": ["measurements"]}, base=run)
        except gr.Error:
            raise
        except Exception as exc:
            raise user_error(exc, "The benchmark spec is not usable") from exc
        if progress is not None:
            progress(0.0, desc=f"Benchmark {spec.name}: {len(spec.clips)} clips × {len(spec.methods)} methods")
        try:
            result = run_benchmark(spec, run / "out", jobs=1, progress=True)
        except Exception as exc:
            raise user_error(exc, "The benchmark failed") from exc
        out = result.out_dir
        summary = (out / "aggregate.md").read_text() if (out / "aggregate.md").is_file() else "No results."
        if len(result.unavailable):
            summary += f"\n\n{len(result.unavailable)} cell(s) could not be computed; see `unavailable.csv` in the zip."
        plots = sorted(str(p) for p in (out / "plots").glob("*.png")) if (out / "plots").is_dir() else []
        bundle = run / f"benchmark_{spec.name}.zip"
        tmp = bundle.with_name(f".{bundle.name}.partial")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(out.rglob("*")):
                rel = p.relative_to(out)
                if p.is_file() and not p.is_symlink() and rel.parts[0] not in ("cache", "prepared", "results"):
                    zf.write(p, rel.as_posix())
        os.replace(tmp, bundle)
        return summary, plots, str(bundle)

    # ---------------------------------------------------------------- user-study tab
    def _method_folders(self, text: str, archive: Any, run: Path) -> dict[str, Path]:
        """``NAME=FOLDER`` lines (folders on the server) and/or a zip whose top folders are the methods."""
        methods: dict[str, Path] = {}
        for i, line in enumerate((text or "").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                raise _error(f"Line {i} of the method folders ({line!r}) is not NAME=FOLDER; write e.g. ours=results/ours")
            name, folder = (s.strip() for s in line.split("=", 1))
            methods[name] = self.server_folder(folder)
        zpath = _path(archive)
        if zpath is not None:
            root = _single_root(safe_extract(zpath, run / "methods", max_bytes=4 * self.config.max_upload_bytes))
            for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))):
                if d.name in methods:
                    raise _error(f"Method {d.name!r} is given twice (as a folder and inside {zpath.name}); rename one")
                methods[d.name] = d
        return methods

    def _check_server_paths_allowed(self, what: str) -> None:
        if self.config.data_root is None and not self.config.loopback_only:
            raise _error(f"{what} naming folders on the server are switched off on a public server. Upload the videos as a "
                         "zip instead, or (as the server's admin) set FACIAL_DATA_ROOT to the folder that may be read.")

    def server_folder(self, text: str) -> Path:
        """A folder typed by the user: must exist, and lie inside FACIAL_DATA_ROOT when that is set
        (typed folders are refused on a non-loopback server without FACIAL_DATA_ROOT)."""
        self._check_server_paths_allowed("Typed folders")
        folder = Path(text).expanduser()
        root = self.config.data_root
        if root is not None and not folder.is_absolute():
            folder = root / folder
        if not folder.is_dir():
            raise _error(f"The folder {text!r} does not exist on the server; give a folder path that exists there, "
                         "or upload the folders as a zip instead.")
        if root is not None:
            r = Path(root).expanduser().resolve()
            if folder.resolve() != r and r not in folder.resolve().parents:
                raise _error(f"The folder {text!r} lies outside FACIAL_DATA_ROOT ({root}); only folders inside it can be used. "
                             "Upload the folders as a zip instead.")
        return folder

    def build_study(self, folders_text: str, archive: Any, scale: str = "2afc", checks: float = 2, seed: float = 0,
                    progress: Callable[..., Any] | None = gr.Progress()) -> tuple[list[str], str]:
        """Method folders → ([study zip (keep private), participant zip], Markdown summary)."""
        from user_study.build import BuildConfig, build_study
        from user_study.types import StudyError

        run = self.new_run_dir("study")
        methods = self._method_folders(folders_text, archive, run)
        if not methods:
            raise _error("No result folders given: write NAME=FOLDER lines (e.g. ours=results/ours) or upload a zip with one "
                         "folder of videos per method.")
        if progress is not None:
            progress(0.1, desc=f"Rendering the stimuli of {len(methods)} methods")
        try:
            cfg = BuildConfig(methods={k: str(v) for k, v in methods.items()}, scale=scale, checks=int(checks), seed=int(seed))
            report = build_study(cfg, run / "study")
        except (StudyError, ValueError, FileNotFoundError) as exc:
            raise user_error(exc, "The study could not be built") from exc
        except Exception as exc:
            raise user_error(exc, "Building the study") from exc
        full = _zip_dir(run / "study", run / f"study_{report['study_id']}_PRIVATE_with_key.zip")
        public = _zip_dir(run / "study" / "public", run / f"study_{report['study_id']}_participants.zip")
        summary = (f"**Study {report['study_id']}**: {report['n_trials']} trials ({report['n_attention_checks']} attention checks), "
                   f"{report['n_clips']} clips of {report['clip_duration_s']:.2f} s, methods {', '.join(report['methods'])}.\n\n"
                   f"- `{public.name}`: give this to participants (open `index.html`).\n"
                   f"- `{full.name}`: keep it private (it holds `key.json`); upload it below with the answers to analyse.")
        if report.get("dropped_clips"):
            summary += "\n- Dropped clips (not in every folder): " + "; ".join(f"{m}: {', '.join(c)}" for m, c in report["dropped_clips"].items())
        return [str(full), str(public)], summary

    def analyze_study(self, study: Any, answers: Any, max_failed_checks: float = 0,
                      progress: Callable[..., Any] | None = gr.Progress()) -> tuple[str, str | None, str]:
        """Study zip (with key) + answer files → (Markdown report, plot, results zip)."""
        from user_study.analysis import analyze, report_markdown, write_results
        from user_study.types import StudyError

        zpath = _path(study)
        if zpath is None:
            raise _error("No study given: upload the study zip made by “Build” (the PRIVATE one, with key.json).")
        answer_paths = [p for p in (_path(a) for a in (answers if isinstance(answers, (list, tuple)) else [answers])) if p]
        if not answer_paths:
            raise _error("No answers given: upload the answer files (CSV from the form or the study server, or the form's JSON).")
        run = self.new_run_dir("analysis")
        root = _single_root(safe_extract(zpath, run / "study", max_bytes=4 * self.config.max_upload_bytes))
        try:
            result = analyze(root, answer_paths, max_failed_checks=int(max_failed_checks))
            written = write_results(result, run / "results", protect=answer_paths)
        except (StudyError, ValueError, FileNotFoundError) as exc:
            raise user_error(exc, "The answers could not be analysed", answer_paths + [zpath]) from exc
        except Exception as exc:
            raise user_error(exc, "Analysing the study") from exc
        plot = next((str(p) for n, p in written.items() if n.endswith(".png")), None)
        results_zip = _zip_dir(run / "results", run / "study_results.zip")
        return report_markdown(result), plot, str(results_zip)
