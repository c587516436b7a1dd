"""How numbers, waits, clock times and digits are spoken, in Swedish and English, from recorded words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx.acd.announce import MAX_ANNOUNCED_MIN, announcement, rounded_wait_min
from pbx.ivr import say
from pbx.ivr.catalogue import SYSTEM_PROMPTS

SOUNDS = Path(__file__).resolve().parent.parent / "sounds"


def said(keys: tuple[str, ...], lang: str) -> str:
    """What the caller hears, word by word."""
    return " ".join(say.WORDS[lang][k] for k in keys)


@pytest.mark.parametrize(("n", "words"), [
    (0, "noll"), (1, "ett"), (2, "två"), (7, "sju"), (8, "åtta"), (10, "tio"), (11, "elva"), (12, "tolv"),
    (13, "tretton"), (18, "arton"), (19, "nitton"), (20, "tjugo"), (21, "tjugo ett"), (22, "tjugo två"),
    (30, "trettio"), (31, "trettio ett"), (40, "fyrtio"), (45, "fyrtio fem"), (70, "sjuttio"), (80, "åttio"),
    (99, "nittio nio"), (100, "hundra"), (101, "hundra ett"), (110, "hundra tio"), (121, "hundra tjugo ett"),
    (200, "två hundra"), (305, "tre hundra fem"), (999, "nio hundra nittio nio"), (1000, "tusen"),
    (1001, "tusen ett"), (2021, "två tusen tjugo ett"), (21000, "tjugo ett tusen"),
    (100_000, "hundra tusen"), (999_999, "nio hundra nittio nio tusen nio hundra nittio nio"),
])
def test_swedish_numbers_count_with_ett(n: int, words: str) -> None:
    assert said(say.number(n, "sv"), "sv") == words


@pytest.mark.parametrize(("n", "words"), [
    (0, "zero"), (1, "one"), (12, "twelve"), (13, "thirteen"), (20, "twenty"), (21, "twenty one"),
    (45, "forty five"), (99, "ninety nine"), (100, "one hundred"), (105, "one hundred and five"),
    (121, "one hundred and twenty one"), (999, "nine hundred and ninety nine"), (1000, "one thousand"),
    (1005, "one thousand and five"), (1234, "one thousand two hundred and thirty four"),
    (21_000, "twenty one thousand"),
])
def test_english_numbers_are_british(n: int, words: str) -> None:
    assert said(say.number(n, "en"), "en") == words


def test_queue_position_one_is_ett_and_twenty_one_is_tjugoett() -> None:
    assert said(say.expand("number:1", "sv"), "sv") == "ett"
    assert say.expand("number:21", "sv") == ("num-20", "num-1")


@pytest.mark.parametrize(("n", "sv", "en"), [
    (0, "noll minuter", "zero minutes"),
    (1, "en minut", "one minute"),
    (2, "två minuter", "two minutes"),
    (10, "tio minuter", "ten minutes"),
    (21, "tjugo en minuter", "twenty one minutes"),
    (31, "trettio en minuter", "thirty one minutes"),
    (45, "fyrtio fem minuter", "forty five minutes"),
    (60, "sextio minuter", "sixty minutes"),
    (101, "hundra en minuter", "one hundred and one minutes"),
])
def test_minutes_agree_in_gender_and_number(n: int, sv: str, en: str) -> None:
    assert said(say.minutes(n, "sv"), "sv") == sv
    assert said(say.minutes(n, "en"), "en") == en
    assert say.expand(f"minutes:{n}", "sv") == say.minutes(n, "sv")


@pytest.mark.parametrize(("hh", "mm", "sv", "en"), [
    (13, 15, "klockan tretton och femton", "one fifteen p.m."),
    (13, 5, "klockan tretton och fem", "one oh five p.m."),
    (13, 0, "klockan tretton", "one p.m."),
    (9, 30, "klockan nio och trettio", "nine thirty a.m."),
    (1, 0, "klockan ett", "one a.m."),
    (12, 45, "klockan tolv och fyrtio fem", "twelve forty five p.m."),
    (12, 0, "klockan tolv", "noon"),
    (0, 0, "klockan noll", "midnight"),
    (0, 30, "klockan noll och trettio", "twelve thirty a.m."),
    (21, 1, "klockan tjugo ett och ett", "nine oh one p.m."),
    (23, 59, "klockan tjugo tre och femtio nio", "eleven fifty nine p.m."),
])
def test_clock_times(hh: int, mm: int, sv: str, en: str) -> None:
    assert said(say.clock(hh, mm, "sv"), "sv") == sv
    assert said(say.clock(hh, mm, "en"), "en") == en


def test_time_key_follows_till_klockan_without_repeating_it() -> None:
    # the engine plays ("presence-until", "time:12:45"); "presence-until" is "till klockan"
    assert SYSTEM_PROMPTS["presence-until"][0].endswith("klockan")
    assert said(say.expand("time:12:45", "sv"), "sv") == "tolv och fyrtio fem"
    assert said(say.expand("time:09:05", "en"), "en") == "nine oh five a.m."


def test_digits_are_read_one_by_one() -> None:
    assert said(say.digits("+46 70-123", "sv"), "sv") == "plus fyra sex sju noll ett två tre"
    assert said(say.expand("digits:0812", "en"), "en") == "zero eight one two"
    assert said(say.expand("digit:#", "sv"), "sv") == "fyrkant"
    assert said(say.expand("digit:*", "en"), "en") == "star"
    assert said(say.expand("digit:1", "sv"), "sv") == "ett"


def test_plain_keys_are_played_as_they_are() -> None:
    assert say.expand("welcome", "sv") == ("welcome",)
    assert say.expand("queue-position", "en") == ("queue-position",)


@pytest.mark.parametrize("key", ["number:-1", "number:x", "number:", "minutes:1.5", "number:1000000",
                                 "time:24:00", "time:12:60", "time:1245", "digits:", "digits:12a",
                                 "colour:red"])
def test_malformed_compound_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        say.expand(key, "sv")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        say.number(3, "de")


def test_what_a_queue_caller_hears_is_said_in_words() -> None:
    prompts, _ = announcement(21, 25 * 60, None, 0.0, callback_key="5")
    words = [w for key in prompts for w in say.expand(key, "sv")]
    assert words == ["queue-position", "num-20", "num-1", "queue-wait", "num-20", "num-5", "minutes",
                     "callback-offer", "num-5"]


@given(st.integers(0, say.MAX_NUMBER - 1))
def test_neighbouring_numbers_sound_different_and_use_recorded_words(n: int) -> None:
    for lang in say.LANGUAGES:
        assert say.number(n, lang) != say.number(n + 1, lang)
        assert set(say.number(n, lang)) <= say.vocabulary(lang)


def test_numbers_up_to_a_hundred_thousand_are_all_distinct() -> None:
    for lang in say.LANGUAGES:
        spoken = {say.number(n, lang) for n in range(100_001)}
        assert len(spoken) == 100_001


# --- every word that can be said is recorded --------------------------------------------------------


def every_expansion(lang: str) -> set[str]:
    keys: set[str] = set()
    for n in range(1000):
        keys.update(say.expand(f"number:{n}", lang), say.expand(f"minutes:{n}", lang))
    for hh in range(24):
        for mm in range(60):
            keys.update(say.expand(f"time:{hh:02d}:{mm:02d}", lang), say.clock(hh, mm, lang))
    keys.update(say.expand("digits:+0123456789*#", lang))
    for n in (1000, 21_000, say.MAX_NUMBER):
        keys.update(say.number(n, lang))
    return keys


@pytest.mark.parametrize("lang", say.LANGUAGES)
def test_every_spoken_word_and_catalogue_prompt_has_a_recording(lang: str) -> None:
    manifest = json.loads((SOUNDS / "manifest.json").read_text(encoding="utf-8"))["prompts"][lang]
    needed = every_expansion(lang) | set(SYSTEM_PROMPTS) | {"beep"}
    assert needed <= set(manifest), f"not in sounds/manifest.json: {sorted(needed - set(manifest))}"
    missing = sorted(k for k in needed if not (SOUNDS / lang / f"{k}.wav").is_file())
    assert not missing, f"no file in sounds/{lang}: {missing}"
    assert say.vocabulary(lang) <= set(manifest)


@pytest.mark.parametrize("lang", say.LANGUAGES)
def test_recordings_say_the_words_they_are_named_for(lang: str) -> None:
    manifest = json.loads((SOUNDS / "manifest.json").read_text(encoding="utf-8"))["prompts"][lang]
    for key, text in say.WORDS[lang].items():
        assert manifest[key]["text"] == text
    for key, texts in SYSTEM_PROMPTS.items():
        assert manifest[key]["text"] == texts[say.LANGUAGES.index(lang)]


def test_announced_waits_are_all_sayable() -> None:
    for seconds in range(0, 2 * 3600, 15):
        minutes = rounded_wait_min(seconds)
        assert minutes <= MAX_ANNOUNCED_MIN
        for lang in say.LANGUAGES:
            assert set(say.expand(f"minutes:{minutes}", lang)) <= say.vocabulary(lang)
