"""The configuration a tenant publishes, as immutable values: flows, nodes, users, groups, queues, boxes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal, TypeAlias

from pbx.routing.schedule import ScheduleConfig

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DTMF_KEYS = frozenset("0123456789*#")


def is_e164(number: str) -> bool:
    return bool(E164.match(number))


class NodeKind(StrEnum):
    ANNOUNCEMENT = "announcement"
    MENU = "menu"
    SCHEDULE = "schedule"
    GROUP = "group"
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    USER = "user"
    EXTERNAL = "external"
    CALLBACK = "callback"
    HANGUP = "hangup"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Announcement:
    """Plays a prompt, then the call continues at `next` (the welcome message is one of these)."""

    key: str
    prompt: str
    next: str
    name: str = ""
    kind: Literal[NodeKind.ANNOUNCEMENT] = NodeKind.ANNOUNCEMENT


@dataclass(frozen=True, slots=True)
class Menu:
    """A DTMF menu: `choices` maps one key to a node; timeout and invalid input retry, then leave."""

    key: str
    prompt: str
    choices: Mapping[str, str]
    timeout_next: str | None
    invalid_next: str | None
    timeout_s: int = 5
    attempts: int = 3
    invalid_prompt: str | None = "menu-invalid"
    timeout_prompt: str | None = "menu-timeout"
    name: str = ""
    kind: Literal[NodeKind.MENU] = NodeKind.MENU


@dataclass(frozen=True, slots=True)
class ScheduleSwitch:
    """Routes by a schedule's state; `override` (optional) catches a manual override."""

    key: str
    schedule: str
    open: str
    closed: str
    holiday: str | None = None
    override: str | None = None
    name: str = ""
    kind: Literal[NodeKind.SCHEDULE] = NodeKind.SCHEDULE


@dataclass(frozen=True, slots=True)
class GroupNode:
    key: str
    group: str
    overflow: str | None = None
    name: str = ""
    kind: Literal[NodeKind.GROUP] = NodeKind.GROUP


@dataclass(frozen=True, slots=True)
class QueueNode:
    key: str
    queue: str
    overflow: str | None = None
    name: str = ""
    kind: Literal[NodeKind.QUEUE] = NodeKind.QUEUE


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    key: str
    box: str
    name: str = ""
    kind: Literal[NodeKind.VOICEMAIL] = NodeKind.VOICEMAIL


@dataclass(frozen=True, slots=True)
class UserNode:
    """Rings a user; presence, line status and forwarding decide what actually happens.

    `via` says which of the user's rule sets applies (calls to the fixed or the mobile
    number); `next` is where an unanswered call goes when the user has no rule or mailbox.
    """

    key: str
    user: str
    via: Literal["fixed", "mobile"] = "fixed"
    next: str | None = None
    name: str = ""
    kind: Literal[NodeKind.USER] = NodeKind.USER


@dataclass(frozen=True, slots=True)
class ExternalNode:
    key: str
    number: str
    next: str | None = None
    name: str = ""
    kind: Literal[NodeKind.EXTERNAL] = NodeKind.EXTERNAL


@dataclass(frozen=True, slots=True)
class CallbackNode:
    """The caller keys in a number to be called back on; the request goes to `queue`'s callback list."""

    key: str
    prompt: str = "callback-enter-number"
    queue: str | None = None
    next: str | None = None
    name: str = ""
    kind: Literal[NodeKind.CALLBACK] = NodeKind.CALLBACK


@dataclass(frozen=True, slots=True)
class HangupNode:
    key: str
    prompt: str | None = None
    name: str = ""
    kind: Literal[NodeKind.HANGUP] = NodeKind.HANGUP


@dataclass(frozen=True, slots=True)
class ServiceNode:
    """A phone service for the tenant's own people, who are known by their caller ID (F-04, U-02).

    `voicemail`: a listener steps through the messages of `box`, or of every box they may listen to
    (their personal box and the shared boxes that list them). `prompts`: an administrator records one
    of the tenant's prompts; `prompts` maps the number they key in to the prompt key. `users` limits
    who may use the service (empty: any user of the tenant)."""

    key: str
    service: Literal["voicemail", "prompts"]
    box: str | None = None
    users: tuple[str, ...] = ()
    prompts: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    kind: Literal[NodeKind.SERVICE] = NodeKind.SERVICE


Node: TypeAlias = (
    Announcement
    | Menu
    | ScheduleSwitch
    | GroupNode
    | QueueNode
    | VoicemailNode
    | UserNode
    | ExternalNode
    | CallbackNode
    | HangupNode
    | ServiceNode
)


def node_links(node: Node) -> dict[str, str]:
    """Every edge out of a node, labelled by why the call would take it."""
    links: dict[str, str | None]
    if isinstance(node, Announcement):
        links = {"next": node.next}
    elif isinstance(node, Menu):
        links = {f"digit {d}": target for d, target in node.choices.items()}
        links["timeout"] = node.timeout_next
        links["invalid"] = node.invalid_next
    elif isinstance(node, ScheduleSwitch):
        links = {"open": node.open, "closed": node.closed, "holiday": node.holiday, "override": node.override}
    elif isinstance(node, GroupNode | QueueNode):
        links = {"overflow": node.overflow}
    elif isinstance(node, UserNode | ExternalNode | CallbackNode):
        links = {"next": node.next}
    else:
        links = {}
    return {label: target for label, target in links.items() if target is not None}


@dataclass(frozen=True, slots=True)
class Flow:
    """A call flow. `version` numbers what was published (1, 2, …; 0: not yet stored, as in a flow built in
    code). It is not part of what a flow *is*: two flows with the same nodes are equal whatever their
    numbers, which is how a save tells an unchanged flow from a new version."""

    key: str
    name: str
    entry: str
    nodes: tuple[Node, ...]
    version: int = field(default=0, compare=False)


# --- destinations outside a flow (forwarding, fallback) -------------------------------------

TargetKind: TypeAlias = Literal["user", "external", "voicemail", "group", "queue"]


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    ref: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    def parse(cls, text: str) -> Target:
        kind, sep, ref = text.partition(":")
        if not sep or kind not in ("user", "external", "voicemail", "group", "queue") or not ref:
            raise ValueError(f"not a destination: {text!r} (expected user:KEY, external:+46…, voicemail:KEY…)")
        return cls(kind, ref)  # type: ignore[arg-type]


# --- users, presence, forwarding, barring ---------------------------------------------------


class PresenceStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    LUNCH = "lunch"
    MEETING = "meeting"
    AWAY = "away"
    VACATION = "vacation"
    CUSTOM = "custom"


class BarringClass(StrEnum):
    INTERNATIONAL = "international"
    PREMIUM = "premium"
    MOBILE = "mobile"
    DOMESTIC = "domestic"


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """A presence period: set now or planned ahead. `end` None means until changed."""

    status: PresenceStatus
    start: datetime
    end: datetime | None = None
    message: str = ""

    def active_at(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)


@dataclass(frozen=True, slots=True)
class PresenceRule:
    """Activity-based forwarding: while the user has `status`, calls go to `target`.

    `target` None means: tell the caller, then the user's voicemail (or the no-answer rule).
    `applies_to` lets calls to the mobile and to the fixed number follow different rules.
    """

    status: PresenceStatus
    target: Target | None = None
    applies_to: Literal["both", "fixed", "mobile"] = "both"
    announce: bool = True


@dataclass(frozen=True, slots=True)
class Forwarding:
    always: Target | None = None
    on_busy: Target | None = None
    on_no_answer: Target | None = None
    no_answer_after_s: int = 20


@dataclass(frozen=True, slots=True)
class UserConfig:
    key: str
    name: str
    extension: str | None = None
    kind: Literal["mobile", "fixed", "both"] = "fixed"
    fixed_number: str | None = None
    mobile_number: str | None = None
    devices: tuple[str, ...] = ()
    voicemail: str | None = None
    forwarding: Forwarding = field(default_factory=Forwarding)
    presence_rules: tuple[PresenceRule, ...] = ()
    barred: frozenset[BarringClass] = frozenset()
    call_waiting: bool = False
    email: str | None = None  # where their voicemail (and their boxes' messages) are mailed
    record: bool = False  # F-14: every call this user answers is recorded
    # U-04: the caller ID their outbound calls present: "main" (the tenant's main number), "fixed", "mobile" (the
    # user's own numbers) or a +E.164 number; always one the tenant owns. None: the fixed number, else the main one.
    outbound_caller_id: str | None = None
    # Issue 7: a call to the user rings their phones (devices, then the mobile number) all at once, or one after the
    # other for `ring_each_s` each; either way for the no-answer time, after which forwarding on no answer applies.
    ring: Literal["parallel", "sequential"] = "parallel"
    ring_each_s: int = 15


CALLER_ID_CHOICES = ("main", "fixed", "mobile")


# --- answer groups, queues, voicemail, prompts, numbers -------------------------------------


@dataclass(frozen=True, slots=True)
class GroupMember:
    user: str
    ring_s: int = 20


@dataclass(frozen=True, slots=True)
class GroupConfig:
    key: str
    name: str
    members: tuple[GroupMember, ...]
    strategy: Literal["sequential", "parallel"] = "sequential"
    overflow_after_s: int = 60
    overflow_when_empty: bool = True
    waiting_prompt: str | None = None


QueueStrategy: TypeAlias = Literal["longest_idle", "round_robin", "fewest_calls", "ring_all", "priority"]


@dataclass(frozen=True, slots=True)
class QueueConfig:
    key: str
    name: str
    members: tuple[str, ...]
    strategy: QueueStrategy = "longest_idle"
    wrapup_s: int = 30
    announce_every_s: int = 45
    callback_key: str | None = None
    max_wait_s: int = 600
    join_empty: bool = False
    priority: int = 0
    # F-13: the caller is told when to expect the callback; scheduled: it is booked for that time instead
    # of keeping the caller's place.
    callback_scheduled: bool = False
    # F-10/F-12: who hears of a new callback request: e-mail addresses, +E.164 numbers (SMS), https:// webhooks
    callback_notify: tuple[str, ...] = ()
    record: bool = False  # F-14: every call an agent takes from this queue is recorded


@dataclass(frozen=True, slots=True)
class VoicemailBoxConfig:
    key: str
    name: str
    shared: bool = True
    listeners: tuple[str, ...] = ()
    greeting: str | None = None
    email: tuple[str, ...] = ()  # addresses beyond the listeners' own
    notify: tuple[str, ...] = ()  # +E.164 numbers (SMS) and https:// webhooks told of each new message


@dataclass(frozen=True, slots=True)
class PromptConfig:
    key: str
    name: str
    language: str = "sv"


@dataclass(frozen=True, slots=True)
class NumberConfig:
    """A number the tenant owns, pointing at a flow (main numbers) or a user (direct numbers)."""

    number: str
    flow: str | None = None
    user: str | None = None
    via: Literal["fixed", "mobile"] = "fixed"
    label: str = ""
    record: bool = False  # F-14: every answered call to this number is recorded


@dataclass(frozen=True, slots=True)
class TenantConfig:
    key: str
    name: str
    timezone: str = "Europe/Stockholm"
    language: str = "sv"
    version: int = 1
    numbers: tuple[NumberConfig, ...] = ()
    flows: tuple[Flow, ...] = ()
    schedules: tuple[ScheduleConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()
    groups: tuple[GroupConfig, ...] = ()
    queues: tuple[QueueConfig, ...] = ()
    boxes: tuple[VoicemailBoxConfig, ...] = ()
    prompts: tuple[PromptConfig, ...] = ()
    fallback: Target | None = None
    # Earlier published versions of flows (each with its `version`) that calls in progress may have started
    # on: the compiled table keeps them so those calls finish on their version. History, not configuration:
    # it takes no part in equality and is not validated with the tenant.
    earlier_flows: tuple[Flow, ...] = field(default=(), compare=False)

    def with_flow(self, flow: Flow) -> TenantConfig:
        """This configuration with `flow` in place of the flow of the same key (or added, for a new one)."""
        if any(f.key == flow.key for f in self.flows):
            flows = tuple(flow if f.key == flow.key else f for f in self.flows)
        else:
            flows = (*self.flows, flow)
        return replace(self, flows=flows)

    def without_flow(self, key: str) -> TenantConfig:
        return replace(self, flows=tuple(f for f in self.flows if f.key != key))
