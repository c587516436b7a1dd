"""Live state behind one interface (presence, line status, who is logged in): in memory now, Redis in issue 4."""

from pbx.state.memory import MemoryState

__all__ = ["MemoryState"]
