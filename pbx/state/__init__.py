"""Live state behind one interface (presence, line status, logins, agents, waiting callers): memory or Redis."""

from pbx.state.memory import DeviceLines
from pbx.state.redis_store import RedisStore
from pbx.state.store import AgentRecord, LiveStore, MemoryStore, ReservationNotHeld, Subscription, WaitingEntry

__all__ = [
    "AgentRecord",
    "DeviceLines",
    "LiveStore",
    "MemoryStore",
    "RedisStore",
    "ReservationNotHeld",
    "Subscription",
    "WaitingEntry",
]
