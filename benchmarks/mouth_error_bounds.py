"""Why FACIAL-GAN's mouth landmark error stays near the held frame's (issue #13 item 5).

On the speaker-disjoint protocol's folds (``benchmarks/speaker_disjoint.py``: fold checkpoints in
``WORK/fold<k>``), for every speaker and system (zero-shot, ``fast``) the mouth landmark error of
the test part (40 lip points, the protocol's metric) over the held-frame baseline's, four ways:

- ``as predicted``;
- ``own mean``: the prediction's mean expression moved onto the speaker part's mean;
- ``own mean + best scale``: in addition, the predicted motion scaled by the factor that fits the
  *test part* best (least squares over all expression coefficients) — a bound, not a method;
- ``test-mean held``: a frame held at the *test part's* own mean expression.

    python benchmarks/mouth_error_bounds.py --manifest ../shared/data/MANIFEST.csv --profiles /work/cache/profiles \\
        --work /work/cache/a2f/sd_per -o mouth_error_bounds.md
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio2face_eval as a2e  # noqa: E402
import speaker_disjoint as sd  # noqa: E402

log = logging.getLogger("mouth_error_bounds")


def mouth_error(expression: np.ndarray, clip: a2e.SplitClip, basis) -> float:
    """The protocol's mouth landmark error (px) of ``expression`` on ``clip``'s test part (real pose and blinks)."""
    from facial.speaker import face_model as fm

    s, e = clip.test_range
    prof = clip.profile
    real = prof.params.slice(s, e)
    lm = fm.landmarks_from_params(real.pose, expression, real.blink, prof.identity, basis, prof.blink_shape)
    ref = prof.landmarks[s:e]

    def centred(p: np.ndarray) -> np.ndarray:
        return p - p.mean(1, keepdims=True)

    return float(np.linalg.norm(centred(lm[:, fm.MOUTH, :2]) - centred(ref[:, fm.MOUTH, :2]), axis=-1).mean())


def bounds(pred: np.ndarray, clip: a2e.SplitClip, basis) -> list[float]:
    """The four error ratios of one clip (see the module docstring)."""
    s, e = clip.test_range
    own = clip.train.params.expression.mean(0)
    real = clip.profile.params.expression[s:e]
    held = mouth_error(np.repeat(own[None], e - s, 0), clip, basis)
    motion = pred - pred.mean(0)
    scale = float((motion * (real - own)).sum() / max(float((motion ** 2).sum()), 1e-9))
    return [mouth_error(pred, clip, basis) / held, mouth_error(own + motion, clip, basis) / held,
            mouth_error(own + scale * motion, clip, basis) / held,
            mouth_error(np.repeat(real.mean(0)[None], e - s, 0), clip, basis) / held]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--profiles", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="the protocol's fold checkpoints: WORK/fold<k>")
    parser.add_argument("--folds", default=",".join(sd.FOLDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from facial.audio2face import FacialGAN, animate
    from facial.audio2face.data import clip_from_profile, profile_audio
    from facial.audio2face.finetune import finetune_clips
    from facial.cli._common import configure_threads
    from facial.speaker import face_model as fm
    from facial.speaker.profile import load_profile

    configure_threads(args.threads)
    basis = fm.ExpressionBasis.from_pretrained()
    available = a2e.eval_speakers(args.manifest, args.profiles, sd.MIN_SECONDS)
    lines = ["| fold | speaker | system | as predicted | own mean | own mean + best scale (bound) | test-mean held |",
             "|---|---|---|---|---|---|---|"]
    for fold in args.folds.split(","):
        ckpt = args.work / fold
        if not (ckpt / "model.safetensors").exists():
            parser.error(f"{ckpt}: no fold checkpoint (benchmarks/speaker_disjoint.py trains it)")
        model = FacialGAN.from_pretrained(ckpt)
        if model.config.finetune.sync > 0:  # `fast` uses the lip-sync expert: the fold's own (speaker_disjoint.py)
            own = args.work / f"{fold}-sync-expert"
            if model.config.losses.sync_expert is None and (own / "model.safetensors").exists():
                model.config = model.config.replace(losses={**model.config.to_dict()["losses"], "sync_expert": str(own)})
            sd.check_expert(model.config.losses.sync_expert, sd.FOLDS[fold])
        encoder = model.config.audio.encoder()
        for person in sd.FOLDS[fold]:
            if person not in available:
                continue
            clips = []
            for cid, folder in available[person]:
                prof = load_profile(folder)
                clips.append(a2e.SplitClip(cid, person, prof, profile_audio(prof), int(round(prof.n_frames * a2e.TRAIN_FRACTION))))
            data = [clip_from_profile(c.train, c.train_audio(), encoder, name=c.name, speaker=person) for c in clips]
            fast = model.config.finetune.budget("fast")
            quick = finetune_clips(model, data, steps=fast.steps, max_seconds=fast.max_seconds, batch_size=fast.batch_size,
                                   adversarial=fast.adversarial, progress=False, name=person)
            for system, m in (("zero-shot", model), ("fast", quick)):
                rows = np.array([[c.test_range[1] - c.test_range[0],
                                  *bounds(animate(m, c.test_audio(), c.train, seed=0).expression, c, basis)] for c in clips])
                w = rows[:, 0] / rows[:, 0].sum()
                v = (rows[:, 1:] * w[:, None]).sum(0)
                lines.append(f"| {fold} | {person.removeprefix('person_')} | {system} | " + " | ".join(f"{x:.2f}" for x in v) + " |")
                log.info("%s", lines[-1])
    text = "\n".join(lines) + "\n"
    if args.output:
        from facial.atomic import write_text

        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
