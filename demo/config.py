"""Settings of the app: limits and launch options, read from the environment by :meth:`DemoConfig.from_env`.

=========================  =============================================================  =========
variable                   meaning                                                        default
=========================  =============================================================  =========
``FACIAL_CHECKPOINT``      checkpoint folder or Hugging Face repo id of the pipeline       the repository's own
``FACIAL_SPEAKERS``        published speakers for the Generate tab's gallery: Hub repo     none
                           ids ``owner/name[@revision]`` (or speaker profile folders),
                           comma-separated; fetched once at start-up (offline: the cache)
``FACIAL_ALLOW_PUBLISH``   ``1`` shows "Publish this speaker to the Hub" (needs            0 (off)
                           ``HF_TOKEN`` with write access in the server's environment)
``FACIAL_MAX_UPLOAD_MB``   largest accepted upload (MB); also Gradio's ``max_file_size``   200
``FACIAL_MAX_AUDIO_S``     longest accepted speech recording (seconds)                     60
``FACIAL_MAX_CLIP_S``      longest accepted speaker clip (seconds)                         120
``FACIAL_CONCURRENCY``     generations run at once (others wait in the queue)              1
``FACIAL_CACHE_MAX_GB``    cap of the speaker-profile cache (least recently used go first) 5
``FACIAL_THREADS``         torch CPU threads of the server process (set once at start-up)  1
``FACIAL_RENDER_WORKERS``  warp-renderer threads per generation (frames rendered at once)  2
``FACIAL_QUEUE_SIZE``      most requests waiting in the queue (0 = unlimited)              16
``FACIAL_WORK_DIR``        parent folder of the per-request output folders                 a new temp folder
``FACIAL_HOST``            address the server listens on                                   Gradio's (``GRADIO_SERVER_NAME`` or 127.0.0.1)
``FACIAL_PORT``            port                                                            Gradio's (``GRADIO_SERVER_PORT`` or 7860)
``FACIAL_DATA_ROOT``       folders typed in the Benchmark / User-study tabs must lie here  (any folder, on a loopback-only server)
=========================  =============================================================  =========

Typed server folders (and uploaded benchmark specs, which name server paths) are refused when the app
listens beyond the loopback interface (e.g. a Space on 0.0.0.0) unless ``FACIAL_DATA_ROOT`` is set;
zip uploads always work.

Publishing is off by default: on a public Space anyone could otherwise push to the token's account.
The token itself is never a setting here; it is read from ``HF_TOKEN`` when a publish request runs
(on a Space, add it as a secret). See docs/HUB.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A setting from the environment is malformed; the message names the variable and what it expects."""


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def speaker_ref_ok(ref: str) -> bool:
    """An entry of ``FACIAL_SPEAKERS``: an existing speaker profile folder, or ``owner/name[@revision]``."""
    from facial.hub import is_repo_id, split_revision

    ref = str(ref).strip()
    if Path(ref).expanduser().is_dir():
        return (Path(ref).expanduser() / "profile.json").is_file()
    return is_repo_id(split_revision(ref)[0])


@dataclass(frozen=True)
class DemoConfig:
    checkpoint: str | None = None
    max_upload_mb: float = 200.0
    max_audio_s: float = 60.0
    max_clip_s: float = 120.0
    concurrency: int = 1
    threads: int = 1
    render_workers: int = 2
    cache_max_gb: float = 5.0
    queue_size: int = 16
    work_dir: Path | None = None
    host: str | None = None
    port: int | None = None
    data_root: Path | None = None
    speakers: tuple[str, ...] = ()
    allow_publish: bool = False

    def __post_init__(self) -> None:
        for name in ("max_upload_mb", "max_audio_s", "max_clip_s", "cache_max_gb"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.render_workers < 1:
            raise ConfigError(f"render_workers must be at least 1, got {self.render_workers}")
        if self.queue_size < 0:
            raise ConfigError(f"queue_size must be 0 (unlimited) or more, got {self.queue_size}")
        object.__setattr__(self, "speakers", tuple(self.speakers))
        for ref in self.speakers:
            if not speaker_ref_ok(ref):
                raise ConfigError(f"FACIAL_SPEAKERS: {ref!r} is neither a speaker profile folder nor a Hugging Face repo id "
                                  "(owner/name or owner/name@revision)")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "DemoConfig":
        """Settings from ``FACIAL_*`` variables (see the module docstring); unset or empty ones keep the defaults."""
        env = os.environ if env is None else env
        base = cls()

        def get(var: str, conv, default, what: str):
            raw = (env.get(var) or "").strip()
            if not raw:
                return default
            try:
                return conv(raw)
            except ValueError:
                raise ConfigError(f"{var}={raw!r} is not {what}; unset it or give e.g. {var}={default}") from None

        return cls(
            checkpoint=(env.get("FACIAL_CHECKPOINT") or "").strip() or None,
            max_upload_mb=get("FACIAL_MAX_UPLOAD_MB", float, base.max_upload_mb, "a number of megabytes"),
            max_audio_s=get("FACIAL_MAX_AUDIO_S", float, base.max_audio_s, "a number of seconds"),
            max_clip_s=get("FACIAL_MAX_CLIP_S", float, base.max_clip_s, "a number of seconds"),
            concurrency=get("FACIAL_CONCURRENCY", int, base.concurrency, "a whole number"),
            threads=get("FACIAL_THREADS", int, base.threads, "a whole number"),
            render_workers=get("FACIAL_RENDER_WORKERS", int, base.render_workers, "a whole number"),
            cache_max_gb=get("FACIAL_CACHE_MAX_GB", float, base.cache_max_gb, "a number of gigabytes"),
            queue_size=get("FACIAL_QUEUE_SIZE", int, base.queue_size, "a whole number"),
            work_dir=get("FACIAL_WORK_DIR", Path, None, "a folder"),
            host=(env.get("FACIAL_HOST") or "").strip() or None,
            port=get("FACIAL_PORT", int, None, "a port number"),
            data_root=get("FACIAL_DATA_ROOT", Path, None, "a folder"),
            speakers=tuple(r.strip() for r in (env.get("FACIAL_SPEAKERS") or "").replace("\n", ",").split(",") if r.strip()),
            allow_publish=bool(get("FACIAL_ALLOW_PUBLISH", _flag, 0, "0 or 1")),
        )

    @property
    def effective_host(self) -> str:
        """The address Gradio will listen on (its own default when ``host`` is unset)."""
        return self.host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"

    @property
    def loopback_only(self) -> bool:
        return self.effective_host in ("127.0.0.1", "localhost", "::1")

    def with_(self, **changes: Any) -> "DemoConfig":
        return replace(self, **changes)

    def queue_kwargs(self) -> dict[str, Any]:
        """Arguments of ``Blocks.queue``."""
        return {"default_concurrency_limit": self.concurrency, "max_size": self.queue_size or None}

    def launch_kwargs(self) -> dict[str, Any]:
        """Arguments of ``Blocks.launch``: server address, the upload limit, and the work folder as an
        allowed path (results written there must be servable even outside the temp folder)."""
        kwargs: dict[str, Any] = {"max_file_size": self.max_upload_bytes}
        if self.host:
            kwargs["server_name"] = self.host
        if self.port:
            kwargs["server_port"] = self.port
        if self.work_dir is not None:
            kwargs["allowed_paths"] = [str(self.work_dir)]
        return kwargs
