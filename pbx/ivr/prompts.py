"""A tenant's own prompts (F-04): upload or record by phone, list, play, remove the audio.

A prompt is configured (a `prompts` row, part of the tenant's published configuration); its audio is a
file under the prompts root, `t/<tenant>/<key>.wav` (or `.wav16`), which Asterisk plays as
`pbx/t/<tenant>/<key>`: the root is Asterisk's `sounds/pbx` directory (PBX_PROMPTS). The file is written
atomically first and the row's `file_path` then says it is there, so a failure in between leaves the old
audio or the new, never part of one. Audio can only be given to a prompt the tenant has configured, and a
tenant's prompts are only ever looked up with the tenant: one tenant never reaches another's files.

Every method is synchronous (ffmpeg, fsync, database); each has an `a`-prefixed twin for the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pbx.db.models import PromptRow
from pbx.db.session import in_db
from pbx.db.store import NotFound
from pbx.ivr.audio import MAX_BYTES, MAX_SECONDS, convert_prompt, delete_prompt, prompt_path, store_prompt, wav_info
from pbx.media import check_key, tenant_id

__all__ = ["PromptAudio", "PromptStore"]

log = logging.getLogger("pbx.ivr.prompts")


@dataclass(frozen=True, slots=True)
class PromptAudio:
    """A configured prompt and its audio, if it has any (`file` relative to the prompts root)."""

    key: str
    name: str
    language: str
    file: str | None
    seconds: float | None = None
    rate: int | None = None


class PromptStore:
    def __init__(self, session_factory: Callable[[], Session], root: Path) -> None:
        self._sessions = session_factory
        self.root = root

    def _row(self, session: Session, tenant: str, key: str) -> PromptRow:
        check_key(key, "prompt key")
        row = session.scalars(select(PromptRow).where(PromptRow.tenant_id == tenant_id(session, tenant),
                                                      PromptRow.key == key)).one_or_none()
        if row is None:
            raise NotFound(f"tenant {tenant!r} has no prompt {key!r}")
        return row

    def _audio(self, tenant: str, key: str) -> Path | None:
        for wideband in (True, False):
            path = prompt_path(self.root, tenant, key, wideband=wideband)
            if path.is_file():
                return path
        return None

    def upload(self, tenant: str, key: str, data: bytes, filename: str, *, wideband: bool = False, by: str = "",
               max_bytes: int = MAX_BYTES, max_seconds: float = MAX_SECONDS) -> PromptAudio:
        """Convert an uploaded file (any common audio format) and make it the prompt's audio.

        Raises NotFound for a prompt the tenant has not configured (before any work) and
        pbx.ivr.audio.AudioRejected for what is not usable audio; either way nothing changes."""
        with self._sessions() as session:
            self._row(session, tenant, key)
        wav = convert_prompt(data, filename, wideband=wideband, max_bytes=max_bytes, max_seconds=max_seconds)
        info = wav_info(wav)
        path = store_prompt(self.root, tenant, key, wav)
        relative = path.relative_to(self.root).as_posix()
        with self._sessions() as session, session.begin():
            row = self._row(session, tenant, key)
            row.file_path = relative
            result = _info(row, info.seconds, info.rate, relative)
        log.info("prompt audio stored", extra={"event": "prompt_stored", "tenant": tenant, "prompt": key,
                                               "file": relative, "seconds": round(result.seconds or 0, 2),
                                               "source": filename, "by": by})
        return result

    def store_recording(self, tenant: str, key: str, recorded: Path, *, by: str = "") -> PromptAudio:
        """A prompt recorded by phone (a spool WAV) becomes the prompt's audio; the spool file is removed
        once the prompt is stored. Raises AudioRejected for a recording that is empty or silent."""
        data = recorded.read_bytes()
        result = self.upload(tenant, key, data, recorded.name, by=by)
        recorded.unlink(missing_ok=True)
        return result

    def remove_audio(self, tenant: str, key: str, *, by: str = "") -> bool:
        """Remove the prompt's audio (the prompt stays configured; callers hear nothing for it until new
        audio comes). False if it had none."""
        with self._sessions() as session, session.begin():
            row = self._row(session, tenant, key)
            row.file_path = None
        removed = delete_prompt(self.root, tenant, key)
        log.info("prompt audio removed", extra={"event": "prompt_removed", "tenant": tenant, "prompt": key,
                                                "had_audio": removed, "by": by})
        return removed

    def prompts(self, tenant: str) -> list[PromptAudio]:
        """The tenant's configured prompts in their order, each with its audio's length if it has audio."""
        with self._sessions() as session:
            rows = list(session.scalars(select(PromptRow).where(PromptRow.tenant_id == tenant_id(session, tenant))
                                        .order_by(PromptRow.position)))
        result = []
        for row in rows:
            path = self._audio(tenant, row.key)
            if path is None:
                result.append(_info(row, None, None, None))
                continue
            try:
                info = wav_info(path.read_bytes())
            except (OSError, ValueError):
                result.append(_info(row, None, None, None))
                continue
            result.append(_info(row, info.seconds, info.rate, path.relative_to(self.root).as_posix()))
        return result

    def audio_path(self, tenant: str, key: str) -> Path:
        """The prompt's WAV (to play or download); NotFound when the prompt or its audio does not exist."""
        with self._sessions() as session:
            self._row(session, tenant, key)
        path = self._audio(tenant, key)
        if path is None:
            raise NotFound(f"prompt {key!r} of tenant {tenant!r} has no audio")
        return path

    def delete_tenant_files(self, tenant: str) -> bool:
        """Every prompt file of a deleted tenant; False if it had none."""
        directory = self.root / "t" / check_key(tenant, "tenant")
        if not directory.exists():
            return False
        shutil.rmtree(directory)
        log.info("tenant prompts removed", extra={"event": "tenant_prompts_removed", "tenant": tenant})
        return True

    # --- for the event loop ------------------------------------------------------------------------

    async def aupload(self, tenant: str, key: str, data: bytes, filename: str, *, wideband: bool = False,
                      by: str = "") -> PromptAudio:
        return await asyncio.to_thread(self.upload, tenant, key, data, filename, wideband=wideband, by=by)

    async def astore_recording(self, tenant: str, key: str, recorded: Path, *, by: str = "") -> PromptAudio:
        return await asyncio.to_thread(self.store_recording, tenant, key, recorded, by=by)

    async def aremove_audio(self, tenant: str, key: str, *, by: str = "") -> bool:
        return await asyncio.to_thread(self.remove_audio, tenant, key, by=by)

    async def aprompts(self, tenant: str) -> list[PromptAudio]:
        return await in_db(self._sessions, self.prompts, tenant)

    async def aaudio_path(self, tenant: str, key: str) -> Path:
        return await in_db(self._sessions, self.audio_path, tenant, key)


def _info(row: PromptRow, seconds: float | None, rate: int | None, file: str | None) -> PromptAudio:
    return PromptAudio(row.key, row.name, row.language, file, round(seconds, 3) if seconds is not None else None,
                       rate)
