"""Shared and personal voicemail boxes (built in issue 5)."""
