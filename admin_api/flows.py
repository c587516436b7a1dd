"""Flows: drafts, validation, atomic publish, roll back to any earlier version, and what-if."""
