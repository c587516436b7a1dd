"""Schedules (with overrides), answer groups and queues with their agents, callbacks, live calls and
recording control on a live call."""
