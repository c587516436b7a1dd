"""The call-routing core: configuration model, compiler, schedules, presence rules, decide(), what-if.

Pure: nothing in this package does I/O or reads the clock."""

from pbx.routing.compile import CompiledFlow, NumberRoute, RoutingTable, TenantTable, compile_table, compile_tenant
from pbx.routing.engine import (
    Action,
    Call,
    CollectNumber,
    Decision,
    Dial,
    EnterQueue,
    Hangup,
    PlayMenu,
    RecordPrompt,
    RingGroup,
    RingMember,
    Service,
    Voicemail,
    decide,
)
from pbx.routing.state import EMPTY_STATE, LineStatus, LiveView, StateSnapshot
from pbx.routing.validate import InvalidConfig, Problem, validate_tenant
from pbx.routing.whatif import Outcome, what_if

__all__ = [
    "EMPTY_STATE",
    "Action",
    "Call",
    "CollectNumber",
    "CompiledFlow",
    "Decision",
    "Dial",
    "EnterQueue",
    "Hangup",
    "InvalidConfig",
    "LineStatus",
    "LiveView",
    "NumberRoute",
    "Outcome",
    "PlayMenu",
    "Problem",
    "RecordPrompt",
    "RingGroup",
    "RingMember",
    "RoutingTable",
    "Service",
    "StateSnapshot",
    "TenantTable",
    "Voicemail",
    "compile_table",
    "compile_tenant",
    "decide",
    "validate_tenant",
    "what_if",
]
