"""The prompt, voicemail and recording pages (issue 8) in a real browser: Playwright driving Debian's Chromium,
headless, against a running controller with the simulator and the admin API serving the pages on loopback.

A WAV uploaded to a prompt is the prompt's audio (the API says so, and the page's <audio> loads it); a prompt
recorded in the browser (Chromium's fake microphone) is saved with a plausible length; a voicemail message plays,
is marked heard and new again, and one left for the test is deleted; a recording plays, downloads and is deleted;
who lacks a right sees no menu item and a page that says so; Annat's administrator sees none of Exempel's
messages or recordings. Screenshots of each page at desktop and phone width go to var/screenshots/."""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from pbx.asterisk.sim_core import write_wav
from pbx.recording.index import KINDS
from tests.web_world import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    WAIT_MS,
    Site,
    api_json,
    shot,
    sign_in,
    table_column,
    texts,
)

CSRF = {"X-Requested-With": "pbx"}
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
AUDIO_LOADED = "a => a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0"
AUDIO_REASONS = ("empty", "too-large", "not-audio", "no-samples", "too-long", "silent")
# the test's own eyes on the microphone: every stream the page is given, to see that its tracks are stopped
KEEP_STREAMS = """
window.__streams = [];
const given = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async constraints => {
  const stream = await given(constraints);
  window.__streams.push(stream);
  return stream;
};
"""
LIVE_TRACKS = "() => window.__streams.flatMap(s => s.getTracks()).filter(t => t.readyState === 'live').length"


def tone_wav(seconds: float) -> bytes:
    """A 440 Hz tone, 8 kHz mono 16-bit: what a person would upload, made with the wave module."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                               for i in range(int(8000 * seconds))))
    return out.getvalue()


def prompt(page: Page, key: str) -> dict[str, Any]:
    return next(p for p in api_json(page, "/api/v1/prompts?per_page=500")["items"] if p["key"] == key)


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def remove_audio(page: Page, site: Site, key: str) -> None:
    """Restore a demo prompt to no audio (it has none in the test world), whatever the test did."""
    r = page.request.delete(f"{site.base}/api/v1/prompts/{key}/audio", headers=CSRF)
    assert r.status in (204, 404), r.text()


def leave_message(site: Site, box: str, caller: str) -> str:
    """A voicemail message left in Exempel's `box`, as the test world leaves its own (the store Asterisk's
    recordings go through)."""
    assert site.w is not None and site.w.ctx.voicemail is not None
    vm, spool = site.w.ctx.voicemail, site.tmp / "spool" / "exempel" / f"{caller}.wav"
    write_wav(str(spool), 3.0)
    message = site.run(lambda: vm.adeposit("exempel", box, spool, call_id=f"t-{caller}", caller=caller,
                                           dialled="+46812345600", at=datetime.now(UTC)))
    assert message is not None
    return message.id


def make_recording(site: Site, caller: str) -> str:
    assert site.w is not None and site.w.ctx.recordings is not None
    index, spool = site.w.ctx.recordings, site.tmp / "spool" / "exempel" / f"rec{caller}.wav"
    write_wav(str(spool), 4.0)
    rec = site.run(lambda: index.aindex("exempel", spool, call_id=f"r-{caller}", kind="on-demand", caller=caller,
                                        dialled="+46812345600", user="anna", queue="support",
                                        started_at=datetime.now(UTC)))
    assert rec is not None
    return rec.id


@pytest.fixture
def microphone_page(browser: Browser, site: Site) -> Iterator[Page]:
    """A Chromium of its own whose microphone is Chromium's fake device (a beeping tone), the permission given."""
    own = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *FAKE_MICROPHONE])
    context: BrowserContext = own.new_context(viewport=DESKTOP, locale="sv-SE", timezone_id="Europe/Stockholm",
                                              base_url=site.base)
    context.grant_permissions(["microphone"], origin=site.base)
    context.add_init_script(KEEP_STREAMS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not re.search(r"status of 4\d\d", m.text) else None)
    try:
        yield page
    finally:
        context.close()
        own.close()
    assert errors == []


# --- texts -----------------------------------------------------------------------------------------------------


def test_every_media_text_made_at_run_time_exists() -> None:
    every = texts()
    made = {*(f"media.kind-{k}" for k in KINDS), *(f"media.audio-{r}" for r in AUDIO_REASONS), "media.too-large"}
    assert made - set(every["sv"]) == set() and made - set(every["en"]) == set()


# --- prompts ---------------------------------------------------------------------------------------------------


def test_a_prompt_gets_an_uploaded_wav_plays_it_and_has_it_removed(site: Site, page: Page) -> None:
    key, name = "exempel-goteborg", "Välkommen till Exempel AB i Göteborg"
    sign_in(page, site, "boss@exempel.se")
    try:
        nav(page, "Ljudfiler")
        listed = api_json(page, "/api/v1/prompts?per_page=500")["items"]
        expect(page.locator("table.list tbody tr td:first-child")).to_have_text([p["name"] for p in listed])
        assert not prompt(page, key)["has_audio"]
        expect(page.locator("table.list tbody tr", has_text=name)).to_contain_text("Inget ljud")
        shot(page, "40-media-prompts")

        page.get_by_role("button", name=name).click()
        editor = page.locator(".prompt-editor")
        expect(editor.get_by_role("heading", level=2, name=name)).to_be_focused()
        expect(editor).to_contain_text("Ljudfilen har inget ljud än.")
        file = editor.get_by_label("Ljudfil")
        upload = editor.get_by_role("button", name="Ladda upp")

        # no file, then a file that is not audio: the error beside the field, the prompt unchanged
        upload.click()
        expect(file).to_have_attribute("aria-invalid", "true")
        expect(editor.locator(".field .field-error")).to_have_text("Välj en ljudfil först.")
        file.set_input_files(files=[{"name": "anteckning.wav", "mimeType": "audio/wav", "buffer": b"not audio"}])
        upload.click()
        expect(editor.locator(".field .field-error")).to_have_text(
            "Filen gick inte att läsa som ljud. Använd WAV, MP3, OGG, M4A eller FLAC.")
        expect(file).to_have_accessible_description(re.compile("Filen gick inte att läsa som ljud"))
        assert not prompt(page, key)["has_audio"]

        # a 1.2 s WAV, sent as it is with its own type; the server converts it
        file.set_input_files(files=[{"name": "valkommen.wav", "mimeType": "audio/wav", "buffer": tone_wav(1.2)}])
        with page.expect_request(lambda r: r.method == "PUT") as sent:
            upload.click()
        assert sent.value.headers["content-type"] == "audio/wav"
        assert "filename=valkommen.wav" in sent.value.url
        expect(editor.get_by_role("status").filter(has_text="Klart")).to_have_text(
            "Klart: valkommen.wav är uppladdad (1,2 s).")
        expect(file).not_to_have_attribute("aria-invalid", "true")
        now = prompt(page, key)
        assert now["has_audio"] is True and now["seconds"] == pytest.approx(1.2, abs=0.05) and now["rate"] == 8000
        expect(page.locator("table.list tbody tr", has_text=name)).to_contain_text("1,2 s")
        expect(editor.locator(".prompt-length")).to_have_text("Längd 1,2 s")
        # the browser plays it: the <audio> element has loaded the API's WAV (with the session cookie)
        audio = editor.locator("audio.prompt-audio")
        page.wait_for_function(AUDIO_LOADED, arg=audio.element_handle(), timeout=WAIT_MS)
        assert audio.evaluate("a => a.duration") == pytest.approx(1.2, abs=0.05)
        shot(page, "41-media-prompt-uploaded")

        # recording without a microphone (this browser has none): said plainly, nothing recorded
        editor.get_by_role("button", name="Spela in").click()
        expect(editor.locator(".recorder").get_by_role("alert")).to_have_text(
            "Ingen mikrofon hittades. Anslut en mikrofon eller ett headset och försök igen.")

        # remove the audio: cancelling the confirmation keeps it, confirming removes it
        remove = editor.get_by_role("button", name="Ta bort ljudet")
        remove.click()
        dialog = page.get_by_role("dialog", name=re.compile(r"^Ta bort ljudet för ”Välkommen till Exempel AB"))
        expect(dialog.get_by_role("button", name="Avbryt")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(remove).to_be_focused()
        assert prompt(page, key)["has_audio"] is True
        remove.click()
        dialog.get_by_role("button", name="Ta bort").click()
        expect(editor).to_contain_text("Ljudfilen har inget ljud än.")
        assert prompt(page, key)["has_audio"] is False
        expect(page.locator("table.list tbody tr", has_text=name)).to_contain_text("Inget ljud")
    finally:
        remove_audio(page, site, key)


def test_a_prompt_recorded_in_the_browser_is_saved(site: Site, microphone_page: Page) -> None:
    page = microphone_page
    key, name = "exempel-goteborg-meny", "Tryck 1 för support, 2 för att bli uppringd"
    sign_in(page, site, "boss@exempel.se")
    try:
        nav(page, "Ljudfiler")
        page.get_by_role("button", name=name).click()
        recorder = page.locator(".prompt-editor .recorder")
        recorder.get_by_role("button", name="Spela in").click()
        stop = recorder.get_by_role("button", name="Stoppa")
        expect(stop).to_be_focused()
        expect(recorder.get_by_role("status")).to_have_text("Spelar in… Tryck på Stoppa när du är klar.")
        page.wait_for_timeout(1500)  # a person speaking for a second and a half: the length is what is tested
        expect(recorder.get_by_role("timer")).to_have_text(re.compile(r"^0:0[1-3]$"))
        assert page.evaluate(LIVE_TRACKS) == 1
        stop.click()
        review = recorder.locator("audio.rec-review")
        expect(review).to_be_visible()
        expect(recorder.get_by_role("status")).to_have_text(re.compile(r"^Inspelad: [1-3],\d s\. Lyssna"))
        assert page.evaluate(LIVE_TRACKS) == 0  # the microphone is released as soon as the recording stops
        shot(page, "42-media-prompt-recorded")

        # save: sent in the type the browser records (WebM with Opus), converted by the server
        with page.expect_request(lambda r: r.method == "PUT") as sent:
            recorder.get_by_role("button", name="Spara inspelningen").click()
        assert sent.value.headers["content-type"].startswith("audio/webm")
        assert re.search(r"filename=inspelning\.webm", sent.value.url)
        expect(recorder.get_by_role("status")).to_have_text("Inspelningen är sparad som ljudfilens ljud.")
        now = prompt(page, key)
        assert now["has_audio"] is True and 1.0 <= now["seconds"] <= 3.5
        audio = page.locator(".prompt-editor audio.prompt-audio")
        page.wait_for_function(AUDIO_LOADED, arg=audio.element_handle(), timeout=WAIT_MS)
        expect(page.locator("table.list tbody tr", has_text=name)).to_contain_text(" s")

        # record again and discard: the saved audio stays
        recorder.get_by_role("button", name="Spela in").click()
        expect(recorder.get_by_role("button", name="Stoppa")).to_be_visible()
        recorder.get_by_role("button", name="Stoppa").click()
        recorder.get_by_role("button", name="Släng").click()
        expect(recorder.get_by_role("status")).to_have_text("Inspelningen är slängd.")
        expect(review).to_be_hidden()
        assert prompt(page, key)["seconds"] == now["seconds"]

        # leaving the page while recording releases the microphone
        recorder.get_by_role("button", name="Spela in").click()
        expect(recorder.get_by_role("button", name="Stoppa")).to_be_visible()
        assert page.evaluate(LIVE_TRACKS) == 1
        nav(page, "Röstbrevlådor")
        assert page.evaluate(LIVE_TRACKS) == 0
    finally:
        remove_audio(page, site, key)


# --- voicemail -------------------------------------------------------------------------------------------------


def test_voicemail_plays_is_marked_heard_and_new_and_a_message_is_deleted(site: Site, page: Page) -> None:
    assert site.w is not None
    demo = site.w.ids["exempel-message"]
    ours = leave_message(site, "support", "+46705550123")
    sign_in(page, site, "boss@exempel.se")

    def message(id_: str) -> dict[str, Any]:
        return api_json(page, f"/api/v1/voicemail/messages/{id_}")
    try:
        nav(page, "Röstbrevlådor")
        boxes = api_json(page, "/api/v1/voicemail/boxes?per_page=500")["items"]
        for b in boxes:
            card = page.locator(f'a.vm-box[data-box="{b["key"]}"]')
            expect(card).to_contain_text(b["name"])
            expect(card.locator(".counts")).to_have_text(f'{b["new"]} nya av {b["new"] + b["heard"]}')
        every = api_json(page, "/api/v1/voicemail/messages?per_page=500&sort=-received_at")["items"]
        assert {demo, ours} <= {m["id"] for m in every}
        expect(page.locator("table.list tbody tr")).to_have_count(len(every))
        expect(page.locator("table.list tbody tr td:nth-child(3)")).to_have_text([m["caller"] for m in every])
        assert message(demo)["heard"] is False
        shot(page, "43-media-voicemail")

        # listen: the message plays in the browser, and playing it marks it heard (by who listened)
        page.get_by_role("button", name=re.compile(r"^Lyssna på meddelandet från \+46701234567")).click()
        player = page.locator("section.player")
        expect(player.get_by_role("heading", level=2, name="Meddelande från +46701234567")).to_be_focused()
        page.wait_for_function(AUDIO_LOADED, arg=player.locator("audio").element_handle(), timeout=WAIT_MS)
        assert player.locator("audio").evaluate("a => a.duration") == pytest.approx(2.0, abs=0.1)
        expect(player.locator("dl.facts")).to_contain_text("Lyssnat av boss@exempel.se")
        assert (message(demo)["heard"], message(demo)["heard_by"]) == (True, "boss@exempel.se")
        expect(page.locator('a.vm-box[data-box="vaxel"] .new-count')).to_have_text("0 nya")
        shot(page, "44-media-voicemail-message")

        # mark it new again, then heard, with the buttons: the API has each
        player.get_by_role("button", name="Markera som nytt").click()
        expect(player.get_by_role("button", name="Markera som lyssnat")).to_be_focused()
        assert message(demo)["heard"] is False
        expect(page.locator('a.vm-box[data-box="vaxel"] .new-count')).to_have_text("1 nya")
        expect(page.locator("table.list tbody tr", has_text="+46701234567")).to_contain_text("Nytt")
        player.get_by_role("button", name="Markera som lyssnat").click()
        expect(player.get_by_role("button", name="Markera som nytt")).to_be_visible()
        assert message(demo)["heard"] is True
        expect(page.locator("table.list tbody tr", has_text="+46701234567")).to_contain_text("Lyssnat")

        # download: the WAV the API serves
        with page.expect_download() as download:
            player.get_by_role("link", name="Ladda ner").click()
        assert Path(download.value.path()).read_bytes()[:4] == b"RIFF"

        # the Support box's messages; delete the one left for this test (after a confirmation)
        page.locator('a.vm-box[data-box="support"]').click()
        expect(page.locator('a.vm-box[data-box="support"]')).to_have_attribute("aria-current", "true")
        expect(page.get_by_label("Brevlåda", exact=True)).to_have_value("support")
        expect(page.locator("table.list tbody tr")).to_have_count(
            api_json(page, "/api/v1/voicemail/messages?box=support")["total"])
        page.get_by_role("button", name=re.compile(r"^Lyssna på meddelandet från \+46705550123")).click()
        player.get_by_role("button", name="Ta bort").click()
        dialog = page.get_by_role("dialog", name=re.compile(r"^Ta bort meddelandet från \+46705550123"))
        expect(dialog.get_by_role("button", name="Avbryt")).to_be_focused()
        shot(page, "48-media-voicemail-confirm")
        dialog.get_by_role("button", name="Ta bort").click()
        expect(player).to_be_hidden()
        expect(page.locator("table.list")).not_to_contain_text("+46705550123")
        assert page.request.get(f"{site.base}/api/v1/voicemail/messages/{ours}").status == 404
    finally:
        page.request.patch(f"{site.base}/api/v1/voicemail/messages/{demo}", headers=CSRF, data={"heard": False})
        page.request.delete(f"{site.base}/api/v1/voicemail/messages/{ours}", headers=CSRF)


# --- recordings ------------------------------------------------------------------------------------------------


def test_a_recording_plays_downloads_and_is_deleted(site: Site, page: Page) -> None:
    ours = make_recording(site, "+46705550456")
    sign_in(page, site, "boss@exempel.se")
    try:
        nav(page, "Inspelningar")
        every = api_json(page, "/api/v1/recordings?per_page=500&sort=-started_at")["items"]
        assert ours in {r["id"] for r in every}
        expect(page.locator("table.list tbody tr")).to_have_count(len(every))
        assert table_column(page, 2) == [r["caller"] for r in every]
        row = page.locator("table.list tbody tr", has_text="+46705550456")
        expect(row).to_contain_text("Anna Andersson")
        expect(row).to_contain_text("Support")
        expect(row).to_contain_text("Manuell")
        expect(row).to_contain_text("0:04")
        shot(page, "45-media-recordings")

        row.get_by_role("button", name=re.compile(r"^Lyssna på samtalet från \+46705550456")).click()
        player = page.locator("section.player")
        expect(player.get_by_role("heading", level=2)).to_contain_text("Samtal från +46705550456")
        page.wait_for_function(AUDIO_LOADED, arg=player.locator("audio").element_handle(), timeout=WAIT_MS)
        assert player.locator("audio").evaluate("a => a.duration") == pytest.approx(4.0, abs=0.1)
        shot(page, "46-media-recording-open")
        with page.expect_download() as download:
            player.get_by_role("link", name="Ladda ner").click()
        assert Path(download.value.path()).read_bytes()[:4] == b"RIFF"

        player.get_by_role("button", name="Ta bort").click()
        dialog = page.get_by_role("dialog", name=re.compile(r"^Ta bort inspelningen av samtalet från \+46705550456"))
        dialog.get_by_role("button", name="Ta bort").click()
        expect(player).to_be_hidden()
        expect(page.locator("table.list")).not_to_contain_text("+46705550456")
        assert ours not in {r["id"] for r in api_json(page, "/api/v1/recordings?per_page=500")["items"]}
        assert page.request.get(f"{site.base}/api/v1/recordings/{ours}/audio").status == 404
    finally:
        page.request.delete(f"{site.base}/api/v1/recordings/{ours}", headers=CSRF)


# --- rights and tenants ----------------------------------------------------------------------------------------


def test_without_the_right_there_is_no_menu_item_and_the_page_says_so(site: Site, page: Page) -> None:
    sign_in(page, site, "gbg@exempel.se")  # an account administrator: view, numbers, users, agents
    menu = page.get_by_role("navigation", name="Huvudmeny")
    expect(menu.get_by_role("link", name="Ljudfiler")).to_be_visible()
    expect(menu.get_by_role("link", name="Röstbrevlådor")).to_have_count(0)
    expect(menu.get_by_role("link", name="Inspelningar")).to_have_count(0)
    page.goto(f"{site.base}/app/#/voicemail")
    expect(page.get_by_role("heading", level=1, name="Röstbrevlådor")).to_be_visible()
    expect(page.locator(".may-not")).to_have_text(
        "Du har inte behörighet att lyssna på röstbrevlådor. Be en administratör om behörigheten Röstbrevlåda.")
    expect(page.locator("table.list")).to_have_count(0)
    assert page.request.get(f"{site.base}/api/v1/voicemail/messages").status == 403
    shot(page, "47-media-may-not")
    page.goto(f"{site.base}/app/#/recordings")
    expect(page.locator(".may-not")).to_contain_text("Du har inte behörighet att lyssna på inspelade samtal.")
    assert page.request.get(f"{site.base}/api/v1/recordings").status == 403

    # prompts: listen, but no upload, recording or removal without the right "prompts"
    nav(page, "Ljudfiler")
    expect(page.get_by_text("Du kan lyssna på ljudfilerna men inte ändra dem")).to_be_visible()
    page.get_by_role("button", name="Välkommen till Exempel AB i Göteborg").click()
    editor = page.locator(".prompt-editor")
    expect(editor.get_by_role("heading", level=2)).to_be_visible()
    expect(editor.get_by_role("button", name="Ladda upp")).to_have_count(0)
    expect(editor.get_by_role("button", name="Spela in")).to_have_count(0)


def test_annats_administrator_sees_none_of_exempels_messages_or_recordings(site: Site, page: Page) -> None:
    assert site.w is not None
    ids = site.w.ids
    sign_in(page, site, "admin@annat.se")
    nav(page, "Röstbrevlådor")
    expect(page.locator("a.vm-box[data-box]")).to_have_count(1)
    expect(page.locator('a.vm-box[data-box="info"]')).to_contain_text("Info")
    mine = api_json(page, "/api/v1/voicemail/messages?per_page=500")["items"]
    assert [m["id"] for m in mine] == [ids["annat-message"]]
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list tbody tr")).to_contain_text("Info")
    expect(page.locator("table.list")).not_to_contain_text("Växel")
    # Exempel's message by its address: "not found", as the API says
    page.goto(f"{site.base}/app/#/voicemail?message={ids['exempel-message']}")
    player = page.locator("section.player")
    expect(player.get_by_role("heading", level=2, name="Hittades inte")).to_be_visible()
    expect(player.locator("audio")).to_be_hidden()
    assert page.request.get(f"{site.base}/api/v1/voicemail/messages/{ids['exempel-message']}").status == 404
    assert page.request.get(f"{site.base}/api/v1/voicemail/messages/{ids['exempel-message']}/audio").status == 404

    nav(page, "Inspelningar")
    assert [r["id"] for r in api_json(page, "/api/v1/recordings?per_page=500")["items"]] == [ids["annat-recording"]]
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    page.goto(f"{site.base}/app/#/recordings?recording={ids['exempel-recording']}")
    expect(page.locator("section.player").get_by_role("heading", level=2, name="Hittades inte")).to_be_visible()
    assert page.request.get(f"{site.base}/api/v1/recordings/{ids['exempel-recording']}/audio").status == 404
    assert page.request.delete(f"{site.base}/api/v1/recordings/{ids['exempel-recording']}",
                               headers=CSRF).status == 404
    # its own recording opens by its address
    page.goto(f"{site.base}/app/#/recordings?recording={ids['annat-recording']}")
    expect(page.locator("section.player audio")).to_be_visible()

    nav(page, "Ljudfiler")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list tbody tr")).to_contain_text("Meny")

