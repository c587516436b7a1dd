"""Validation of a tenant's configuration: one clear problem per mistake, naming where it is."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pbx.ivr.catalogue import SYSTEM_PROMPTS
from pbx.routing.model import (
    DTMF_KEYS,
    Announcement,
    CallbackNode,
    ExternalNode,
    Flow,
    GroupNode,
    HangupNode,
    Menu,
    Node,
    QueueNode,
    ScheduleSwitch,
    ServiceNode,
    Target,
    TenantConfig,
    UserConfig,
    UserNode,
    VoicemailNode,
    is_e164,
    node_links,
)
from pbx.routing.schedule import validate_schedule

# Nodes that hand the caller to something that ends or connects the call.
_TERMINAL = (GroupNode, QueueNode, VoicemailNode, UserNode, ExternalNode, CallbackNode, HangupNode, ServiceNode)
# Nodes that move on without waiting for the caller: a loop made only of these never ends.
_PASS_THROUGH = (Announcement, ScheduleSwitch)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def notify_channel(recipient: str) -> str | None:
    """How a notification reaches `recipient`: "email", "sms" or "webhook"; None when it is none of them."""
    if _E164.match(recipient):
        return "sms"
    if recipient.startswith("https://") and len(recipient) > 8 and not any(c.isspace() for c in recipient):
        return "webhook"
    if _EMAIL.match(recipient):
        return "email"
    return None


@dataclass(frozen=True, slots=True)
class Problem:
    tenant: str
    where: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.tenant}: {self.where}: {self.message}"


class InvalidConfig(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} configuration problem(s):\n{shown}{more}")


# Keys travel in channel variables and become file names: a small, safe alphabet.
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Checker:
    def __init__(self, cfg: TenantConfig) -> None:
        self.cfg = cfg
        self.problems: list[Problem] = []
        self.prompts = {p.key for p in cfg.prompts} | set(SYSTEM_PROMPTS)
        self.users = {u.key for u in cfg.users}
        self.groups = {g.key for g in cfg.groups}
        self.queues = {q.key for q in cfg.queues}
        self.boxes = {b.key for b in cfg.boxes}
        self.schedules = {s.key for s in cfg.schedules}
        self.flows = {f.key for f in cfg.flows}

    def add(self, where: str, code: str, message: str) -> None:
        self.problems.append(Problem(self.cfg.key, where, code, message))

    def duplicates(self, what: str, keys: Iterable[str]) -> None:
        seen: set[str] = set()
        for key in keys:
            if what != "number" and not KEY.match(key):
                self.add(f"{what} {key}", "bad-key",
                         f"{what} key {key!r} must be 1–64 of a–z, 0–9, '-' and '_', starting with a letter or digit")
            if key in seen:
                self.add(f"{what} {key}", "duplicate", f"two {what}s have the key {key!r}")
            seen.add(key)

    def prompt(self, where: str, key: str | None) -> None:
        if key is not None and key not in self.prompts:
            self.add(where, "unknown-prompt", f"prompt {key!r} does not exist")

    def ref(self, where: str, kind: str, key: str | None) -> None:
        known = {"user": self.users, "group": self.groups, "queue": self.queues, "voicemail": self.boxes,
                 "schedule": self.schedules, "flow": self.flows}[kind]
        if key is not None and key not in known:
            self.add(where, "dangling-reference", f"{kind} {key!r} does not exist")

    def target(self, where: str, target: Target | None) -> None:
        if target is None:
            return
        if target.kind == "external":
            if not is_e164(target.ref):
                self.add(where, "bad-number", f"{target.ref!r} is not an E.164 number (like +46812345600)")
        else:
            self.ref(where, target.kind, target.ref)

    def run(self) -> list[Problem]:
        cfg = self.cfg
        if not KEY.match(cfg.key):
            self.add("tenant", "bad-key", f"tenant key {cfg.key!r} must be 1–64 of a–z, 0–9, '-' and '_'")
        try:
            ZoneInfo(cfg.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.add("tenant", "bad-timezone", f"unknown time zone {cfg.timezone!r}")
        for what, objs in (("flow", cfg.flows), ("user", cfg.users), ("group", cfg.groups), ("queue", cfg.queues),
                           ("voicemail box", cfg.boxes), ("schedule", cfg.schedules), ("prompt", cfg.prompts)):
            self.duplicates(what, (o.key for o in objs))
        self.duplicates("number", (n.number for n in cfg.numbers))
        for n in cfg.numbers:
            where = f"number {n.number}"
            if not is_e164(n.number):
                self.add(where, "bad-number", f"{n.number!r} is not an E.164 number (like +46812345600)")
            if (n.flow is None) == (n.user is None):
                self.add(where, "bad-number-target", "a number points at exactly one flow or one user")
            self.ref(where, "flow", n.flow)
            self.ref(where, "user", n.user)
        self.target("tenant fallback", cfg.fallback)
        for schedule in cfg.schedules:
            for message in validate_schedule(schedule):
                self.add(f"schedule {schedule.key}", "bad-schedule", message)
        for user in cfg.users:
            self.user(user)
        phones: dict[str, str] = {}
        for user in cfg.users:
            for device in user.devices:
                other = phones.setdefault(device, user.key)
                if other != user.key:
                    self.add(f"user {user.key}", "device-taken", f"device {device} is already {other}'s: a phone "
                             "belongs to one user")
        for group in cfg.groups:
            for member in group.members:
                self.ref(f"group {group.key}", "user", member.user)
            self.prompt(f"group {group.key}", group.waiting_prompt)
        for queue in cfg.queues:
            for key in queue.members:
                self.ref(f"queue {queue.key}", "user", key)
            if queue.callback_key is not None and queue.callback_key not in DTMF_KEYS:
                self.add(f"queue {queue.key}", "bad-key", f"callback key {queue.callback_key!r} is not a phone key")
            for recipient in queue.callback_notify:
                if notify_channel(recipient) is None:
                    self.add(f"queue {queue.key}", "bad-recipient",
                             f"{recipient!r} is neither an e-mail address, a +E.164 number nor an https:// URL")
        for box in cfg.boxes:
            for key in box.listeners:
                self.ref(f"voicemail box {box.key}", "user", key)
            for address in box.email:
                if notify_channel(address) != "email":
                    self.add(f"voicemail box {box.key}", "bad-recipient", f"{address!r} is not an e-mail address")
            for recipient in box.notify:
                if notify_channel(recipient) not in ("sms", "webhook"):
                    self.add(f"voicemail box {box.key}", "bad-recipient",
                             f"{recipient!r} is neither a +E.164 number nor an https:// URL")
            self.prompt(f"voicemail box {box.key}", box.greeting)
        for flow in cfg.flows:
            self.flow(flow)
        return self.problems

    def user(self, user: UserConfig) -> None:
        where = f"user {user.key}"
        for label, number in (("fixed", user.fixed_number), ("mobile", user.mobile_number)):
            if number is not None and not is_e164(number):
                self.add(where, "bad-number", f"{label} number {number!r} is not E.164")
        if user.email is not None and notify_channel(user.email) != "email":
            self.add(where, "bad-recipient", f"{user.email!r} is not an e-mail address")
        if user.kind in ("mobile", "both") and user.mobile_number is None:
            self.add(where, "no-mobile", f"{user.name} is a {user.kind} user without a mobile number")
        self.ref(where, "voicemail", user.voicemail)
        fw = user.forwarding
        for label, target in (("always", fw.always), ("on busy", fw.on_busy), ("on no answer", fw.on_no_answer)):
            self.target(f"{where} forwarding {label}", target)
        if not 5 <= fw.no_answer_after_s <= 300:
            self.add(where, "bad-ring-time", "no-answer time must be 5–300 seconds")
        if user.ring not in ("parallel", "sequential"):
            self.add(where, "bad-ring", f"ring {user.ring!r} is neither parallel nor sequential")
        if not 5 <= user.ring_each_s <= 300:
            self.add(where, "bad-ring-time", "ring time per phone in sequence must be 5–300 seconds")
        for rule in user.presence_rules:
            self.target(f"{where} presence rule {rule.status}", rule.target)
        self.caller_id(where, user)

    def caller_id(self, where: str, user: UserConfig) -> None:
        """U-04: outbound calls present a number the tenant owns, never another."""
        choice = user.outbound_caller_id
        if choice is None:
            return
        owned = {n.number for n in self.cfg.numbers}
        if choice == "main":
            if not any(n.flow is not None for n in self.cfg.numbers):
                self.add(where, "caller-id-not-owned", "caller ID 'main': the tenant has no main number")
            return
        if choice in ("fixed", "mobile"):
            number = user.fixed_number if choice == "fixed" else user.mobile_number
            if number is None:
                self.add(where, "caller-id-not-owned", f"caller ID {choice!r}: {user.name} has no {choice} number")
            elif number not in owned:
                self.add(where, "caller-id-not-owned",
                         f"caller ID {choice!r}: {number} is not one of the tenant's numbers")
            return
        if not is_e164(choice):
            self.add(where, "bad-caller-id", f"caller ID {choice!r} is none of main, fixed, mobile or a +E.164 number")
        elif choice not in owned:
            self.add(where, "caller-id-not-owned", f"caller ID {choice} is not one of the tenant's numbers")

    def flow(self, flow: Flow) -> None:
        where = f"flow {flow.key}"
        nodes: dict[str, Node] = {}
        for node in flow.nodes:
            if not KEY.match(node.key):
                self.add(f"{where} node {node.key}", "bad-key", f"node key {node.key!r} must be 1–64 of a–z, 0–9, "
                         "'-' and '_'")
            if node.key in nodes:
                self.add(f"{where} node {node.key}", "duplicate", f"two nodes have the key {node.key!r}")
            nodes[node.key] = node
        if flow.entry not in nodes:
            self.add(where, "no-entry", f"entry node {flow.entry!r} does not exist")
        for node in flow.nodes:
            self.node(f"{where} node {node.key}", node, nodes)
        if flow.entry not in nodes:
            return
        edges = {key: [t for t in node_links(n).values() if t in nodes] for key, n in nodes.items()}
        reachable = _reach({flow.entry}, edges)
        for key in nodes:
            if key not in reachable:
                self.add(f"{where} node {key}", "unreachable", f"node {key!r} cannot be reached from {flow.entry!r}")
        reverse: dict[str, list[str]] = {key: [] for key in nodes}
        for src, targets in edges.items():
            for dst in targets:
                reverse[dst].append(src)
        exits = {key for key, n in nodes.items() if isinstance(n, _TERMINAL)}
        can_exit = _reach(exits, reverse)
        for key in sorted(reachable - can_exit):
            self.add(f"{where} node {key}", "no-way-out",
                     f"from node {key!r} a call can never reach a destination (a cycle with no way out)")
        passive = {k: [t for t in ts if isinstance(nodes[t], _PASS_THROUGH)]
                   for k, ts in edges.items() if isinstance(nodes[k], _PASS_THROUGH)}
        cycle = _find_cycle(passive)
        if cycle:
            self.add(f"{where} node {cycle[0]}", "endless-loop",
                     "loop with no caller input: " + " → ".join([*cycle, cycle[0]]))

    def node(self, where: str, node: Node, nodes: dict[str, Node]) -> None:
        for label, target in node_links(node).items():
            if target not in nodes:
                self.add(where, "dangling-reference", f"{label} leads to node {target!r}, which does not exist")
        if isinstance(node, Announcement):
            self.prompt(where, node.prompt)
        elif isinstance(node, Menu):
            self.prompt(where, node.prompt)
            self.prompt(where, node.invalid_prompt)
            self.prompt(where, node.timeout_prompt)
            if node.timeout_next is None:
                self.add(where, "menu-no-timeout", "menu has no path for a caller who presses nothing")
            if node.invalid_next is None:
                self.add(where, "menu-no-invalid", "menu has no path for an invalid key")
            for digit in node.choices:
                if len(digit) != 1 or digit not in DTMF_KEYS:
                    self.add(where, "bad-key", f"choice {digit!r} is not one phone key (0–9, *, #)")
            if not node.choices:
                self.add(where, "menu-empty", "menu has no choices")
            if not 1 <= node.attempts <= 10:
                self.add(where, "bad-attempts", "attempts must be 1–10")
            if not 1 <= node.timeout_s <= 60:
                self.add(where, "bad-timeout", "timeout must be 1–60 seconds")
        elif isinstance(node, ScheduleSwitch):
            self.ref(where, "schedule", node.schedule)
        elif isinstance(node, GroupNode):
            self.ref(where, "group", node.group)
        elif isinstance(node, QueueNode):
            self.ref(where, "queue", node.queue)
        elif isinstance(node, VoicemailNode):
            self.ref(where, "voicemail", node.box)
        elif isinstance(node, UserNode):
            self.ref(where, "user", node.user)
        elif isinstance(node, ExternalNode):
            if not is_e164(node.number):
                self.add(where, "bad-number", f"{node.number!r} is not an E.164 number (like +46812345600)")
        elif isinstance(node, CallbackNode):
            self.prompt(where, node.prompt)
            self.ref(where, "queue", node.queue)
        elif isinstance(node, HangupNode):
            self.prompt(where, node.prompt)
        elif isinstance(node, ServiceNode):
            self.service(where, node)

    def service(self, where: str, node: ServiceNode) -> None:
        if node.service not in ("voicemail", "prompts"):
            self.add(where, "bad-service", f"service {node.service!r} is not one of voicemail, prompts")
        self.ref(where, "voicemail", node.box)
        for user in node.users:
            self.ref(where, "user", user)
        own = {p.key for p in self.cfg.prompts}
        for code, prompt in node.prompts.items():
            if not (code.isdigit() and 1 <= len(code) <= 4):
                self.add(where, "bad-code", f"prompt code {code!r} must be 1–4 digits")
            if prompt not in own:
                self.add(where, "unknown-prompt", f"prompt {prompt!r} is not one of the tenant's own prompts")
        if node.service == "prompts" and not node.prompts:
            self.add(where, "service-no-prompts", "the prompt recording service lists no prompts to record")
        if node.service == "voicemail" and node.prompts:
            self.add(where, "bad-service", "prompt codes belong to the prompts service, not voicemail")


def _reach(start: set[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _find_cycle(edges: dict[str, list[str]]) -> list[str]:
    """One cycle in a directed graph (iterative DFS), or [] if there is none."""
    state: dict[str, int] = {}
    for root in sorted(edges):
        if root in state:
            continue
        path: list[str] = []
        stack = [(root, iter(edges.get(root, ())))]
        state[root] = 1
        path.append(root)
        while stack:
            key, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[key] = 2
            elif state.get(nxt) == 1:
                return path[path.index(nxt):]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(edges.get(nxt, ()))))
    return []


def validate_tenant(cfg: TenantConfig) -> list[Problem]:
    """Every problem in a tenant's configuration; an empty list means it may be published."""
    return _Checker(cfg).run()
