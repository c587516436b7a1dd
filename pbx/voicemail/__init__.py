"""Shared and personal voicemail (F-06, U-02): stored messages, their one heard state, and the notification."""

from pbx.voicemail.messages import FOLDERS, Message, VoicemailStore
from pbx.voicemail.notify import message_notification

__all__ = ["FOLDERS", "Message", "VoicemailStore", "message_notification"]
