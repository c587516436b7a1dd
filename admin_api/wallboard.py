"""The live wallboard: a WebSocket stream of queue and agent state, and per-queue alarm thresholds."""

from __future__ import annotations

from aiohttp import web


def extra_routes(app: web.Application) -> None:
    """Routes the operation registry cannot describe (the WebSocket), and background work of the app."""
