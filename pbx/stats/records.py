"""Call records into SQL: merged by (tenant, call id), written in batches off the event loop, kept in memory
and retried while the database is away, so a hiccup loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pbx.db.models import TenantRow
from pbx.db.session import in_db
from pbx.stats.models import CallRecordRow

log = logging.getLogger("pbx.stats")

FIELDS = ("caller", "dialled", "entered_at", "ended_at", "path", "queue", "queued_at", "wait_s", "answered_by",
          "answered_at", "talk_s", "wrapup_s", "answered", "abandoned", "overflowed", "callback", "voicemail",
          "voicemail_box", "cause", "queue_outcome", "queues")
CALLBACK_RANK = {None: 0, "requested": 1, "failed": 2, "made": 3}  # a callback's news only moves forward


@dataclass(frozen=True, slots=True)
class RecordWrite:
    """A whole call record (`full`: may create the row) or later news about one (a patch: only updates)."""

    tenant: str
    call_id: str
    fields: Mapping[str, Any]
    full: bool = True


def outcome_of(answered: bool, callback: str | None, voicemail: bool, overflowed: bool, abandoned: bool) -> str:
    """One word for how the call ended, the most telling first. Abandoning ends a call, so a caller who
    overflowed into another queue and gave up there was abandoned."""
    if answered:
        return "answered"
    if callback is not None:
        return "callback"
    if voicemail:
        return "voicemail"
    if abandoned:
        return "abandoned"
    if overflowed:
        return "overflowed"
    return "ended"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean(value: Any) -> Any:
    """Text as a person reads it: control characters (a caller ID can carry anything) are dropped, so every
    list, export and workbook can show the record."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _told(name: str, value: Any) -> tuple[int, int]:
    """How much a path or a list of queue legs says: its length, then (legs) how many have their outcome."""
    items = list(value or ())
    settled = sum(1 for leg in items if isinstance(leg, Mapping) and leg.get("outcome")) if name == "queues" else 0
    return len(items), settled


def merge(existing: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """What a row holds after `news`: a value overrides only when it says something (not None, not False),
    flags stay raised, the longer path (and list of queues) wins, a callback only advances. Writing the same
    news twice (two controllers, a retry after an unknown outcome) changes nothing."""
    out = dict(existing)
    for name, raw in news.items():
        value = clean(raw)
        if name in ("path", "queues"):  # what the call went through: the controller that saw more knows more
            if _told(name, value) > _told(name, out.get(name)):
                out[name] = list(value)
        elif name == "callback":
            if CALLBACK_RANK.get(value, 0) > CALLBACK_RANK.get(out.get("callback"), 0):
                out["callback"] = value
        elif value is not None and value is not False and value != "":
            out[name] = value
    return out


class CallRecordStore:
    """The call_records table. `write` applies a batch in one transaction and returns the patches whose row
    does not exist yet (the call ended on another controller that has not written it yet)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def write(self, batch: Sequence[RecordWrite]) -> list[RecordWrite]:
        deferred: list[RecordWrite] = []
        with self.sessions() as session, session.begin():
            keys = {w.tenant for w in batch}
            ids = dict(session.execute(select(TenantRow.key, TenantRow.id)
                                       .where(TenantRow.key.in_(keys))).tuples().all())
            for w in batch:
                tenant_id = ids.get(w.tenant)
                if tenant_id is None:
                    log.warning("call record of an unknown tenant dropped", extra={
                        "event": "call_record_no_tenant", "tenant": w.tenant, "call": w.call_id})
                    continue
                row = session.scalar(select(CallRecordRow).where(CallRecordRow.tenant_id == tenant_id,
                                                                 CallRecordRow.call_id == w.call_id))
                if row is None and not w.full:
                    deferred.append(w)
                    continue
                if row is None:
                    row = CallRecordRow(tenant_id=tenant_id, call_id=w.call_id, caller="", dialled="", path=[],
                                        answered=False, abandoned=False, overflowed=False, voicemail=False,
                                        cause="")
                    session.add(row)
                    current: dict[str, Any] = {"path": [], "answered": False, "abandoned": False,
                                               "overflowed": False, "voicemail": False}
                else:
                    current = {name: getattr(row, name) for name in FIELDS}
                merged = merge(current, w.fields)
                for name in FIELDS:
                    if name in merged and merged[name] != current.get(name):
                        setattr(row, name, merged[name])
                row.outcome = outcome_of(row.answered, row.callback, row.voicemail, row.overflowed, row.abandoned)
                session.flush()  # the next write of this call in the batch finds the row
        return deferred


@dataclass
class _Pending:
    write: RecordWrite
    first_seen: float
    not_before: float = 0.0


@dataclass
class WriterMetrics:
    written: int = 0
    failures: int = 0
    dropped: int = 0
    last_error: str = ""
    pending: int = field(default=0)


class CallRecordWriter:
    """Hands records to the store from a background task: `submit` never blocks or fails. A failed batch stays
    queued and is tried again with growing pauses (the log says so); patches for rows not written yet wait
    `patch_wait_s` at most. At `stop`, what still cannot be written is logged in full, not silently lost."""

    def __init__(self, store: CallRecordStore, *, batch: int = 200, retry_s: float = 0.5, max_retry_s: float = 30.0,
                 patch_wait_s: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        # told of the calls whose whole record the database has just taken (committed): (tenant, call id)
        self.on_written: list[Callable[[list[tuple[str, str]]], None]] = []
        self.batch = batch
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self.patch_wait_s = patch_wait_s
        self.clock = clock
        self.metrics = WriterMetrics()
        self._pending: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failed_in_row = 0

    def submit(self, write: RecordWrite) -> None:
        self._pending.append(_Pending(write, self.clock()))
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="call-record-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        for item in self._pending:
            log.error("call record not written", extra={
                "event": "call_record_unwritten", "tenant": item.write.tenant, "call": item.write.call_id,
                "record": json.dumps(dict(item.write.fields), default=_plain)})
        self._pending.clear()

    async def _run(self) -> None:
        while True:
            pause: float | None = None
            if self._pending:
                if await self.flush():
                    self._failed_in_row = 0
                    pause = 5.0 if self._pending else None  # only patches waiting for their row are left
                else:  # the database is away: do not hammer it, whatever arrives meanwhile
                    self._failed_in_row += 1
                    await asyncio.sleep(min(self.max_retry_s, self.retry_s * 2 ** (self._failed_in_row - 1)))
                    continue
            if pause is None:
                await self._wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)
            self._wake.clear()

    async def flush(self) -> bool:
        """Write what is due now, in batches. False when the database refused (everything is still queued)."""
        async with self._lock:
            now = self.clock()
            due = [p for p in self._pending if p.not_before <= now]
            for start in range(0, len(due), self.batch):
                chunk = due[start:start + self.batch]
                try:
                    deferred = await in_db(self.store.sessions, self.store.write, [p.write for p in chunk])
                except Exception as exc:
                    self.metrics.failures += 1
                    self.metrics.last_error = repr(exc)
                    log.warning("call records not written yet, will retry", extra={
                        "event": "call_record_retry", "records": len(self._pending), "error": repr(exc)})
                    return False
                waiting = {id(w) for w in deferred}
                self._tell_written([(p.write.tenant, p.write.call_id) for p in chunk
                                    if p.write.full and id(p.write) not in waiting])
                for p in chunk:
                    self._pending.remove(p)
                    if id(p.write) not in waiting:
                        self.metrics.written += 1
                    elif now - p.first_seen > self.patch_wait_s:
                        self.metrics.dropped += 1
                        log.error("call record news for a call never written", extra={
                            "event": "call_record_patch_dropped", "tenant": p.write.tenant, "call": p.write.call_id,
                            "record": json.dumps(dict(p.write.fields), default=_plain)})
                    else:
                        p.not_before = now + 5.0
                        self._pending.append(p)
            self.metrics.pending = len(self._pending)
            return True


    def _tell_written(self, calls: list[tuple[str, str]]) -> None:
        if not calls:
            return
        for listener in self.on_written:
            try:
                listener(calls)
            except Exception:
                log.exception("call record listener failed", extra={"event": "call_record_listener_error"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)

