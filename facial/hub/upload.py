"""Publishing to the Hugging Face Hub: any checkpoint folder, any model object, any speaker profile.

:func:`publish` stages exactly what is published into a temporary folder (the checkpoint's
``config.json`` + ``model.safetensors``, or a speaker's files, see :mod:`facial.hub.speaker`), writes
a fresh model card there (:mod:`facial.hub.cards`), then uses ``huggingface_hub``'s own calls:
``HfApi.create_repo(exist_ok=True)``, ``HfApi.create_branch`` for a ``revision`` other than
``main``, and one ``HfApi.upload_folder`` commit. The token is the hub's usual one (``token=``,
else ``HF_TOKEN``, else ``hf auth login``); ``HF_ENDPOINT`` points at a mirror.

:func:`push_to_hub` does the same for a model object (anything with ``save_pretrained``: FACIAL-GAN,
the neural renderer, the sync expert, the expression basis) — the diffusers / transformers idiom.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facial.hub.registry import SPEAKER, get_kind, kind_of
from facial.hub.resolve import CONFIG_FILE, _one_line

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "main"


class PublishError(ValueError):
    """Publishing was refused before anything was sent (bad repo id, nothing to publish, no consent …)."""


class HubUploadError(PublishError):
    """The Hub refused or failed the upload (token, permissions, network, offline mode); one line."""


@dataclass
class PublishResult:
    """What :func:`publish` did: the repo, branch, commit, what kind of folder, and the files sent."""

    repo_id: str
    revision: str
    kind: str
    commit_url: str = ""
    commit: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        from huggingface_hub import constants

        return f"{constants.ENDPOINT}/{self.repo_id}" + ("" if self.revision == DEFAULT_BRANCH else f"/tree/{self.revision}")


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` when it is a valid ``owner/name`` (the Hub's own validation), else :class:`PublishError`."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    repo_id = (repo_id or "").strip()
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise PublishError(f"{repo_id!r} is not a valid Hugging Face repo id ({_one_line(exc)})") from None
    if repo_id.count("/") != 1:
        raise PublishError(f"{repo_id!r}: give the repo as owner/name (your user or organisation, then the repo name)")
    return repo_id


def stage(folder: str | Path, dst: str | Path, *, repo_id: str | None = None, consent: str | None = None,
          include_footage: bool = False, license: str | None = None) -> tuple[str, list[str]]:
    """Copy what would be published from ``folder`` into ``dst`` and write its card; returns (kind, files)."""
    from facial import atomic
    from facial.hub.cards import CARD_FILE, model_card

    folder, dst = Path(folder), Path(dst)
    if not folder.is_dir():
        raise PublishError(f"{folder}: no such folder (give a checkpoint folder or a speaker profile folder)")
    kind = kind_of(folder)
    if kind == SPEAKER:
        from facial.hub.speaker import stage_speaker

        kwargs = {"license": license} if license else {}
        stage_speaker(folder, dst, consent=consent or "", include_footage=include_footage, repo_id=repo_id, **kwargs)
    else:
        if include_footage:
            raise PublishError(f"{folder} is a {kind} checkpoint; --include-footage applies to speaker profiles only")
        k = get_kind(kind)
        missing = [f for f in k.files if not (folder / f).is_file()]
        if missing:
            raise PublishError(f"{folder} lacks {', '.join(missing)}: a {k.name} checkpoint is {' + '.join(k.files)}")
        dst.mkdir(parents=True, exist_ok=True)
        for f in k.files:
            shutil.copyfile(folder / f, dst / f)
        atomic.write_text(dst / CARD_FILE, model_card(dst, repo_id=repo_id))
    _write_license(dst)
    files = sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file())
    return kind, files


def _write_license(folder: Path) -> None:
    """``LICENSE.md`` for a card whose licence is ``other`` (its ``license_link`` points there)."""
    from huggingface_hub import ModelCard

    from facial import atomic
    from facial.hub.cards import CARD_FILE, LICENSE_FILE, license_text

    data = ModelCard((folder / CARD_FILE).read_text(encoding="utf-8")).data
    if data.license == "other" and getattr(data, "license_link", None) == LICENSE_FILE:
        atomic.write_text(folder / LICENSE_FILE, license_text(getattr(data, "license_name", None)) or "")


def _hub_failure(exc: BaseException, repo_id: str, revision: str) -> HubUploadError:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    if isinstance(exc, OfflineModeIsEnabled):
        return HubUploadError("cannot publish while HF_HUB_OFFLINE=1 is set; unset it (publishing needs the network)")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return HubUploadError(f"the Hugging Face Hub refused the token for {repo_id} (HTTP {status}); set HF_TOKEN to a "
                            "token with write access, or run `hf auth login`")
    if status == 403:
        return HubUploadError(f"the token may not write to {repo_id} (HTTP 403); use a write token of that user or "
                            "organisation")
    if isinstance(exc, RepositoryNotFoundError):
        return HubUploadError(f"{repo_id} does not exist and could not be created; check the owner (your user or an "
                            "organisation you may write to) and HF_TOKEN")
    if isinstance(exc, HfHubHTTPError):
        return HubUploadError(f"publishing to {repo_id}@{revision} failed (HTTP {status}: {_one_line(exc)})")
    return HubUploadError(f"publishing to {repo_id}@{revision} failed ({type(exc).__name__}: {_one_line(exc)}); check the "
                        "network and HF_ENDPOINT")


def publish(folder: str | Path, repo_id: str, *, private: bool | None = None, revision: str | None = None,
            commit_message: str | None = None, token: str | None = None, consent: str | None = None,
            include_footage: bool = False, license: str | None = None) -> PublishResult:
    """Publish a checkpoint folder or a speaker profile folder to ``repo_id`` (created if missing).

    - ``private``: create the repo private (an existing repo keeps its visibility).
    - ``revision``: the branch to commit to (created from ``main`` if missing; default ``main``).
    - ``consent``: speakers only, required — the note that the person agreed to be animated.
    - ``include_footage``: speakers only — also publish ``frames.mp4`` (only footage you own).
    """
    from huggingface_hub import HfApi

    repo_id = check_repo_id(repo_id)
    revision = (revision or DEFAULT_BRANCH).strip() or DEFAULT_BRANCH
    with tempfile.TemporaryDirectory(prefix="facial-publish-") as tmp:
        staged = Path(tmp) / "upload"
        kind, files = stage(folder, staged, repo_id=repo_id, consent=consent, include_footage=include_footage,
                            license=license)
        what = "speaker" if kind == SPEAKER else get_kind(kind).name
        message = commit_message or f"Publish {what} with facial"
        delete = None
        if kind == SPEAKER:
            from facial.hub.speaker import REPLACED_ON_PUBLISH

            delete = list(REPLACED_ON_PUBLISH)
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            if revision != DEFAULT_BRANCH:
                api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
            info = api.upload_folder(folder_path=str(staged), repo_id=repo_id, repo_type="model", revision=revision,
                                     commit_message=message, delete_patterns=delete)
        except PublishError:
            raise
        except Exception as exc:  # the hub's HTTP / auth / offline errors, as one line
            raise _hub_failure(exc, repo_id, revision) from exc
    result = PublishResult(repo_id, revision, kind, commit_url=str(getattr(info, "commit_url", "") or ""),
                           commit=str(getattr(info, "oid", "") or ""), files=files)
    log.info("published %s (%s) to %s: %s", folder, kind, result.url, ", ".join(files))
    return result


def push_to_hub(model: Any, repo_id: str, **kwargs: Any) -> PublishResult:
    """Save ``model`` (anything with ``save_pretrained(folder)`` writing ``config.json`` +
    ``model.safetensors`` of a registered ``model_type``, or a ``SpeakerProfile`` with a folder) and
    :func:`publish` it; ``kwargs`` as :func:`publish`."""
    directory = getattr(model, "directory", None)
    if directory is not None and not hasattr(model, "save_pretrained"):  # a SpeakerProfile
        return publish(directory, repo_id, **kwargs)
    if not hasattr(model, "save_pretrained"):
        raise PublishError(f"cannot publish a {type(model).__name__}: it has no save_pretrained")
    with tempfile.TemporaryDirectory(prefix="facial-save-") as tmp:
        folder = Path(tmp) / "checkpoint"
        model.save_pretrained(folder)
        if not (folder / CONFIG_FILE).is_file():
            raise PublishError(f"{type(model).__name__}.save_pretrained wrote no {CONFIG_FILE}")
        return publish(folder, repo_id, **kwargs)


class PushToHubMixin:
    """``model.push_to_hub("owner/name", private=..., revision=..., commit_message=...)`` for any class
    whose ``save_pretrained`` writes a registered checkpoint (mix it into the model class)."""

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> PublishResult:
        return push_to_hub(self, repo_id, **kwargs)


__all__ = ["HubUploadError", "PublishError", "PublishResult", "PushToHubMixin", "check_repo_id", "publish", "push_to_hub", "stage"]
