"""The administrators' web pages (issue 8): static files under /app/, built on the admin API alone.

No build chain: plain HTML, JavaScript modules and one style sheet in admin_api/web/, served as they are. These
routes are added to the router directly, not through the operation registry, so they are no part of the OpenAPI
document. Every page answer carries a Content-Security-Policy without inline scripts or styles: the pages run
only the site's own module files and talk only to their own origin (the API and its WebSocket)."""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

log = logging.getLogger("admin_api.pages")

WEB_DIR = Path(__file__).with_name("web")
BASE = "/app/"

# 'self' in connect-src covers ws:/wss: to the same host in CSP Level 3 (Chromium, Firefox, Safari)
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
    # the files change with each release and are small: the browser asks each time (304 when unchanged)
    "Cache-Control": "no-cache",
}
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
         ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json"}


def _file(name: str) -> Path | None:
    """The file under web/ that `name` names, or None: nothing outside the directory, no hidden files."""
    parts = [p for p in name.split("/") if p]
    if any(p.startswith(".") or "\\" in p for p in parts):
        return None
    path = WEB_DIR.joinpath(*parts) if parts else WEB_DIR / "index.html"
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_file() or not path.is_relative_to(WEB_DIR.resolve()) or path.suffix not in TYPES:
        return None
    return path


TEXT = (".html", ".js", ".css", ".svg", ".json")
GZIP_LEVEL = 9


@dataclass(frozen=True, slots=True)
class _Text:
    """A text file as served: its bytes, the same gzipped, and an entity tag; kept until the file changes."""

    stamp: tuple[int, int]  # (mtime_ns, size) of the file it was read from
    body: bytes
    gzipped: bytes
    etag: str


_texts: dict[Path, _Text] = {}


def _text(path: Path) -> _Text:
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    kept = _texts.get(path)
    if kept is None or kept.stamp != stamp:
        body = path.read_bytes()
        kept = _Text(stamp, body, gzip.compress(body, GZIP_LEVEL, mtime=0),
                     '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _texts[path] = kept
    return kept


async def page_file(request: web.Request) -> web.StreamResponse:
    """A file of the pages. Text files go gzipped to a browser that takes it (they shrink to about a quarter), with
    an entity tag: "no-cache" makes the browser ask each time, and an unchanged file is a 304 without a body."""
    path = _file(request.match_info.get("name", ""))
    if path is None:
        raise web.HTTPNotFound(text=f"{request.path} is not a page or file of the web pages")
    if path.suffix not in TEXT:
        return web.FileResponse(path, headers={**SECURITY_HEADERS, "Content-Type": TYPES[path.suffix]})
    text = _text(path)
    headers = {**SECURITY_HEADERS, "ETag": text.etag, "Vary": "Accept-Encoding"}
    if text.etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = f"{TYPES[path.suffix]}; charset=utf-8"
    if "gzip" in request.headers.get("Accept-Encoding", "").lower():
        return web.Response(body=text.gzipped, headers={**headers, "Content-Encoding": "gzip"})
    return web.Response(body=text.body, headers=headers)


async def to_pages(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(BASE, headers={k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})


def add_pages(app: web.Application) -> None:
    """Serve the web pages at /app/ and send / there."""
    app.router.add_get("/", to_pages)
    app.router.add_get("/app", to_pages)
    app.router.add_get(BASE + "{name:.*}", page_file)
