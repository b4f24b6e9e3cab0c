"""Speaker profiles on the Hugging Face Hub: what a published speaker holds, and loading one.

A published speaker is a profile folder cut down to what animating the person needs::

    README.md                    the card: consent note, the clip's content hash, what is inside
    profile.json                 as written by `facial track`, minus the local source path, plus a
                                 "hub" block: {"format", "name", "consent", "footage", "audio2face", "face2vid"}
    params.safetensors           tracked pose / blink / expression / landmarks, identity, blink shape
    audio2face/<key>/            the FACIAL-GAN personalised to this speaker (config.json + model.safetensors)
    face2vid/                    its trained neural renderer (config.json + model.safetensors)
    frames.mp4                   ONLY with include_footage=True (the owner publishes the clip)

Never published: the source clip's local path, renderer training logs (``summary.json`` names local
folders), overlays and plots, other cached fine-tunes.

:func:`load_speaker` turns ``owner/name`` (optionally ``owner/name@revision``) into a local profile
folder under ``<FACIAL cache>/hub/speakers/<owner>--<name>/<commit>/`` (a copy of the snapshot, so
the pipeline may write its caches next to it without touching the Hugging Face cache). A speaker
published without footage gets ``reference.png`` there — the texture frame its renderer was trained
with, taken from the renderer's own weights — so the neural renderer can draw it; the warp
renderer, which needs the whole clip, refuses such a speaker with a clear message.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from facial.hub.resolve import CONFIG_FILE, WEIGHTS_FILE, CheckpointNotFound, download, is_repo_id, split_revision
from facial.hub.upload import PublishError

log = logging.getLogger(__name__)

PROFILE_FILE = "profile.json"
PARAMS_FILE = "params.safetensors"
FRAMES_FILE = "frames.mp4"
REFERENCE_FILE = "reference.png"
THUMBNAIL_FILE = "thumbnail.png"
AUDIO2FACE_DIR = "audio2face"
FACE2VID_DIR = "face2vid"
HUB_FORMAT = 1
SPEAKER_PATTERNS = (PROFILE_FILE, PARAMS_FILE, "README.md", f"{AUDIO2FACE_DIR}/*", f"{FACE2VID_DIR}/*", FRAMES_FILE)
#: remote files a re-publish replaces (a speaker re-published without footage loses frames.mp4 at the branch head)
REPLACED_ON_PUBLISH = (f"{AUDIO2FACE_DIR}/*", f"{FACE2VID_DIR}/*", FRAMES_FILE, REFERENCE_FILE, THUMBNAIL_FILE)


class SpeakerPublishError(PublishError):
    """A speaker profile cannot be published as asked (no consent note, nothing to render it with, …)."""


def read_profile_json(folder: str | Path) -> dict:
    path = Path(folder) / PROFILE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} is not a speaker profile (no {PROFILE_FILE}); create one with "
                                f"`facial track CLIP -o {folder}`") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({type(exc).__name__}); re-create the profile") from None


def hub_info(profile_or_folder: Any) -> dict:
    """The ``hub`` block of a profile's ``profile.json`` ({} for a profile that was never published)."""
    folder = getattr(profile_or_folder, "directory", profile_or_folder)
    if folder is None or not (Path(folder) / PROFILE_FILE).is_file():
        return {}
    try:
        return dict(read_profile_json(folder).get("hub") or {})
    except (ValueError, OSError):
        return {}


def has_footage(profile_or_folder: Any) -> bool:
    """Whether the speaker's clip is at hand (False only for a speaker published without footage)."""
    info = hub_info(profile_or_folder)
    return bool(info.get("footage", True)) if info else True


def require_footage(profile_or_folder: Any, what: str) -> None:
    """Raise ``ValueError`` when ``what`` needs the clip and the speaker was published without it."""
    if not has_footage(profile_or_folder):
        name = hub_info(profile_or_folder).get("repo") or "this published speaker"
        raise ValueError(f"{name} was published without its footage, so {what} cannot run; use the neural renderer "
                         "(--renderer neural), which it was published with")


# --------------------------------------------------------------------------- publishing
def _pick_finetuned(folder: Path) -> Path | None:
    """The personalised FACIAL-GAN to publish: the newest ``full`` fine-tune, else the newest of any effort."""
    from facial.audio2face.finetune import cached_models

    found = cached_models(folder)
    full = [p for p in found if p.name.startswith("full-")]
    return (full or found or [None])[0]


def _renderer_ready(folder: Path) -> bool:
    return (folder / FACE2VID_DIR / CONFIG_FILE).is_file() and (folder / FACE2VID_DIR / WEIGHTS_FILE).is_file()


def stage_speaker(profile_dir: str | Path, dst: str | Path, *, consent: str, include_footage: bool = False,
                  name: str | None = None, repo_id: str | None = None, license: str = "other",
                  license_name: str | None = "consented-likeness") -> dict:
    """Copy what a published speaker holds (see the module docstring) into ``dst``; returns the ``hub`` block.

    ``consent`` is the publisher's note that the person agreed to be animated (required).
    ``include_footage`` adds ``frames.mp4`` (only for footage the publisher owns). Without footage
    the profile must have a trained neural renderer (``facial train-renderer``), else nothing could
    render it.
    """
    from facial.hub.cards import speaker_card

    src, dst = Path(profile_dir), Path(dst)
    info = read_profile_json(src)
    if not (consent or "").strip():
        raise SpeakerPublishError("publishing a speaker needs a consent note: state that the person agreed to be animated "
                                  "and published (--consent \"…\")")
    if not (src / PARAMS_FILE).is_file():
        raise SpeakerPublishError(f"{src} lacks {PARAMS_FILE}; re-create the profile with `facial track`")
    frames = src / FRAMES_FILE
    if include_footage and not frames.is_file():
        raise SpeakerPublishError(f"{src} has no {FRAMES_FILE} to include")
    if not include_footage and not _renderer_ready(src):
        raise SpeakerPublishError(f"{src} has no trained neural renderer ({FACE2VID_DIR}/), and without the footage nothing "
                                  f"could render the speaker: run `facial train-renderer {src}` first, or add "
                                  "--include-footage if you own the clip")
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / PARAMS_FILE, dst / PARAMS_FILE)
    hub: dict[str, Any] = {"format": HUB_FORMAT, "name": name or (repo_id.split("/")[-1] if repo_id else src.name),
                           "repo": repo_id, "consent": consent.strip(), "footage": bool(include_footage),
                           "audio2face": None, "face2vid": None}
    tuned = _pick_finetuned(src)
    if tuned is not None:
        rel = f"{AUDIO2FACE_DIR}/{tuned.name}"
        (dst / rel).mkdir(parents=True)
        for f in (CONFIG_FILE, WEIGHTS_FILE):
            shutil.copyfile(tuned / f, dst / rel / f)
        hub["audio2face"] = rel
    else:
        log.warning("%s has no personalised FACIAL-GAN: the published speaker will be animated by the generic model "
                    "(fine-tune first with `facial finetune %s` to publish one)", src, src)
    if _renderer_ready(src):
        (dst / FACE2VID_DIR).mkdir()
        for f in (CONFIG_FILE, WEIGHTS_FILE):  # not summary.json / train_log.csv / curve.png (local paths, plots)
            shutil.copyfile(src / FACE2VID_DIR / f, dst / FACE2VID_DIR / f)
        hub["face2vid"] = FACE2VID_DIR
    if include_footage:
        shutil.copyfile(frames, dst / FRAMES_FILE)
    published = {k: v for k, v in info.items() if k != "hub"}
    published["source"] = None  # the publisher's local path stays private; source_hash identifies the clip
    published["frames"] = FRAMES_FILE if include_footage else None
    published["hub"] = hub
    (dst / PROFILE_FILE).write_text(json.dumps(published, indent=2), encoding="utf-8")
    (dst / "README.md").write_text(speaker_card(dst, repo_id=repo_id, license=license, license_name=license_name),
                                   encoding="utf-8")
    return hub


# --------------------------------------------------------------------------- loading
def speakers_root(cache_dir: str | Path | None = None) -> Path:
    """Where published speakers are unpacked: ``<FACIAL cache>/hub/speakers``."""
    from facial.cache import cache_root

    return cache_root(cache_dir) / "hub" / "speakers"


def _reference_from_renderer(folder: Path) -> Path | None:
    """Write ``reference.png`` (the renderer's full-size texture frame) into ``folder``; None if absent."""
    import numpy as np
    from safetensors.numpy import load_file

    from facial.hub.resolve import load_safetensors

    weights = folder / FACE2VID_DIR / WEIGHTS_FILE
    if not weights.is_file():
        return None
    tensors = load_safetensors(weights, load_file)
    ref = tensors.get("reference_full")
    if ref is None:
        return None
    import cv2

    out = folder / REFERENCE_FILE
    cv2.imwrite(str(out), np.ascontiguousarray(np.asarray(ref, np.uint8)[..., ::-1]))
    return out


def materialise(snapshot: str | Path, target: str | Path, *, repo: str | None = None) -> Path:
    """Copy a downloaded speaker snapshot into ``target`` as an ordinary profile folder (atomically)."""
    from facial import atomic

    snapshot, target = Path(snapshot), Path(target)
    if (target / PROFILE_FILE).is_file():
        return target
    with atomic.atomic_dir(target) as tmp:
        for path in sorted(snapshot.rglob("*")):
            rel = path.relative_to(snapshot)
            if rel.parts and rel.parts[0].startswith("."):
                continue
            if path.is_dir():
                (tmp / rel).mkdir(parents=True, exist_ok=True)
            elif path.is_file():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, tmp / rel)  # follows the cache's symlinks to the blobs
        info = read_profile_json(tmp)
        hub = dict(info.get("hub") or {})
        hub["repo"] = repo or hub.get("repo")
        if not hub.get("footage") and (tmp / FRAMES_FILE).is_file():
            hub["footage"] = True
        if not hub.get("footage"):
            ref = _reference_from_renderer(tmp)
            info["frames"] = ref.name if ref is not None else None
        info["hub"] = hub
        (tmp / PROFILE_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


def load_speaker(ref: str | Path, *, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """A local profile folder for ``ref``: a local profile folder as it is, or the published speaker
    ``owner/name`` (``owner/name@revision``, or ``revision=``) downloaded (offline first) and unpacked
    under :func:`speakers_root`. Errors are one-line :class:`~facial.hub.CheckpointNotFound`."""
    local = Path(ref).expanduser()
    if local.exists():
        if not (local / PROFILE_FILE).is_file():
            raise CheckpointNotFound(f"{local} is not a speaker profile (no {PROFILE_FILE})")
        return local
    repo, rev = split_revision(str(ref))
    revision = revision or rev
    if not is_repo_id(repo):
        raise CheckpointNotFound(f"{ref}: no such speaker file or folder, and it is not a Hugging Face repo id (owner/name)")
    snapshot = download(repo, revision=revision, allow_patterns=SPEAKER_PATTERNS, what="speaker")
    at = f"{repo}@{revision}" if revision else repo
    if not (snapshot / PROFILE_FILE).is_file() or not (snapshot / PARAMS_FILE).is_file():
        raise CheckpointNotFound(f"the Hugging Face repo {at} is not a FACIAL speaker (no {PROFILE_FILE} + {PARAMS_FILE}); "
                                 "publish one with `facial publish PROFILE_DIR --repo OWNER/NAME`")
    target = speakers_root(cache_dir) / repo.replace("/", "--") / snapshot.name  # snapshot folder = commit hash
    return materialise(snapshot, target, repo=repo)


def speaker_model(profile_or_folder: Any):
    """The personalised FACIAL-GAN a published speaker carries (a ``FacialGAN``), or None."""
    info = hub_info(profile_or_folder)
    rel = info.get("audio2face")
    if not rel:
        return None
    folder = Path(getattr(profile_or_folder, "directory", profile_or_folder))
    from facial.audio2face import FacialGAN

    return FacialGAN.from_pretrained(folder / rel)


def thumbnail(folder: str | Path, out: str | Path, size: int = 160) -> Path | None:
    """A square picture of the speaker (the renderer's reference crop, else the first frame) at ``out``."""
    import cv2
    import numpy as np

    folder, out = Path(folder), Path(out)
    image = None
    weights = folder / FACE2VID_DIR / WEIGHTS_FILE
    try:
        if weights.is_file():
            from safetensors.numpy import load_file

            image = load_file(str(weights)).get("reference")
        if image is None:
            from facial.speaker.profile import load_profile

            profile = load_profile(folder)
            if profile.video is not None and Path(profile.video).is_file():
                from facial import media

                image = media.read_video(profile.video, max_frames=1).frames[0]
    except Exception as exc:  # a gallery without one picture is better than no gallery
        log.warning("no thumbnail for %s: %s", folder, exc)
        return None
    if image is None:
        return None
    image = np.asarray(image, np.uint8)
    h, w = image.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.ascontiguousarray(square[..., ::-1]))
    return out
