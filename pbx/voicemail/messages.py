"""Voicemail messages (F-06, U-02): deposit, listing, the one heard state, folders, deletion and retention.

A message is a WAV file under the media root plus a row in `voicemail_messages`; the two come and
go together (pbx.media.index_file): the file is in place before its row is written and the row is
gone before the file is removed, so a listed message can always be played. The spool file
Asterisk recorded is removed only once the message is stored, so a failure anywhere loses nothing
and the deposit can be repeated; repeating it for the same (tenant, box, call) is harmless.

Every method is synchronous (database and fsync); each has an `a`-prefixed twin (`adeposit`,
`amessages`, …) that runs it in a worker thread, for callers on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pbx.db.models import VoicemailMessageRow
from pbx.db.session import in_db
from pbx.db.store import NotFound
from pbx.media import (
    Deletion,
    FileDigest,
    UnreadableWav,
    atomic_copy,
    deletion_log,
    file_digest,
    index_file,
    inspect_wav,
    log_deletion,
    media_path,
    message_flaw,
    relative_media_path,
    remove_file,
    retention_settings,
    stored_media_path,
    tenant_id,
)

__all__ = ["FOLDERS", "Message", "VoicemailStore"]

log = logging.getLogger("pbx.voicemail")

FOLDERS = ("new", "saved")
KIND = "voicemail"  # in the deletion log


@dataclass(frozen=True, slots=True)
class Message:
    """A voicemail message. `file` is relative to the media root; `heard` is the same for every listener."""

    id: str
    tenant: str
    box: str
    call_id: str
    caller: str
    dialled: str
    received_at: datetime
    duration_s: float
    file: str
    size_bytes: int
    sha256: str
    heard: bool = False
    heard_at: datetime | None = None
    heard_by: str | None = None
    folder: str = "new"


def _message(row: VoicemailMessageRow, tenant: str) -> Message:
    return Message(id=row.id, tenant=tenant, box=row.box, call_id=row.call_id, caller=row.caller, dialled=row.dialled,
                   received_at=row.received_at, duration_s=row.duration_s, file=row.file, size_bytes=row.size_bytes,
                   sha256=row.sha256, heard=row.heard, heard_at=row.heard_at, heard_by=row.heard_by,
                   folder=row.folder)


class VoicemailStore:
    """The voicemail messages of all tenants. Every lookup is by (tenant, id): another tenant's id is NotFound,
    exactly like an id that does not exist, so ids reveal nothing across tenants."""

    def __init__(self, session_factory: Callable[[], Session], media_root: Path,
                 clock: Callable[[], datetime]) -> None:
        self._sessions = session_factory
        self.media_root = media_root
        self._clock = clock

    # --- deposit -------------------------------------------------------------------------------

    def deposit(self, tenant: str, box: str, recorded: Path, *, call_id: str, caller: str, dialled: str,
                at: datetime) -> Message | None:
        """Store the message Asterisk recorded in `recorded` (a spool file) in `box`, and remove the spool file.

        A recording that is not a message (missing, empty, not a WAV, shorter than a second, or
        silent) is discarded: None, logged as `voicemail_discarded` with the reason. A second deposit
        of the same (tenant, box, call_id) returns the message stored the first time. Raises
        UnknownTenant (a NotFound) for an unknown tenant and ValueError for an unsafe key, before
        touching any file; on any other failure the spool file is left where it was."""
        media_path(self.media_root, tenant, "voicemail", box)  # refuse unsafe keys before anything else
        if not call_id:
            raise ValueError("a voicemail deposit needs the call's id")
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at!r}: pass a timezone-aware instant")
        existing = self._by_call(tenant, box, call_id)
        if existing is not None:
            self._settle_duplicate(existing, recorded)
            return existing
        fields = {"tenant": tenant, "box": box, "call_id": call_id, "caller": caller}
        try:
            facts = inspect_wav(recorded)
        except UnreadableWav as exc:
            flaw: str | None = exc.reason
            duration = 0.0
        else:
            flaw = message_flaw(facts)
            duration = facts.duration_s
        if flaw is not None:
            log.info("recording is not a voicemail message", extra={
                **fields, "event": "voicemail_discarded", "reason": flaw, "duration_s": round(duration, 3)})
            self._remove_spool(recorded, fields)
            return None

        msg_id = str(uuid.uuid4())
        dest = media_path(self.media_root, tenant, "voicemail", box, msg_id, suffix=".wav")
        relative = relative_media_path(self.media_root, dest)

        def write_row(digest: FileDigest) -> Message:
            with self._sessions() as session, session.begin():
                row = VoicemailMessageRow(
                    id=msg_id, tenant_id=tenant_id(session, tenant), box=box, call_id=call_id, caller=caller,
                    dialled=dialled, received_at=at, duration_s=duration, file=relative,
                    size_bytes=digest.size_bytes, sha256=digest.sha256, heard=False, heard_at=None, heard_by=None,
                    folder="new")
                session.add(row)
                session.flush()
                return _message(row, tenant)

        try:
            message = index_file(recorded, dest, atomic_copy, write_row, lambda: self._exists(msg_id))
        except IntegrityError:
            # the same call deposited concurrently, and the other one was first: that one is the message
            existing = self._by_call(tenant, box, call_id)
            if existing is None:
                raise
            self._settle_duplicate(existing, recorded)
            return existing
        self._remove_spool(recorded, fields)
        log.info("voicemail message stored", extra={
            **fields, "event": "voicemail_deposited", "id": message.id, "duration_s": round(message.duration_s, 3),
            "size_bytes": message.size_bytes})
        return message

    def _by_call(self, tenant: str, box: str, call_id: str) -> Message | None:
        with self._sessions() as session:
            tid = tenant_id(session, tenant)
            row = session.scalars(select(VoicemailMessageRow).where(
                VoicemailMessageRow.tenant_id == tid, VoicemailMessageRow.box == box,
                VoicemailMessageRow.call_id == call_id)).one_or_none()
            return None if row is None else _message(row, tenant)

    def _exists(self, msg_id: str) -> bool:
        with self._sessions() as session:
            return session.get(VoicemailMessageRow, msg_id) is not None

    def _settle_duplicate(self, existing: Message, recorded: Path) -> None:
        """A repeated deposit: the spool file goes if it is the stored message, and stays (logged) if it differs."""
        fields = {"tenant": existing.tenant, "box": existing.box, "call_id": existing.call_id, "id": existing.id}
        try:
            same = file_digest(recorded).sha256 == existing.sha256
        except FileNotFoundError:
            same = None
        except OSError:
            same = False
        if same:
            self._remove_spool(recorded, fields)
        elif same is False:
            log.warning("a second recording for a call that already left a message is kept in the spool",
                        extra={**fields, "event": "voicemail_duplicate_kept", "path": str(recorded)})
        log.info("voicemail message already stored", extra={**fields, "event": "voicemail_deposit_repeated"})

    @staticmethod
    def _remove_spool(recorded: Path, fields: dict[str, str]) -> None:
        try:
            remove_file(recorded)
        except OSError as exc:
            # the message is safe either way; a stale spool file is only clutter
            log.warning("spool file could not be removed", extra={
                **fields, "event": "voicemail_spool_left", "path": str(recorded), "error": str(exc)})

    # --- reading -------------------------------------------------------------------------------

    def messages(self, tenant: str, box: str | None = None, *, heard: bool | None = None,
                 folder: str | None = None) -> list[Message]:
        """The tenant's messages (in one box, heard or not, in one folder, if given), newest first."""
        if folder is not None and folder not in FOLDERS:
            raise ValueError(f"folder must be one of {', '.join(FOLDERS)}, got {folder!r}")
        with self._sessions() as session:
            tid = tenant_id(session, tenant)
            query = select(VoicemailMessageRow).where(VoicemailMessageRow.tenant_id == tid)
            if box is not None:
                query = query.where(VoicemailMessageRow.box == box)
            if heard is not None:
                query = query.where(VoicemailMessageRow.heard == heard)
            if folder is not None:
                query = query.where(VoicemailMessageRow.folder == folder)
            query = query.order_by(VoicemailMessageRow.received_at.desc(), VoicemailMessageRow.id)
            return [_message(row, tenant) for row in session.scalars(query)]

    def message(self, tenant: str, id: str) -> Message:
        with self._sessions() as session:
            return _message(self._row(session, tenant_id(session, tenant), id), tenant)

    def unheard_count(self, tenant: str, box: str) -> int:
        return self.counts(tenant, box)[0]

    def counts(self, tenant: str, box: str) -> tuple[int, int]:
        """(new, old) for the message-waiting indication: unheard and heard messages in the box."""
        with self._sessions() as session:
            tid = tenant_id(session, tenant)
            counted = dict(session.execute(
                select(VoicemailMessageRow.heard, func.count()).where(
                    VoicemailMessageRow.tenant_id == tid, VoicemailMessageRow.box == box)
                .group_by(VoicemailMessageRow.heard)).tuples().all())
        return counted.get(False, 0), counted.get(True, 0)

    def box_counts(self, tenant: str) -> dict[str, tuple[int, int]]:
        """Every box of the tenant that holds messages: box → (unheard, heard)."""
        with self._sessions() as session:
            tid = tenant_id(session, tenant)
            out: dict[str, list[int]] = {}
            for box, heard, count in session.execute(
                    select(VoicemailMessageRow.box, VoicemailMessageRow.heard, func.count())
                    .where(VoicemailMessageRow.tenant_id == tid)
                    .group_by(VoicemailMessageRow.box, VoicemailMessageRow.heard)).tuples():
                out.setdefault(box, [0, 0])[1 if heard else 0] = count
        return {box: (new, old) for box, (new, old) in out.items()}

    def audio_path(self, tenant: str, id: str) -> Path:
        """Where the message's WAV is; checked to lie in the tenant's own media directory."""
        return stored_media_path(self.media_root, tenant, self.message(tenant, id).file)

    def deletions(self, tenant: str) -> list[Deletion]:
        """The tenant's deleted voicemail messages (who, when, why), oldest first."""
        with self._sessions() as session:
            return deletion_log(session, tenant, KIND)

    # --- changing ------------------------------------------------------------------------------

    def mark_heard(self, tenant: str, id: str, heard: bool, by: str) -> Message:
        """Set the message's one heard state. Marking a heard message heard again keeps who heard it first."""
        return self.change(tenant, id, by, heard=heard)[1]

    def save(self, tenant: str, id: str) -> Message:
        """Move the message to the "saved" folder."""
        return self.change(tenant, id, "", saved=True)[1]

    def change(self, tenant: str, id: str, by: str, *, heard: bool | None = None, saved: bool = False,
               also: Callable[[Session, Message, Message], None] | None = None) -> tuple[Message, Message]:
        """Mark heard/unheard and/or move to "saved", in one transaction; `also(session, before, after)` runs in
        it too (the admin API's audit entry goes with the change). Returns (before, after)."""
        with self._sessions() as session, session.begin():
            row = self._row(session, tenant_id(session, tenant), id, for_update=True)
            before = _message(row, tenant)
            if heard is not None and row.heard != heard:
                row.heard = heard
                row.heard_at = self._clock() if heard else None
                row.heard_by = by if heard else None
            if saved:
                row.folder = "saved"
            after = _message(row, tenant)
            if also is not None:
                also(session, before, after)
        if after.heard != before.heard:
            log.info("voicemail message marked " + ("heard" if after.heard else "unheard"), extra={
                "event": "voicemail_heard" if after.heard else "voicemail_unheard", "tenant": tenant,
                "box": after.box, "id": id, "by": by})
        if after.folder != before.folder:
            log.info("voicemail message saved", extra={"event": "voicemail_saved", "tenant": tenant,
                                                       "box": after.box, "id": id})
        return before, after

    def delete(self, tenant: str, id: str, by: str, reason: str = "") -> Message:
        """Delete the message: its row (with an entry in the deletion log), then its file. Returns what was deleted."""
        with self._sessions() as session, session.begin():
            tid = tenant_id(session, tenant)
            row = self._row(session, tid, id, for_update=True)
            message = _message(row, tenant)
            path = stored_media_path(self.media_root, tenant, row.file)
            session.delete(row)
            log_deletion(session, tid, KIND, id, row.file, self._clock(), by, reason)
        try:
            remove_file(path)
        except OSError:
            log.exception("the file of a deleted voicemail message could not be removed", extra={
                "event": "voicemail_file_left", "tenant": tenant, "id": id, "path": str(path)})
        log.info("voicemail message deleted", extra={
            "event": "voicemail_deleted", "tenant": tenant, "box": message.box, "id": id, "by": by, "reason": reason})
        return message

    def voicemail_retention(self, now: datetime) -> int:
        """Delete every message older than its tenant's voicemail retention (where one is set), logged as
        by "retention". Returns how many were deleted; one that cannot be is logged and the rest go on."""
        doomed: list[tuple[str, str, int]] = []
        with self._sessions() as session:
            for tid, key, retention in retention_settings(session):
                days = retention.voicemail_days
                if days is None:
                    continue
                ids = session.scalars(select(VoicemailMessageRow.id).where(
                    VoicemailMessageRow.tenant_id == tid,
                    VoicemailMessageRow.received_at < now - timedelta(days=days))
                    .order_by(VoicemailMessageRow.received_at))
                doomed.extend((key, msg_id, days) for msg_id in ids)
        deleted = 0
        for key, msg_id, days in doomed:
            try:
                self.delete(key, msg_id, "retention", f"older than {days} days")
            except NotFound:
                continue  # deleted by someone meanwhile
            except Exception:
                log.exception("retention could not delete a voicemail message", extra={
                    "event": "voicemail_retention_failed", "tenant": key, "id": msg_id})
                continue
            deleted += 1
        return deleted

    @staticmethod
    def _row(session: Session, tid: int, id: str, *, for_update: bool = False) -> VoicemailMessageRow:
        query = select(VoicemailMessageRow).where(VoicemailMessageRow.id == id, VoicemailMessageRow.tenant_id == tid)
        if for_update:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(f"no voicemail message {id!r}")
        return row

    # --- the same, off the event loop ------------------------------------------------------------

    async def adeposit(self, tenant: str, box: str, recorded: Path, *, call_id: str, caller: str, dialled: str,
                       at: datetime) -> Message | None:
        return await asyncio.to_thread(self.deposit, tenant, box, recorded, call_id=call_id, caller=caller,
                                       dialled=dialled, at=at)

    async def amessages(self, tenant: str, box: str | None = None, *, heard: bool | None = None,
                        folder: str | None = None) -> list[Message]:
        return await in_db(self._sessions, self.messages, tenant, box, heard=heard, folder=folder)

    async def amessage(self, tenant: str, id: str) -> Message:
        return await in_db(self._sessions, self.message, tenant, id)

    async def aunheard_count(self, tenant: str, box: str) -> int:
        return await in_db(self._sessions, self.unheard_count, tenant, box)

    async def acounts(self, tenant: str, box: str) -> tuple[int, int]:
        return await in_db(self._sessions, self.counts, tenant, box)

    async def aaudio_path(self, tenant: str, id: str) -> Path:
        return await in_db(self._sessions, self.audio_path, tenant, id)

    async def adeletions(self, tenant: str) -> list[Deletion]:
        return await in_db(self._sessions, self.deletions, tenant)

    async def amark_heard(self, tenant: str, id: str, heard: bool, by: str) -> Message:
        return await in_db(self._sessions, self.mark_heard, tenant, id, heard, by)

    async def asave(self, tenant: str, id: str) -> Message:
        return await in_db(self._sessions, self.save, tenant, id)

    async def achange(self, tenant: str, id: str, by: str, *, heard: bool | None = None, saved: bool = False,
                      also: Callable[[Session, Message, Message], None] | None = None) -> tuple[Message, Message]:
        return await in_db(self._sessions, lambda: self.change(tenant, id, by, heard=heard, saved=saved, also=also))

    async def adelete(self, tenant: str, id: str, by: str, reason: str = "") -> Message:
        return await in_db(self._sessions, self.delete, tenant, id, by, reason)

    async def avoicemail_retention(self, now: datetime) -> int:
        return await asyncio.to_thread(self.voicemail_retention, now)
