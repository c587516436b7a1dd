"""Call recordings (F-14): indexing what MixMonitor wrote, listing, deletion, and retention limits per tenant.

A recording is a WAV under `<media root>/<tenant>/recordings/<yyyy>/<mm>/<id>.wav` (year and month
of its start, UTC) plus a row in `recordings`. As with voicemail (pbx.media.index_file), the file is
in place before its row exists and the row is gone before the file goes; the file MixMonitor wrote
is removed only once the recording is indexed. Recordings of calls that never connected (no audio,
or nothing but silence) are not listed: their files are removed.

Every method is synchronous (database and fsync); each has an `a`-prefixed twin (`aindex`,
`arecordings`, …) that runs it in a worker thread, for callers on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pbx.db.models import RecordingRow
from pbx.db.session import in_db
from pbx.db.store import NotFound
from pbx.media import (
    Deletion,
    FileDigest,
    Retention,
    UnreadableWav,
    deletion_log,
    index_file,
    inspect_wav,
    load_retention,
    log_deletion,
    media_path,
    place,
    recording_flaw,
    relative_media_path,
    remove_file,
    retention_settings,
    save_retention,
    stored_media_path,
    tenant_id,
)

__all__ = ["KINDS", "Recording", "RecordingIndex"]

log = logging.getLogger("pbx.recording")

KINDS = ("continuous", "on-demand")
KIND = "recording"  # in the deletion log


@dataclass(frozen=True, slots=True)
class Recording:
    """A call recording. `user` is the user or agent in the call, `queue` the queue it came through, if any;
    `file` is relative to the media root."""

    id: str
    tenant: str
    call_id: str
    kind: str
    caller: str
    dialled: str
    user: str | None
    queue: str | None
    started_at: datetime
    duration_s: float
    file: str
    size_bytes: int
    sha256: str


def _recording(row: RecordingRow, tenant: str) -> Recording:
    return Recording(id=row.id, tenant=tenant, call_id=row.call_id, kind=row.kind, caller=row.caller,
                     dialled=row.dialled, user=row.user_key, queue=row.queue_key, started_at=row.started_at,
                     duration_s=row.duration_s, file=row.file, size_bytes=row.size_bytes, sha256=row.sha256)


class RecordingIndex:
    """The call recordings of all tenants, and every tenant's retention limits (recordings and voicemail).

    Every lookup is by (tenant, id): another tenant's id is NotFound, exactly like one that does not exist."""

    def __init__(self, session_factory: Callable[[], Session], media_root: Path,
                 clock: Callable[[], datetime]) -> None:
        self._sessions = session_factory
        self.media_root = media_root
        self._clock = clock

    # --- indexing ------------------------------------------------------------------------------

    def index(self, tenant: str, recorded: Path, *, call_id: str, kind: str, caller: str, dialled: str,
              user: str | None = None, queue: str | None = None, started_at: datetime) -> Recording | None:
        """Move the recording in `recorded` into the tenant's media and list it.

        None when it is not worth listing (no audio, or silence only: the call never connected); its
        file is removed, logged as `recording_discarded`. Indexing the same file again (same call, kind,
        start and content: a retry) returns the recording listed the first time. Raises UnknownTenant (a
        NotFound) for an unknown tenant, ValueError for a bad kind or key, and UnreadableWav for a file
        that is missing or not a WAV (left where it is: it may be a recorder's problem worth a look, and
        it is still the customer's data); on any other failure the file is also left where it was."""
        if kind not in KINDS:
            raise ValueError(f"recording kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not call_id:
            raise ValueError("a recording needs the call's id")
        if started_at.tzinfo is None or started_at.utcoffset() is None:
            raise ValueError(f"naive datetime {started_at!r}: pass a timezone-aware instant")
        media_path(self.media_root, tenant, "recordings")  # refuse an unsafe tenant key before anything else
        with self._sessions() as session:
            tenant_id(session, tenant)
        fields = {"tenant": tenant, "call_id": call_id, "kind": kind}
        try:
            facts = inspect_wav(recorded)
        except UnreadableWav as exc:
            if exc.reason != "empty":
                raise
            flaw: str | None = "no-audio"
            duration = 0.0
        else:
            flaw = recording_flaw(facts)
            duration = facts.duration_s
        if flaw is not None:
            log.info("recording not listed", extra={**fields, "event": "recording_discarded", "reason": flaw,
                                                    "duration_s": round(duration, 3)})
            self._remove_source(recorded, fields)
            return None

        rec_id = str(uuid.uuid4())
        month = started_at.astimezone(UTC)
        dest = media_path(self.media_root, tenant, "recordings", f"{month:%Y}", f"{month:%m}", rec_id, suffix=".wav")
        relative = relative_media_path(self.media_root, dest)

        def write_row(digest: FileDigest) -> Recording:
            with self._sessions() as session, session.begin():
                tid = tenant_id(session, tenant)
                # the same file indexed again (a retry after the row was written but before the source was
                # removed): the recording is already listed
                twin = session.scalars(select(RecordingRow).where(
                    RecordingRow.tenant_id == tid, RecordingRow.call_id == call_id, RecordingRow.kind == kind,
                    RecordingRow.started_at == started_at, RecordingRow.sha256 == digest.sha256)).first()
                if twin is not None:
                    raise _AlreadyIndexed(_recording(twin, tenant))
                row = RecordingRow(id=rec_id, tenant_id=tid, call_id=call_id, kind=kind, caller=caller,
                                   dialled=dialled, user_key=user, queue_key=queue, started_at=started_at,
                                   duration_s=duration, file=relative, size_bytes=digest.size_bytes,
                                   sha256=digest.sha256)
                session.add(row)
                session.flush()
                return _recording(row, tenant)

        try:
            recording = index_file(recorded, dest, place, write_row, lambda: self._exists(rec_id))
        except _AlreadyIndexed as already:
            self._remove_source(recorded, fields)
            log.info("recording already listed", extra={**fields, "event": "recording_index_repeated",
                                                        "id": already.recording.id})
            return already.recording
        self._remove_source(recorded, fields)
        log.info("recording listed", extra={**fields, "event": "recording_indexed", "id": recording.id,
                                            "duration_s": round(recording.duration_s, 3),
                                            "size_bytes": recording.size_bytes})
        return recording

    def _exists(self, rec_id: str) -> bool:
        with self._sessions() as session:
            return session.get(RecordingRow, rec_id) is not None

    @staticmethod
    def _remove_source(recorded: Path, fields: dict[str, str]) -> None:
        try:
            remove_file(recorded)
        except OSError as exc:
            log.warning("recorded file could not be removed", extra={
                **fields, "event": "recording_source_left", "path": str(recorded), "error": str(exc)})

    # --- reading -------------------------------------------------------------------------------

    def recordings(self, tenant: str, *, call_id: str | None = None, user: str | None = None,
                   queue: str | None = None, since: datetime | None = None,
                   until: datetime | None = None) -> list[Recording]:
        """The tenant's recordings, newest first; `since` and `until` bound the start (since ≤ start < until)."""
        with self._sessions() as session:
            tid = tenant_id(session, tenant)
            query = select(RecordingRow).where(RecordingRow.tenant_id == tid)
            if call_id is not None:
                query = query.where(RecordingRow.call_id == call_id)
            if user is not None:
                query = query.where(RecordingRow.user_key == user)
            if queue is not None:
                query = query.where(RecordingRow.queue_key == queue)
            if since is not None:
                query = query.where(RecordingRow.started_at >= since)
            if until is not None:
                query = query.where(RecordingRow.started_at < until)
            query = query.order_by(RecordingRow.started_at.desc(), RecordingRow.id)
            return [_recording(row, tenant) for row in session.scalars(query)]

    def recording(self, tenant: str, id: str) -> Recording:
        with self._sessions() as session:
            return _recording(self._row(session, tenant_id(session, tenant), id), tenant)

    def audio_path(self, tenant: str, id: str) -> Path:
        """Where the recording's WAV is; checked to lie in the tenant's own media directory."""
        return stored_media_path(self.media_root, tenant, self.recording(tenant, id).file)

    def deletions(self, tenant: str) -> list[Deletion]:
        """The tenant's deleted recordings (who, when, why), oldest first."""
        with self._sessions() as session:
            return deletion_log(session, tenant, KIND)

    # --- deleting and retention ----------------------------------------------------------------

    def delete(self, tenant: str, id: str, by: str, reason: str = "") -> Recording:
        """Delete the recording: its row (with an entry in the deletion log), then its file. Returns it."""
        with self._sessions() as session, session.begin():
            tid = tenant_id(session, tenant)
            row = self._row(session, tid, id, for_update=True)
            recording = _recording(row, tenant)
            path = stored_media_path(self.media_root, tenant, row.file)
            session.delete(row)
            log_deletion(session, tid, KIND, id, row.file, self._clock(), by, reason)
        try:
            remove_file(path)
        except OSError:
            log.exception("the file of a deleted recording could not be removed", extra={
                "event": "recording_file_left", "tenant": tenant, "id": id, "path": str(path)})
        log.info("recording deleted", extra={"event": "recording_deleted", "tenant": tenant, "id": id,
                                             "call_id": recording.call_id, "by": by, "reason": reason})
        return recording

    def retention(self, tenant: str) -> Retention:
        with self._sessions() as session:
            return load_retention(session, tenant_id(session, tenant))

    def set_retention(self, tenant: str, recording_days: int | None = None,
                      voicemail_days: int | None = None) -> Retention:
        """Set both of the tenant's retention limits (None: keep until deleted); ValueError below one day."""
        retention = Retention(recording_days, voicemail_days)
        with self._sessions() as session, session.begin():
            save_retention(session, tenant_id(session, tenant), retention)
        log.info("media retention set", extra={"event": "media_retention_set", "tenant": tenant,
                                               "recording_days": recording_days, "voicemail_days": voicemail_days})
        return retention

    def apply_retention(self, now: datetime) -> int:
        """Delete every recording that started longer ago than its tenant's recording retention (where one is
        set), each logged by "retention". Returns how many; one that cannot be deleted is logged, the rest go on."""
        doomed: list[tuple[str, str, int]] = []
        with self._sessions() as session:
            for tid, key, retention in retention_settings(session):
                days = retention.recording_days
                if days is None:
                    continue
                ids = session.scalars(select(RecordingRow.id).where(
                    RecordingRow.tenant_id == tid, RecordingRow.started_at < now - timedelta(days=days))
                    .order_by(RecordingRow.started_at))
                doomed.extend((key, rec_id, days) for rec_id in ids)
        deleted = 0
        for key, rec_id, days in doomed:
            try:
                self.delete(key, rec_id, "retention", f"older than {days} days")
            except NotFound:
                continue  # deleted by someone meanwhile
            except Exception:
                log.exception("retention could not delete a recording", extra={
                    "event": "recording_retention_failed", "tenant": key, "id": rec_id})
                continue
            deleted += 1
        return deleted

    @staticmethod
    def _row(session: Session, tid: int, id: str, *, for_update: bool = False) -> RecordingRow:
        query = select(RecordingRow).where(RecordingRow.id == id, RecordingRow.tenant_id == tid)
        if for_update:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(f"no recording {id!r}")
        return row

    # --- the same, off the event loop ------------------------------------------------------------

    async def aindex(self, tenant: str, recorded: Path, *, call_id: str, kind: str, caller: str, dialled: str,
                     user: str | None = None, queue: str | None = None, started_at: datetime) -> Recording | None:
        return await asyncio.to_thread(self.index, tenant, recorded, call_id=call_id, kind=kind, caller=caller,
                                       dialled=dialled, user=user, queue=queue, started_at=started_at)

    async def arecordings(self, tenant: str, *, call_id: str | None = None, user: str | None = None,
                          queue: str | None = None, since: datetime | None = None,
                          until: datetime | None = None) -> list[Recording]:
        return await in_db(self._sessions, self.recordings, tenant, call_id=call_id, user=user, queue=queue,
                                       since=since, until=until)

    async def arecording(self, tenant: str, id: str) -> Recording:
        return await in_db(self._sessions, self.recording, tenant, id)

    async def aaudio_path(self, tenant: str, id: str) -> Path:
        return await in_db(self._sessions, self.audio_path, tenant, id)

    async def adeletions(self, tenant: str) -> list[Deletion]:
        return await in_db(self._sessions, self.deletions, tenant)

    async def adelete(self, tenant: str, id: str, by: str, reason: str = "") -> Recording:
        return await in_db(self._sessions, self.delete, tenant, id, by, reason)

    async def aretention(self, tenant: str) -> Retention:
        return await in_db(self._sessions, self.retention, tenant)

    async def aset_retention(self, tenant: str, recording_days: int | None = None,
                             voicemail_days: int | None = None) -> Retention:
        return await in_db(self._sessions, self.set_retention, tenant, recording_days, voicemail_days)

    async def aapply_retention(self, now: datetime) -> int:
        return await asyncio.to_thread(self.apply_retention, now)


class _AlreadyIndexed(Exception):
    """Raised inside the row's transaction to roll it back and hand over the recording listed before."""

    def __init__(self, recording: Recording) -> None:
        super().__init__(recording.id)
        self.recording = recording
