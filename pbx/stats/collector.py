"""What the controller sees of each call, gathered into its call record: router decisions, AMI answers and
hangups, the contact centre's events, messages left. Written when the call ends; news that arrives later
(a wrap-up ended, a callback made, a message stored) goes to the same record as a patch.

A caller may go through several queues on one call (a queue overflowing into another, a flow or an agent
sending them on): each is a leg (`QueueLeg`) with its own join time, wait and outcome, and the record's
queue, wait and `queue_outcome` are those of the last one. The legs of a call are kept (`QueueCall`) until
the database has taken the record, so the wallboard can count this controller's calls whose record is not
there yet (pbx.stats.wallboard.TodayCounts).

A caller who hangs up before the controller's first routing answer still leaves a record: from the AMI
hangup when the call had not reached the dialplan's first step (the dialled number is still the
extension), or from the routing answer that arrives after the hangup (the AGI request was on its way).
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbx.acd.service import AcdEvent
from pbx.calls import CallLog, CallRecord
from pbx.routing.compile import RoutingTable
from pbx.routing.engine import Call, Decision, EnterQueue, Voicemail
from pbx.stats.records import CallRecordWriter, RecordWrite

log = logging.getLogger("pbx.stats")

Owner = Callable[[str], tuple[str, str] | None]  # device → (tenant, user)
Names = Callable[[str, str], tuple[str, str] | None]  # (tenant, user key / extension / number) → (name, extension)

INBOUND_CONTEXT = "pbx-inbound"  # where calls from the trunk enter the dialplan (asterisk-config/extensions.conf)
KEEP_WRITTEN_S = 120.0  # a call whose record the database took is forgotten after this (the wallboard has read it)
KEEP_UNWRITTEN_S = 2 * 86400.0  # without a database: a call's legs are kept until its day is over
GONE_KEPT = 1000  # hangups of calls this controller did not know, for a routing answer that comes after them
LEGS_KEPT = 2000  # Local channel pairs remembered, for an attended transfer's consultation to be found
_UNIQUEID_EPOCH = re.compile(r"(?:^|-)(\d{9,11})\.\d+$")


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    return None if earlier is None else round(max(0.0, (later - earlier).total_seconds()), 3)


@dataclass
class QueueLeg:
    """One queue the caller was in. outcome: None while waiting, then answered | missed | overflowed | callback."""

    queue: str
    queued_at: datetime | None
    outcome: str | None = None
    wait_s: float | None = None
    answered_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"queue": self.queue, "queued_at": self.queued_at.isoformat() if self.queued_at else None,
                "wait_s": self.wait_s, "outcome": self.outcome, "answered_by": self.answered_by}


@dataclass
class QueueCall:
    """A call's legs through queues, kept by the controller that follows it until the database has its record."""

    tenant: str
    call_id: str
    entered: datetime
    legs: list[QueueLeg] = field(default_factory=list)
    handed: bool = False  # the whole record went to the writer
    written_at: float | None = None  # monotonic: when the database took it

    @property
    def last(self) -> QueueLeg | None:
        return self.legs[-1] if self.legs else None

    def fields(self) -> dict[str, Any]:
        last = self.last
        return {"queue_outcome": last.outcome if last is not None else None,
                "queues": [leg.to_json() for leg in self.legs]}


def record_fields(rec: CallRecord, queued: QueueCall | None = None) -> dict[str, Any]:
    return {"caller": rec.caller, "dialled": rec.dialled, "entered_at": rec.started, "ended_at": rec.ended,
            "path": list(rec.path), "queue": rec.queue, "queued_at": rec.queued_at, "wait_s": rec.wait_s,
            "answered_by": rec.answered_by, "answered_at": rec.answered_at, "talk_s": rec.talk_s,
            "wrapup_s": rec.wrapup_s, "answered": rec.answered, "abandoned": rec.abandoned,
            "overflowed": rec.overflowed, "callback": rec.callback, "voicemail": rec.voicemail,
            "voicemail_box": rec.voicemail_box, "cause": rec.cause,
            **(queued.fields() if queued is not None else {"queue_outcome": None, "queues": []})}


def entered_from_uniqueid(uniqueid: str, fallback: datetime) -> datetime:
    """When the channel was made: Asterisk's uniqueid is `[system-]epoch.sequence` (whole seconds)."""
    found = _UNIQUEID_EPOCH.search(uniqueid)
    if found is None:
        return fallback
    made = datetime.fromtimestamp(int(found.group(1)), UTC)
    return made if made <= fallback else fallback


class CallRecorder:
    """Fills the CallLog's records in; `writer` None keeps them in memory only (no database configured)."""

    def __init__(self, calls: CallLog, writer: CallRecordWriter | None, owner: Owner,
                 clock: Callable[[], float] = time.monotonic, names: Names | None = None) -> None:
        """`names`: who a user key, extension or number is in a tenant (for the path's transfer lines)."""
        self.calls = calls
        self.writer = writer
        self.owner = owner
        self.clock = clock
        self.names: Names = names or (lambda tenant, ref: None)
        self._locals: OrderedDict[str, str] = OrderedDict()  # Local …;1 channel → the call its ;2 half is
        self._handover: OrderedDict[str, str] = OrderedDict()  # consultation call → the caller's call it went to
        self.wrapping: dict[tuple[str, str], tuple[str, float, float]] = {}  # (tenant, agent) → call, start, planned
        self.queued: OrderedDict[str, QueueCall] = OrderedDict()  # call id → its legs, oldest call first
        self._written: deque[tuple[float, str]] = deque()  # (when the database took it, call id), oldest first
        self._gone: OrderedDict[str, tuple[datetime, str]] = OrderedDict()  # unknown call hung up: (at, cause)
        if writer is not None:
            writer.on_written.append(self._database_has)

    # --- news about a call --------------------------------------------------------------------
    def _update(self, tenant: str, call_id: str, **fields: Any) -> None:
        """Into the record while the call lasts; as a patch once it was handed to the writer (or when this
        controller never saw the call: the one that did writes the record, the patch merges into it)."""
        if not call_id:
            return
        rec = self.calls.get(call_id)
        queued = self.queued.get(call_id)
        if queued is not None and queued.tenant == tenant:
            fields = {**fields, **queued.fields()}
        if rec is not None and rec.tenant == tenant:
            for name, value in fields.items():
                if hasattr(rec, name):
                    setattr(rec, name, value)
            if not rec.written:
                return
        if self.writer is not None:
            self.writer.submit(RecordWrite(tenant, call_id, fields, full=False))

    def decision(self, decision: Decision, uniqueid: str, call: Call) -> None:
        gone = self._gone.pop(uniqueid, None)
        if gone is not None:
            self._answered_after_hangup(uniqueid, *gone)
            return
        if isinstance(decision.action, Voicemail):
            rec = self.calls.get(uniqueid)
            if rec is not None:
                rec.voicemail_box = decision.action.box
        elif isinstance(decision.action, EnterQueue) and decision.tenant is not None:
            # the flow sends the caller into a queue: a new leg when it is another queue than the one they wait
            # in (an overflow from queue to queue), or when their last queue is behind them (answered, then sent on)
            at = _at(float(decision.entered)) if decision.entered else decision.at
            self._join(decision.tenant, uniqueid, decision.action.queue, at)

    def _user_of(self, tenant: str | None, channel: str) -> str | None:
        """The tenant's user whose phone `channel` (PJSIP/<endpoint>-<sequence>) is."""
        device = channel.rpartition("-")[0] if channel.startswith("PJSIP/") else channel
        owner = self.owner(device)
        return owner[1] if owner is not None and owner[0] == tenant else None

    def answered(self, uniqueid: str, dest_channel: str, at: datetime) -> None:
        """AMI DialEnd ANSWER: whoever's phone answered (a user, or an external number's channel). After a
        transfer the record keeps its first answer's time (talk time goes on) and names the new answerer."""
        rec = self.calls.live.get(uniqueid)
        answerer = (self._user_of(rec.tenant, dest_channel) if rec is not None else None) or dest_channel or None
        to = self._handover.pop(uniqueid, None)  # a consultation handed over before it was answered
        if to is not None:
            self._reanswered(to, answerer)
        if rec is None or rec.tenant is None or (rec.answered and not rec.reanswer):
            return
        if rec.answered:
            rec.reanswer, rec.answered_by = False, answerer
            return
        rec.answered, rec.answered_at, rec.answered_by = True, at, answerer

    def _reanswered(self, call_id: str, answerer: str | None) -> None:
        rec = self.calls.live.get(call_id)
        if rec is not None and answerer is not None:
            rec.reanswer, rec.answered_by = False, answerer

    # --- transfers (U-08): the caller's call keeps its record ----------------------------------------
    def _name(self, tenant: str, ref: str) -> str:
        who = self.names(tenant, ref)
        return who[0] if who is not None else ref

    def blind_transfer(self, event: Any) -> None:
        """AMI BlindTransfer: the caller goes on to the number; the record says who sent them where, and the
        next answer (or the forwarding that follows) is the call's answerer."""
        if event.get("Result") != "Success":
            return
        rec = self.calls.live.get(str(event.get("TransfereeUniqueid") or ""))
        if rec is None or rec.tenant is None:
            return  # a call this controller keeps no record of (a leg it dialled): nothing to continue
        by = self._user_of(rec.tenant, str(event.get("TransfererChannel") or "")) or event.get("TransfererChannel")
        exten = str(event.get("Extension") or "")
        rec.path.append(f"transferred by {self._name(rec.tenant, str(by))} to {self._name(rec.tenant, exten)} "
                        f"(blind)")
        rec.reanswer = True
        log.info("call transferred", extra={"event": "call_transferred", "tenant": rec.tenant, "call": rec.uniqueid,
                                            "mode": "blind", "by": by, "to": exten})

    def attended_transfer(self, event: Any) -> None:
        """AMI AttendedTransfer: the caller is now with whoever answered the transferer's consultation. The
        consultation (the transferer's call to the target) is an internal call of its own, the transferer's:
        its record ends where the transfer completes; from then on the conversation is the caller's."""
        if event.get("Result") != "Success":
            return
        rec = self.calls.live.get(str(event.get("TransfereeUniqueid") or ""))
        if rec is None or rec.tenant is None:
            return
        xferer = str(event.get("OrigTransfererChannel") or "")
        by = self._user_of(rec.tenant, xferer)
        target = str(event.get("TransferTargetChannel") or "")
        answerer = self._user_of(rec.tenant, target)
        consult_id = self._locals.get(target) if target.startswith("Local/") else None
        consult = self.calls.live.get(consult_id) if consult_id else None
        if consult is not None and consult.tenant == rec.tenant:
            if consult.answered:
                answerer = consult.answered_by
            else:  # the transferer hung up while it rang: whoever answers it now answers the caller
                self._handover[consult.uniqueid] = rec.uniqueid
                if len(self._handover) > LEGS_KEPT:
                    self._handover.popitem(last=False)
        target_name = self._name(rec.tenant, answerer) if answerer else (consult.dialled if consult else target)
        rec.path.append(f"transferred by {self._name(rec.tenant, by or xferer)} to {target_name} (attended)")
        if answerer is not None:
            rec.answered_by, rec.reanswer = answerer, False
        else:
            rec.reanswer = True
        if consult is not None and consult.tenant == rec.tenant:
            consult.path.append(f"consultation for a transfer: caller {rec.caller} went to {target_name}")
            who = self.names(rec.tenant, by) if by is not None else None
            if who is not None:  # the transferer's own call, whatever caller ID the Local channel carried
                consult.caller = who[1]
        log.info("call transferred", extra={"event": "call_transferred", "tenant": rec.tenant, "call": rec.uniqueid,
                                            "mode": "attended", "by": by, "to": answerer,
                                            "consultation": consult_id})

    def local_pair(self, event: Any) -> None:
        """AMI LocalBridge: which call the far half of a Local channel is (an attended transfer's consultation)."""
        one, two = str(event.get("LocalOneChannel") or ""), str(event.get("LocalTwoUniqueid") or "")
        if one and two:
            self._locals[one] = two
            if len(self._locals) > LEGS_KEPT:
                self._locals.popitem(last=False)

    def message_left(self, tenant: str, call_id: str, box: str) -> None:
        self._update(tenant, call_id, voicemail=True, voicemail_box=box)

    # --- queues -----------------------------------------------------------------------------------
    def _join(self, tenant: str, call_id: str, queue: str, at: datetime) -> None:
        rec = self.calls.get(call_id)
        queued = self.queued.get(call_id)
        if queued is None or queued.tenant != tenant:
            queued = QueueCall(tenant, call_id, rec.started if rec is not None else at)
            self.queued[call_id] = queued
            self._forget_old(queued.entered)
        last = queued.last
        if last is not None and last.queue == queue and last.outcome is None:
            return  # still waiting there (a tick, or back after an agent did not answer: the place is kept)
        if last is not None and last.outcome is None:  # left it for another queue
            last.outcome, last.wait_s = "overflowed", _seconds(at, last.queued_at)
            if rec is not None:
                rec.overflowed = True
        queued.legs.append(QueueLeg(queue, at))
        if rec is not None:
            rec.queue, rec.queued_at, rec.wait_s = queue, at, None

    def _leg(self, tenant: str, call_id: str, queue: str, at: datetime) -> QueueLeg:
        """The caller's leg in `queue` (the latest); joined now if this controller did not see them join."""
        queued = self.queued.get(call_id)
        if queued is not None and queued.tenant == tenant:
            for leg in reversed(queued.legs):
                if leg.queue == queue:
                    return leg
        self._join(tenant, call_id, queue, at)
        joined = self.queued[call_id].last
        assert joined is not None
        return joined

    def _settle(self, ev: AcdEvent, outcome: str, at: datetime, **fields: Any) -> None:
        """The caller left the event's queue (answered, missed, overflowed, a callback): the leg says how, and
        the record's queue, wait and queue outcome are the last leg's."""
        leg = self._leg(ev.tenant, ev.call_id, ev.queue, at)
        leg.outcome, leg.wait_s = outcome, _seconds(at, leg.queued_at)
        if outcome == "answered":
            leg.answered_by = ev.agent
        queued = self.queued[ev.call_id]
        if leg is queued.last:
            fields.update(queue=leg.queue, queued_at=leg.queued_at, wait_s=leg.wait_s)
        self._update(ev.tenant, ev.call_id, **fields)

    def acd(self, ev: AcdEvent) -> None:
        """The contact centre's view of the call (pbx.acd.service.AcdEvent)."""
        at = _at(ev.at)
        if ev.kind == "joined":
            self._join(ev.tenant, ev.call_id, ev.queue, at)
        elif ev.kind == "answered":
            self._settle(ev, "answered", at, answered=True, answered_at=at, answered_by=ev.agent)
        elif ev.kind == "abandoned":  # hung up waiting, or while an agent's phone rang
            self._settle(ev, "missed", at, abandoned=True)
        elif ev.kind == "overflowed":
            self._settle(ev, "overflowed", at, overflowed=True)
        elif ev.kind == "callback_requested":
            rec = self.calls.get(ev.call_id)
            if rec is not None and rec.queue is None:  # asked for in a menu: the queue is the one to call back
                rec.queue = ev.queue
            queued = self.queued.get(ev.call_id)
            if queued is not None and queued.last is not None and queued.last.queue == ev.queue:
                self._settle(ev, "callback", at, callback="requested")  # kept their place in the queue
            else:
                self._update(ev.tenant, ev.call_id, callback="requested")
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

    # --- what the wallboard counts ------------------------------------------------------------------
    def _database_has(self, calls: list[tuple[str, str]]) -> None:
        """The writer's news: these records are in the database now."""
        now = self.clock()
        for tenant, call_id in calls:
            queued = self.queued.get(call_id)
            if queued is not None and queued.tenant == tenant and queued.handed and queued.written_at is None:
                queued.written_at = now
                self._written.append((now, call_id))
        while self._written and now - self._written[0][0] > KEEP_WRITTEN_S:
            _, call_id = self._written.popleft()
            self.queued.pop(call_id, None)

    def _forget_old(self, now: datetime) -> None:
        """Without a database nothing is ever written: calls of days gone by are not counted any more."""
        if self.writer is not None:
            return
        while self.queued:
            oldest = next(iter(self.queued.values()))
            if (now - oldest.entered).total_seconds() <= KEEP_UNWRITTEN_S:
                break
            self.queued.popitem(last=False)

    def not_in_database(self, tenant: str, since: float | None = None) -> list[QueueCall]:
        """The tenant's calls with queue legs whose record the database did not have at `since` (monotonic;
        None: now): calls in progress, records not handed over or not written yet, or written after `since`."""
        return [q for q in list(self.queued.values()) if q.tenant == tenant
                and (q.written_at is None or (since is not None and q.written_at >= since))]

    def being_written(self, tenant: str) -> list[str]:
        """Call ids of the tenant whose record went to the writer and is not known to be in the database."""
        return [q.call_id for q in list(self.queued.values())
                if q.tenant == tenant and q.handed and q.written_at is None]

    def forget_written(self, tenant: str, before: float) -> None:
        """The wallboard has read the tenant's records as they were at `before`: the calls written earlier are
        counted there."""
        for call_id in [q.call_id for q in self.queued.values()
                        if q.tenant == tenant and q.written_at is not None and q.written_at < before]:
            self.queued.pop(call_id, None)

    # --- a call that ended before it was routed -------------------------------------------------------
    def unrouted(self, message: Mapping[str, Any], table: RoutingTable, at: datetime) -> CallRecord | None:
        """AMI Hangup of a call this controller has no record of. A call still at the inbound context's first
        step never had a routing answer: its record says what is known (entered, dialled, caller, ended,
        abandoned). Any other is remembered a while, for a routing answer still on its way (see decision)."""
        uid = str(message.get("Uniqueid") or "")
        cause = str(message.get("Cause-txt") or message.get("Cause") or "")
        if not uid or self.calls.get(uid) is not None:
            return None
        self._gone[uid] = (at, cause)
        if len(self._gone) > GONE_KEPT:
            self._gone.popitem(last=False)
        if message.get("Context") != INBOUND_CONTEXT:
            return None
        exten = str(message.get("Exten") or "")
        number = next((n for n in (exten, f"+{exten}") if n in table.numbers), None)
        if number is None:
            return None  # a leg the controller dialled, not a caller
        self._gone.pop(uid, None)
        rec = CallRecord(uid, table.numbers[number].tenant, entered_from_uniqueid(uid, at), dialled=number,
                         caller=str(message.get("CallerIDNum") or ""), abandoned=True)
        self.calls.live[uid] = rec
        log.info("call ended before it was routed", extra={"event": "call_unrouted", "tenant": rec.tenant,
                                                           "call": uid, "dialled": number})
        return self.calls.hangup(uid, cause, at)

    def _answered_after_hangup(self, uid: str, at: datetime, cause: str) -> None:
        """The routing answer came after the caller hung up (the AGI request was on its way): the call is over,
        so its record is written now, with the path the answer explains."""
        rec = self.calls.live.get(uid)
        if rec is None:
            return
        rec.abandoned = True
        self.calls.hangup(uid, cause, max(at, rec.started))
        rec.ended = max(at, rec.started)
        log.info("routing answer after the caller hung up", extra={"event": "call_unrouted", "tenant": rec.tenant,
                                                                    "call": uid, "dialled": rec.dialled})
        self.ended(rec)

    # --- the end --------------------------------------------------------------------------------
    def ended(self, rec: CallRecord) -> None:
        """The call hung up and the contact centre has had its say: the record goes to the database."""
        if rec.tenant is None or rec.written:
            return
        if rec.answered and rec.ended is not None:
            rec.talk_s = _seconds(rec.ended, rec.answered_at)
        rec.written = True
        queued = self.queued.get(rec.uniqueid)
        if queued is not None and queued.tenant == rec.tenant:
            queued.handed = True
        else:
            queued = None
        log.info("call ended", extra={"event": "call_record", "tenant": rec.tenant, "call": rec.uniqueid,
                                      "queue": rec.queue, "answered_by": rec.answered_by, "wait_s": rec.wait_s,
                                      "talk_s": rec.talk_s, "cause": rec.cause,
                                      "queue_outcome": queued.last.outcome if queued and queued.last else None})
        if self.writer is not None:
            self.writer.submit(RecordWrite(rec.tenant, rec.uniqueid, record_fields(rec, queued)))
