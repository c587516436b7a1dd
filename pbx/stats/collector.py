"""What the controller sees of each call, gathered into its call record: router decisions, AMI answers and
hangups, the contact centre's events, messages left. Written when the call ends; news that arrives later
(a wrap-up ended, a callback made, a message stored) goes to the same record as a patch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pbx.acd.service import AcdEvent
from pbx.calls import CallLog, CallRecord
from pbx.routing.engine import Call, Decision, Voicemail
from pbx.stats.records import CallRecordWriter, RecordWrite

log = logging.getLogger("pbx.stats")

Owner = Callable[[str], tuple[str, str] | None]  # device → (tenant, user)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    return None if earlier is None else round(max(0.0, (later - earlier).total_seconds()), 3)


def record_fields(rec: CallRecord) -> dict[str, Any]:
    return {"caller": rec.caller, "dialled": rec.dialled, "entered_at": rec.started, "ended_at": rec.ended,
            "path": list(rec.path), "queue": rec.queue, "queued_at": rec.queued_at, "wait_s": rec.wait_s,
            "answered_by": rec.answered_by, "answered_at": rec.answered_at, "talk_s": rec.talk_s,
            "wrapup_s": rec.wrapup_s, "answered": rec.answered, "abandoned": rec.abandoned,
            "overflowed": rec.overflowed, "callback": rec.callback, "voicemail": rec.voicemail,
            "voicemail_box": rec.voicemail_box, "cause": rec.cause}


class CallRecorder:
    """Fills the CallLog's records in; `writer` None keeps them in memory only (no database configured)."""

    def __init__(self, calls: CallLog, writer: CallRecordWriter | None, owner: Owner) -> None:
        self.calls = calls
        self.writer = writer
        self.owner = owner
        self.wrapping: dict[tuple[str, str], tuple[str, float, float]] = {}  # (tenant, agent) → call, start, planned

    # --- news about a call --------------------------------------------------------------------
    def _update(self, tenant: str, call_id: str, **fields: Any) -> None:
        """Into the record while the call lasts; as a patch once it was handed to the writer (or when this
        controller never saw the call: the one that did writes the record, the patch merges into it)."""
        if not call_id:
            return
        rec = self.calls.get(call_id)
        if rec is not None and rec.tenant == tenant:
            for name, value in fields.items():
                setattr(rec, name, value)
            if not rec.written:
                return
        if self.writer is not None:
            self.writer.submit(RecordWrite(tenant, call_id, fields, full=False))

    def decision(self, decision: Decision, uniqueid: str, call: Call) -> None:
        if isinstance(decision.action, Voicemail):
            rec = self.calls.get(uniqueid)
            if rec is not None:
                rec.voicemail_box = decision.action.box

    def answered(self, uniqueid: str, dest_channel: str, at: datetime) -> None:
        """AMI DialEnd ANSWER: whoever's phone answered (a user, or an external number's channel)."""
        rec = self.calls.live.get(uniqueid)
        if rec is None or rec.tenant is None or rec.answered:
            return
        device = dest_channel.rpartition("-")[0] if dest_channel.startswith("PJSIP/") else dest_channel
        owner = self.owner(device)
        user = owner[1] if owner is not None and owner[0] == rec.tenant else None
        rec.answered, rec.answered_at, rec.answered_by = True, at, user or dest_channel or None

    def message_left(self, tenant: str, call_id: str, box: str) -> None:
        self._update(tenant, call_id, voicemail=True, voicemail_box=box)

    def acd(self, ev: AcdEvent) -> None:
        """The contact centre's view of the call (pbx.acd.service.AcdEvent)."""
        at = _at(ev.at)
        rec = self.calls.get(ev.call_id) if ev.call_id else None
        queued_at = rec.queued_at if rec is not None else None
        if ev.kind == "joined":
            if rec is not None and rec.queue is None:
                rec.queue, rec.queued_at = ev.queue, at
        elif ev.kind == "answered":
            self._update(ev.tenant, ev.call_id, answered=True, answered_at=at, answered_by=ev.agent,
                         wait_s=_seconds(at, queued_at))
        elif ev.kind in ("abandoned", "overflowed"):
            self._update(ev.tenant, ev.call_id, **{ev.kind: True}, wait_s=_seconds(at, queued_at))
        elif ev.kind == "callback_requested":
            if rec is not None and rec.queue is None:  # asked for in a menu: the queue is the one to call back
                rec.queue = ev.queue
            self._update(ev.tenant, ev.call_id, callback="requested", wait_s=_seconds(at, queued_at))
        elif ev.kind == "callback_made":
            self._update(ev.tenant, ev.call_id, callback="made", answered_by=ev.agent)
        elif ev.kind == "callback_failed":
            self._update(ev.tenant, ev.call_id, callback="failed")
        elif ev.kind == "wrapup_started" and ev.agent is not None:
            self.wrapping[(ev.tenant, ev.agent)] = (ev.call_id, ev.at, ev.seconds or 0.0)
            self._update(ev.tenant, ev.call_id, wrapup_s=round(ev.seconds or 0.0, 3))
        elif ev.kind == "wrapup_ended" and ev.agent is not None:
            started = self.wrapping.pop((ev.tenant, ev.agent), None)
            if started is not None:
                call_id, start, planned = started
                actual = round(max(0.0, ev.at - start), 3)
                if abs(actual - planned) >= 0.5:  # ended early (or extended): the time it really took
                    self._update(ev.tenant, call_id, wrapup_s=actual)

    # --- the end --------------------------------------------------------------------------------
    def ended(self, rec: CallRecord) -> None:
        """The call hung up and the contact centre has had its say: the record goes to the database."""
        if rec.tenant is None or rec.written:
            return
        if rec.answered and rec.ended is not None:
            rec.talk_s = _seconds(rec.ended, rec.answered_at)
        rec.written = True
        log.info("call ended", extra={"event": "call_record", "tenant": rec.tenant, "call": rec.uniqueid,
                                      "queue": rec.queue, "answered_by": rec.answered_by, "wait_s": rec.wait_s,
                                      "talk_s": rec.talk_s, "cause": rec.cause})
        if self.writer is not None:
            self.writer.submit(RecordWrite(rec.tenant, rec.uniqueid, record_fields(rec)))
