"""The contact-centre state as immutable values: agents, waiting callers, callback requests, ACD events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


def queue_member(queue: str) -> str:
    """The login key of an ACD queue: agents log in to "queue:KEY"."""
    return f"queue:{queue}"


def group_member(group: str) -> str:
    """The login key of an answer group: members log in to "group:KEY"."""
    return f"group:{group}"


@dataclass(frozen=True, slots=True)
class AgentState:
    """One agent (a user) as the controller sees them. Times are epoch seconds; 0 means "never/none".

    `logged_in` holds "queue:KEY" and "group:KEY". `reserved_for` is the call the agent has been
    picked for (ringing or about to ring); `call_queue` the queue of that call or of the call they
    are on, so wrap-up knows where it came from. Wrap-up is ours to keep: Asterisk does not report it."""

    tenant: str
    user: str
    logged_in: frozenset[str] = frozenset()
    paused: bool = False
    pause_reason: str = ""
    wrapup_until: float = 0.0
    wrapup_queue: str | None = None
    reserved_for: str | None = None
    reserved_at: float = 0.0
    call_queue: str | None = None
    last_call_end: float = 0.0
    calls_taken: int = 0
    missed_in_row: int = 0
    on_call: bool = False
    wrapup_override_s: float | None = None  # this agent's own wrap-up, set by a team lead (all queues)

    def in_wrapup(self, now: float) -> bool:
        return self.wrapup_until > now

    def reserved(self, now: float, ttl_s: float) -> bool:
        """Held by a call at `now`: a reservation older than ttl_s has lapsed (its dispatcher died)."""
        return self.reserved_for is not None and self.reserved_at + ttl_s >= now

    def idle_since(self) -> float:
        """When the agent last became free for a call (end of the last call or of its wrap-up)."""
        return max(self.last_call_end, self.wrapup_until)


class CallbackStatus(StrEnum):
    REQUESTED = "requested"              # key pressed, number not yet confirmed
    WAITING = "waiting"                  # caller hung up; the request keeps the caller's place
    SCHEDULED = "scheduled"              # F-13: booked for the time the caller was offered
    DUE = "due"                          # its place reached the head: next free agent takes it
    AGENT_RESERVED = "agent_reserved"    # claimed by one agent; nobody else may take it
    AGENT_CALLED = "agent_called"        # the agent's phone rings, they hear whom they call back
    CUSTOMER_DIALLED = "customer_dialled"
    CONNECTED = "connected"
    RETRY_SCHEDULED = "retry_scheduled"  # customer did not answer; another attempt later
    RETRY_DUE = "retry_due"
    DONE = "done"
    FAILED = "failed"                    # attempts used up
    CANCELLED = "cancelled"


FINAL_CALLBACK_STATUSES = frozenset({CallbackStatus.DONE, CallbackStatus.FAILED, CallbackStatus.CANCELLED})


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller's request to be called back, keeping the place given by `joined_at` (F-12)."""

    call_id: str
    tenant: str
    queue: str
    number: str
    joined_at: float
    requested_at: float
    status: CallbackStatus = CallbackStatus.REQUESTED
    attempts: int = 0                # times the customer has been dialled
    next_attempt_at: float = 0.0
    agent: str | None = None         # the agent holding it (reserved … connected)
    changed_at: float = 0.0
    reason: str = ""                 # why it failed or was cancelled


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    """A caller waiting in a queue (or a callback request holding a caller's place).

    `priority`: higher is served first (VIP numbers). `skipped`: agents who already missed this call."""

    call_id: str
    tenant: str
    queue: str
    number: str
    joined_at: float
    priority: int = 0
    channel: str = ""
    callback: CallbackRequest | None = None
    skipped: frozenset[str] = frozenset()


class AcdEventKind(StrEnum):
    LOGGED_IN = "logged_in"
    LOGGED_OUT = "logged_out"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    AUTO_PAUSED = "auto_paused"
    RESERVED = "reserved"
    RELEASED = "released"       # reservation dropped without a miss (caller left, another agent answered)
    OFFERED = "offered"         # the agent's phone rings
    ANSWERED = "answered"
    MISSED = "missed"
    CALL_ENDED = "call_ended"
    TRANSFERRED = "transferred"
    WRAPUP_STARTED = "wrapup_started"
    WRAPUP_ENDED = "wrapup_ended"


@dataclass(frozen=True, slots=True)
class AcdEvent:
    """Something that happened to an agent. `by` is who did it when not the agent (an admin's key)."""

    kind: AcdEventKind
    tenant: str
    agent: str
    at: float
    queue: str | None = None
    call: str | None = None
    reason: str = ""
    by: str | None = None
