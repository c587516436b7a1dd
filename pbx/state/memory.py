"""Device states from the AMI event stream, folded into one line status per user (U-06)."""

from __future__ import annotations

from collections import defaultdict

from pbx.devices.lines import DEVICE_STATES, aggregate, device_status
from pbx.routing.state import LineStatus

__all__ = ["DEVICE_STATES", "DeviceLines"]


class DeviceLines:
    """A user may have several devices (desk phone, softphone): busy on any one is busy; the
    result goes to the live store, which decisions and the contact centre read."""

    def __init__(self) -> None:
        self.devices: dict[str, LineStatus] = {}
        self.device_owner: dict[str, tuple[str, str]] = {}
        self.user_devices: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.raw: dict[str, str] = {}  # device → the state as Asterisk named it (the API shows it)

    def bind_device(self, device: str, tenant: str, user: str) -> None:
        old = self.device_owner.get(device)
        if old is not None and old != (tenant, user):  # the phone moved to another user
            self.user_devices[old].discard(device)
        self.device_owner[device] = (tenant, user)
        self.user_devices[(tenant, user)].add(device)

    def line(self, tenant: str, user: str) -> LineStatus:
        """In a call on any phone, else ringing on any, else free on any; unavailable only when every phone is
        (a softphone left offline does not make a user with a free desk phone unreachable)."""
        return aggregate(self.devices.get(d, LineStatus.IDLE) for d in self.user_devices.get((tenant, user), ()))

    def device_state(self, device: str, state: str) -> LineStatus:
        status = device_status(state)
        self.devices[device] = status
        self.raw[device] = state.strip().upper()
        return status

    def reset_devices(self, states: dict[str, str]) -> None:
        """After an AMI reconnect: what Asterisk says now replaces what we believed."""
        self.devices = {device: device_status(s) for device, s in states.items()}
        self.raw = {device: s.strip().upper() for device, s in states.items()}
