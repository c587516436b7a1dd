"""In-memory live state for one controller process: what the AMI event stream and users tell us."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pbx.routing.model import PresenceEntry
from pbx.routing.state import LineStatus, StateSnapshot

# Asterisk device states (DeviceStateChange / DeviceStateList) → what routing cares about.
DEVICE_STATES = {
    "NOT_INUSE": LineStatus.IDLE,
    "INUSE": LineStatus.BUSY,
    "BUSY": LineStatus.BUSY,
    "ONHOLD": LineStatus.BUSY,
    "RINGINUSE": LineStatus.BUSY,
    "RINGING": LineStatus.RINGING,
    "UNAVAILABLE": LineStatus.UNAVAILABLE,
    "INVALID": LineStatus.UNAVAILABLE,
    "UNKNOWN": LineStatus.IDLE,
}


class MemoryState:
    """Implements routing's LiveView; devices map to (tenant, user) through `bind_device`."""

    def __init__(self) -> None:
        self.presences: dict[tuple[str, str], tuple[PresenceEntry, ...]] = {}
        self.members: dict[tuple[str, str, str], frozenset[str]] = {}
        self.devices: dict[str, LineStatus] = {}
        self.device_owner: dict[str, tuple[str, str]] = {}
        self.user_devices: dict[tuple[str, str], set[str]] = defaultdict(set)

    # --- LiveView ------------------------------------------------------------------------
    def presence(self, tenant: str, user: str, now: datetime) -> PresenceEntry | None:
        return StateSnapshot(presences=self.presences).presence(tenant, user, now)

    def line(self, tenant: str, user: str) -> LineStatus:
        worst = LineStatus.IDLE
        for device in self.user_devices.get((tenant, user), ()):
            status = self.devices.get(device, LineStatus.IDLE)
            if status is LineStatus.BUSY:
                return status
            if status is LineStatus.RINGING or (status is LineStatus.UNAVAILABLE and worst is LineStatus.IDLE):
                worst = status
        return worst

    def logged_in(self, tenant: str, kind: str, key: str) -> frozenset[str]:
        return self.members.get((tenant, kind, key), frozenset())

    # --- updates ---------------------------------------------------------------------------
    def bind_device(self, device: str, tenant: str, user: str) -> None:
        self.device_owner[device] = (tenant, user)
        self.user_devices[(tenant, user)].add(device)

    def device_state(self, device: str, state: str) -> LineStatus:
        status = DEVICE_STATES.get(state.upper(), LineStatus.IDLE)
        self.devices[device] = status
        return status

    def reset_devices(self, states: dict[str, str]) -> None:
        """After an AMI reconnect: what Asterisk says now replaces what we believed."""
        self.devices = {device: DEVICE_STATES.get(s.upper(), LineStatus.IDLE) for device, s in states.items()}

    def set_presence(self, tenant: str, user: str, entries: tuple[PresenceEntry, ...]) -> None:
        self.presences[(tenant, user)] = entries

    def log_in(self, tenant: str, kind: str, key: str, user: str) -> None:
        current = self.members.get((tenant, kind, key), frozenset())
        self.members[(tenant, kind, key)] = current | {user}

    def log_out(self, tenant: str, kind: str, key: str, user: str) -> None:
        current = self.members.get((tenant, kind, key), frozenset())
        self.members[(tenant, kind, key)] = current - {user}
