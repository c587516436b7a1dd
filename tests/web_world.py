"""The browser tests' world (issue 8): a running controller in front of the simulated Asterisk with the admin API
serving the web pages over real HTTP on loopback, and Playwright driving Debian's Chromium, headless.

Every tests/test_web_*.py file imports the fixtures `site`, `browser` and `page` from here (each module gets its
own site), and the helpers: `sign_in`, `shot` (screenshots at desktop and phone width into var/screenshots/,
PBX_SCREENSHOTS), `api_json`, `table_column`, `texts`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from admin_api.pages import WEB_DIR
from pbx.controller import Controller
from pbx.db import make_engine, session_factory
from pbx.demo import STOCKHOLM, demo_presence, demo_tenants
from pbx.live import simulator_for
from pbx.settings import Settings
from tests.admin_world import PASSWORD, World, config_follower, fresh_totp, world

T = TypeVar("T")
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)
SPEED = 10.0  # simulated seconds per real second
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("PBX_SCREENSHOTS", ROOT / "var" / "screenshots"))
CHROMIUM = os.environ.get("PBX_TEST_CHROMIUM", "/usr/bin/chromium")
# as this machine's notes say: no sandbox as root, and nothing that reaches for the (closed) network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000


class Site:
    """The controller with the demo tenants in front of the simulator, and the admin API with the pages, on an
    event loop in a thread of their own (the browser is driven from the test's thread)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.stop: asyncio.Event | None = None
        self.w: World | None = None
        self.controller: Controller | None = None
        self.sim: Any = None
        self.thread = threading.Thread(target=self._thread, name="web-pages-site", daemon=True)

    def _thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the test's thread
            self.failure = exc
        finally:
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        settings = Settings(database_url="sqlite://", log_level="INFO", agi_port=0, http_port=0,
                            spool=str(self.tmp / "spool"))
        tenants = demo_tenants()
        self.sim = simulator_for(settings, tenants, TUE_10, SPEED)
        # as deployed: the controller writes call records into the database the API reads (the file
        # tests.admin_world.world migrates and fills first), and the API runs on the simulator's clock, so that
        # "today" is the simulated Tuesday for both
        sessions = session_factory(make_engine(f"sqlite:///{self.tmp / 'pbx.sqlite'}"))
        holder: list[World] = []
        reload = config_follower(holder)  # and it takes up what the API publishes, within a second
        self.controller = Controller(settings, tenants, demo_presence(TUE_10.date()), clock=self.sim.clock.now,
                                     simulator=self.sim, sessions=sessions, reload=reload)
        async with world(self.tmp, controller=self.controller) as w:
            holder.append(w)
            reload()
            w.ctx.clock = self.sim.clock.now
            self.controller.recording_index = w.ctx.recordings
            await self.controller.start()
            try:
                self.w = w
                self.ready.set()
                await self.stop.wait()
            finally:
                await self.controller.stop()

    def __enter__(self) -> Site:
        self.thread.start()
        self.ready.wait(120)
        if self.failure is not None or self.w is None:
            raise RuntimeError("the site did not start") from self.failure
        return self

    def __exit__(self, *_: object) -> None:
        if self.loop is not None and self.stop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)
        if self.failure is not None:
            raise RuntimeError("the site failed") from self.failure

    @property
    def base(self) -> str:
        assert self.w is not None
        return self.w.base

    def run(self, work: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run `work()` on the site's event loop and wait for its result."""
        assert self.loop is not None

        async def wrapped() -> T:
            return await work()
        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with Site(tmp_path_factory.mktemp("web")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # never a skip: scripts/ensure-browser.sh installs Debian's chromium for the suite
        pytest.fail(f"{CHROMIUM} not found: run scripts/ensure-browser.sh or set PBX_TEST_CHROMIUM", pytrace=False)
    with sync_playwright() as p:
        yield launch(p)


def launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm",
                                  accept_downloads=True, base_url=site.base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # the API's 4xx answers the tests provoke are logged by the browser too: those are expected
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not re.search(r"status of 4\d\d", m.text) else None)
    yield page
    context.close()
    # a script error, or a resource the Content-Security-Policy refused, is a broken page
    assert errors == [], f"the page logged errors: {errors}"


def shot(page: Page, name: str) -> None:
    """The page as it is now, at desktop and at phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)  # one layout at the new width
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_in(page: Page, site: Site, login: str) -> None:
    page.goto(f"{site.base}/app/#/login")
    page.get_by_label("E-post").fill(login)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    if login == "boss@exempel.se":
        assert site.w is not None
        page.get_by_label("Kod (6 siffror)").fill(fresh_totp(site.w, "boss@exempel.se"))
        page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("heading", level=1, name="Översikt")).to_be_visible()


def api_json(page: Page, path: str) -> Any:
    """What the API itself answers this page's session (the same cookie)."""
    r = page.request.get(path)
    assert r.ok, r.text()
    return r.json()


def table_column(page: Page, n: int) -> list[str]:
    return [c.strip() for c in page.locator(f"table.list tbody tr td:nth-child({n})").all_inner_texts()]


def texts() -> dict[str, dict[str, str]]:
    """Every text the pages have, per language: texts.json and each page group's texts/<part>.json."""
    merged: dict[str, dict[str, str]] = {"sv": {}, "en": {}}
    for f in [WEB_DIR / "texts.json", *sorted((WEB_DIR / "texts").glob("*.json"))]:
        part = json.loads(f.read_text(encoding="utf-8"))
        assert set(part) == {"sv", "en"} and set(part["sv"]) == set(part["en"]), f"{f.name}: not the same keys"
        for language in ("sv", "en"):
            twice = set(part[language]) & set(merged[language])
            assert not twice, f"{f.name} repeats {sorted(twice)}"
            merged[language].update(part[language])
    return merged
