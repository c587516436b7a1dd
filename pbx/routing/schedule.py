"""Opening hours: weekly intervals, dated exceptions, holiday templates, manual overrides, per time zone."""
from __future__ import annotations

import functools
import inspect
import itertools
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays


class ScheduleState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


@dataclass(frozen=True, slots=True)
class Interval:
    start: int  # minutes after local midnight, 0 <= start < end <= 1440
    end: int


@dataclass(frozen=True, slots=True)
class ScheduleException:
    day: date                        # the year matters unless recurs_yearly
    intervals: tuple[Interval, ...]  # open intervals that day; empty = closed the whole day
    name: str = ""
    recurs_yearly: bool = False
    holiday: bool = False            # a closed day that routes as HOLIDAY rather than CLOSED


@dataclass(frozen=True, slots=True)
class HolidayTemplate:
    country: str = "SE"
    # ("public", "de_facto") adds Midsummer Eve, Christmas Eve, New Year's Eve in Sweden
    categories: tuple[str, ...] = ("public",)
    exclude: tuple[str, ...] = ()               # ISO dates "MM-DD" or holiday names to leave open


@dataclass(frozen=True, slots=True)
class Override:
    state: ScheduleState          # forced state
    until: datetime | None        # timezone-aware; None = until removed
    message: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    key: str
    name: str
    timezone: str                                 # IANA name, e.g. "Europe/Stockholm"
    weekly: tuple[tuple[Interval, ...], ...]      # 7 entries, Monday = 0
    exceptions: tuple[ScheduleException, ...] = ()
    holidays: HolidayTemplate | None = None
    override: Override | None = None


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    state: ScheduleState
    # human-readable, English, e.g. "closed 12:00–12:45 (opening hours Mon 08:00–12:00, 12:45–17:00)",
    # "holiday: Christmas Eve (Julafton)", "exception 2026-12-23: open 08:00–12:00",
    # "manual override: closed until 13:00"
    reason: str
    overridden: bool = False


# ---------------------------------------------------------------------------
# Parsing and formatting helpers (seeds, CLI, admin API)
# ---------------------------------------------------------------------------

MINUTES_PER_DAY = 1440
DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_KEYS: dict[str, int] = {}
for _index, _abbr in enumerate(DAY_ABBREVIATIONS):
    _DAY_KEYS[_abbr.lower()] = _index
for _index, _full in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")):
    _DAY_KEYS[_full] = _index
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# Spreadsheets and word processors turn "-" into en/em dashes; accept what people paste.
_RANGE_SEPARATOR = re.compile(r"\s*[-–—]\s*")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def format_minutes(minutes: int) -> str:
    """765 -> "12:45"; 1440 -> "24:00" (the end of the day)."""
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise ValueError(f"minutes out of range 0..1440: {minutes}")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_time(text: str, whole: str) -> int:
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"bad time {text!r} in {whole!r}: expected HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(f"bad time {text!r} in {whole!r}: must be between 00:00 and 24:00")
    return hours * 60 + minutes


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """"08:00-12:00,12:45-17:00" -> intervals sorted by start; "" -> () (closed)."""
    if not text.strip():
        return ()
    intervals: list[Interval] = []
    for part in text.split(","):
        part = part.strip()
        pieces = _RANGE_SEPARATOR.split(part)
        if len(pieces) != 2:
            raise ValueError(f"bad interval {part!r}: expected HH:MM-HH:MM")
        start, end = _parse_time(pieces[0], part), _parse_time(pieces[1], part)
        if start >= end:
            raise ValueError(f"bad interval {part!r}: it must end after it starts")
        intervals.append(Interval(start, end))
    intervals.sort(key=lambda iv: iv.start)
    for before, after in itertools.pairwise(intervals):
        if after.start < before.end:
            raise ValueError(f"intervals {_interval_text(before)} and {_interval_text(after)} overlap in {text!r}")
    return tuple(intervals)


def weekly_hours(days: Mapping[str, str]) -> tuple[tuple[Interval, ...], ...]:
    """{"mon": "08:00-17:00", ...} -> the 7-tuple ScheduleConfig.weekly wants; missing days are closed."""
    week: list[tuple[Interval, ...]] = [() for _ in range(7)]
    for key, text in days.items():
        index = _DAY_KEYS.get(key.strip().lower())
        if index is None:
            raise ValueError(f"unknown weekday {key!r}: use mon, tue, wed, thu, fri, sat, sun")
        try:
            week[index] = parse_intervals(text)
        except ValueError as exc:
            raise ValueError(f"{DAY_ABBREVIATIONS[index]}: {exc}") from None
    return tuple(week)


def _interval_text(interval: Interval) -> str:
    return f"{format_minutes(interval.start)}–{format_minutes(interval.end)}"


def _intervals_text(intervals: Sequence[Interval]) -> str:
    return ", ".join(_interval_text(iv) for iv in intervals)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def _interval_problems(where: str, intervals: Sequence[Interval]) -> list[str]:
    problems: list[str] = []
    valid: list[Interval] = []
    for iv in intervals:
        bounds_are_ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (iv.start, iv.end))
        if not bounds_are_ints or not 0 <= iv.start < iv.end <= MINUTES_PER_DAY:
            problems.append(f"{where}: bad interval {iv.start!r}–{iv.end!r} (minutes, 0 <= start < end <= 1440)")
        else:
            valid.append(iv)
    valid.sort(key=lambda iv: iv.start)
    for before, after in itertools.pairwise(valid):
        if after.start < before.end:
            problems.append(f"{where}: {_interval_text(before)} overlaps {_interval_text(after)}")
    return problems


def validate_schedule(config: ScheduleConfig) -> list[str]:
    """Problems an administrator must fix, in plain English; empty when the schedule can be compiled."""
    problems: list[str] = []
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(f"unknown time zone {config.timezone!r}")
    if len(config.weekly) != 7:
        problems.append(f"weekly hours must have 7 days (Monday first), got {len(config.weekly)}")
    for index, day in enumerate(config.weekly[:7]):
        problems += _interval_problems(DAY_ABBREVIATIONS[index], day)
    seen_dates: set[date] = set()
    seen_yearly: set[tuple[int, int]] = set()
    for exc in config.exceptions:
        where = f"exception {exc.day.isoformat()}" + (f" ({exc.name})" if exc.name else "")
        problems += _interval_problems(where, exc.intervals)
        if exc.recurs_yearly:
            if (exc.day.month, exc.day.day) in seen_yearly:
                problems.append(f"{where}: another yearly exception already covers {exc.day:%m-%d}")
            seen_yearly.add((exc.day.month, exc.day.day))
        else:
            if exc.day in seen_dates:
                problems.append(f"{where}: another exception already covers that date")
            seen_dates.add(exc.day)
    if config.holidays is not None:
        problems += _template_problems(config.holidays)
    override = config.override
    if override is not None:
        if not isinstance(override.state, ScheduleState):
            problems.append(f"override state {override.state!r} is not open, closed or holiday")
        if override.until is not None and override.until.utcoffset() is None:
            problems.append("override end time must carry a time zone")
    return problems


def _template_problems(template: HolidayTemplate) -> list[str]:
    if template.country not in holidays.list_supported_countries():
        return [f"unknown holiday country {template.country!r}"]
    supported = holidays.country_holidays(template.country).supported_categories
    problems = [f"unknown holiday category {c!r} for {template.country} (known: {', '.join(supported)})"
                for c in template.categories if c not in supported]
    if not template.categories:
        problems.append("holiday template needs at least one category, e.g. public")
    for item in template.exclude:
        match = _MONTH_DAY.match(item.strip())
        if match is not None:
            try:
                date(2000, int(match.group(1)), int(match.group(2)))  # 2000 is a leap year: 02-29 is fine
            except ValueError:
                problems.append(f"holiday exclusion {item!r} is not a valid MM-DD date")
    return problems


# ---------------------------------------------------------------------------
# Holidays: one computation per (country, categories, year), shared by every tenant
# ---------------------------------------------------------------------------

_HolidayNames = tuple[tuple[str, str], ...]   # (English, native) per holiday falling on a date


@functools.lru_cache(maxsize=64)
def _country_profile(country: str) -> tuple[str | None, str | None, bool]:
    """(native language, English language, takes include_sundays) for a holidays country class."""
    probe = holidays.country_holidays(country)
    native: str | None = probe.default_language
    english = "en_US" if "en_US" in probe.supported_languages else None
    takes_sundays = "include_sundays" in inspect.signature(type(probe).__init__).parameters
    return native, english, takes_sundays


def _holidays_in(country: str, categories: tuple[str, ...], year: int, language: str | None) -> Any:
    native, _english, takes_sundays = _country_profile(country)
    options: dict[str, Any] = {"include_sundays": False} if takes_sundays else {}
    # Sweden's class can list every Sunday as a holiday; a Sunday is simply a closed weekday here.
    return holidays.country_holidays(country, years=year, categories=categories,
                                     language=language or native, **options)


@functools.lru_cache(maxsize=1024)
def _holiday_names(country: str, categories: tuple[str, ...], year: int) -> Mapping[date, _HolidayNames]:
    native_language, english_language, _ = _country_profile(country)
    native = _holidays_in(country, categories, year, native_language)
    english = native if english_language in (None, native_language) else _holidays_in(
        country, categories, year, english_language)
    names: dict[date, _HolidayNames] = {}
    for day in sorted(native):
        native_names: list[str] = native.get_list(day)
        english_names: list[str] = english.get_list(day)
        if len(english_names) != len(native_names):
            english_names = ["; ".join(english_names)] * len(native_names)
        names[day] = tuple(zip(english_names, native_names, strict=True))
    return MappingProxyType(names)


# ---------------------------------------------------------------------------
# Compiled schedule: the hot path
# ---------------------------------------------------------------------------

# (segment start minutes after the first segment, one status per segment); bisect_right on the
# minute of day indexes the status directly.
_DayPlan = tuple[tuple[int, ...], tuple[ScheduleStatus, ...]]
_Segment = tuple[int, int, ScheduleState, str]
# A year of dates plus slack for next_change look-ahead; beyond that the cache starts over.
_MAX_CACHED_DAYS = 800
LOOKAHEAD_DAYS = 400
_UTC = UTC


def _merged(intervals: Sequence[Interval]) -> list[Interval]:
    # Touching intervals (08–12, 12–17) are one open stretch to a caller: no change at 12:00.
    merged: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if merged and iv.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, iv.end))
        else:
            merged.append(iv)
    return merged


def _plan_from_segments(segments: Sequence[_Segment]) -> _DayPlan:
    bounds = tuple(seg[0] for seg in segments[1:])
    statuses = tuple(ScheduleStatus(state, reason) for _, _, state, reason in segments)
    return bounds, statuses


def _interval_segments(intervals: Sequence[Interval], closed_state: ScheduleState,
                       open_reason: Callable[[int, int], str],
                       closed_reason: Callable[[int, int], str]) -> list[_Segment]:
    segments: list[_Segment] = []
    position = 0
    for iv in intervals:
        if iv.start > position:
            segments.append((position, iv.start, closed_state, closed_reason(position, iv.start)))
        segments.append((iv.start, iv.end, ScheduleState.OPEN, open_reason(iv.start, iv.end)))
        position = iv.end
    if position < MINUTES_PER_DAY:
        segments.append((position, MINUTES_PER_DAY, closed_state, closed_reason(position, MINUTES_PER_DAY)))
    return segments


def _span(start: int, end: int) -> str:
    return f"{format_minutes(start)}–{format_minutes(end)}"


@dataclass(frozen=True, slots=True)
class DayView:
    """One local date as the schedule plans it (no override): `kind` open, closed, holiday or exception; the open
    hours in minutes; the holidays that fall on it as (English, native) names; the exception's name; why."""

    day: date
    kind: str
    open: tuple[tuple[int, int], ...]
    holidays: tuple[tuple[str, str], ...]
    exception: str
    reason: str


class CompiledSchedule:
    """A schedule ready for call routing: answers "open, closed or holiday at this instant?" fast."""

    __slots__ = ("_exact", "_override", "_override_forever", "_override_other_day", "_override_same_day",
                 "_override_until", "_override_until_day", "_plans", "_template", "_weekly_plans", "_yearly",
                 "config", "key", "name", "tz")

    def __init__(self, config: ScheduleConfig) -> None:
        self.config = config
        self.key = config.key
        self.name = config.name
        self.tz = ZoneInfo(config.timezone)
        self._plans: dict[int, _DayPlan] = {}
        self._weekly_plans: list[_DayPlan | None] = [None] * 7
        self._exact: dict[date, ScheduleException] = {}
        self._yearly: dict[tuple[int, int], list[ScheduleException]] = {}
        for exc in config.exceptions:
            if exc.recurs_yearly:
                self._yearly.setdefault((exc.day.month, exc.day.day), []).append(exc)
            else:
                self._exact.setdefault(exc.day, exc)
        self._template: tuple[str, tuple[str, ...], frozenset[str]] | None = None
        if config.holidays is not None:
            template = config.holidays
            self._template = (template.country, tuple(sorted(set(template.categories))),
                              frozenset(item.strip().casefold() for item in template.exclude))
        self._override = config.override
        self._override_until: datetime | None = None
        self._override_until_day = 0
        self._override_forever: ScheduleStatus | None = None
        self._override_same_day: ScheduleStatus | None = None
        self._override_other_day: ScheduleStatus | None = None
        if config.override is not None:
            self._compile_override(config.override)

    def _compile_override(self, override: Override) -> None:
        suffix = f" ({override.message})" if override.message else ""
        head = f"manual override: {override.state.value}"
        if override.until is None:
            self._override_forever = ScheduleStatus(override.state, head + suffix, overridden=True)
            return
        until_local = override.until.astimezone(self.tz)
        self._override_until = override.until
        self._override_until_day = until_local.toordinal()
        # "closed until 13:00" is only honest on the day it ends; earlier days get the date too.
        self._override_same_day = ScheduleStatus(
            override.state, f"{head} until {until_local:%H:%M}{suffix}", overridden=True)
        self._override_other_day = ScheduleStatus(
            override.state, f"{head} until {until_local:%Y-%m-%d %H:%M}{suffix}", overridden=True)

    def __repr__(self) -> str:
        return f"CompiledSchedule(key={self.key!r}, name={self.name!r}, tz={self.tz.key!r})"

    # -- hot path -----------------------------------------------------------------------------

    def state_at(self, now: datetime) -> ScheduleStatus:
        """The state a call arriving at `now` (timezone-aware) sees, with a reason for traces."""
        if now.tzinfo is None:
            raise ValueError(f"state_at needs a timezone-aware datetime, got naive {now.isoformat()}")
        if self._override is not None:
            status = self._override_status(now)
            if status is not None:
                return status
        local = now.astimezone(self.tz)
        day = local.toordinal()
        plan = self._plans.get(day)
        if plan is None:
            plan = self._cache_plan(day)
        bounds, statuses = plan
        return statuses[bisect_right(bounds, local.hour * 60 + local.minute)]

    def _override_status(self, now: datetime) -> ScheduleStatus | None:
        if self._override_forever is not None:
            return self._override_forever
        until = self._override_until
        if until is None or not now < until:
            return None
        if now.astimezone(self.tz).toordinal() == self._override_until_day:
            return self._override_same_day
        return self._override_other_day

    def _schedule_status(self, now: datetime) -> ScheduleStatus:
        """The state ignoring any override: what the schedule itself says."""
        local = now.astimezone(self.tz)
        bounds, statuses = self._plan(local.toordinal())
        return statuses[bisect_right(bounds, local.hour * 60 + local.minute)]

    # -- day plans ----------------------------------------------------------------------------

    def _plan(self, day: int) -> _DayPlan:
        plan = self._plans.get(day)
        return plan if plan is not None else self._cache_plan(day)

    def _cache_plan(self, day: int) -> _DayPlan:
        if len(self._plans) >= _MAX_CACHED_DAYS:
            self._plans.clear()
        plan = self._build_plan(date.fromordinal(day))
        self._plans[day] = plan
        return plan

    def day_plan(self, d: date) -> tuple[tuple[int, int, ScheduleStatus], ...]:
        """The local date's segments as (start minute, end minute, status), ignoring any override."""
        bounds, statuses = self._plan(d.toordinal())
        starts = (0, *bounds)
        ends = (*bounds, MINUTES_PER_DAY)
        return tuple(zip(starts, ends, statuses, strict=True))

    def _build_plan(self, d: date) -> _DayPlan:
        exc = self._exception_for(d)
        if exc is not None:
            return _plan_from_segments(_exception_segments(exc, d))
        if self._template is not None:
            names = self._holidays_on(d)
            if names:
                english = "; ".join(en for en, _ in names)
                native = "; ".join(nat for _, nat in names)
                reason = f"holiday: {english}" + (f" ({native})" if native != english else "")
                return (), (ScheduleStatus(ScheduleState.HOLIDAY, reason),)
        weekday = d.weekday()
        plan = self._weekly_plans[weekday]
        if plan is None:
            plan = _plan_from_segments(_weekly_segments(weekday, self.config.weekly[weekday]))
            self._weekly_plans[weekday] = plan
        return plan

    def describe_day(self, d: date) -> DayView:
        """What the schedule itself says of one local date, ignoring any override: for a year view."""
        segments = self.day_plan(d)
        opened = tuple((start, end) for start, end, status in segments if status.state is ScheduleState.OPEN)
        exc = self._exception_for(d)
        names = self._holidays_on(d) if exc is None and self._template is not None else ()
        if exc is not None:
            kind = "holiday" if exc.holiday and not opened else "exception"
        elif names:
            kind = "holiday"
        else:
            kind = "open" if opened else "closed"
        reason = next((status.reason for _, _, status in segments if status.state is ScheduleState.OPEN),
                      segments[0][2].reason)
        return DayView(d, kind, opened, names, exc.name if exc is not None else "", reason)

    def _exception_for(self, d: date) -> ScheduleException | None:
        exc = self._exact.get(d)
        if exc is not None:
            return exc
        for candidate in self._yearly.get((d.month, d.day), ()):
            # A yearly exception starts in the year it was entered: planning one must not rewrite history.
            if candidate.day.year <= d.year:
                return candidate
        return None

    def _holidays_on(self, d: date) -> _HolidayNames:
        assert self._template is not None
        country, categories, exclude = self._template
        names = _holiday_names(country, categories, d.year).get(d, ())
        if not names or not exclude:
            return names
        if f"{d.month:02d}-{d.day:02d}" in exclude:
            return ()
        return tuple(pair for pair in names
                     if pair[0].casefold() not in exclude and pair[1].casefold() not in exclude)

    # -- look-ahead ---------------------------------------------------------------------------

    def next_change(self, now: datetime) -> datetime | None:
        """The first instant after `now` whose state differs (in the schedule's zone), or None within 400 days."""
        if now.tzinfo is None:
            raise ValueError(f"next_change needs a timezone-aware datetime, got naive {now.isoformat()}")
        current = self.state_at(now).state
        start = now
        override = self._override
        if override is not None and (override.until is None or now < override.until):
            if override.until is None:
                return None
            if self._schedule_status(override.until).state != current:
                return override.until.astimezone(self.tz)
            start = override.until
        first_day = start.astimezone(self.tz).toordinal()
        last_day = now.astimezone(self.tz).toordinal() + LOOKAHEAD_DAYS
        for day in range(first_day, last_day + 1):
            bounds, statuses = self._plan(day)
            if all(status.state == current for status in statuses):
                continue
            for instant in self._change_candidates(day, bounds):
                if instant > start and self._schedule_status(instant).state != current:
                    return instant.astimezone(self.tz)
        return None

    def _change_candidates(self, day: int, bounds: tuple[int, ...]) -> list[datetime]:
        """Every instant of the local date at which the state may change, sorted, in UTC.

        Wall-clock minutes are converted with both folds so the repeated hour of a fall-back day
        yields both instances; the zone's own transition is added because the wall clock jumps there.
        """
        d = date.fromordinal(day)
        candidates: set[datetime] = set()
        for minute in (0, *bounds):
            for fold in (0, 1):
                wall = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=self.tz, fold=fold)
                instant = wall.astimezone(_UTC)
                back = instant.astimezone(self.tz)
                if (back.toordinal(), back.hour, back.minute) == (day, minute // 60, minute % 60):
                    candidates.add(instant)
        candidates.update(self._transitions_on(d))
        return sorted(candidates)

    def _transitions_on(self, d: date) -> list[datetime]:
        start = datetime(d.year, d.month, d.day, tzinfo=self.tz).astimezone(_UTC)
        following = d + timedelta(days=1)
        end = datetime(following.year, following.month, following.day, tzinfo=self.tz).astimezone(_UTC)
        before, after = start.astimezone(self.tz).utcoffset(), end.astimezone(self.tz).utcoffset()
        if before == after:
            return []
        low, high = int(start.timestamp()), int(end.timestamp())
        while high - low > 1:   # find the first second carrying the new offset
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.tz).utcoffset() == before:
                low = middle
            else:
                high = middle
        return [datetime.fromtimestamp(high, _UTC)]


def _weekly_segments(weekday: int, intervals: Sequence[Interval]) -> list[_Segment]:
    merged = _merged(intervals)
    day_name = DAY_ABBREVIATIONS[weekday]
    if not merged:
        return [(0, MINUTES_PER_DAY, ScheduleState.CLOSED, f"closed all day (no opening hours on {day_name})")]
    hours = f"opening hours {day_name} {_intervals_text(merged)}"
    return _interval_segments(
        merged, ScheduleState.CLOSED,
        open_reason=lambda a, b: f"open {_span(a, b)} ({hours})",
        closed_reason=lambda a, b: f"closed {_span(a, b)} ({hours})")


def _exception_segments(exc: ScheduleException, d: date) -> list[_Segment]:
    merged = _merged(exc.intervals)
    label = f"exception {d.isoformat()}"
    closed_state = ScheduleState.HOLIDAY if exc.holiday else ScheduleState.CLOSED
    if not merged:
        if exc.holiday:
            reason = f"holiday: {exc.name} ({label})" if exc.name else f"holiday: {label}"
        else:
            reason = f"{label}" + (f" ({exc.name})" if exc.name else "") + ": closed all day"
        return [(0, MINUTES_PER_DAY, closed_state, reason)]
    label += f" ({exc.name})" if exc.name else ""
    hours = _intervals_text(merged)
    return _interval_segments(
        merged, closed_state,
        open_reason=lambda a, b: f"{label}: open {hours}",
        closed_reason=lambda a, b: f"{label}: {closed_state.value} {_span(a, b)} (open {hours})")


def compile_schedule(config: ScheduleConfig) -> CompiledSchedule:
    """Cheap and lazy: no holiday or day-plan work happens until a date is asked for."""
    return CompiledSchedule(config)


# ---------------------------------------------------------------------------
# Reference implementation for tests: deliberately slow, shares nothing with the fast path
# ---------------------------------------------------------------------------

def brute_force_state(config: ScheduleConfig, now: datetime) -> ScheduleState:
    """Recomputes the state from the config alone, the obvious way; the property tests trust this one."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    override = config.override
    if override is not None and (override.until is None or now < override.until):
        return override.state
    local = now.astimezone(ZoneInfo(config.timezone))
    today = date(local.year, local.month, local.day)
    minute = local.hour * 60 + local.minute

    chosen: ScheduleException | None = None
    for exc in config.exceptions:
        if not exc.recurs_yearly and exc.day == today:
            chosen = exc
            break
    if chosen is None:
        for exc in config.exceptions:
            if (exc.recurs_yearly and exc.day.month == today.month and exc.day.day == today.day
                    and exc.day.year <= today.year):
                chosen = exc
                break
    if chosen is not None:
        for iv in chosen.intervals:
            if iv.start <= minute < iv.end:
                return ScheduleState.OPEN
        return ScheduleState.HOLIDAY if chosen.holiday else ScheduleState.CLOSED

    template = config.holidays
    if template is not None:
        probe = holidays.country_holidays(template.country)
        languages = [probe.default_language]
        if "en_US" in probe.supported_languages:
            languages.append("en_US")
        name_lists: list[list[str]] = []
        for language in languages:
            try:
                found = holidays.country_holidays(template.country, years=today.year, language=language,
                                                  categories=list(template.categories), include_sundays=False)
            except ValueError:   # countries without Sunday-as-holiday reject the option
                found = holidays.country_holidays(template.country, years=today.year, language=language,
                                                  categories=list(template.categories))
            name_lists.append(found.get_list(today))
        excluded = [item.strip().lower() for item in template.exclude]
        if name_lists[0] and today.strftime("%m-%d") not in excluded:
            count = len(name_lists[0])
            for position in range(count):
                names_here = [names[position].lower() if len(names) == count else "" for names in name_lists]
                if not any(name in excluded for name in names_here if name):
                    return ScheduleState.HOLIDAY

    for iv in config.weekly[today.weekday()]:
        if iv.start <= minute < iv.end:
            return ScheduleState.OPEN
    return ScheduleState.CLOSED
