"""Published speakers in the Generate tab: the gallery (``FACIAL_SPEAKERS``) and "publish this speaker"
(``FACIAL_ALLOW_PUBLISH=1`` + ``HF_TOKEN``).

:class:`HubSpeakers` is the base of :class:`demo.tabs.generate.GenerateTab`. The gallery is built
once, on first use (``build_demo`` does it at start-up): each configured speaker is fetched with
:func:`facial.hub.load_speaker` (offline first; ``HF_HUB_OFFLINE=1`` uses the Hugging Face cache)
and shown with a picture from its renderer; one that cannot be loaded is listed with the reason and
the others still work. Requests can only pick configured speakers — a repo id typed by a visitor
never reaches the Hub. Publishing is a no-op unless the server opted in, and it only publishes the
profile of a speaker clip this server has already tracked.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from demo.errors import error, user_error
from demo.tabs.base import TabBase, request
from demo.uploads import upload_path

log = logging.getLogger(__name__)

DEFAULT_CONSENT = ("The person in this clip agreed to be animated with FACIAL and to this speaker profile being published "
                   "(confirmed by the publisher in the FACIAL app).")


@dataclass
class GallerySpeaker:
    """One entry of the gallery: the configured ``ref``, the local profile folder, what to show."""

    ref: str
    folder: Path | None = None
    caption: str = ""
    image: str | None = None
    footage: bool = True
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.folder is not None and not self.error


class HubSpeakers(TabBase):
    """Gallery of published speakers and the publish action (mixed into the Generate tab)."""

    def __init__(self, pipeline: Any, config=None):
        super().__init__(pipeline, config)
        self._gallery: list[GallerySpeaker] | None = None
        self._gallery_lock = threading.Lock()
        self._gallery_dir: Path | None = None

    # ------------------------------------------------------------------ gallery
    def gallery_speakers(self) -> list[GallerySpeaker]:
        """The configured speakers, each loaded once (errors kept per entry, never raised)."""
        with self._gallery_lock:
            if self._gallery is None:
                self._gallery = [self._load_gallery_speaker(i, ref) for i, ref in enumerate(self.config.speakers)]
            return self._gallery

    def _load_gallery_speaker(self, index: int, ref: str) -> GallerySpeaker:
        from facial.hub import has_footage, hub_info, load_speaker, thumbnail

        try:
            folder = load_speaker(ref, cache_dir=getattr(self.pipeline, "cache_dir", None))
        except Exception as exc:  # one unavailable speaker must not take the app down
            log.warning("published speaker %s unavailable: %s", ref, exc)
            return GallerySpeaker(ref, caption=f"{ref} (unavailable)", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        info = hub_info(folder)
        if self._gallery_dir is None:  # beside the request folders, never pruned with them
            if self.config.work_dir is not None:
                self.config.work_dir.mkdir(parents=True, exist_ok=True)
            self._gallery_dir = Path(tempfile.mkdtemp(prefix="facial-gallery-", dir=self.config.work_dir))
        image = thumbnail(folder, self._gallery_dir / f"speaker_{index}.png")
        caption = info.get("name") or Path(ref).name
        return GallerySpeaker(ref, folder, caption=f"{caption} — {ref}" if caption != ref else ref,
                              image=str(image) if image else None, footage=has_footage(folder))

    def gallery_value(self) -> list[tuple[str, str]]:
        """``gr.Gallery`` items (picture, caption) of the speakers that loaded."""
        return [(s.image, s.caption) for s in self.gallery_speakers() if s.ok and s.image]

    def gallery_note(self) -> str:
        """Markdown under the gallery: how to use it, and the speakers that could not be loaded."""
        speakers = self.gallery_speakers()
        lines = ["Pick a published speaker instead of uploading a clip (they were published with their consent)."]
        shown = [s for s in speakers if s.ok and s.image]
        for s in speakers:
            if s.ok and not s.image:
                lines.append(f"- `{s.ref}` has no picture but can be picked by name in the API.")
            elif not s.ok:
                lines.append(f"- `{s.ref}` is unavailable: {s.error}")
        if not shown and not any(s.ok for s in speakers):
            lines[0] = "No published speaker could be loaded."
        return "\n".join(lines)

    def _gallery_choices(self) -> list[GallerySpeaker]:
        return [s for s in self.gallery_speakers() if s.ok and s.image]

    def pick_speaker(self, index: int | None) -> tuple[str | None, str, Any]:
        """Gallery click → (chosen ref for the State, a Markdown line, clear the upload)."""
        choices = self._gallery_choices()
        if index is None or not 0 <= int(index) < len(choices):
            return None, "", gr.update()
        s = choices[int(index)]
        how = "" if s.footage else " — published without footage: the neural renderer draws it"
        return s.ref, f"**Speaker:** {s.caption}{how}. Upload a clip to use your own speaker instead.", gr.update(value=None)

    def on_gallery_select(self, evt: gr.SelectData) -> tuple[str | None, str, Any]:
        return self.pick_speaker(evt.index if evt is not None else None)

    @staticmethod
    def clear_pick() -> tuple[None, str]:
        """An uploaded clip replaces the gallery choice."""
        return None, ""

    def published_speaker(self, ref: str) -> GallerySpeaker:
        """The configured gallery speaker ``ref``; anything else is refused (never fetched)."""
        for s in self.gallery_speakers():
            if s.ref == ref:
                if not s.ok:
                    raise error(f"The published speaker {ref} is unavailable: {s.error}")
                return s
        raise error(f"{ref!r} is not one of this app's published speakers; pick one from the gallery.")

    # ------------------------------------------------------------------ publishing
    @property
    def publish_enabled(self) -> bool:
        return bool(getattr(self.config, "allow_publish", False))

    @request
    def publish_speaker(self, speaker: Any, repo_id: str, private: bool = True, consent_given: bool = False,
                        consent_note: str | None = None, include_footage: bool = False) -> str:
        """Publish the profile of the uploaded speaker clip (tracked by an earlier generation) to ``repo_id``."""
        from facial.media import DEFAULT_FPS

        if not self.publish_enabled:
            raise error("Publishing is switched off on this server (set FACIAL_ALLOW_PUBLISH=1 to allow it).")
        token = (os.environ.get("HF_TOKEN") or "").strip()
        if not token:
            raise error("Publishing needs a Hugging Face write token in the server's environment (HF_TOKEN); "
                        "on a Space, add it as a secret.")
        if not consent_given:
            raise error("Tick the consent box: only publish people who agreed to be animated and published.")
        if upload_path(speaker) is None:
            raise error("Upload the speaker clip you generated with, then publish it.")
        path = self.check_speaker(speaker)
        find = getattr(self.pipeline, "profile_dir_for", None)
        folder = Path(find(path, DEFAULT_FPS)) if find is not None else None
        if folder is None or not (folder / "profile.json").is_file():
            raise error("Generate once with this speaker first: publishing shares the profile made then "
                        "(with the neural renderer, unless you include the clip).")
        note = (consent_note or "").strip() or DEFAULT_CONSENT
        try:
            from facial.hub import publish

            result = publish(folder, (repo_id or "").strip(), private=bool(private), consent=note,
                             include_footage=bool(include_footage), token=token,
                             commit_message="Publish a speaker from the FACIAL app")
        except gr.Error:
            raise
        except Exception as exc:
            raise user_error(exc, "Publishing failed", (path,)) from exc
        files = ", ".join(f"`{f}`" for f in result.files)
        return (f"**Published** to [{result.repo_id}]({result.url}) ({'private' if private else 'public'}): {files}. "
                f"Add `{result.repo_id}` to FACIAL_SPEAKERS to show it in the gallery.")
