"""decide(): the pure routing decision for one step of one call, with the trace that explains it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeAlias

from pbx.routing.barring import barred_reason
from pbx.routing.compile import CompiledFlow, RoutingTable, TenantTable
from pbx.routing.model import (
    Announcement,
    CallbackNode,
    ExternalNode,
    GroupConfig,
    GroupNode,
    HangupNode,
    Menu,
    Node,
    PresenceStatus,
    QueueConfig,
    QueueNode,
    ScheduleSwitch,
    ServiceNode,
    Target,
    UserConfig,
    UserNode,
    VoicemailNode,
)
from pbx.routing.schedule import ScheduleState
from pbx.routing.state import LineStatus, LiveView

# ---------------------------------------------------------------------------------------------
# What Asterisk is told to do. Each action carries the prompts to play before it, so one FastAGI
# answer covers a whole stretch of the call (welcome + menu is one step, not two).
# Actions and decisions are NamedTuples: immutable like frozen dataclasses, but built about
# four times faster, which is a quarter of a decision's time budget.
# ---------------------------------------------------------------------------------------------


class PlayMenu(NamedTuple):
    prompts: tuple[str, ...]
    prompt: str
    digits: str
    timeout_s: int
    attempt: int


class RingMember(NamedTuple):
    user: str
    targets: tuple[str, ...]
    ring_s: int


class RingGroup(NamedTuple):
    prompts: tuple[str, ...]
    group: str
    strategy: str
    members: tuple[RingMember, ...]
    overflow_after_s: int
    waiting_prompt: str | None


class EnterQueue(NamedTuple):
    prompts: tuple[str, ...]
    queue: str
    strategy: str
    max_wait_s: int
    announce_every_s: int
    callback_key: str | None


class Voicemail(NamedTuple):
    prompts: tuple[str, ...]
    box: str
    greeting: str | None


class Dial(NamedTuple):
    """Ring a user's phones or an external number; `targets` are endpoints or E.164 numbers."""

    prompts: tuple[str, ...]
    targets: tuple[str, ...]
    ring_s: int
    user: str | None = None


class CollectNumber(NamedTuple):
    prompts: tuple[str, ...]
    prompt: str
    default: str
    queue: str | None


class Hangup(NamedTuple):
    prompts: tuple[str, ...]
    cause: str = "normal"


class Service(NamedTuple):
    """A phone service (ServiceNode) takes over: its next step comes from live data (messages, files), which
    the pure core does not hold, so the router asks the service and sends what it answers instead."""

    prompts: tuple[str, ...]
    service: str
    box: str | None


class RecordPrompt(NamedTuple):
    """Record what the caller says (up to `max_s`, ended by # or silence) into the call's prompt spool file."""

    prompts: tuple[str, ...]
    max_s: int


Action: TypeAlias = (PlayMenu | RingGroup | EnterQueue | Voicemail | Dial | CollectNumber | Hangup | Service
                     | RecordPrompt)


# ---------------------------------------------------------------------------------------------
# The call as Asterisk reports it (from channel variables), and the decision.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One call at one decision point. `node`/`target`/`attempt` come back from the previous
    decision via channel variables; `result` is what the last action ended with: the digits
    pressed for a menu ("" = timeout), DIALSTATUS for a dial, ANSWERED/TIMEOUT/EMPTY for a
    group or queue (TICK while waiting, KEY:<k> for a key pressed while waiting), the number
    keyed in for a callback. `entered` is when the caller joined the queue they wait in (epoch
    seconds; 0 elsewhere: only waiting needs it, and reading it off `now` costs half a µs), so
    the time in queue travels with the call."""

    dialled: str
    caller: str = ""
    tenant: str | None = None
    flow: str | None = None
    node: str | None = None
    target: str | None = None
    attempt: int = 0
    result: str = ""
    entered: int = 0


TraceStep: TypeAlias = tuple[object, ...]  # (format string, *args): rendered only when read


class Decision(NamedTuple):
    action: Action
    tenant: str | None
    flow: str | None
    node: str | None
    target: str | None
    attempt: int
    version: int
    at: datetime
    trace: tuple[TraceStep, ...]
    entered: int = 0
    callback: tuple[str, str] | None = None  # (queue, number): a callback request to record (F-10)
    passed: tuple[str, ...] = ()  # the keys of the flow's nodes this decision went through, in order (what-if)

    @property
    def steps(self) -> list[str]:
        return [str(step[0]).format(*step[1:]) for step in self.trace]

    def explain(self, tz: object | None = None) -> str:
        at = self.at.astimezone(tz) if tz is not None else self.at  # type: ignore[arg-type]
        head = f"{at:%a %Y-%m-%d %H:%M} {at.tzname()}"
        return head + ": " + " → ".join(self.steps)


ANSWERED = frozenset({"ANSWER", "ANSWERED", "COMPLETED"})
AGENT_MISSED = frozenset({"NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION"})
MAX_STEPS = 64
MAX_FORWARDS = 5


class _Step:
    """The working state of one decision; kept small because it lives for a few microseconds."""

    __slots__ = ("call", "callback", "flow", "now", "passed", "prompts", "state", "table", "tenant", "trace")

    def __init__(self, table: RoutingTable, state: LiveView, call: Call, now: datetime) -> None:
        self.table = table
        self.state = state
        self.call = call
        self.now = now
        self.trace: list[TraceStep] = []
        self.passed: list[str] = []
        self.prompts: list[str] = []
        self.tenant: TenantTable | None = None
        self.flow: CompiledFlow | None = None
        self.callback: tuple[str, str] | None = None

    def done(self, action: Action, node: str | None = None, target: str | None = None,
             attempt: int = 0, entered: int | None = None) -> Decision:
        tenant = self.tenant
        return Decision(
            action, tenant.key if tenant else None, self.flow.ref if self.flow else None, node, target,
            attempt, tenant.version if tenant else self.table.version, self.now, tuple(self.trace),
            entered if entered is not None else int(self.now.timestamp()) if type(action) is EnterQueue else 0,
            self.callback, tuple(self.passed),
        )

    # --- entering nodes ------------------------------------------------------------------

    def enter(self, key: str | None) -> Decision:
        flow = self.flow
        assert flow is not None
        for _ in range(MAX_STEPS):
            if key is None:
                return self.fallback("the flow ends here with no destination")
            node = flow.nodes.get(key)
            if node is None:
                return self.fallback(f"node {key!r} no longer exists")
            self.passed.append(key)
            if isinstance(node, Announcement):
                self.prompts.append(node.prompt)
                self.trace.append(("play {}", node.prompt))
                key = node.next
            elif isinstance(node, ScheduleSwitch):
                key = self.switch(node)
            elif isinstance(node, Menu):
                return self.menu(node, 0)
            else:
                return self.terminal(node)
        return self.fallback("the flow loops without reaching a destination")

    def switch(self, node: ScheduleSwitch) -> str | None:
        tenant = self.tenant
        assert tenant is not None
        schedule = tenant.schedules[node.schedule]
        status = schedule.state_at(self.now)
        state = status.state
        if status.overridden and node.override is not None:
            branch, key = "override", node.override
        elif state is ScheduleState.OPEN:
            branch, key = "open", node.open
        elif state is ScheduleState.HOLIDAY and node.holiday is not None:
            branch, key = "holiday", node.holiday
        else:
            branch, key = "closed", node.closed
        self.trace.append(("schedule {} {}: {} → {}", schedule.name, state.value, status.reason, branch))
        return key

    def menu(self, node: Menu, attempt: int) -> Decision:
        if not self.passed or self.passed[-1] != node.key:  # a retry: the menu again, not entered through enter()
            self.passed.append(node.key)
        self.trace.append(("menu {} (attempt {} of {})", node.name or node.key, attempt + 1, node.attempts))
        action = PlayMenu(tuple(self.prompts), node.prompt, "".join(node.choices), node.timeout_s, attempt)
        return self.done(action, node.key, None, attempt)

    def terminal(self, node: Node) -> Decision:
        tenant = self.tenant
        assert tenant is not None
        if isinstance(node, GroupNode):
            return self.group(tenant.groups[node.group], node.key, node.overflow)
        if isinstance(node, QueueNode):
            return self.queue(tenant.queues[node.queue], node.key, node.overflow)
        if isinstance(node, VoicemailNode):
            return self.voicemail(node.box, node.key)
        if isinstance(node, UserNode):
            return self.user(tenant.users[node.user], node.via, "call", node.key, set())
        if isinstance(node, ExternalNode):
            self.trace.append(("dial external {}", node.number))
            return self.done(Dial(tuple(self.prompts), (node.number,), 60), node.key, f"external:{node.number}")
        if isinstance(node, CallbackNode):
            self.trace.append(("ask for a callback number (default {})", self.call.caller or "none"))
            return self.done(CollectNumber(tuple(self.prompts), node.prompt, self.call.caller, node.queue), node.key)
        if isinstance(node, ServiceNode):
            self.trace.append(("phone service {}", node.service))
            return self.done(Service(tuple(self.prompts), node.service, node.box), node.key)
        assert isinstance(node, HangupNode)
        if node.prompt:
            self.prompts.append(node.prompt)
        self.trace.append(("hang up",))
        return self.done(Hangup(tuple(self.prompts)), node.key)

    def group(self, group: GroupConfig, node: str | None, overflow: str | None) -> Decision:
        """Ring an answer group: logged-in members who are free, in priority order (F-08)."""
        tenant = self.tenant
        assert tenant is not None
        logged = self.state.logged_in(tenant.key, "group", group.key)
        if not logged and group.overflow_when_empty:
            self.trace.append(("answer group {}: nobody logged in → overflow", group.name))
            return self.overflow(overflow, node)
        members = []
        for member in group.members:
            if member.user not in logged:
                continue
            user = tenant.users[member.user]
            why = self.unavailable(user)
            targets = _ring_targets(user)
            if why or not targets:
                self.trace.append(("skip {}: {}", user.name, why or "no phone"))
                continue
            members.append(RingMember(user.key, targets, member.ring_s))
        self.trace.append(("answer group {} ({}, {} of {} members free, overflow after {} s)", group.name,
                           group.strategy, len(members), len(group.members), group.overflow_after_s))
        action = RingGroup(tuple(self.prompts), group.key, group.strategy, tuple(members), group.overflow_after_s,
                           group.waiting_prompt)
        return self.done(action, node, f"group:{group.key}")

    def queue(self, queue: QueueConfig, node: str | None, overflow: str | None) -> Decision:
        tenant = self.tenant
        assert tenant is not None
        logged = self.state.logged_in(tenant.key, "queue", queue.key)
        if not logged and not queue.join_empty:
            self.trace.append(("queue {}: no agent logged in → overflow", queue.name))
            return self.overflow(overflow, node)
        self.trace.append(("queue {} ({}, {} agents logged in, max wait {} s)", queue.name, queue.strategy,
                           len(logged), queue.max_wait_s))
        action = EnterQueue(tuple(self.prompts), queue.key, queue.strategy, queue.max_wait_s,
                            queue.announce_every_s, queue.callback_key)
        return self.done(action, node, f"queue:{queue.key}")

    def voicemail(self, box_key: str, node: str | None, target: str | None = None) -> Decision:
        tenant = self.tenant
        assert tenant is not None
        box = tenant.boxes[box_key]
        self.trace.append(("voicemail {}", box.name))
        greeting = box.greeting or "voicemail-greeting"
        return self.done(Voicemail(tuple(self.prompts), box.key, greeting), node, target or f"voicemail:{box.key}")

    def overflow(self, key: str | None, node: str | None) -> Decision:
        if key is None:
            return self.fallback(f"{node or 'the destination'} has no overflow destination")
        return self.enter(key)

    # --- users: presence, forwarding, line status (U-05, U-07) -------------------------

    def unavailable(self, user: UserConfig) -> str | None:
        tenant = self.tenant
        assert tenant is not None
        presence = self.state.presence(tenant.key, user.key, self.now)
        if presence is not None:
            return presence.status.value
        line = self.state.line(tenant.key, user.key)
        if line is LineStatus.BUSY or line is LineStatus.UNAVAILABLE:
            return f"line {line.value}"
        return None

    def user(self, user: UserConfig, via: str, phase: str, node: str | None, seen: set[str]) -> Decision:
        """Route a call to a user. phase: "call" (first try), "busy" or "no_answer" (after ringing)."""
        tenant = self.tenant
        assert tenant is not None
        seen.add(user.key)
        fw = user.forwarding
        if phase == "call":
            presence = self.state.presence(tenant.key, user.key, self.now)
            if presence is not None:
                rule = next((r for r in user.presence_rules if r.status is presence.status
                             and r.applies_to in ("both", via)), None)
                until = presence.end.astimezone(tenant.tz).strftime("%H:%M") if presence.end else None
                if rule is None or rule.announce:
                    self.prompts.append(f"presence-{presence.status.value}")
                    if until:
                        self.prompts.extend(("presence-until", f"time:{until}"))
                self.trace.append(("{} is {}{}{}", user.name, _presence_text(presence.status),
                                   f" until {until}" if until else "",
                                   f" ({presence.message})" if presence.message else ""))
                if rule is not None and rule.target is not None:
                    return self.forward(user, rule.target, f"presence rule {presence.status.value}", via, node, seen)
                return self.user(user, via, "unavailable", node, seen)
            if fw.always is not None:
                return self.forward(user, fw.always, "forward always", via, node, seen)
            line = self.state.line(tenant.key, user.key)
            if line is LineStatus.BUSY and not user.call_waiting:
                self.trace.append(("{} is on the phone", user.name))
                return self.user(user, via, "busy", node, seen)
            targets = _ring_targets(user)
            if not targets:
                self.trace.append(("{} has no phone to ring", user.name))
                return self.user(user, via, "no_answer", node, seen)
            return self.ring_user(user, targets, node)
        rule_target = fw.on_busy if phase == "busy" else fw.on_no_answer
        if rule_target is not None:
            return self.forward(user, rule_target, f"forward on {phase.replace('_', ' ')}", via, node, seen)
        if user.voicemail is not None:
            return self.voicemail(user.voicemail, node)
        if phase == "unavailable":
            targets = _ring_targets(user)
            if targets:
                self.trace.append(("no rule or voicemail: ring {} anyway", user.name))
                return self.ring_user(user, targets, node)
        return self.after_node(node, f"{user.name} did not answer and has no voicemail")

    def ring_user(self, user: UserConfig, targets: tuple[str, ...], node: str | None) -> Decision:
        """Ring the user's phones as their rule says, for their no-answer time: all at once (one Dial), or one
        after the other (the answer group's `ring` action with the phones as members, in order). Either way the
        outcome comes back to `user:KEY`, so forwarding on busy or no answer follows."""
        ring_s = user.forwarding.no_answer_after_s
        if user.ring == "sequential" and len(targets) > 1:
            members = _in_turn(user.key, targets, user.ring_each_s, ring_s)
            self.trace.append(("ring {}'s phones in turn, {} s each, for {} s", user.name, user.ring_each_s, ring_s))
            if len(members) < len(targets):
                self.trace.append(("{} s is not time enough for {}: not rung", ring_s,
                                   ", ".join(targets[len(members):])))
            action = RingGroup(tuple(self.prompts), user.key, "sequential", members, ring_s, None)
            return self.done(action, node, f"user:{user.key}")
        self.trace.append(("ring {} for {} s", user.name, ring_s))
        return self.done(Dial(tuple(self.prompts), targets, ring_s, user.key), node, f"user:{user.key}")

    def forward(self, user: UserConfig, target: Target, why: str, via: str, node: str | None,
                seen: set[str]) -> Decision:
        tenant = self.tenant
        assert tenant is not None
        self.trace.append(("{} → {}", why, _target_text(tenant, target)))
        if target.kind == "user":
            if target.ref in seen or len(seen) > MAX_FORWARDS:
                self.trace.append(("forwarding loop back to {}: stop forwarding", target.ref))
                if user.voicemail is not None:
                    return self.voicemail(user.voicemail, node)
                return self.after_node(node, "forwarding loop")
            return self.user(tenant.users[target.ref], via, "call", node, seen)
        if target.kind == "external":
            barred = barred_reason(user, target.ref, tenant.home_cc)
            if barred:
                self.trace.append(("forward refused: {}", barred))
                if user.voicemail is not None:
                    return self.voicemail(user.voicemail, node)
                return self.after_node(node, "forward refused")
            return self.done(Dial(tuple(self.prompts), (target.ref,), 60, None), node, str(target))
        if target.kind == "voicemail":
            return self.voicemail(target.ref, node)
        return self.target(target, node)

    def target(self, target: Target, node: str | None) -> Decision:
        """Send the call to a destination outside the flow (fallback, forwarding to a group/queue)."""
        tenant = self.tenant
        assert tenant is not None
        if target.kind == "voicemail":
            return self.voicemail(target.ref, node)
        if target.kind == "external":
            self.trace.append(("dial external {}", target.ref))
            return self.done(Dial(tuple(self.prompts), (target.ref,), 60), node, str(target))
        if target.kind == "user":
            return self.user(tenant.users[target.ref], "fixed", "call", node, set())
        if target.kind == "group":
            return self.group(tenant.groups[target.ref], node, None)
        return self.queue(tenant.queues[target.ref], node, None)

    def after_node(self, node: str | None, why: str) -> Decision:
        """Continue at the node's `next` when it has one, else the tenant's fallback."""
        flow = self.flow
        nxt = None
        if flow is not None and node is not None:
            current = flow.nodes.get(node)
            nxt = current.next if isinstance(current, UserNode | ExternalNode) else None
        if nxt is not None:
            self.trace.append(("{} → next", why))
            return self.enter(nxt)
        return self.fallback(why)

    def fallback(self, why: str) -> Decision:
        tenant = self.tenant
        if tenant is not None and tenant.fallback is not None and not self.call.target == str(tenant.fallback):
            self.trace.append(("cannot continue: {} → fallback {}", why, _target_text(tenant, tenant.fallback)))
            return self.target(tenant.fallback, None)
        self.trace.append(("cannot continue: {} → hang up", why))
        return self.done(Hangup((*self.prompts, "ss-noservice"), "failure"), None)

    # --- results of the previous action -------------------------------------------------

    def resume(self) -> Decision:
        call = self.call
        tenant = self.table.tenants.get(call.tenant or "")
        if tenant is None:
            self.trace.append(("unknown tenant {}", call.tenant))
            return self.done(Hangup(("ss-noservice",), "failure"))
        self.tenant = tenant
        flow = tenant.flows.get(call.flow or "")
        self.flow = flow
        if flow is not None and flow.ref != call.flow and flow.version:
            # the call started on a version no longer kept, or before flows had versions: today's flow
            _, at, started = (call.flow or "").partition("@")
            if at:
                self.trace.append(("flow {} version {} is no longer kept: continuing on version {}", flow.name,
                                   started, flow.version))
            else:
                self.trace.append(("continuing on flow {} version {}", flow.name, flow.version))
        node: Node | None = None
        if call.node is not None:
            node = flow.nodes.get(call.node) if flow is not None else None
            if node is None:
                return self.fallback(
                    f"position {call.flow}/{call.node} is not in configuration version {tenant.version}")
        result = call.result
        target = call.target or ""
        if isinstance(node, Menu):
            return self.menu_result(node, result)
        if isinstance(node, ServiceNode):  # the service keeps its own place in `target`
            self.trace.append(("phone service {}: {}", node.service, result or "no input"))
            return self.done(Service((), node.service, node.box), node.key, call.target, call.attempt)
        if result.upper() in ANSWERED:
            self.trace.append(("call answered and completed",))
            return self.done(Hangup(()), call.node, target)
        kind, _, ref = target.partition(":")
        if kind == "user" and ref in tenant.users:
            phase = "busy" if result.upper() == "BUSY" else "no_answer"
            self.trace.append(("{} did not answer ({})", tenant.users[ref].name, result or "no status"))
            if isinstance(node, UserNode):
                via = node.via
            else:
                route = self.table.numbers.get(call.dialled)
                via = route.via if route is not None else "fixed"
            return self.user(tenant.users[ref], via, phase, call.node, {ref})
        if kind == "queue" and ref in tenant.queues and result == f"KEY:{tenant.queues[ref].callback_key}":
            return self.ask_callback_number(tenant.queues[ref])
        if kind == "callback" and ref in tenant.queues:
            return self.callback_keeps_place(tenant.queues[ref], node, result)
        if kind == "queue" and ref in tenant.queues and (
                result == "TICK" or result.startswith("KEY:") or result.upper() in AGENT_MISSED):
            # an agent the caller was connected to (pbx-connect) did not answer: back to waiting,
            # keeping the place (entered is unchanged)
            return self.waiting(tenant.queues[ref], node)
        if isinstance(node, GroupNode | QueueNode):
            self.trace.append(("{} ended: {} → overflow", target, result or "timeout"))
            return self.overflow(node.overflow, node.key)
        if isinstance(node, CallbackNode):
            return self.callback_result(node, result)
        if kind == "voicemail" or isinstance(node, VoicemailNode | HangupNode):
            self.trace.append(("call finished",))
            return self.done(Hangup(()), call.node, target)
        return self.after_node(call.node, f"{target or call.node} ended: {result or 'no answer'}")

    def waiting(self, queue: QueueConfig, node: Node | None) -> Decision:
        """A caller waiting in a queue checks in (tick or key): stay, or leave after the maximum wait."""
        call = self.call
        waited = int(self.now.timestamp()) - call.entered if call.entered else 0
        overflow = node.overflow if isinstance(node, QueueNode) else None
        if waited >= queue.max_wait_s:
            self.trace.append(("waited {} s in queue {} (max {} s) → overflow", waited, queue.name, queue.max_wait_s))
            return self.overflow(overflow, call.node)
        self.trace.append(("waiting in queue {} for {} s", queue.name, waited))
        action = EnterQueue((), queue.key, queue.strategy, queue.max_wait_s, queue.announce_every_s,
                            queue.callback_key)
        return self.done(action, call.node, call.target, 0, call.entered)

    def ask_callback_number(self, queue: QueueConfig) -> Decision:
        """F-12: the waiting caller pressed the callback key: which number to call back on."""
        call = self.call
        self.trace.append(("callback key in queue {}: ask for the number (default {})", queue.name,
                           call.caller or "none"))
        action = CollectNumber((), "callback-enter-number", call.caller, queue.key)
        return self.done(action, call.node, f"callback:{queue.key}", 0, call.entered)

    def callback_keeps_place(self, queue: QueueConfig, node: Node | None, keyed: str) -> Decision:
        """The number is confirmed: the caller hangs up and keeps their place (same entry time);
        a number that cannot be called back sends them back to waiting instead."""
        call = self.call
        number = keyed or call.caller
        if not is_callback_number(number):
            self.trace.append(("{!r} cannot be called back: back to waiting", number))
            self.prompts.append("menu-invalid")
            action = EnterQueue(tuple(self.prompts), queue.key, queue.strategy, queue.max_wait_s,
                                queue.announce_every_s, queue.callback_key)
            return self.done(action, call.node, f"queue:{queue.key}", 0, call.entered)
        self.trace.append(("callback to {} keeps the place in queue {}", number, queue.name))
        return self.done(Hangup(("callback-confirm",)), call.node, f"callback:{queue.key}", 0, call.entered)

    def menu_result(self, node: Menu, digits: str) -> Decision:
        nxt = node.choices.get(digits) if digits else None
        if nxt is not None:
            self.trace.append(("pressed {} at menu {}", digits, node.name or node.key))
            return self.enter(nxt)
        attempt = self.call.attempt + 1
        what = "no key pressed" if not digits else f"invalid key {digits}"
        if attempt < node.attempts:
            prompt = node.timeout_prompt if not digits else node.invalid_prompt
            if prompt:
                self.prompts.append(prompt)
            self.trace.append(("{}: menu again", what))
            return self.menu(node, attempt)
        leave = node.timeout_next if not digits else node.invalid_next
        self.trace.append(("{} ({} attempts) → {}", what, attempt, "timeout path" if not digits else "invalid path"))
        return self.enter(leave)

    def callback_result(self, node: CallbackNode, number: str) -> Decision:
        number = number or self.call.caller
        self.trace.append(("callback requested to {} (queue {})", number, node.queue or "-"))
        if node.queue is not None and is_callback_number(number):
            self.callback = (node.queue, number)  # the contact centre puts it in the queue's callback list
        if node.next is not None:
            return self.enter(node.next)
        self.prompts.append("callback-confirm")
        return self.done(Hangup(tuple(self.prompts)), node.key)


def is_callback_number(number: str) -> bool:
    """A number we can dial back: digits, an optional leading +, 6–15 digits long."""
    digits = number[1:] if number.startswith("+") else number
    return digits.isdigit() and 6 <= len(digits) <= 15


def _ring_targets(user: UserConfig) -> tuple[str, ...]:
    if user.kind == "fixed":
        return user.devices
    if user.kind == "mobile":
        return (user.mobile_number,) if user.mobile_number else ()
    return user.devices + ((user.mobile_number,) if user.mobile_number else ())


def _in_turn(user: str, targets: tuple[str, ...], each_s: int, total_s: int) -> tuple[RingMember, ...]:
    """The phones of a user rung in sequence within `total_s`: `each_s` each, the last one for what is left
    (no silence before forwarding on no answer); phones that would start after `total_s` are left out."""
    members: list[RingMember] = []
    start = 0
    for i, target in enumerate(targets):
        left = total_s - start
        if left <= 0:
            break
        ring_s = left if i == len(targets) - 1 else min(each_s, left)
        members.append(RingMember(user, (target,), ring_s))
        start += ring_s
    return tuple(members)


_PRESENCE_TEXT = {
    PresenceStatus.BUSY: "busy", PresenceStatus.LUNCH: "at lunch", PresenceStatus.MEETING: "in a meeting",
    PresenceStatus.AWAY: "away", PresenceStatus.VACATION: "on vacation", PresenceStatus.CUSTOM: "unavailable",
    PresenceStatus.AVAILABLE: "available",
}


def _presence_text(status: PresenceStatus) -> str:
    return _PRESENCE_TEXT[status]


def _target_text(tenant: TenantTable, target: Target) -> str:
    names = {"user": tenant.users, "group": tenant.groups, "queue": tenant.queues, "voicemail": tenant.boxes}
    obj = names.get(target.kind, {}).get(target.ref)
    return f"{target.kind} {getattr(obj, 'name', target.ref)}"


def decide(table: RoutingTable, state: LiveView, call: Call, now: datetime) -> Decision:
    """The next action for `call` at `now`. Pure: no I/O, no clock reads; `now` must be aware."""
    step = _Step(table, state, call, now)
    if call.node is not None or call.target is not None:
        return step.resume()
    route = table.numbers.get(call.dialled)
    if route is None:
        step.trace.append(("{} is not a number of any tenant", call.dialled))
        return step.done(Hangup(("ss-noservice",), "unallocated"))
    tenant = table.tenants[route.tenant]
    step.tenant = tenant
    if route.user is not None:
        user = tenant.users[route.user]
        step.trace.append(("{} is {}'s {} number", call.dialled, user.name, route.via))
        return step.user(user, route.via, "call", None, set())
    flow = tenant.flows.current[route.flow]  # type: ignore[index]
    step.flow = flow
    if flow.version:
        step.trace.append(("{} is {}'s {} → flow {} (version {})", call.dialled, tenant.name,
                           route.label or "number", flow.name, flow.version))
    else:
        step.trace.append(("{} is {}'s {} → flow {}", call.dialled, tenant.name, route.label or "number",
                           flow.name))
    return step.enter(flow.entry)
