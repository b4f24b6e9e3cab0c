"""Hugging Face Space entry point: build the FACIAL pipeline once and serve the Gradio app.

Settings come from the environment (see :mod:`demo.config`): ``FACIAL_CHECKPOINT`` (checkpoint
folder or Hugging Face repo id; default: the repository's own), ``FACIAL_SPEAKERS`` (published
speakers ``owner/name,…`` for the Generate tab's gallery), ``FACIAL_ALLOW_PUBLISH=1`` ("publish this
speaker", with ``HF_TOKEN``; off by default), ``FACIAL_MAX_UPLOAD_MB``,
``FACIAL_MAX_AUDIO_S``, ``FACIAL_MAX_CLIP_S``, ``FACIAL_THREADS``, ``FACIAL_CONCURRENCY`` (default 1: one generation at a
time, others queued), ``FACIAL_HOST`` / ``FACIAL_PORT``, ``FACIAL_EXAMPLE=1`` (preselect the
built-in example). Gradio analytics are off unless ``GRADIO_ANALYTICS_ENABLED=True``.
"""
from __future__ import annotations

import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from demo import build_demo
    from demo.config import DemoConfig
    from facial.cli._common import configure_threads
    from facial.pipeline import FacialPipeline

    logging.basicConfig(level=os.environ.get("FACIAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = DemoConfig.from_env()
    # torch's thread count is process-wide: set once here, never inside requests (FACIAL_CONCURRENCY > 1 would race)
    configure_threads(config.threads)
    logging.getLogger("app").info("loading the pipeline (checkpoint: %s)", config.checkpoint or "the repository's own")
    pipeline = FacialPipeline(audio2face=config.checkpoint, max_audio_seconds=config.max_audio_s,
                              max_clip_seconds=config.max_clip_s, cache_max_bytes=config.cache_max_gb * 1e9,
                              limit_settings=("FACIAL_MAX_AUDIO_S", "FACIAL_MAX_CLIP_S"), render_workers=config.render_workers)
    if config.speakers:
        logging.getLogger("app").info("published speakers for the gallery: %s", ", ".join(config.speakers))
    if config.allow_publish:
        logging.getLogger("app").info("publishing speakers to the Hub is on (FACIAL_ALLOW_PUBLISH=1; token from HF_TOKEN: %s)",
                                      "set" if os.environ.get("HF_TOKEN") else "MISSING")
    example = os.environ.get("FACIAL_EXAMPLE", "").strip().lower() in ("1", "true", "yes")
    demo = build_demo(pipeline, config, example=example)
    demo.queue(**config.queue_kwargs()).launch(**config.launch_kwargs())


if __name__ == "__main__":
    main()
