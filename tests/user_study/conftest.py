"""Fixtures for the user-study tests: tiny synthetic clips, real dev clips, design-only studies."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from facial.media import write_video
from facial.types import AudioClip
from user_study.design import StudyPaths, derive_order_seed, participant_order, plan_trials, save_json, study_id_for
from user_study.types import Key, Manifest, Trial, default_questions

SHARED = Path(os.environ.get("FACIAL_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))  # override to test the skip
RAW_CLIPS = ["pcavs/Audio_Source_00015.mp4", "pcavs/Audio_Source_00086.mp4", "pcavs/Input_00010.mp4"]


def synthetic_clip(path: Path, seconds: float, *, seed: int, size: int = 48, moving: bool = True, gain: float = 0.2) -> Path:
    """A small clip: a square that moves (or not) and a modulated tone."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * 25))
    frames = np.zeros((n, size, size, 3), dtype=np.uint8)
    frames[:] = rng.integers(40, 200, 3, dtype=np.uint8)
    for i in range(n):
        x = (i * 2 if moving else 0) % (size - 12)
        frames[i, 18:30, x:x + 12] = 255
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (gain * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    return write_video(path, [frames], 25, audio=AudioClip(audio, 16000))


@pytest.fixture()
def synthetic_methods(tmp_path: Path) -> dict[str, Path]:
    """Two method folders: `moving` (clips a, b, c) and `still` (a, b, d, 0.2 s shorter), 1.2 s clips."""
    moving, still = tmp_path / "in" / "moving", tmp_path / "in" / "still"
    for i, clip in enumerate(["a", "b", "c"]):
        synthetic_clip(moving / f"{clip}.mp4", 1.2, seed=i)
    for i, clip in enumerate(["a", "b", "d"]):
        synthetic_clip(still / f"{clip}.mp4", 1.0, seed=10 + i, moving=False, gain=0.02)
    return {"moving": moving, "still": still}


def _needs_shared() -> None:
    if not (SHARED / "MANIFEST.csv").is_file():
        pytest.skip(f"{SHARED} is absent: the real dev clips (research-use, not in the repository) are needed")


def real_dev_clips() -> list[Path]:
    """Real (origin=real) dev clips listed in MANIFEST.csv, from RAW_CLIPS."""
    _needs_shared()
    with open(SHARED / "MANIFEST.csv", newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    out = []
    for rel in RAW_CLIPS:
        row = rows.get(f"raw/{rel}")
        if row and row["origin"] == "real" and (SHARED / "raw" / rel).is_file():
            out.append(SHARED / "raw" / rel)
    if len(out) < 3:
        pytest.skip("the real pcavs dev clips listed in MANIFEST.csv are missing")
    return out


@pytest.fixture()
def real_methods(tmp_path: Path) -> dict[str, Path]:
    """`real` = 3 s excerpts of three real dev clips; `static` = first frame held, same audio, for two of them
    (one 2.6 s long): so one clip is dropped and durations differ."""
    from facial.media import load_audio, read_video

    clips = real_dev_clips()
    real, static = tmp_path / "in" / "real", tmp_path / "in" / "static"
    for k, src in enumerate(clips):
        v = read_video(src, 25, max_frames=75)
        a = load_audio(src)
        write_video(real / src.name, [v.frames], 25, audio=AudioClip(a.samples[: 3 * 16000], 16000))
        if k < 2:
            n = 75 if k == 0 else 65
            write_video(static / src.name, [np.repeat(v.frames[:1], n, axis=0)], 25,
                        audio=AudioClip(a.samples[: n * 640] * 0.25, 16000))
    return {"real": real, "static": static}


def design_only_study(root: Path, *, n_clips: int = 10, scale: str = "2afc", n_checks: int = 2, seed: int = 0,
                      methods=("ours", "baseline")) -> tuple[Manifest, Key]:
    """Write a study's manifest and key without rendering (for analysis tests)."""
    clips = [f"clip{i:02d}" for i in range(n_clips)]
    questions = default_questions(scale)
    pairs = [[methods[0], m] for m in methods[1:]]
    planned = plan_trials(clips, list(methods), scale=scale, pairs=pairs, questions=questions, n_checks=n_checks, seed=seed)
    sid = study_id_for(seed, clips, {m: m for m in methods}, planned, scale)
    manifest = Manifest(sid, "t", "i", scale, "side_by_side", questions, [Trial(t.id, f"stimuli/{t.id}.mp4") for t in planned],
                        derive_order_seed(seed, sid), 2.0, 520, 288)
    key = Key(sid, seed, manifest.order_seed, {m: f"/x/{m}" for m in methods}, pairs, {t.id: t.to_key() for t in planned})
    paths = StudyPaths(root)
    save_json(paths.manifest, manifest.to_dict())
    save_json(paths.key, key.to_dict())
    return manifest, key


def simulate_answers(manifest: Manifest, key: Key, *, n_raters: int, p_first: float | dict, seed: int,
                     n_careless: int = 0, mos_means: dict | None = None) -> list[dict]:
    """Answer rows: attentive raters prefer pair[0] with probability ``p_first`` (per question if a dict);
    the last ``n_careless`` raters straight-line (always A, or 3-5 for MOS) and so fail a check."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_raters):
        pid = f"R{r:03d}"
        careless = r >= n_raters - n_careless
        for pos, t in enumerate(participant_order(manifest.trial_ids, manifest.order_seed, pid), 1):
            tk = key.trials[t]
            for q in manifest.question_ids:
                if manifest.scale == "2afc":
                    if careless:  # straight-lining "A": fails the check whose in-sync side is B
                        a = "A"
                    elif tk.check:
                        a = tk.check["expected"][0] if q == tk.check["question"] else ("A" if rng.random() < 0.5 else "B")
                    else:
                        p = p_first[q] if isinstance(p_first, dict) else p_first
                        first = rng.random() < p
                        a = "A" if (tk.methods[0] == tk.pair[0]) == first else "B"
                else:
                    if careless:
                        a = str(rng.integers(3, 6))
                    elif tk.check:
                        a = "1" if q == tk.check["question"] else str(rng.integers(1, 6))
                    else:
                        mu = mos_means[tk.methods[0]]
                        a = str(int(np.clip(np.round(rng.normal(mu, 0.8)), 1, 5)))
                rows.append({"study_id": manifest.study_id, "participant": pid, "trial": t, "question": q, "answer": a,
                             "position": pos, "timestamp": "", "source": "sim"})
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    from user_study.types import ANSWER_COLUMNS

    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(ANSWER_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture()
def study_helpers():
    """The helper functions above, for tests (conftest is not importable as a module)."""
    from types import SimpleNamespace

    return SimpleNamespace(design_only_study=design_only_study, simulate_answers=simulate_answers,
                           write_rows=write_rows, synthetic_clip=synthetic_clip)


P70 = {"lip_sync": 0.7, "head_motion": 0.5, "eye_blink": 0.5, "realism": 0.7}


@pytest.fixture()
def study_2afc(tmp_path, study_helpers):
    """A 2AFC design (10 clips, 2 checks) and 45 raters' answers: 70 % prefer `ours` on lip_sync and realism,
    50 % on the other questions; the last 5 raters straight-line "A" and fail a check."""
    manifest, key = study_helpers.design_only_study(tmp_path / "study", n_clips=10, n_checks=2, seed=5)
    rows = study_helpers.simulate_answers(manifest, key, n_raters=45, p_first=P70, seed=1, n_careless=5)
    path = study_helpers.write_rows(tmp_path / "answers.csv", rows)
    return tmp_path / "study", manifest, key, path
