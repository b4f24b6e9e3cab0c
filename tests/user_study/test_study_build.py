"""Building a study: stimuli, manifest, key, forms; bad input; real dev clips."""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from facial.media import load_audio, probe, read_video
from user_study.build import BuildConfig, build_study
from user_study.design import StudyPaths, load_study
from user_study.stimuli import RenderSpec, load_panel, normalize_loudness, speech_level_dbfs
from user_study.types import StudyError


def _codec(path: Path) -> tuple[str, str]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return v.codec_context.name, v.codec_context.pix_fmt


def _public_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in StudyPaths(root).public.rglob("*") if p.is_file()]


def test_normalize_loudness_known_levels():
    t = np.arange(16000) / 16000
    tone = 0.01 * np.sin(2 * np.pi * 200 * t)  # RMS 0.01/sqrt(2) → -43.0 dBFS
    assert speech_level_dbfs(tone) == pytest.approx(20 * np.log10(0.01 / np.sqrt(2)), abs=0.05)
    out = normalize_loudness(tone, target_dbfs=-23.0)
    assert speech_level_dbfs(out) == pytest.approx(-23.0, abs=0.05)
    # gating: a long silence does not pull the level down
    padded = np.concatenate([np.zeros(48000), tone])
    assert speech_level_dbfs(normalize_loudness(padded)) == pytest.approx(-23.0, abs=0.05)
    # peak ceiling wins over the target for very peaky input
    spiky = tone.copy()
    spiky[100] = 0.5
    assert np.max(np.abs(normalize_loudness(spiky, target_dbfs=-10, peak_dbfs=-1))) == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    assert np.all(normalize_loudness(np.zeros(100)) == 0)


def test_load_panel_shift_and_letterbox(tmp_path, study_helpers):
    clip = study_helpers.synthetic_clip(tmp_path / "c.mp4", 2.0, seed=0, size=48)
    spec = RenderSpec(width=64, height=32, duration_s=1.6)
    plain = load_panel(clip, spec)
    shifted = load_panel(clip, RenderSpec(width=64, height=32, duration_s=0.6), shift_frames=25)
    assert plain.shape == (40, 32, 64, 3)
    assert np.abs(shifted[0].astype(int) - plain[25].astype(int)).mean() < 3
    assert np.abs(shifted[0].astype(int) - plain[0].astype(int)).mean() > 5
    assert plain[:, :, :16].max() == 0 and plain[:, :, -16:].max() == 0  # 48x48 into 64x32 → black side bars


def test_build_synthetic_end_to_end(tmp_path, synthetic_methods, caplog):
    out = tmp_path / "study"
    with caplog.at_level(logging.INFO):
        report = build_study(BuildConfig(methods={k: str(v) for k, v in synthetic_methods.items()}, width=64, height=64), out)
    # bad input: different clip sets → intersection, dropped listed; different durations → trimmed, said
    assert report["dropped_clips"] == {"moving": ["c"], "still": ["d"]}
    assert "dropped" in caplog.text and "moving: c" in caplog.text
    assert report["clip_duration_s"] == pytest.approx(1.0)
    assert "trimmed to the shortest, 1.00 s" in caplog.text
    assert set(report["trimmed_clips"]) == {"moving/a", "moving/b"}
    manifest, key = load_study(out)
    assert report["n_trials"] == len(manifest.trials) == 2 + 2
    sizes = set()
    for t in manifest.trials:
        f = StudyPaths(out).public / t.stimulus
        info = probe(f)
        sizes.add((info.width, info.height, info.n_frames))
        assert info.has_audio and info.duration == pytest.approx(1.0, abs=0.05)
        assert _codec(f) == ("h264", "yuv420p")
        assert speech_level_dbfs(load_audio(f).samples) == pytest.approx(-23.0, abs=1.0)
    assert sizes == {(2 * 64 + 8, 64 + 32, 25)}
    # the two pair trials show each method once on the left
    pair_trials = [key.trials[t] for t in manifest.trial_ids if key.trials[t].pair]
    assert sorted(k.methods[0] for k in pair_trials) == ["moving", "still"]
    # nothing participant-facing names a method, a clip folder or the key
    for path, data in _public_bytes(out):
        for secret in (b"moving", b"still", str(tmp_path).encode(), b"expected"):
            assert secret not in data, (path, secret)
        assert path.stem in manifest.trial_ids or path.name in ("index.html", "study.json", "questions.csv")
    assert not any(p.name == "key.json" for p in StudyPaths(out).public.rglob("*"))
    with open(StudyPaths(out).questions_csv, newline="") as f:
        q = list(csv.DictReader(f))
    assert len(q) == len(manifest.trials) * 4 and q[0]["choices"] == "A|B"
    html = StudyPaths(out).html.read_text()
    assert manifest.study_id in html and "stimuli/t01.mp4" in html
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp leftovers


def test_build_sequential_mos_normalises_each_half(tmp_path, synthetic_methods):
    cfg = BuildConfig(methods={k: str(v) for k, v in synthetic_methods.items()}, scale="2afc", layout="sequential",
                      width=48, height=48, checks=0)
    build_study(cfg, tmp_path / "seq")
    manifest, key = load_study(tmp_path / "seq")
    f = StudyPaths(tmp_path / "seq").public / manifest.trials[0].stimulus
    info = probe(f)
    assert info.duration == pytest.approx(2 * 1.0 + 2 * 0.5, abs=0.05) and (info.width, info.height) == (48, 80)
    audio = load_audio(f).samples
    a, b = audio[8000:24000], audio[32000:48000]  # clip A after its 0.5 s card, clip B after its card
    # inputs differ by 20 dB (gain 0.2 vs 0.02); after normalisation both halves are at -23 dBFS
    assert speech_level_dbfs(a) == pytest.approx(-23, abs=1.0) and speech_level_dbfs(b) == pytest.approx(-23, abs=1.0)
    # MOS: one trial per method and clip, questions phrased as ratings
    build_study(BuildConfig(methods={k: str(v) for k, v in synthetic_methods.items()}, scale="mos5", width=48, height=48, checks=1),
                tmp_path / "mos")
    m2, k2 = load_study(tmp_path / "mos")
    assert len(m2.trials) == 2 * 2 + 1 and m2.choices == ("1", "2", "3", "4", "5")
    assert all(len(k.methods) == 1 for k in k2.trials.values())
    assert "(1 = " in m2.questions[0].prompt


def test_build_refuses_bad_output_and_leaves_nothing_on_failure(tmp_path, synthetic_methods):
    methods = {k: str(v) for k, v in synthetic_methods.items()}
    out = tmp_path / "study"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(StudyError, match="not empty"):
        build_study(BuildConfig(methods=methods), out)
    with pytest.raises(StudyError, match="not a study folder"):
        build_study(BuildConfig(methods=methods), out, force=True)
    assert (out / "mine.txt").read_text() == "keep me"
    with pytest.raises(StudyError, match="overlaps"):
        build_study(BuildConfig(methods=methods), synthetic_methods["moving"] / "study")
    # a corrupt clip fails the build before anything appears
    for folder in synthetic_methods.values():
        (folder / "zz.mp4").write_bytes(b"not a video")
    with pytest.raises(StudyError, match="zz"):
        build_study(BuildConfig(methods=methods, width=48, height=48), tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_build_force_replaces_a_previous_study(tmp_path, synthetic_methods):
    methods = {k: str(v) for k, v in synthetic_methods.items()}
    build_study(BuildConfig(methods=methods, width=48, height=48, checks=0, seed=1), tmp_path / "s")
    (tmp_path / "s" / "answers").mkdir()
    r2 = build_study(BuildConfig(methods=methods, width=48, height=48, checks=1, seed=2), tmp_path / "s", force=True)
    assert json.loads((tmp_path / "s" / "build_report.json").read_text())["study_id"] == r2["study_id"]
    assert r2["n_attention_checks"] == 1 and not (tmp_path / "s" / "answers").exists()


def test_bad_config():
    with pytest.raises(StudyError, match="at least two"):
        BuildConfig(methods={"a": "x"}).validate()
    with pytest.raises(StudyError, match="unknown study setting"):
        BuildConfig.from_mapping({"methods": {"a": "x"}, "colour": "red"})
    with pytest.raises(StudyError, match="even"):
        BuildConfig(methods={"a": "x", "b": "y"}, width=101).validate()
    with pytest.raises(StudyError, match="not one of the methods"):
        BuildConfig(methods={"a": "x", "b": "y"}, audio_from="c").validate()


@pytest.mark.shared_data
def test_build_on_real_dev_clips(tmp_path, real_methods, caplog):
    methods = {"groundtruth": str(real_methods["real"]), "staticframe": str(real_methods["static"])}
    with caplog.at_level(logging.WARNING):
        report = build_study(BuildConfig(methods=methods, width=224, height=224, checks=2), tmp_path / "study")
    dropped = report["dropped_clips"]["groundtruth"]
    assert len(dropped) == 1 and dropped[0] in caplog.text
    assert report["clip_duration_s"] == pytest.approx(2.6) and "trimmed to the shortest" in caplog.text
    manifest, key = load_study(tmp_path / "study")
    clips = sorted({k.clip for k in key.trials.values()})
    assert len(clips) == 2 and len(manifest.trials) == 4
    # counterbalancing: each method is on the left in one of the two pair trials
    assert sorted(key.trials[t].methods[0] for t in manifest.trial_ids if key.trials[t].pair) == ["groundtruth", "staticframe"]
    for t in manifest.trials:
        f = StudyPaths(tmp_path / "study").public / t.stimulus
        info = probe(f)
        assert (info.width, info.height, info.n_frames) == (2 * 224 + 8, 256, 65)
        assert _codec(f) == ("h264", "yuv420p")
        assert speech_level_dbfs(load_audio(f).samples) == pytest.approx(-23.0, abs=1.0)
        tk = key.trials[t.id]
        frames = read_video(f, 25).frames
        left, right = frames[:, 32:, :224].astype(int), frames[:, 32:, 232:].astype(int)
        motion = lambda x: np.abs(np.diff(x, axis=0)).mean()  # noqa: E731
        if tk.pair:  # the static side does not move
            static, real = (left, right) if tk.methods[0] == "staticframe" else (right, left)
            assert motion(static) < 0.5 < motion(real)
        else:  # attention check: same clip, the shifted side is 1 s ahead
            shifted, plain = (left, right) if tk.check["shifted"] == "A" else (right, left)
            assert np.abs(shifted[0] - plain[25]).mean() < 6 < np.abs(shifted[0] - plain[0]).mean()
    for path, data in _public_bytes(tmp_path / "study"):
        for secret in [b"groundtruth", b"staticframe", b"Audio_Source", b"Input_000", str(tmp_path).encode()]:
            assert secret not in data, (path, secret)
