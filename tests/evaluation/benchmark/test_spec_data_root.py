"""Specs uploaded to a public app: every path they name must lie inside the data root (after
symlinks), and refusals name the field without echoing any file's content."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evaluation.benchmark import SpecError, spec_from_dict
from facial import media

SECRET = "top-secret-first-line,do-not-echo"


def _clip(path: Path) -> Path:
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=s=64x64:r=25:d=1",
                    "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)
    return path


@pytest.fixture()
def roots(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "clips").mkdir(parents=True)
    (outside / "clips").mkdir(parents=True)
    _clip(root / "clips" / "a.mp4")
    _clip(outside / "clips" / "secret.mp4")
    (outside / "notes.csv").write_text(SECRET + "\n1,2\n")
    return root, outside


def _spec(**changes):
    spec = {"name": "t", "clips": {"folder": "clips"}, "protocol": "measure", "methods": ["ground_truth"], "metrics": ["blink"]}
    spec.update(changes)
    return spec


def _refused(spec, root, field):
    with pytest.raises(SpecError) as err:
        spec_from_dict(spec, base=root, data_root=root)
    msg = str(err.value)
    assert msg.startswith(field) and SECRET not in msg and "\n" not in msg, msg
    return msg


def test_a_spec_inside_the_root_is_accepted_with_relative_paths(roots):
    root, _ = roots
    spec = spec_from_dict(_spec(cache_dir="cache"), base=Path("/somewhere/else"), data_root=root)
    assert [c.path for c in spec.clips] == [(root / "clips" / "a.mp4").resolve()]


@pytest.mark.parametrize("given", ["ABS", "../outside/clips", "clips/../../outside/clips", "~", "$HOME"])
def test_clip_folders_outside_the_root_are_refused(roots, given):
    root, outside = roots
    folder = str(outside / "clips") if given == "ABS" else given
    _refused(_spec(clips={"folder": folder}), root, "clips.folder")


def test_a_manifest_outside_the_root_is_refused_without_reading_it(roots):
    root, outside = roots
    _refused(_spec(clips={"manifest": str(outside / "notes.csv")}), root, "clips.manifest")


def test_a_manifest_that_is_not_one_does_not_echo_its_first_line(roots):
    root, outside = roots
    (root / "bad.csv").write_text(SECRET + "\n")
    msg = _refused(_spec(clips={"manifest": "bad.csv"}), root, "clips.manifest")
    assert "is not a clip manifest" in msg


def test_manifest_rows_naming_files_outside_the_root_are_refused(roots):
    root, outside = roots
    (root / "m.csv").write_text(f"id,path\nsecret,{outside / 'clips' / 'secret.mp4'}\n")
    assert "outside the data root" in _refused(_spec(clips={"manifest": "m.csv"}), root, "clips.manifest")


def test_a_symlink_inside_the_root_pointing_out_is_refused(roots):
    root, outside = roots
    (root / "clips" / "link.mp4").symlink_to(outside / "clips" / "secret.mp4")
    _refused(_spec(), root, "clips.folder")
    (root / "clips" / "link.mp4").unlink()
    (root / "linked").symlink_to(outside / "clips", target_is_directory=True)
    _refused(_spec(clips={"folder": "linked"}), root, "clips.folder")


def test_cache_dir_method_folders_and_weights_outside_the_root_are_refused(roots):
    root, outside = roots
    _refused(_spec(cache_dir=str(outside / "cache")), root, "cache_dir")
    _refused(_spec(methods=[{"name": "theirs", "folder": str(outside / "clips")}]), root, "methods.theirs.folder")
    _refused(_spec(methods=[{"name": "theirs", "manifest": str(outside / "notes.csv")}]), root, "methods.theirs.manifest")
    _refused(_spec(options={"syncnet_weights": str(outside / "notes.csv")}), root, "options.syncnet_weights")


def test_without_a_data_root_local_use_is_unchanged(roots):
    root, outside = roots
    spec = spec_from_dict(_spec(clips={"folder": str(outside / "clips")}), base=root)
    assert [c.id for c in spec.clips] == ["secret"]
