"""Device states from the AMI event stream, folded into one line status per user (U-06)."""

from __future__ import annotations

from collections import defaultdict

from pbx.routing.state import LineStatus

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


class DeviceLines:
    """A user may have several devices (desk phone, softphone): busy on any one is busy; the
    result goes to the live store, which decisions and the contact centre read."""

    def __init__(self) -> None:
        self.devices: dict[str, LineStatus] = {}
        self.device_owner: dict[str, tuple[str, str]] = {}
        self.user_devices: dict[tuple[str, str], set[str]] = defaultdict(set)

    def bind_device(self, device: str, tenant: str, user: str) -> None:
        self.device_owner[device] = (tenant, user)
        self.user_devices[(tenant, user)].add(device)

    def line(self, tenant: str, user: str) -> LineStatus:
        worst = LineStatus.IDLE
        for device in self.user_devices.get((tenant, user), ()):
            status = self.devices.get(device, LineStatus.IDLE)
            if status is LineStatus.BUSY:
                return status
            if status is LineStatus.RINGING or (status is LineStatus.UNAVAILABLE and worst is LineStatus.IDLE):
                worst = status
        return worst

    def device_state(self, device: str, state: str) -> LineStatus:
        status = DEVICE_STATES.get(state.upper(), LineStatus.IDLE)
        self.devices[device] = status
        return status

    def reset_devices(self, states: dict[str, str]) -> None:
        """After an AMI reconnect: what Asterisk says now replaces what we believed."""
        self.devices = {device: DEVICE_STATES.get(s.upper(), LineStatus.IDLE) for device, s in states.items()}
