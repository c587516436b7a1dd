"""Live state behind one interface (presence, line status, logins, agents, waiting callers): memory or Redis."""

from pbx.acd.model import AgentState
from pbx.state.memory import DeviceLines
from pbx.state.redis_store import RedisStore
from pbx.state.store import LiveStore, MemoryStore, ReservationNotHeld, Subscription, WaitingEntry

__all__ = [
    "AgentState",
    "DeviceLines",
    "LiveStore",
    "MemoryStore",
    "RedisStore",
    "ReservationNotHeld",
    "Subscription",
    "WaitingEntry",
]
