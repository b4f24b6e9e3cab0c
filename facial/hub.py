"""Resolve checkpoints: a local directory or a Hugging Face repo id, offline first.

Every network is stored as ``config.json`` + ``model.safetensors``. :func:`resolve_dir` returns a
local directory holding the requested files, downloading through ``huggingface_hub`` only when
the argument is a repo id that is not a local path (``HF_HUB_OFFLINE=1`` then uses the cache).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)


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


def resolve_dir(path_or_repo: str | Path, files: Iterable[str] = ("config.json", "model.safetensors"),
                *, revision: str | None = None) -> Path:
    files = tuple(files)
    local = Path(path_or_repo).expanduser()
    if local.exists():
        missing = [f for f in files if not (local / f).exists()]
        if missing:
            raise CheckpointNotFound(f"{local} lacks {', '.join(missing)}: a checkpoint folder holds config.json + model.safetensors")
        return local
    repo = str(path_or_repo)
    if repo.count("/") != 1 or repo.startswith((".", "/", "~")) or Path(repo.split("/")[0]).expanduser().is_dir():
        # "ckpt/typo" where ./ckpt exists is a mistyped local folder, not a repo id: never go to the network
        raise CheckpointNotFound(f"{repo}: no such folder, and it is not a Hugging Face repo id (owner/name)")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=repo, revision=revision, allow_patterns=list(files)))
    except Exception as exc:  # network or auth errors from the hub
        raise CheckpointNotFound(f"could not fetch {', '.join(files)} from the Hugging Face repo {repo} ({exc}); "
                                 "download it once with network access or pass a local folder") from exc
