"""The Generate tab: speech + a speaker clip or photo (or a published speaker from the gallery,
:mod:`demo.tabs.publish`) → a talking-face video, its predicted curves, the speaker profile as a
zip, and a summary.

:class:`StageProgress` turns the pipeline's ``progress(stage, fraction)`` reports into one
forward-moving :class:`gradio.Progress` bar.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from demo.config import DemoConfig
from demo.errors import error, user_error
from demo.tabs.base import request
from demo.tabs.publish import HubSpeakers
from demo.uploads import upload_path, zip_dir

log = logging.getLogger(__name__)

RENDERERS = ("warp", "neural")
FINETUNE_EFFORTS = ("none", "fast", "full")
HEAD_MOTION_RANGE = (0.0, 2.0)
BLINK_RATE_RANGE = (0.0, 60.0)  # blinks per minute; 0 = the speaker's own rate

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


# --------------------------------------------------------------------------- the tab
class GenerateTab(HubSpeakers):
    """The Generate tab's actions (a mixin of :class:`demo.handlers.Handlers`)."""

    def __init__(self, pipeline: Any, config: DemoConfig | None = None):
        super().__init__(pipeline, config)
        self._zips: dict[str, Path] = {}  # profile folder -> its zip, made once

    @property
    def renderers(self) -> tuple[str, ...]:
        return tuple(getattr(self.pipeline, "renderers", None) or RENDERERS)

    @property
    def finetune_efforts(self) -> tuple[str, ...]:
        return tuple(getattr(self.pipeline, "finetune_efforts", None) or FINETUNE_EFFORTS)

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

        if upload_path(value) is None:
            return gr.update(value=None, visible=False), gr.update(value=None, visible=False)
        path = self.check_speaker(value)
        if is_image(path):
            return gr.update(value=None, visible=False), gr.update(value=str(path), visible=True)
        return gr.update(value=str(path), visible=True), gr.update(value=None, visible=False)

    @request
    def generate(self, audio: Any, speaker: Any, renderer: str = "warp", head_motion: float = 1.0,
                 blink_rate: float | None = 0.0, finetune_effort: str = "fast", seed: float | None = 0,
                 published: str | None = None,
                 progress: Callable[..., Any] | None = gr.Progress()) -> tuple[str, str, str, str]:
        """Speech + speaker → (video, curves plot, speaker profile zip, Markdown summary).

        ``published``: a gallery speaker (one of ``FACIAL_SPEAKERS``), used when no clip is uploaded.
        """
        audio_path = self.check_audio(audio)
        chosen = None
        if upload_path(speaker) is None and published:
            chosen = self.published_speaker(published)
            speaker_path = Path(chosen.folder)
        elif upload_path(speaker) is None and self.config.speakers:
            raise error("No speaker given: upload a short video of the person talking (mp4, mov, webm) or one photo, "
                        "or pick a published speaker from the gallery.")
        else:
            speaker_path = self.check_speaker(speaker)
        renderer_note = ""
        if chosen is not None and not chosen.footage and renderer == "warp":
            renderer = "neural"  # the warp renderer draws from the clip's frames, which were not published
            renderer_note = (f"{chosen.ref} was published without its footage, so its trained neural renderer drew it "
                             "(the warp renderer needs the clip).")
        if renderer not in self.renderers:
            raise error(f"Unknown renderer {renderer!r}; choose one of {', '.join(self.renderers)}.")
        if finetune_effort not in self.finetune_efforts:
            raise error(f"Unknown fine-tuning effort {finetune_effort!r}; choose one of {', '.join(self.finetune_efforts)}.")
        try:
            head_motion = float(head_motion)
            rate = float(blink_rate) if blink_rate not in (None, "") else 0.0
            seed_i = int(seed) if seed not in (None, "") else 0
        except (TypeError, ValueError) as exc:
            raise error(f"Options must be numbers ({exc}); reset them to the defaults.") from exc
        lo, hi = HEAD_MOTION_RANGE
        if not lo <= head_motion <= hi:
            raise error(f"Head-motion strength must lie in [{lo:g}, {hi:g}] (1 = the speaker's own), got {head_motion:g}.")
        lo, hi = BLINK_RATE_RANGE
        if not lo <= rate <= hi:
            raise error(f"Blink rate must lie in [{lo:g}, {hi:g}] blinks/min (0 = the speaker's own rate), got {rate:g}.")
        if seed_i < 0:
            raise error(f"Seed must be 0 or a positive whole number, got {seed_i}.")

        run = self.new_run_dir("generate")
        out = run / "facial_result.mp4"
        seen_before = chosen is None and self.speaker_cached(speaker_path)
        labels = {"tracking": "Loading the saved speaker profile"} if seen_before else {}
        if chosen is not None:
            labels = {"tracking": "Loading the published speaker", "fine-tuning": "Loading the speaker's own motion model"}
        stages = StageProgress(progress, labels=labels)
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
            raise error("Generation finished without writing a video; please report this with the server log.")
        if progress is not None:
            progress(0.99, desc="Plotting the predicted curves")
        plot = self.plot_result(result, run / "predicted_curves.png")
        profile_zip = self.profile_zip(result, run)
        summary = self.generate_summary(result, stages, wall, seen_before)
        if chosen is not None:
            summary += f"\n\nPublished speaker: {chosen.caption}." + (f" {renderer_note}" if renderer_note else "")
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
        dst = zip_dir(src, run / f"speaker_profile_{src.name[:16]}.zip")
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
