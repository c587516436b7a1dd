"""Recording live calls (F-14) through AMI: MixMonitor to start, MixMonitorMute to pause and resume, StopMixMonitor
to stop. Asterisk writes the file; when it is complete (stopped, or the call hung up) `finished` hands it on to
be indexed. Pausing mutes both directions, so the file keeps its length with silence where it was paused."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

log = logging.getLogger("pbx.recording")

State = Literal["recording", "paused"]


class Recorder(Protocol):
    """The AMI actions recording needs (pbx.asterisk.ami.AMIClient)."""

    async def mixmonitor(self, channel: str, file: str, options: str = "") -> None: ...
    async def mixmonitor_mute(self, channel: str, direction: str = "both", state: bool = True) -> None: ...
    async def stop_mixmonitor(self, channel: str) -> None: ...


class RecordingError(ValueError):
    """A recording action that cannot be done; `code` is stable for the API to map to a status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class LiveRecording:
    id: str
    tenant: str
    call_id: str
    channel: str
    file: Path
    kind: Literal["continuous", "on-demand"]
    started_at: datetime
    caller: str = ""
    dialled: str = ""
    user: str | None = None
    queue: str | None = None
    state: State = "recording"


class RecordingControl:
    """Recordings in progress on this controller. One per call: a second start is refused, not doubled."""

    def __init__(self, recorder: Callable[[], Recorder | None], spool: Path, clock: Callable[[], datetime],
                 finished: Callable[[LiveRecording], Awaitable[None]]) -> None:
        self.recorder = recorder
        self.spool = spool
        self.clock = clock
        self.finished = finished
        self.active: dict[str, LiveRecording] = {}  # recording id -> recording

    def _ami(self) -> Recorder:
        ami = self.recorder()
        if ami is None:
            raise RecordingError("asterisk-unavailable", "Asterisk is not connected; try again shortly")
        return ami

    def of_call(self, tenant: str, call_id: str) -> LiveRecording | None:
        return next((r for r in self.active.values() if r.tenant == tenant and r.call_id == call_id), None)

    def get(self, tenant: str, recording_id: str) -> LiveRecording:
        rec = self.active.get(recording_id)
        if rec is None or rec.tenant != tenant:  # another tenant's recording does not exist for this one
            raise RecordingError("not-found", f"no recording {recording_id!r} in progress")
        return rec

    def list(self, tenant: str) -> list[LiveRecording]:
        return sorted((r for r in self.active.values() if r.tenant == tenant), key=lambda r: r.started_at)

    async def start(self, tenant: str, call_id: str, channel: str, *, kind: Literal["continuous", "on-demand"],
                    caller: str = "", dialled: str = "", user: str | None = None, queue: str | None = None
                    ) -> LiveRecording:
        if self.of_call(tenant, call_id) is not None:
            raise RecordingError("already-recording", f"call {call_id} is being recorded already")
        rec_id = uuid.uuid4().hex
        file = self.spool / "recordings" / tenant / f"{rec_id}.wav"
        file.parent.mkdir(parents=True, exist_ok=True)
        rec = LiveRecording(rec_id, tenant, call_id, channel, file, kind, self.clock(), caller, dialled, user, queue)
        await self._ami().mixmonitor(channel, str(file))
        self.active[rec_id] = rec
        log.info("recording started", extra={"event": "recording_started", "tenant": tenant, "call": call_id,
                                             "recording": rec_id, "kind": kind})
        return rec

    async def pause(self, tenant: str, recording_id: str) -> LiveRecording:
        return await self._mute(tenant, recording_id, True)

    async def resume(self, tenant: str, recording_id: str) -> LiveRecording:
        return await self._mute(tenant, recording_id, False)

    async def _mute(self, tenant: str, recording_id: str, mute: bool) -> LiveRecording:
        rec = self.get(tenant, recording_id)
        wanted: State = "paused" if mute else "recording"
        if rec.state == wanted:
            return rec
        await self._ami().mixmonitor_mute(rec.channel, "both", mute)
        rec = self.active[recording_id] = replace(rec, state=wanted)
        log.info("recording " + ("paused" if mute else "resumed"), extra={
            "event": "recording_paused" if mute else "recording_resumed", "tenant": tenant, "recording": rec.id})
        return rec

    async def stop(self, tenant: str, recording_id: str) -> LiveRecording:
        rec = self.get(tenant, recording_id)
        await self._ami().stop_mixmonitor(rec.channel)
        await self._finish(rec, "stopped")
        return rec

    async def call_ended(self, call_id: str) -> None:
        """The call hung up: Asterisk closed its recordings; index them."""
        for rec in [r for r in self.active.values() if r.call_id == call_id]:
            await self._finish(rec, "hangup")

    async def _finish(self, rec: LiveRecording, why: str) -> None:
        if self.active.pop(rec.id, None) is None:
            return  # finished already (stopped, then the call hung up)
        log.info("recording finished", extra={"event": "recording_finished", "tenant": rec.tenant,
                                               "recording": rec.id, "call": rec.call_id, "why": why})
        try:
            await self.finished(rec)
        except Exception:  # the file stays in the spool; the index can be rebuilt from it
            log.exception("recording not indexed", extra={"event": "recording_index_error", "tenant": rec.tenant,
                                                          "recording": rec.id, "file": str(rec.file)})
