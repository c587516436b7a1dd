"""Calls in progress and recently finished, as the controller saw them (decisions + AMI hangups), with what
the statistics need of each (pbx.stats.collector fills those in from the contact centre and voicemail)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime

from pbx.routing.engine import Call, Decision


class TransferError(Exception):
    """A transfer that cannot be made (Controller.transfer): code not-found | asterisk-unavailable |
    not-answered | not-a-user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class CallRecord:
    uniqueid: str
    tenant: str | None
    started: datetime
    path: list[str] = field(default_factory=list)
    ended: datetime | None = None
    cause: str = ""
    dialled: str = ""
    caller: str = ""
    # --- for the call record (F-09): filled in while the call lasts --------------------------------
    queue: str | None = None
    queued_at: datetime | None = None
    wait_s: float | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    talk_s: float | None = None
    wrapup_s: float | None = None
    answered: bool = False
    abandoned: bool = False
    overflowed: bool = False
    callback: str | None = None  # requested | made | failed
    voicemail: bool = False  # a message was left
    voicemail_box: str | None = None  # the box the caller was sent to
    written: bool = False  # handed to the record writer: later news goes as a patch
    # transferred (U-08): the caller's call keeps this record; the next answer says who has the caller now
    reanswer: bool = False


class CallLog:
    """Bounded: at most `live_max` calls in progress and `keep` finished ones (the database keeps
    call history from issue 6 on; this is what the controller itself needs to answer about)."""

    def __init__(self, keep: int = 1000, live_max: int = 100_000) -> None:
        self.live: OrderedDict[str, CallRecord] = OrderedDict()
        self.finished: deque[CallRecord] = deque(maxlen=keep)
        self.recent: OrderedDict[str, CallRecord] = OrderedDict()  # the finished ones by uniqueid
        self.keep = keep
        self.live_max = live_max
        self.total_finished = 0

    def decision(self, decision: Decision, uniqueid: str, call: Call | None = None) -> None:
        record = self.live.get(uniqueid)
        if record is None:
            record = self.live[uniqueid] = CallRecord(uniqueid, decision.tenant, decision.at,
                                                      dialled=call.dialled if call else "",
                                                      caller=call.caller if call else "")
            if len(self.live) > self.live_max:
                self.live.popitem(last=False)
        record.path.append(" → ".join(decision.steps))

    def get(self, uniqueid: str) -> CallRecord | None:
        """A call in progress, or one that ended recently."""
        return self.live.get(uniqueid) or self.recent.get(uniqueid)

    def hangup(self, uniqueid: str, cause: str, at: datetime) -> CallRecord | None:
        record = self.live.pop(uniqueid, None)
        if record is None:
            return None
        record.ended, record.cause = at, cause
        self.finished.append(record)
        self.recent[uniqueid] = record
        if len(self.recent) > self.keep:
            self.recent.popitem(last=False)
        self.total_finished += 1
        return record

    def keep_only(self, alive: set[str], at: datetime) -> list[CallRecord]:
        """After an AMI reconnect: calls Asterisk no longer has ended while we were away."""
        gone = [uid for uid in self.live if uid not in alive]
        return [r for uid in gone if (r := self.hangup(uid, "lost during AMI outage", at)) is not None]
