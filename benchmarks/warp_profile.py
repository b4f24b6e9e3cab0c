"""Where the warp renderer's time goes: milliseconds per frame for each stage of ``render_frame``.

```
python benchmarks/warp_profile.py --speaker CLIP_OR_PROFILE [--frames 150] [--cache DIR]
```

The speaker (a clip, a photo or a profile folder; tracked into ``--cache`` once) is rendered from
its own track played backwards (so the planner has to pick other frames and paste mouths and eyes),
one thread, after a warm-up that loads the compiled kernels. Each stage is timed by wrapping the
function ``render_frame`` calls (wall clock, so a busy machine inflates every row alike).
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

STAGES = (("rasterize", "facial.face_render.warp", "rasterize"),
          ("warp_frame (backward map + remap)", "facial.face_render.mesh_warp", "warp_frame"),
          ("mouth patch (paste_from)", "facial.face_render.transplant", "paste_from"),
          ("eye patch (paste_eyes)", "facial.face_render.transplant", "paste_eyes"),
          ("mouth interior synthesis", "facial.face_render.synth", "paint_mouth_interior"),
          ("closed lids + lash line", "facial.face_render.synth", "close_lids"),
          ("closed lids + lash line", "facial.face_render.synth", "paint_lash_line"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speaker", required=True, type=Path, help="speaker clip, photo or profile folder")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--cache", type=Path, default=None, help="cache folder for the tracked profile (default $FACIAL_CACHE)")
    args = ap.parse_args(argv)
    from facial.cli._common import configure_threads

    configure_threads(1)
    import importlib

    import numpy as np

    from facial.face_render import WarpRenderer
    from facial.pipeline import FacialPipeline
    from facial.types import FaceParams

    pipe = FacialPipeline(cache_dir=args.cache, driver="envelope")
    profile = pipe.speaker_profile(args.speaker)
    if profile.n_frames > 1:
        pp = profile.params
        n = min(args.frames, profile.n_frames)
        idx = np.arange(n)[::-1]
        params = FaceParams(pp.pose[idx], pp.expression[idx], pp.blink[idx], pp.fps)
    else:  # a photo: the built-in example's speech through the envelope driver (mouth and blinks move)
        from facial import media
        from facial.examples import default_inputs

        params = pipe.animate(media.load_audio(default_inputs(args.cache)[0]), profile)[0]
        n = min(args.frames, len(params))
        params = params.slice(0, n)
    renderer = WarpRenderer(profile)
    _ = renderer.frames
    plan = renderer.plan(params)
    renderer.render(FaceParams(params.pose[:5], params.expression[:5], params.blink[:5], params.fps), plan=None)

    spent: dict[str, float] = defaultdict(float)
    for label, module, name in STAGES:
        mod = importlib.import_module(module)
        fn = getattr(mod, name)

        @functools.wraps(fn)
        def timed(*a, _fn=fn, _label=label, **k):
            t = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - t

        setattr(mod, name, timed)
    t = time.perf_counter()
    renderer.render(params, plan=plan)
    total = time.perf_counter() - t
    w, h = profile.size
    print(f"{args.speaker.name}: {n} frames at {w}×{h}, {1000 * total / n:.1f} ms per frame = {n / total:.0f} fps "
          f"(one thread, load {os.getloadavg()[0]:.1f})")
    print("| stage | ms per frame |\n|---|---:|")
    for label in dict.fromkeys(s[0] for s in STAGES):
        print(f"| {label} | {1000 * spent[label] / n:.2f} |")
    print(f"| the rest (face canvas, uint8 conversion, loop) | {1000 * (total - sum(spent.values())) / n:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
