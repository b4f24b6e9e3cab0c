"""Layout and wiring of the app (:func:`build_demo`); what the buttons do lives in :mod:`demo.handlers`
(one module per tab under :mod:`demo.tabs`)."""
from __future__ import annotations

import logging
import os
from typing import Any

import gradio as gr

from demo.config import DemoConfig
from demo.handlers import Handlers
from demo.tabs.generate import BLINK_RATE_RANGE, HEAD_MOTION_RANGE

log = logging.getLogger(__name__)

INTRO = """# FACIAL — audio-driven talking faces
Give a speech recording and a short clip (or one photo) of a person: the app makes a video of that
person saying the recording, with lips synchronised to the speech and the person's own style of head
motion and eye blinks (a re-implementation of *FACIAL*, Zhang et al., ICCV 2021).
Only use footage of people who agreed to it, and label the results as synthetic."""

EVALUATE_HELP = """Upload a generated (or real) clip to measure lip sync, blinks and head motion.
Add the real clip it should reproduce (same frames, self-reenactment) for LMD, pose error and image metrics.
↑ higher is better, ↓ lower is better, → closer to the target is better, · descriptive (compare with real clips)."""

BENCHMARK_HELP = """Run a benchmark spec (methods × clips × metrics) and get the summary table, plots and all
results as a zip. Pick a bundled spec, upload one (YAML), or give method folders of output videos."""

PUBLISH_HELP = """Share the speaker you just generated with (its tracked profile, its personalised motion
model and, if you trained one with the neural renderer, the renderer) as a Hugging Face model repo.
Only publish people who agreed to be animated and published; the clip itself stays here unless you
own it and tick the box. Another FACIAL app loads it with `FACIAL_SPEAKERS=owner/name`."""

STUDY_HELP = """Build a blind, counterbalanced user study from folders of result videos (one folder per method,
videos named after their clips), then upload the participants' answers to analyse them."""


def _analytics_enabled() -> bool:
    return os.environ.get("GRADIO_ANALYTICS_ENABLED", "False").strip().lower() in ("1", "true", "yes")


def build_demo(pipeline: Any, config: DemoConfig | None = None, *, example: bool = False) -> gr.Blocks:
    """The app's :class:`gradio.Blocks` around one already-built ``pipeline``.

    ``example=True`` preselects the built-in example (astronaut photo + a synthetic sentence) in the
    Generate tab. Nothing is launched; call ``.queue(**config.queue_kwargs()).launch(...)``.
    """
    config = config or DemoConfig()
    h = Handlers(pipeline, config)
    ex_audio = ex_speaker = None
    if example:
        ex_audio, ex_speaker = h.example_inputs()

    # delete_cache: Gradio's own copies of uploads and results older than an hour go (checked every 10 min)
    with gr.Blocks(title="FACIAL talking faces", analytics_enabled=_analytics_enabled(), delete_cache=(600, 3600)) as demo:
        demo.handlers = h  # for tests and scripts
        gr.Markdown(INTRO)
        note = getattr(pipeline, "driver_note", "")
        if note:  # the fallback driver is said on the page, not only in a log
            gr.Markdown(f"**Note:** {note}.", elem_id="driver-note")
        with gr.Tabs():
            # ------------------------------------------------------------------ Generate
            with gr.Tab("Generate", id="generate"):
                with gr.Row():
                    with gr.Column(scale=1):
                        audio = gr.Audio(value=ex_audio, sources=["upload", "microphone"], type="filepath",
                                         label=f"Speech — upload or record (≤ {config.max_audio_s:g} s)", elem_id="audio-input")
                        gallery = chosen_md = published = None
                        if config.speakers:  # FACIAL_SPEAKERS: published speakers, fetched once here
                            published = gr.State(None)  # the gallery choice (a State: not part of the /generate API)
                            gallery = gr.Gallery(value=h.gallery_value(), label="Published speakers", columns=4, height=200,
                                                 allow_preview=False, interactive=False, object_fit="cover",
                                                 elem_id="speaker-gallery")
                            gr.Markdown(h.gallery_note(), elem_id="speaker-gallery-note")
                            chosen_md = gr.Markdown("", elem_id="chosen-speaker")
                        speaker = gr.File(value=ex_speaker, label=f"Speaker — a short clip (mp4/mov/webm, ≤ {config.max_clip_s:g} s) or one photo",
                                          type="filepath", elem_id="speaker-input")
                        preview_video = gr.Video(label="Speaker clip", interactive=False, visible=False, height=220,
                                                 elem_id="speaker-preview-video")
                        preview_image = gr.Image(value=ex_speaker, label="Speaker photo", interactive=False, type="filepath",
                                                 visible=ex_speaker is not None, height=220, elem_id="speaker-preview-image")
                        example_btn = gr.Button("Use the built-in example", size="sm", elem_id="example-btn")
                        with gr.Accordion("Options", open=True):
                            renderer = gr.Radio(list(h.renderers), value="warp", label="Renderer", elem_id="renderer",
                                                info="warp: fast, training-free (CPU); neural: the paper's rendering-to-video network (trains on the clip; GPU)")
                            head_motion = gr.Slider(*HEAD_MOTION_RANGE, value=1.0, step=0.05, label="Head-motion strength",
                                                    info="1 = the speaker's own; 0 = still head")
                            blink_rate = gr.Slider(*BLINK_RATE_RANGE, value=0, step=1, label="Blink rate (blinks/min)",
                                                   info="0 = learn the speaker's own rate from the clip")
                            effort = gr.Radio(list(h.finetune_efforts), value="fast" if "fast" in h.finetune_efforts else h.finetune_efforts[0],
                                              label="Fine-tuning effort", info="how long to personalise the motion model on the clip")
                            seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                        generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn")
                    with gr.Column(scale=1):
                        video_out = gr.Video(label="Result", interactive=False, elem_id="result-video")
                        curves_out = gr.Image(label="Predicted head pose, blinks and mouth opening", type="filepath",
                                              interactive=False, elem_id="curves-plot")
                        profile_out = gr.File(label="Speaker profile (zip; unzip and reuse with `facial generate --speaker FOLDER`)",
                                              interactive=False, elem_id="profile-file")
                        summary_out = gr.Markdown(elem_id="generate-summary")
                        if h.publish_enabled:  # FACIAL_ALLOW_PUBLISH=1 (+ HF_TOKEN); absent from the page otherwise
                            with gr.Accordion("Publish this speaker to the Hugging Face Hub", open=False, elem_id="publish-box"):
                                gr.Markdown(PUBLISH_HELP)
                                pub_repo = gr.Textbox(label="Repo id (owner/name)", placeholder="your-name/speaker-name",
                                                      elem_id="publish-repo")
                                pub_private = gr.Checkbox(value=True, label="Private repo")
                                pub_consent = gr.Checkbox(value=False, elem_id="publish-consent",
                                                          label="The person in the clip agreed to be animated and published")
                                pub_note = gr.Textbox(label="Consent note for the model card (optional)", lines=2)
                                pub_footage = gr.Checkbox(value=False, label="Also publish the clip (only footage you own)")
                                pub_btn = gr.Button("Publish speaker", elem_id="publish-btn")
                                pub_out = gr.Markdown(elem_id="publish-result")
                            pub_btn.click(h.publish_speaker, [speaker, pub_repo, pub_private, pub_consent, pub_note, pub_footage],
                                          pub_out, api_visibility="private", concurrency_id="publish")
                speaker.change(h.preview_speaker, speaker, [preview_video, preview_image], api_visibility="private", show_progress="hidden")
                if gallery is not None:
                    gallery.select(h.on_gallery_select, None, [published, chosen_md, speaker], api_visibility="private")
                    speaker.upload(h.clear_pick, None, [published, chosen_md], api_visibility="private", show_progress="hidden")
                example_btn.click(h.example_inputs, None, [audio, speaker], api_visibility="private")
                generate_btn.click(
                    h.generate, [audio, speaker, renderer, head_motion, blink_rate, effort, seed] + ([published] if gallery else []),
                    [video_out, curves_out, profile_out, summary_out],
                    api_name="generate", concurrency_limit=config.concurrency, concurrency_id="generate",
                    api_description="Speech + speaker clip/photo → talking-face mp4, curves plot (png), speaker profile (zip), summary.",
                )

            # ------------------------------------------------------------------ Evaluate
            with gr.Tab("Evaluate", id="evaluate"):
                gr.Markdown(EVALUATE_HELP)
                with gr.Row():
                    with gr.Column(scale=1):
                        ev_video = gr.Video(label="Clip to evaluate", sources=["upload"], elem_id="eval-video")
                        ev_ref = gr.Video(label="Real reference clip (optional, frame-aligned)", sources=["upload"], elem_id="eval-reference")
                        ev_metrics = gr.Dropdown(h.metric_choices(), value=["default"], multiselect=True, label="Metrics (names or groups)")
                        ev_btn = gr.Button("Evaluate", variant="primary", elem_id="evaluate-btn")
                    with gr.Column(scale=2):
                        ev_table = gr.Dataframe(label="Metrics", interactive=False, wrap=True, elem_id="eval-table")
                        ev_plot = gr.Image(label="Head pose, blinks and mouth of the clip", type="filepath", interactive=False)
                        ev_file = gr.File(label="All values (JSON)", interactive=False)
                ev_btn.click(h.evaluate, [ev_video, ev_ref, ev_metrics], [ev_table, ev_plot, ev_file],
                             api_name="evaluate", concurrency_id="evaluate")

            # ------------------------------------------------------------------ Benchmark
            with gr.Tab("Benchmark", id="benchmark"):
                gr.Markdown(BENCHMARK_HELP)
                with gr.Row():
                    with gr.Column(scale=1):
                        bm_spec = gr.Dropdown(h.benchmark_specs(), value=None, label="Bundled spec", allow_custom_value=False)
                        bm_upload = gr.File(label="…or upload a spec (YAML)", file_types=[".yaml", ".yml", ".json"], type="filepath")
                        bm_methods = gr.Textbox(label="…or method folders on the server, one NAME=FOLDER per line", lines=3,
                                                placeholder="ours=results/ours\nwav2lip=results/wav2lip")
                        bm_reference = gr.Textbox(label="Real clips folder for the method folders (optional)", lines=1)
                        bm_btn = gr.Button("Run benchmark", variant="primary")
                    with gr.Column(scale=2):
                        bm_table = gr.Markdown(label="Summary")
                        bm_plot = gr.Gallery(label="Plots", columns=2, height=360, interactive=False)
                        bm_file = gr.File(label="All results (zip)", interactive=False)
                bm_btn.click(h.run_benchmark, [bm_spec, bm_upload, bm_methods, bm_reference], [bm_table, bm_plot, bm_file],
                             api_name="benchmark", concurrency_id="benchmark")

            # ------------------------------------------------------------------ User study
            with gr.Tab("User study", id="user-study"):
                gr.Markdown(STUDY_HELP)
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("### 1. Build")
                        st_folders = gr.Textbox(label="Method folders on the server, one NAME=FOLDER per line", lines=3,
                                                placeholder="ours=results/ours\nwav2lip=results/wav2lip")
                        st_zip = gr.File(label="…or a zip with one folder of videos per method", file_types=[".zip"], type="filepath")
                        with gr.Row():
                            st_scale = gr.Radio(["2afc", "mos5"], value="2afc", label="Scale", info="A/B choice or 1–5 ratings")
                            st_checks = gr.Number(value=2, precision=0, minimum=0, label="Attention checks")
                            st_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
                        st_build = gr.Button("Build study", variant="primary")
                        st_files = gr.File(label="Study (private, with key) and participant package", file_count="multiple", interactive=False)
                        st_summary = gr.Markdown()
                    with gr.Column():
                        gr.Markdown("### 2. Analyse")
                        an_study = gr.File(label="Study zip (the private one, with key.json)", file_types=[".zip"], type="filepath")
                        an_answers = gr.File(label="Answer files (CSV or JSON)", file_count="multiple", type="filepath")
                        an_checks = gr.Number(value=0, precision=0, minimum=0, label="Attention checks a participant may fail")
                        an_btn = gr.Button("Analyse answers", variant="primary")
                        an_report = gr.Markdown()
                        an_plot = gr.Image(label="Preferences / MOS", type="filepath", interactive=False)
                        an_file = gr.File(label="Tables and report (zip)", interactive=False)
                st_build.click(h.build_study, [st_folders, st_zip, st_scale, st_checks, st_seed], [st_files, st_summary],
                               api_name="build_study", concurrency_id="study")
                an_btn.click(h.analyze_study, [an_study, an_answers, an_checks], [an_report, an_plot, an_file],
                             api_name="analyze_study", concurrency_id="study")
    return demo
