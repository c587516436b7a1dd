"""Calls in progress and recently finished, as the controller saw them (decisions + AMI hangups)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime

from pbx.routing.engine import Call, Decision


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


class CallLog:
    """Bounded: at most `live_max` calls in progress and `keep` finished ones (the database keeps
    call history from issue 6 on; this is what the controller itself needs to answer about)."""

    def __init__(self, keep: int = 1000, live_max: int = 100_000) -> None:
        self.live: OrderedDict[str, CallRecord] = OrderedDict()
        self.finished: deque[CallRecord] = deque(maxlen=keep)
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

    def hangup(self, uniqueid: str, cause: str, at: datetime) -> CallRecord | None:
        record = self.live.pop(uniqueid, None)
        if record is None:
            return None
        record.ended, record.cause = at, cause
        self.finished.append(record)
        self.total_finished += 1
        return record

    def keep_only(self, alive: set[str], at: datetime) -> int:
        """After an AMI reconnect: calls Asterisk no longer has ended while we were away."""
        gone = [uid for uid in self.live if uid not in alive]
        for uid in gone:
            self.hangup(uid, "lost during AMI outage", at)
        return len(gone)
