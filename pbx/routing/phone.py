"""Calls from users' phones: who is calling (the phone Asterisk names, never what it sends) and what the digits mean.

Pure like decide(): no I/O, no clock reads. A feature code's effect (logging in, presence, forwarding) is not done
here: the decision carries it as a `Feature` for the router to carry out through the services the admin API
uses, and the phone hears what was done.

What a phone may dial (U-01, U-03, U-04, U-05, U-07, U-09, U-10):
  *45  / *45N     log in to all one's queues and answer groups / to number N of them: the tenant's queues are
                  numbered 1, 2, … in configuration order, its answer groups after them (TenantTable.member_codes)
  *46  / *46N     log out of all / of number N
  *47  / *48      pause / end the pause
  *21<number>     forward every call to <number>: a colleague's extension or a phone number (barring applies)
  #21             forwarding off
  *22S / *22S<T>  presence S (1 lunch, 2 meeting, 3 away, 4 busy, 5 vacation) until changed, or until T: 1–3
                  digits = minutes from now, 4 digits = HHMM (the next such time in the tenant's time zone);
                  *2211300 = "at lunch until 13:00"
  #22             presence cleared (the periods in force now; planned ones stay)
  *98             voicemail (the tenant's voicemail phone service); dialling one's own extension does the same
  112, 11414      emergency (also +46112, 0046112 …): always placed, whatever the barring, as the short number
  an extension, or a number the own tenant owns: the colleague (or the flow) exactly as decide() routes a call
                  (presence announcement, forwarding, busy → call waiting or the busy rule); a colleague who
                  cannot be reached ends with "cannot answer right now", not at the tenant's fallback
  anything else   0… national, 00… international, +… as it is → E.164; checked against the user's barring
                  (barred: the phone hears why, nothing is dialled), then out through the trunk with the caller
                  ID the user chose (U-04), always a number the tenant owns
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple, TypeAlias

from pbx.routing.barring import EMERGENCY, barred_reason, classify
from pbx.routing.compile import CLAIMED_TWICE, CompiledFlow, RoutingTable, TenantTable
from pbx.routing.engine import ANSWERED, Call, Decision, Dial, Hangup, Service, _Step
from pbx.routing.model import PresenceEntry, PresenceStatus, ServiceNode, Target, UserConfig, is_e164
from pbx.routing.state import LiveView

__all__ = ["ANONYMOUS", "Feature", "PhoneDecision", "caller_id_for", "decide_phone", "leaves_by_trunk",
           "national_to_e164"]

OUTBOUND_RING_S = 120
EMERGENCY_RING_S = 600
ANONYMOUS = "anonymous"  # presented when the tenant owns no number the user could present
DIALLABLE = frozenset("0123456789*#+")
PRESENCE_DIGITS = {"1": PresenceStatus.LUNCH, "2": PresenceStatus.MEETING, "3": PresenceStatus.AWAY,
                   "4": PresenceStatus.BUSY, "5": PresenceStatus.VACATION}

FeatureKind: TypeAlias = Literal["login", "logout", "pause", "unpause", "forward-on", "forward-off", "presence-set",
                                 "presence-clear"]


class Feature(NamedTuple):
    """What a feature code asks for, to be done by the router's feature service."""

    kind: FeatureKind
    tenant: str
    user: str
    done: tuple[str, ...]  # the prompts the phone hears when it worked
    member: str | None = None  # login/logout: "queue:KEY" or "group:KEY"; None = all of them
    target: Target | None = None  # forward-on
    presence: PresenceEntry | None = None  # presence-set


class PhoneDecision(NamedTuple):
    decision: Decision
    user: str | None = None  # the calling user (None: an unknown phone)
    caller_id: str | None = None  # what a dial presents: through the trunk the chosen number (U-04), else the extension
    feature: Feature | None = None  # to carry out before the decision's prompts are played


class _PhoneStep(_Step):
    """decide()'s working state, but a colleague who cannot be reached ends the call with a word to the caller
    instead of sending a colleague's call to the tenant's fallback (the switchboard's voicemail)."""

    __slots__ = ()

    def fallback(self, why: str) -> Decision:
        if self.flow is not None:  # inside a flow (the own main number dialled): as for any caller
            return super().fallback(why)
        self.trace.append(("cannot continue: {} → hang up", why))
        return self.done(Hangup((*self.prompts, "unavailable")))


def leaves_by_trunk(target: str) -> bool:
    """E.164 numbers and short numbers (emergency: 112) go to the public network; the rest are endpoints."""
    return target.startswith("+") or target.isdigit()


def national_to_e164(digits: str, home_cc: str) -> str | None:
    """Dialled digits as E.164: +… as it is, 00… international, 0… national; None when not a phone number."""
    if digits.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = "+" + digits[2:]
    elif digits.startswith("0"):
        number = f"+{home_cc}{digits[1:]}"
    else:
        return None
    return number if is_e164(number) else None


def _emergency(digits: str, home_cc: str) -> str | None:
    """The short number to dial when `digits` is an emergency number in any of its forms."""
    if digits in EMERGENCY and not digits.startswith("+"):
        return digits
    # +46112 is too short to be E.164: compare the international form as it is written
    number = "+" + digits[2:] if digits.startswith("00") else digits
    if number.startswith(f"+{home_cc}") and number in EMERGENCY:
        return number.removeprefix(f"+{home_cc}")
    return None


def caller_id_for(table: RoutingTable, tenant: TenantTable, user: UserConfig) -> str:
    """U-04: the number `user`'s outbound calls present. Their choice when the tenant owns it (checked again here:
    numbers move between tenants), else their fixed number, else the main number; never one the tenant does not
    own: with none, the call is anonymous."""
    choice = user.outbound_caller_id
    chosen = {"main": tenant.main_number, "fixed": user.fixed_number, "mobile": user.mobile_number}.get(
        choice or "", choice)
    for number in (chosen, user.fixed_number, tenant.main_number):
        route = table.numbers.get(number or "")
        if number and route is not None and route.tenant == tenant.key:
            return number
    return ANONYMOUS


def decide_phone(table: RoutingTable, state: LiveView, call: Call, endpoint: str, now: datetime) -> PhoneDecision:
    """The next step of a call from the phone `endpoint` (a PJSIP endpoint name). `now` must be aware."""
    step = _PhoneStep(table, state, call, now)
    owner = table.devices.get(endpoint)
    tenant = table.tenants.get(owner[0]) if owner is not None and owner != CLAIMED_TWICE else None
    user = tenant.users.get(owner[1]) if tenant is not None and owner is not None else None
    if tenant is None or user is None:
        why = " (two users claim it)" if owner == CLAIMED_TWICE else ""
        step.trace.append(("phone {} belongs to no user{}: refused", endpoint, why))
        return PhoneDecision(step.done(Hangup(("phone-unknown-device",), "rejected")))
    step.tenant = tenant
    if call.node is not None or call.target is not None:
        return _resume(step, tenant, user)
    step.trace.append(("{} dials {} (phone {})", user.name, call.dialled or "nothing", endpoint))
    return _caller_id(step, _dialled(step, tenant, user), tenant, user)


def _resume(step: _PhoneStep, tenant: TenantTable, user: UserConfig) -> PhoneDecision:
    call = step.call
    if call.tenant != tenant.key:  # a position that names another company: never continue it
        step.trace.append(("position of tenant {} on {}'s phone: refused", call.tenant, user.name))
        return PhoneDecision(step.done(Hangup(("ss-noservice",), "failure")), user.key)
    kind, _, number = (call.target or "").partition(":")
    if kind == "outbound":
        status = call.result.upper()
        if status in ANSWERED:
            step.trace.append(("call to {} answered and completed", number))
            return PhoneDecision(step.done(Hangup(())), user.key)
        busy = status == "BUSY"
        step.trace.append(("{} did not answer ({})", number, status or "no status"))
        action = Hangup(("phone-busy",), "busy") if busy else Hangup(("phone-no-answer",))
        return PhoneDecision(step.done(action, None, call.target), user.key)
    return _caller_id(step, PhoneDecision(step.resume(), user.key), tenant, user)


def _caller_id(step: _PhoneStep, pd: PhoneDecision, tenant: TenantTable, user: UserConfig) -> PhoneDecision:
    """A dial that leaves through the trunk (outbound, emergency, a colleague's forwarding) presents the caller ID
    the user chose; a dial inside presents the caller's extension, whatever the phone itself sends."""
    action = pd.decision.action
    if not isinstance(action, Dial):
        return pd
    if any(leaves_by_trunk(t) for t in action.targets):
        return pd._replace(caller_id=caller_id_for(step.table, tenant, user))
    return pd._replace(caller_id=user.extension) if user.extension and user.extension.isdigit() else pd


def _refuse(step: _PhoneStep, user: UserConfig, prompts: tuple[str, ...], why: str, cause: str = "rejected"
            ) -> PhoneDecision:
    step.trace.append(("{}: refused", why))
    return PhoneDecision(step.done(Hangup(prompts, cause)), user.key)


def _dialled(step: _PhoneStep, tenant: TenantTable, user: UserConfig) -> PhoneDecision:
    digits = step.call.dialled
    if not digits or not set(digits) <= DIALLABLE or "+" in digits[1:]:
        return _refuse(step, user, ("ss-noservice",), f"{digits!r} cannot be dialled", "unallocated")
    if digits[0] in "*#":
        return _feature(step, tenant, user, digits)
    emergency = _emergency(digits, tenant.home_cc)
    if emergency is not None:
        step.trace.append(("emergency number {}: placed whatever the barring", emergency))
        action = Dial((), (emergency,), EMERGENCY_RING_S)
        return PhoneDecision(step.done(action, None, f"outbound:{emergency}"), user.key)
    colleague = _extension(tenant, digits)
    if colleague is user:
        step.trace.append(("{} dials their own extension: voicemail", user.name))
        return _voicemail(step, tenant, user)
    if colleague is not None:
        step.trace.append(("{} is {}'s extension", digits, colleague.name))
        return PhoneDecision(step.user(colleague, "fixed", "call", None, set()), user.key)
    number = national_to_e164(digits, tenant.home_cc)
    if number is None:
        return _refuse(step, user, ("ss-noservice",), f"{digits} is neither an extension nor a phone number",
                       "unallocated")
    route = step.table.numbers.get(number)
    if route is not None and route.tenant == tenant.key:  # one of the company's own numbers: stays inside
        if route.user is not None:
            colleague = tenant.users[route.user]
            step.trace.append(("{} is {}'s {} number", number, colleague.name, route.via))
            return PhoneDecision(step.user(colleague, route.via, "call", None, set()), user.key)
        flow = tenant.flows.current[route.flow]  # type: ignore[index]
        step.flow = flow
        step.trace.append(("{} is {}'s {} → flow {}", number, tenant.name, route.label or "number", flow.name))
        return PhoneDecision(step.enter(flow.entry), user.key)
    barred = barred_reason(user, number, tenant.home_cc)
    if barred is not None:
        classes = sorted(classify(number, tenant.home_cc) & user.barred)
        return _refuse(step, user, tuple(f"barred-{c.value}" for c in classes), barred)
    step.trace.append(("dial {} through the trunk", number))
    return PhoneDecision(step.done(Dial((), (number,), OUTBOUND_RING_S), None, f"outbound:{number}"), user.key)


def _extension(tenant: TenantTable, digits: str) -> UserConfig | None:
    return next((u for u in tenant.users.values() if u.extension == digits), None)


def _feature(step: _PhoneStep, tenant: TenantTable, user: UserConfig, digits: str) -> PhoneDecision:
    code, rest = digits[:3], digits[3:]
    feature: Feature | None = None
    if code in ("*45", "*46"):
        member = None
        if rest:
            member = tenant.member_codes.get(rest)
            if member is None:
                return _refuse(step, user, ("agent-not-member",), f"{code}: no queue or group number {rest}")
        login = code == "*45"
        feature = Feature("login" if login else "logout", tenant.key, user.key,
                          ("agent-logged-in",) if login else ("agent-logged-out",), member=member)
    elif code == "*47" and not rest:
        feature = Feature("pause", tenant.key, user.key, ("agent-paused",))
    elif code == "*48" and not rest:
        feature = Feature("unpause", tenant.key, user.key, ("agent-unpaused",))
    elif code == "*21" and rest:
        target = _forward_target(tenant, user, rest)
        if isinstance(target, tuple):
            return _refuse(step, user, target, f"*21: cannot forward to {rest}")
        feature = Feature("forward-on", tenant.key, user.key, ("forward-on", f"digits:{rest}"), target=target)
    elif code == "#21" and not rest:
        feature = Feature("forward-off", tenant.key, user.key, ("forward-off",))
    elif code == "*22" and rest:
        entry = _presence(rest, step.now, tenant)
        if entry is None:
            return _refuse(step, user, ("feature-invalid",), f"*22{rest} is not a presence code", "unallocated")
        done: tuple[str, ...] = ("presence-set", f"presence-{entry.status.value}")
        if entry.end is not None:
            done += ("presence-until", f"time:{entry.end.astimezone(tenant.tz):%H:%M}")
        feature = Feature("presence-set", tenant.key, user.key, done, presence=entry)
    elif code == "#22" and not rest:
        feature = Feature("presence-clear", tenant.key, user.key, ("presence-cleared",))
    elif digits == "*98":
        return _voicemail(step, tenant, user)
    if feature is None:
        return _refuse(step, user, ("feature-invalid",), f"{digits} is not a feature code", "unallocated")
    step.trace.append(("feature code {}: {}{}", digits, feature.kind, f" {feature.member}" if feature.member else ""))
    return PhoneDecision(step.done(Hangup(feature.done), None, f"feature:{feature.kind}"), user.key, feature=feature)


def _forward_target(tenant: TenantTable, user: UserConfig, digits: str) -> Target | tuple[str, ...]:
    """Where *21 forwards to, or the prompts saying why it cannot."""
    colleague = _extension(tenant, digits)
    if colleague is not None:
        return Target("user", colleague.key) if colleague is not user else ("feature-invalid",)
    number = national_to_e164(digits, tenant.home_cc)
    if number is None or _emergency(digits, tenant.home_cc) is not None:
        return ("feature-invalid",)
    if barred_reason(user, number, tenant.home_cc) is not None:
        return tuple(f"barred-{c.value}" for c in sorted(classify(number, tenant.home_cc) & user.barred))
    return Target("external", number)


def _presence(rest: str, now: datetime, tenant: TenantTable) -> PresenceEntry | None:
    status = PRESENCE_DIGITS.get(rest[:1])
    when = rest[1:]
    if status is None or (when and not when.isdigit()):
        return None
    end: datetime | None = None
    if 1 <= len(when) <= 3:
        if int(when) == 0:
            return None
        end = now + timedelta(minutes=int(when))
    elif len(when) == 4:
        hour, minute = int(when[:2]), int(when[2:])
        if hour > 23 or minute > 59:
            return None
        local = now.astimezone(tenant.tz)
        end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
    elif when:
        return None
    return PresenceEntry(status, now, end)


def _voicemail(step: _PhoneStep, tenant: TenantTable, user: UserConfig) -> PhoneDecision:
    """*98: the tenant's voicemail phone service (the one open to this user, unrestricted to a box if there is)."""
    found: list[tuple[bool, CompiledFlow, ServiceNode]] = []
    for flow in tenant.flows.values():
        for node in flow.nodes.values():
            if isinstance(node, ServiceNode) and node.service == "voicemail" and (
                    not node.users or user.key in node.users):
                found.append((node.box is not None, flow, node))
    if not found:
        return _refuse(step, user, ("service-refused",), f"{tenant.name} has no voicemail service for {user.name}")
    _, flow, node = min(found, key=lambda f: f[0])
    step.flow = flow
    step.trace.append(("voicemail by phone: flow {}", flow.name))
    return PhoneDecision(step.done(Service((), node.service, node.box), node.key), user.key)
