"""Accounts (the tree), users, administrators and the one search endpoint (A-01…A-03, A-08)."""
