"""Call recordings (F-14): the index of recorded calls, their deletion log and per-tenant retention."""

from pbx.recording.index import KINDS, Recording, RecordingIndex

__all__ = ["KINDS", "Recording", "RecordingIndex"]
