"""Validate the lip-sync expert on people it never trained on.

    python benchmarks/sync_expert_eval.py [--manifest ../shared/data/MANIFEST.csv] [--shift 5]
        [--expert NAME=DIR ...] [--json OUT.json] [--work DIR] [--threads N]

Cases: every real/likely-real clip of the expert's validation persons (``config.json`` →
``provenance.val_persons``), scored as it is and with its audio delayed by +``shift`` and −``shift``
frames (ffmpeg ``adelay`` / ``atrim``, 16 kHz mono wav next to the untouched video: the
``--audio`` path of ``facial-eval score``). On each case: ``sync_offset`` / ``sync_conf`` /
``sync_dist`` through the metric registry (the shipped expert), ``av_offset`` beside it, and the
same three numbers for every ``--expert NAME=DIR`` (e.g. the pixel and landmark experts of
``facial train sync-expert --input both``) on the same face tracks.

Controls (per clip, shipped expert): ``sync_conf`` of the real clip against a **held-frame** copy
(the first frame for the whole clip, the real speech) and against the same face with **another
person's speech** (the next validation clip of a different person, cut or padded to length).

Prints Markdown tables; ``--json`` writes every case. Derived media go to ``--work`` (default: a
temporary folder) — never into the repository.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "MANIFEST.csv"
FPS = 25.0


def shifted_wav(src: Path, dst: Path, frames: int, duration: float) -> Path:
    """``src``'s audio delayed by ``frames`` video frames (negative: advanced), 16 kHz mono, ``duration`` s."""
    from facial import media

    ms = abs(frames) * 1000.0 / FPS
    if frames > 0:
        chain = f"adelay=delays={ms:.0f}:all=1"
    elif frames < 0:
        chain = f"atrim=start={ms / 1000:.3f},asetpts=PTS-STARTPTS"
    else:
        chain = "anull"
    chain += f",apad,atrim=end={duration:.3f}"
    cmd = [media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", f"file:{src}", "-vn", "-af", chain,
           "-ac", "1", "-ar", "16000", f"file:{dst}"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {src.name}: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return dst


def other_speech_wav(src: Path, dst: Path, duration: float) -> Path:
    """``src``'s speech looped (``-stream_loop -1``) and cut to ``duration`` seconds, 16 kHz mono."""
    from facial import media

    cmd = [media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-stream_loop", "-1", "-i", f"file:{src}", "-vn",
           "-t", f"{duration:.3f}", "-ac", "1", "-ar", "16000", f"file:{dst}"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {src.name}: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return dst


def held_frame_video(src: Path, dst: Path) -> Path:
    """The first frame of ``src`` held for its whole duration, with its real speech."""
    from facial import media

    first = media.read_video(src, FPS, max_frames=1).frames[0]
    audio = media.load_audio(src)
    n = int(round(audio.duration * FPS))
    return media.write_video(dst, (first for _ in range(n)), FPS, audio)


def expert_scores(model, video: Path, audio: Path | None, cache) -> dict:
    """sync offset/conf/dist of a (non-shipped) expert on the evaluation face track of ``video``."""
    from evaluation.extractors.landmarks import extract_face_track
    from facial import media
    from facial.sync_expert import features as feat
    from facial.sync_expert import scoring

    cfg = model.config
    face = extract_face_track(video, fps=FPS, cache=cache)
    speech = media.load_audio(audio or video)
    if cfg.visual_input == "landmarks":
        inputs = feat.ClipInputs(feat.lip_shapes(face.landmarks, face.valid), None, feat.log_mel(speech.samples, speech.sample_rate, cfg))
    else:
        frames = list(media.iter_video(video, FPS, max_side=feat.MAX_SIDE))
        scale = frames[0].shape[2] / face.size[0]
        crops = feat.mouth_crops(frames, feat.crop_transforms(face.landmarks, cfg, scale=scale), cfg.stored_crop)
        inputs = feat.ClipInputs(None, crops, feat.log_mel(speech.samples, speech.sample_rate, cfg))
    return scoring.score_inputs(model, inputs).to_dict()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    p.add_argument("--shift", type=int, default=5, help="frames of audio delay/advance (default 5)")
    p.add_argument("--expert", action="append", default=[], help="NAME=DIR: also score with this expert checkpoint")
    p.add_argument("--persons", help="comma-separated persons (default: the shipped expert's validation persons)")
    p.add_argument("--json", type=Path, help="write every case here")
    p.add_argument("--work", type=Path, help="folder for derived media and caches (default: temporary)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from evaluation.extractors.cache import ArrayCache
    from evaluation.scoring import score_clip
    from evaluation.tables import markdown_table
    from evaluation.types import ClipInput, EvalConfig
    from facial import media
    from facial.cli._common import configure_threads
    from facial.sync_expert.data import read_manifest
    from facial.sync_expert.model import SyncExpert

    configure_threads(args.threads)
    shipped = SyncExpert.from_pretrained()
    persons = args.persons.split(",") if args.persons else shipped.config.provenance.get("val_persons", [])
    if not persons:
        print("the shipped expert records no validation persons; pass --persons", file=sys.stderr)
        return 1
    extra = {}
    for spec in args.expert:
        name, _, path = spec.partition("=")
        extra[name] = SyncExpert.from_pretrained(path)
        if sorted(extra[name].config.provenance.get("val_persons", persons)) != sorted(persons):
            print(f"warning: expert {name} was validated on other persons", file=sys.stderr)
    clips = [e for e in read_manifest(args.manifest) if e.person in set(persons)]
    tmp = tempfile.TemporaryDirectory(prefix="sync-expert-eval-") if args.work is None else None
    work = Path(tmp.name) if tmp else args.work
    work.mkdir(parents=True, exist_ok=True)
    cache_dir = work / "cache"
    cache = ArrayCache(cache_dir)
    config = EvalConfig()
    metrics = ["sync_offset", "sync_conf", "sync_dist", "av_offset"]
    cases, controls = [], []
    t0 = time.perf_counter()
    for i, e in enumerate(clips):
        duration = media.probe(e.path).duration
        for k in (0, args.shift, -args.shift):
            wav = None if k == 0 else shifted_wav(e.path, work / f"{e.id}_shift{k:+d}.wav", k, duration)
            res = score_clip(ClipInput(e.path, audio=wav), metrics, config, cache_dir=cache_dir).by_name()
            row = {"clip": e.id, "person": e.person, "truth": k}
            for m in metrics:
                row[m] = res[m].value if res[m].is_ok else None
            for form in ("conf_curve", "conf_windows"):
                row[form] = res["sync_conf"].details.get(form) if res["sync_conf"].is_ok else None
                if not res[m].is_ok:
                    row[f"{m}_reason"] = res[m].reason
            for name, model in extra.items():
                sc = expert_scores(model, e.path, wav, cache)
                row.update({f"{name}_offset": sc["offset"], f"{name}_conf": sc["conf"], f"{name}_dist": sc["dist"]})
            cases.append(row)
        # controls: held frame, another person's speech
        other = next((o for o in clips[i + 1:] + clips[:i] if o.person != e.person), None)
        held = held_frame_video(e.path, work / f"{e.id}_held.mp4")
        r_held = score_clip(ClipInput(held), ["sync_conf", "sync_dist"], config, cache_dir=cache_dir).by_name()
        real = next(c for c in cases if c["clip"] == e.id and c["truth"] == 0)
        ctl = {"clip": e.id, "real_conf": real["sync_conf"], "held_conf": r_held["sync_conf"].value,
               "held_reason": r_held["sync_conf"].reason}
        for form in ("conf_curve", "conf_windows"):
            ctl[f"real_{form}"] = real[form]
            ctl[f"held_{form}"] = r_held["sync_conf"].details.get(form)
        if other is not None:
            wav = other_speech_wav(other.path, work / f"{e.id}_speech_of_{other.id}.wav", duration)
            r_other = score_clip(ClipInput(e.path, audio=wav), ["sync_conf", "sync_dist"], config, cache_dir=cache_dir).by_name()
            ctl.update({"other_speech": other.id, "other_conf": r_other["sync_conf"].value,
                        **{f"other_{form}": r_other["sync_conf"].details.get(form) for form in ("conf_curve", "conf_windows")}})
        controls.append(ctl)
        print(f"[{i + 1}/{len(clips)}] {e.id} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    def acc(key: str) -> str:
        ok = [abs(c[key] - c["truth"]) <= 1 for c in cases if c.get(key) is not None]
        return f"{sum(ok)}/{len(cases)} ({100 * sum(ok) / max(len(cases), 1):.0f} %)"

    print(f"validation persons: {', '.join(persons)}; {len(clips)} clips × shifts 0, ±{args.shift} = {len(cases)} cases\n")
    rows = [[c["clip"], f"{c['truth']:+d}", _fmt(c["sync_offset"]), _fmt(c["av_offset"]), _fmt(c["sync_conf"], 3)]
            + [_fmt(c[f"{n}_offset"]) for n in extra] for c in cases]
    print(markdown_table(["clip", "truth", "sync_offset", "av_offset", "sync_conf"] + [f"{n} offset" for n in extra], rows))
    print()
    summary = [["sync_offset (shipped expert)", acc("sync_offset")], ["av_offset (weights-free)", acc("av_offset")]]
    summary += [[f"{n} expert offset", acc(f"{n}_offset")] for n in extra]
    print(markdown_table(["estimate", "within ±1 frame of the truth"], summary))
    print()
    crow = [[c["clip"], _fmt(c["real_conf"], 3), _fmt(c["held_conf"], 3), _fmt(c.get("other_conf"), 3), c.get("other_speech", "")]
            for c in controls]
    print(markdown_table(["clip", "real", "held frame", "other speech", "other speech from"], crow))
    valid = [c for c in controls if c["real_conf"] is not None]
    held_lower = sum(1 for c in valid if c["held_conf"] is None or c["held_conf"] < c["real_conf"])
    other_lower = sum(1 for c in valid if c.get("other_conf") is not None and c["other_conf"] < c["real_conf"])
    print(f"\nsync_conf real > held frame: {held_lower}/{len(valid)}; real > other speech: {other_lower}/{len(valid)}; "
          f"means real {np.mean([c['real_conf'] for c in valid]):.3f}, held {_mean(c['held_conf'] for c in valid)}, "
          f"other {_mean(c.get('other_conf') for c in valid)}")
    for form in ("conf_curve", "conf_windows"):
        h = sum(1 for c in valid if c.get(f"held_{form}") is None or c[f"held_{form}"] < c[f"real_{form}"])
        o = sum(1 for c in valid if c.get(f"other_{form}") is not None and c[f"other_{form}"] < c[f"real_{form}"])
        print(f"  {form}: real > held {h}/{len(valid)}, real > other speech {o}/{len(valid)}; means real "
              f"{_mean(c[f'real_{form}'] for c in valid)}, held {_mean(c.get(f'held_{form}') for c in valid)}, "
              f"other {_mean(c.get(f'other_{form}') for c in valid)}")
    for key, label in [("sync_offset", "sync_offset")] + [(f"{n}_offset", f"{n} expert offset") for n in extra]:
        rel = [abs(c[key] - b[key] - c["truth"]) <= 1 for c in cases if c["truth"] != 0
               for b in cases if b["clip"] == c["clip"] and b["truth"] == 0 and None not in (c[key], b[key])]
        err = [c[key] - c["truth"] for c in cases if c.get(key) is not None]
        print(f"\n{label} relative to the clip's own unshifted estimate (shift recovered ±1): {sum(rel)}/{len(rel)}; "
              f"mean signed error against the applied shift {np.mean(err) if err else float('nan'):+.2f} frames")
    if args.json:
        args.json.write_text(json.dumps({"persons": persons, "shift": args.shift, "cases": cases, "controls": controls,
                                         "weights": shipped.weights_id(), "seconds": round(time.perf_counter() - t0, 1)},
                                        indent=2))
    if tmp:
        tmp.cleanup()
    return 0


def _fmt(v, digits: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:+.0f}" if digits == 0 else f"{v:.{digits}f}"


def _mean(values) -> str:
    v = [x for x in values if x is not None]
    return f"{np.mean(v):.3f}" if v else "–"


if __name__ == "__main__":
    sys.exit(main())
