"""The README's four frames of a generated video (lips nearly closed, half open, wide open, a blink),
and how much its re-tracked mouth moves with the speech (docs/RENDERING.md, README "Synthetic speech").

    .venv/bin/facial generate -o /tmp/example.mp4          # the built-in example
    .venv/bin/python benchmarks/example_strip.py /tmp/example.mp4 -o docs/img/example_strip.png

The video is re-tracked (FaceMesh); among frames with open eyes (eye aperture above its 30th
percentile) it picks the smallest, the median and the largest mouth opening, plus the frame with
the smallest eye aperture, and crops the upper middle of each (where the built-in example's face is).
It also logs the opening's std (face heights) and its best Pearson r with the speech envelope within
±4 frames — the two numbers of the RENDERING.md table.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("example_strip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--tile", type=int, default=256)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import cv2

    from facial import atomic, media
    from facial.audio import speech_envelope
    from facial.speaker import face_model as fm
    from facial.speaker.blink import eye_aperture
    from facial.speaker.landmarks import track_frames

    video = media.read_video(args.video)
    lm = track_frames(iter([video.frames]), video.fps, progress=False).landmarks
    opening, aperture = fm.mouth_opening(lm), eye_aperture(lm).mean(1)
    eyes_open = aperture > np.percentile(aperture, 30)
    closed = int(np.argmin(np.where(eyes_open, opening, np.inf)))
    half = int(np.argmin(np.where(eyes_open, np.abs(opening - np.median(opening[eyes_open])), np.inf)))
    wide = int(np.argmax(np.where(eyes_open, opening, -np.inf)))
    blink = int(np.argmin(aperture))
    env = speech_envelope(media.load_audio(args.video), video.fps, len(opening))
    r = max(float(np.corrcoef(opening[max(0, k):len(opening) + min(0, k)], env[max(0, -k):len(env) - max(0, k)])[0, 1])
            for k in range(-4, 5))
    log.info("mouth opening std %.4f face heights; best r with the speech envelope within ±4 frames %.2f", opening.std(), r)
    picks = (closed, half, wide, blink)
    log.info("frames %s: mouth opening %s, eye aperture %s", picks, opening[list(picks)].round(3), aperture[list(picks)].round(3))
    h, w = video.frames.shape[1:3]
    crop = (slice(int(0.02 * h), int(0.44 * h)), slice(int(0.28 * w), int(0.70 * w)))
    tiles = [cv2.resize(video.frames[i][crop], (args.tile, args.tile), interpolation=cv2.INTER_AREA) for i in picks]
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR))
    if not ok:
        raise SystemExit("could not encode the strip as PNG")
    atomic.write_bytes(args.output, png.tobytes())
    log.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
