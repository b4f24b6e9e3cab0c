"""Resolve checkpoints: a local directory or a Hugging Face repo id, offline first.

Every network is stored as ``config.json`` + ``model.safetensors``. :func:`resolve_dir` returns a
local directory holding the requested files, downloading through ``huggingface_hub``'s
``snapshot_download`` only when the argument is a repo id that is not a local path. The hub's own
rules apply: ``HF_HUB_OFFLINE=1`` uses the local cache (``HF_HUB_CACHE``), ``HF_TOKEN`` reaches
private repos, ``HF_ENDPOINT`` points at a mirror; ``revision`` is a branch, tag or commit.

Every failure is a :class:`CheckpointNotFound` (nothing usable there) or :class:`CheckpointError`
(found but broken) with a one-line message saying what to do.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILES = (CONFIG_FILE, WEIGHTS_FILE)

# owner/name as the Hub spells it (letters, digits, "-", "_", "."; no "--" or ".." inside)
_REPO_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")
# names ending like these are files someone meant to give, never repo ids
FILE_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v", ".gif", ".png", ".jpg", ".jpeg", ".bmp",
                           ".webp", ".wav", ".mp3", ".m4a", ".flac", ".ogg", ".json", ".safetensors", ".zip", ".yaml",
                           ".yml", ".csv", ".txt", ".pt", ".pth", ".bin", ".npz", ".npy"})


class CheckpointNotFound(FileNotFoundError):
    """A checkpoint directory or repo id could not be resolved; the message says what to do."""


class CheckpointError(ValueError):
    """A checkpoint was found but cannot be used (broken config, not safetensors, shapes that do not
    match the config); the message names the file and what is wrong."""


def read_config(path: Path) -> dict:
    """``config.json`` as a dict, or :class:`CheckpointError` naming the file."""
    import json

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc.__class__.__name__} at {getattr(exc, 'pos', '?')}); "
                              "restore the checkpoint's config.json") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got {type(raw).__name__}")
    return raw


def load_safetensors(path: Path, loader, **kwargs):
    """``loader(path, **kwargs)`` (a safetensors ``load_file``) with a one-line :class:`CheckpointError`
    when the file is not a safetensors file (safetensors never executes code, unlike pickles)."""
    try:
        return loader(str(path), **kwargs)
    except Exception as exc:  # SafetensorError, header/IO errors
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(exc).splitlines()[0][:120]}); "
                              "checkpoints are config.json + model.safetensors, never pickles") from None


# --------------------------------------------------------------------------- repo ids
def split_revision(ref: str) -> tuple[str, str | None]:
    """``"owner/name@rev"`` → ``("owner/name", "rev")``; without ``@`` the revision is None."""
    ref = str(ref)
    if "@" in ref and not ref.startswith(("/", ".", "~")):
        repo, _, rev = ref.partition("@")
        return repo, (rev or None)
    return ref, None


def is_repo_id(text: str | Path) -> bool:
    """Whether ``text`` reads as a Hugging Face repo id (``owner/name``) rather than a local path.

    Purely syntactic plus one look at the disk: exactly one ``/``, Hub-valid parts, not starting
    with ``.``, ``/`` or ``~``, not ending in a file suffix (``.mp4``, ``.json`` …), and its first
    part is not an existing local folder (``ckpt/typo`` beside a ``ckpt/`` folder is a mistyped
    path). Anything else never goes to the network.
    """
    if isinstance(text, Path):
        text = str(text)
    repo = str(text)
    if repo.count("/") != 1 or repo.startswith((".", "/", "~")) or "\\" in repo:
        return False
    owner, name = repo.split("/")
    if not (_REPO_PART.match(owner) and _REPO_PART.match(name)) or "--" in repo or ".." in repo:
        return False
    if Path(name).suffix.lower() in FILE_SUFFIXES:
        return False
    return not Path(owner).expanduser().is_dir()


def _one_line(exc: BaseException) -> str:
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
    return first[:160]


def hub_error(repo: str, revision: str | None, exc: BaseException, what: str = "checkpoint") -> CheckpointNotFound:
    """A one-line :class:`CheckpointNotFound` for an exception of ``huggingface_hub`` while fetching ``repo``."""
    from huggingface_hub.errors import (GatedRepoError, HFValidationError, LocalEntryNotFoundError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    at = f"{repo}@{revision}" if revision else repo
    if isinstance(exc, RevisionNotFoundError):
        return CheckpointNotFound(f"{repo}: no revision {revision!r} on the Hugging Face Hub; give an existing branch, tag or commit")
    if isinstance(exc, GatedRepoError):
        return CheckpointNotFound(f"{repo} is gated on the Hugging Face Hub: accept its terms and set HF_TOKEN")
    if isinstance(exc, RepositoryNotFoundError):
        return CheckpointNotFound(f"{repo}: no such {what} repo on the Hugging Face Hub (check the name; a private repo "
                                  "needs HF_TOKEN)")
    if isinstance(exc, HFValidationError):
        return CheckpointNotFound(f"{repo}: not a valid Hugging Face repo id (owner/name) — {_one_line(exc)}")
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        return CheckpointNotFound(f"{at} is not in the local Hugging Face cache and the Hub cannot be reached "
                                  "(HF_HUB_OFFLINE=1 or no network): download it once online, or give a local folder")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return CheckpointNotFound(f"{repo}: access denied by the Hugging Face Hub (HTTP {status}); set HF_TOKEN to a "
                                  "token that may read it")
    return CheckpointNotFound(f"could not fetch {at} from the Hugging Face Hub ({type(exc).__name__}: {_one_line(exc)}); "
                              "check the network, or give a local folder")


def download(repo: str, *, revision: str | None = None, allow_patterns: Iterable[str] | None = None,
             what: str = "checkpoint", cache_dir: str | Path | None = None) -> Path:
    """``snapshot_download`` of ``repo`` (offline first as the hub documents), errors as one line."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo, revision=revision,
                                      allow_patterns=list(allow_patterns) if allow_patterns is not None else None,
                                      cache_dir=cache_dir))
    except Exception as exc:  # network, auth, offline, validation errors of the hub
        raise hub_error(repo, revision, exc, what) from exc


def resolve_dir(path_or_repo: str | Path, files: Iterable[str] = CHECKPOINT_FILES, *, revision: str | None = None) -> Path:
    """A local folder holding ``files``: ``path_or_repo`` itself when it exists, else the snapshot of
    the Hugging Face repo it names (``revision``: branch, tag or commit; default ``main``).

    A string that does not read as a repo id (:func:`is_repo_id`) is a missing local folder and never
    goes to the network.
    """
    files = tuple(files)
    local = Path(path_or_repo).expanduser()
    if local.exists():
        missing = [f for f in files if not (local / f).exists()]
        if missing:
            raise CheckpointNotFound(f"{local} lacks {', '.join(missing)}: a checkpoint folder holds config.json + model.safetensors")
        return local
    repo = str(path_or_repo)
    if not is_repo_id(repo):
        # "ckpt/typo" where ./ckpt exists is a mistyped local folder, not a repo id: never go to the network
        raise CheckpointNotFound(f"{repo}: no such folder, and it is not a Hugging Face repo id (owner/name)")
    directory = download(repo, revision=revision, allow_patterns=files)
    missing = [f for f in files if not (directory / f).exists()]
    if missing:
        at = f"{repo}@{revision}" if revision else repo
        raise CheckpointNotFound(f"the Hugging Face repo {at} lacks {', '.join(missing)}: it is not a FACIAL checkpoint "
                                 "(config.json + model.safetensors)")
    return directory
