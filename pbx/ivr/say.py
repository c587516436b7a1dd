"""Speaking values — numbers, minutes, clock times, digit strings — as sequences of recorded words.

Pure: each function returns the prompt keys to play in order; every key is a file
`sounds/<lang>/<key>.wav` (the words and their text are in `WORDS`, recorded by scripts/make_sounds.py).
A small vocabulary composes everything: 0–20, the tens, "hundred", "thousand", a few function words.

Swedish (sv):
- Numbers are said the way they are written, in parts: 21 "tjugo|ett", 121 "hundra|tjugo|ett",
  200 "två|hundra", 1000 "tusen", 2021 "två|tusen|tjugo|ett". "hundra" and "tusen" alone for one
  hundred and one thousand, as people say them.
- Counting and positions use "ett" ("plats nummer ett", "tjugoett"); before a noun of common gender the
  last word is "en" instead: "en minut", "tjugoen minuter" (key `num-1-common`).
- Clock times the 24-hour way Swedish announcements read them: "klockan tretton och femton" (13.15),
  "klockan tretton och fem" (13.05), "klockan tretton" (13.00), "klockan noll och trettio" (00.30).
- Digits one by one, 1 as "ett", with "plus", "stjärna", "fyrkant".

English (en, British like the espeak-ng voice):
- "one hundred and twenty one", "two thousand and five", "one thousand two hundred".
- Clock times the 12-hour way people say them: "one fifteen p.m." (13:15), "one oh five p.m." (13:05),
  "nine a.m." (09:00), "noon" (12:00), "midnight" (00:00).
- Digits one by one, 0 as "zero", with "plus", "star", "hash".

Compound prompt keys used by flows and the contact centre ("number:N", "minutes:N", "digit:K",
"digits:S", "time:HH:MM") become words through `expand`.
"""

from __future__ import annotations

import re
from types import MappingProxyType

LANGUAGES = ("sv", "en")
MAX_NUMBER = 999_999

_SV_NUMBERS = ("noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv",
               "tretton", "fjorton", "femton", "sexton", "sjutton", "arton", "nitton", "tjugo")
_SV_TENS = ("trettio", "fyrtio", "femtio", "sextio", "sjuttio", "åttio", "nittio")
_EN_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
               "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_EN_TENS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _numerals(small: tuple[str, ...], tens: tuple[str, ...]) -> dict[str, str]:
    words = {f"num-{n}": text for n, text in enumerate(small)}
    words.update({f"num-{10 * (i + 3)}": text for i, text in enumerate(tens)})
    return words


# lang -> word key -> its text (what the recording says). Keys are English, like the catalogue's.
WORDS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType({
    "sv": MappingProxyType({
        **_numerals(_SV_NUMBERS, _SV_TENS),
        "num-1-common": "en",
        "hundred": "hundra",
        "thousand": "tusen",
        "minute": "minut",
        "minutes": "minuter",
        "clock": "klockan",
        "and": "och",
        "plus": "plus",
        "star": "stjärna",
        "hash": "fyrkant",
    }),
    "en": MappingProxyType({
        **_numerals(_EN_NUMBERS, _EN_TENS),
        "hundred": "hundred",
        "thousand": "thousand",
        "minute": "minute",
        "minutes": "minutes",
        "and": "and",
        "oh": "oh",
        "am": "a.m.",
        "pm": "p.m.",
        "noon": "noon",
        "midnight": "midnight",
        "plus": "plus",
        "star": "star",
        "hash": "hash",
    }),
})

_SYMBOLS = {"+": "plus", "*": "star", "#": "hash"}
_SEPARATORS = frozenset(" -")  # "070-123 45 67" is read digit by digit, the separators silently
_DECIMAL = re.compile(r"[0-9]+")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def _check_language(lang: str) -> None:
    if lang not in WORDS:
        raise ValueError(f"no spoken words for language {lang!r} (have {', '.join(LANGUAGES)})")


def number(n: int, lang: str, *, common: bool = False) -> tuple[str, ...]:
    """The words for 0 ≤ n ≤ 999 999. `common`: Swedish "en" instead of "ett" as the last word, for a
    noun of common gender that follows ("en minut", "tjugoen minuter"); English ignores it."""
    _check_language(lang)
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"cannot say {n}: numbers are said from 0 to {MAX_NUMBER}")
    if lang == "sv":
        return _sv(n, common)
    return _en(n)


def _sv(n: int, common: bool) -> tuple[str, ...]:
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _sv_below_1000(n, common)
    head = () if thousands == 1 else _sv_below_1000(thousands, False)  # "tusen", "tjugoettusen"
    return (*head, "thousand", *(_sv_below_1000(rest, common) if rest else ()))


def _sv_below_1000(n: int, common: bool) -> tuple[str, ...]:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _sv_below_100(n, common)
    head = ("hundred",) if hundreds == 1 else (f"num-{hundreds}", "hundred")
    return (*head, *(_sv_below_100(rest, common) if rest else ()))


def _sv_below_100(n: int, common: bool) -> tuple[str, ...]:
    if n <= 20:
        return (_sv_unit(n, common),)
    tens, unit = divmod(n, 10)
    return (f"num-{10 * tens}", _sv_unit(unit, common)) if unit else (f"num-{10 * tens}",)


def _sv_unit(n: int, common: bool) -> str:
    return "num-1-common" if n == 1 and common else f"num-{n}"


def _en(n: int) -> tuple[str, ...]:
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _en_below_1000(n)
    tail: tuple[str, ...] = ()
    if rest:
        tail = ("and", *_en_below_100(rest)) if rest < 100 else _en_below_1000(rest)
    return (*_en_below_1000(thousands), "thousand", *tail)


def _en_below_1000(n: int) -> tuple[str, ...]:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _en_below_100(n)
    return (f"num-{hundreds}", "hundred", *(("and", *_en_below_100(rest)) if rest else ()))


def _en_below_100(n: int) -> tuple[str, ...]:
    if n <= 20:
        return (f"num-{n}",)
    tens, unit = divmod(n, 10)
    return (f"num-{10 * tens}", f"num-{unit}") if unit else (f"num-{10 * tens}",)


def minutes(n: int, lang: str) -> tuple[str, ...]:
    """A duration in minutes: "en minut", "två minuter", "noll minuter"; "one minute", "two minutes"."""
    return (*number(n, lang, common=True), "minute" if n == 1 else "minutes")


def clock(hh: int, mm: int, lang: str, *, lead: bool = True) -> tuple[str, ...]:
    """A time of day (24-hour hh, mm). Swedish: "klockan tretton och femton"; `lead=False` leaves out
    "klockan" when the prompt before already says it ("till klockan"). English: "one fifteen p.m.",
    "noon", "midnight" (English has no lead word)."""
    _check_language(lang)
    if not (0 <= hh <= 23 and 0 <= mm <= 59):
        raise ValueError(f"{hh:02d}:{mm:02d} is not a time of day")
    if lang == "sv":
        head = ("clock",) if lead else ()
        return (*head, *_sv(hh, False), *(("and", *_sv(mm, False)) if mm else ()))
    if mm == 0 and hh in (0, 12):
        return ("midnight",) if hh == 0 else ("noon",)
    words = _en(hh % 12 or 12)
    if mm:
        words += ("oh", f"num-{mm}") if mm < 10 else _en(mm)
    return (*words, "am" if hh < 12 else "pm")


def digits(s: str, lang: str) -> tuple[str, ...]:
    """A string of digits (a phone number, a key to press) one by one; '+', '*', '#' by name, spaces and
    dashes skipped."""
    _check_language(lang)
    words: list[str] = []
    for ch in s:
        if "0" <= ch <= "9":
            words.append(f"num-{ch}")
        elif ch in _SYMBOLS:
            words.append(_SYMBOLS[ch])
        elif ch not in _SEPARATORS:
            raise ValueError(f"cannot say {ch!r} in {s!r}: only digits, '+', '*', '#'")
    return tuple(words)


def expand(key: str, lang: str) -> tuple[str, ...]:
    """The recorded prompts a prompt key is played as: a plain key is itself; compound keys are spoken
    from words — "number:N" (counting, "nummer ett"), "minutes:N", "digit:K" and "digits:S", and
    "time:HH:MM" (without the lead word: the catalogue's "presence-until" already says "till klockan").
    Raises ValueError for an unknown family or a malformed value: those are programming errors."""
    _check_language(lang)
    family, sep, value = key.partition(":")
    if not sep:
        return (key,)
    if family in ("number", "minutes"):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"prompt key {key!r}: {value!r} is not a whole number")
        return number(int(value), lang) if family == "number" else minutes(int(value), lang)
    if family in ("digit", "digits"):
        if not value:
            raise ValueError(f"prompt key {key!r} has no digits")
        return digits(value, lang)
    if family == "time":
        match = _TIME.fullmatch(value)
        if match is None:
            raise ValueError(f"prompt key {key!r}: {value!r} is not HH:MM")
        return clock(int(match[1]), int(match[2]), lang, lead=False)
    raise ValueError(f"prompt key {key!r}: unknown family {family!r}")


def vocabulary(lang: str) -> frozenset[str]:
    """Every word key the functions here can return for `lang` (each must be recorded)."""
    _check_language(lang)
    return frozenset(WORDS[lang])
