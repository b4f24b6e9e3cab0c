"""``facial generate``: the whole pipeline, speech + speaker → talking-face mp4.

```
facial generate [--audio AUDIO] [--speaker CLIP_OR_PHOTO_OR_PROFILE_OR_OWNER/NAME] -o OUT.mp4 [--renderer warp|neural]
                [--fps 25] [--head-motion 1.0] [--blink-rate PER_MIN] [--seed N]
```
Without ``--audio``/``--speaker`` the built-in example is used (see :mod:`facial.examples`).
``--speaker owner/name`` (or ``owner/name@revision``) loads a speaker published on the Hugging Face
Hub (``facial publish``); a local file or folder of that name always wins. A speaker published
without its footage is drawn by its trained neural renderer (the warp renderer needs the clip).
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from facial.cli._common import configure_threads

log = logging.getLogger(__name__)


class StageProgress:
    """A progress bar per pipeline stage (tqdm), fed by ``callback(stage, fraction)``."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.stage: str | None = None
        self.bar = None

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=100, desc=f"{stage:>8}", unit="%", leave=True, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")
        self.bar.update(max(0, int(round(100 * min(max(fraction, 0.0), 1.0))) - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_generate(args: argparse.Namespace) -> int:
    """Handler of ``facial generate``."""
    from facial.pipeline import FacialPipeline

    configure_threads(args.threads)
    audio, speaker = args.audio, args.speaker
    if audio is None or speaker is None:
        from facial.examples import default_inputs

        ex_audio, ex_speaker = default_inputs(args.cache_dir)
        if audio is None and speaker is None:
            log.info("no --audio/--speaker: using the built-in example (%s, %s)", ex_audio.name, ex_speaker.name)
        audio, speaker = audio or ex_audio, speaker or ex_speaker
    neural = {k: v for k, v in (("size", args.neural_size), ("minutes", args.neural_minutes), ("steps", args.neural_steps))
              if v is not None}
    pipe = FacialPipeline(cache_dir=args.cache_dir, max_audio_seconds=args.max_audio_seconds, device=args.device,
                          driver=args.driver, audio2face=args.audio2face, max_clip_seconds=args.max_clip_seconds,
                          render_workers=args.render_workers)
    renderer = args.renderer
    if not isinstance(speaker, Path) and not Path(speaker).expanduser().exists():
        from facial.hub import has_footage, is_repo_id, split_revision

        if is_repo_id(split_revision(speaker)[0]):  # a published speaker: fetched (or taken from the cache) once, here
            speaker = pipe.speaker_profile(speaker)
            if renderer == "warp" and not has_footage(speaker):  # the warp renderer needs the clip's frames
                renderer = "neural"
                log.info("%s was published without its footage: rendering with its trained neural renderer", args.speaker)
    progress = StageProgress(enabled=not args.quiet)
    try:
        result = pipe.generate(audio, speaker, args.output, renderer=renderer, head_motion=args.head_motion,
                               blink_rate=args.blink_rate, seed=args.seed, finetune_effort=args.finetune_effort,
                               freeze_pose_blink=args.lips_only, fps=args.fps, neural_options=neural or None, progress=progress)
    finally:
        progress.close()
    times = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    log.info("wrote %s (%d frames, %s driver, %s renderer; %s)", result.video, len(result.params), result.driver, result.renderer, times)
    return 0


def register(subparsers) -> None:
    """Add ``generate`` to the ``facial`` CLI's sub-parsers."""
    p = subparsers.add_parser("generate", help="speech + speaker clip/photo/profile → talking-face mp4",
                              description="Make a talking-face video. Without --audio/--speaker, the built-in example "
                                          "(astronaut photo + an espeak-ng sentence) is used.")
    p.add_argument("--audio", type=Path, help="speech recording (wav/mp3/m4a or a video with sound)")
    p.add_argument("--speaker", help="speaker clip, photo, profile folder from `facial track`, or a speaker published on "
                                     "the Hugging Face Hub (owner/name[@revision])")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.add_argument("--renderer", choices=["warp", "neural"], default="warp",
                   help="warp: training-free, CPU (default); neural: FACIAL's Rendering-to-Video (trained per speaker, GPU; "
                        "always used for a speaker published without footage)")
    p.add_argument("--fps", type=float, default=25.0, help="output frame rate (default 25)")
    p.add_argument("--head-motion", type=float, default=1.0, help="head-motion strength: 0 still … 1 the speaker's own (default 1)")
    p.add_argument("--blink-rate", type=float, help="blinks per minute (default: the speaker's own rate)")
    p.add_argument("--seed", type=int, default=0, help="random seed (blinks, sampling)")
    p.add_argument("--finetune-effort", choices=["none", "fast", "full"], default="fast", help="FACIAL-GAN personalisation (cached)")
    p.add_argument("--lips-only", action="store_true", help="baseline: hold the head still and the eyes open")
    p.add_argument("--max-audio-seconds", type=float, default=120.0, help="refuse longer speech (default 120)")
    p.add_argument("--max-clip-seconds", type=float, default=600.0,
                   help="refuse longer speaker clips, checked while decoding (default 600)")
    p.add_argument("--cache-dir", type=Path, help="cache folder (default $FACIAL_CACHE or ~/.cache/facial)")
    p.add_argument("--audio2face", help="FACIAL-GAN checkpoint folder or HF repo id (default: packaged)")
    p.add_argument("--driver", choices=["auto", "facial-gan", "envelope"], default="auto",
                   help="motion driver; auto falls back to the procedural envelope driver when FACIAL-GAN is missing")
    p.add_argument("--neural-size", type=int, help="neural renderer resolution when it must be trained (default 256)")
    p.add_argument("--neural-minutes", type=float, help="training budget when the neural renderer must be trained (default 10)")
    p.add_argument("--neural-steps", type=int, help="training steps instead of minutes")
    p.add_argument("--device", default="auto", help="torch device for the neural renderer (default: CUDA if present)")
    p.add_argument("--render-workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="warp-renderer threads: frames rendered at once (default: 2, or 1 on a one-core machine)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: fine-tuning's small batches run fastest on one; 0 = torch's default)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_generate)
