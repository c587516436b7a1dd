"""Outbound barring (U-10): which classes a dialled number falls in, and whether a user may call it."""

from __future__ import annotations

from pbx.routing.model import BarringClass, UserConfig

# Swedish number plan: 0900/0939/0944 are premium-rate; 070/072/073/076/079 are mobile.
_SE_PREMIUM = ("+46900", "+46939", "+46944")
_SE_MOBILE = ("+4670", "+4672", "+4673", "+4676", "+4679")
EMERGENCY = frozenset({"112", "+46112", "11414", "+4611414"})


def classify(number: str, home_cc: str = "46") -> frozenset[BarringClass]:
    """Barring classes of an E.164 number seen from a tenant in country `home_cc`."""
    if number in EMERGENCY:
        return frozenset()
    if not number.startswith("+" + home_cc):
        return frozenset({BarringClass.INTERNATIONAL})
    if home_cc == "46":
        if number.startswith(_SE_PREMIUM):
            return frozenset({BarringClass.PREMIUM})
        if number.startswith(_SE_MOBILE):
            return frozenset({BarringClass.MOBILE})
    return frozenset({BarringClass.DOMESTIC})


def barred_reason(user: UserConfig, number: str, home_cc: str = "46") -> str | None:
    """Why `user` may not call `number`, or None when the call is allowed. Emergency is never barred."""
    hit = sorted(classify(number, home_cc) & user.barred)
    if not hit:
        return None
    return f"{user.name} is barred from {', '.join(hit)} calls ({number})"
