"""Opening hours as callers experience them: open, closed or holiday, across lunches, holidays and DST."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbx.routing.schedule import (
    HolidayTemplate,
    Interval,
    Override,
    ScheduleConfig,
    ScheduleException,
    ScheduleState,
    brute_force_state,
    compile_schedule,
    format_minutes,
    parse_intervals,
    validate_schedule,
    weekly_hours,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
OPEN, CLOSED, HOLIDAY = ScheduleState.OPEN, ScheduleState.CLOSED, ScheduleState.HOLIDAY
OFFICE_DAY = "08:00-12:00,12:45-17:00"


def kontorstid(**changes: Any) -> ScheduleConfig:
    """The demo company's opening hours."""
    config = ScheduleConfig(
        key="kontorstid",
        name="Kontorstid",
        timezone="Europe/Stockholm",
        weekly=weekly_hours({"mon": OFFICE_DAY, "tue": OFFICE_DAY, "wed": OFFICE_DAY, "thu": OFFICE_DAY,
                             "fri": "08:00-12:00,12:45-15:00"}),
        exceptions=(ScheduleException(date(2026, 12, 23), parse_intervals("08:00-12:00"), name="Lillejulafton"),),
        holidays=HolidayTemplate("SE", ("public", "de_facto")),
    )
    return replace(config, **changes)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# The demo company's "Kontorstid"
# ---------------------------------------------------------------------------------------------

def test_kontorstid_answers_on_a_tuesday_morning() -> None:
    status = compile_schedule(kontorstid()).state_at(at(2026, 11, 24, 10))
    assert status.state == OPEN
    assert status.reason == "open 08:00–12:00 (opening hours Tue 08:00–12:00, 12:45–17:00)"
    assert not status.overridden


def test_kontorstid_is_closed_over_lunch() -> None:
    status = compile_schedule(kontorstid()).state_at(at(2026, 11, 24, 12, 30))
    assert status.state == CLOSED
    assert status.reason == "closed 12:00–12:45 (opening hours Tue 08:00–12:00, 12:45–17:00)"


def test_kontorstid_closes_at_three_on_fridays() -> None:
    schedule = compile_schedule(kontorstid())
    assert schedule.state_at(at(2026, 11, 27, 14, 59)).state == OPEN
    assert schedule.state_at(at(2026, 11, 27, 15, 30)).state == CLOSED


def test_kontorstid_is_closed_on_saturday() -> None:
    status = compile_schedule(kontorstid()).state_at(at(2026, 11, 28, 10))
    assert status.state == CLOSED
    assert status.reason == "closed all day (no opening hours on Sat)"


def test_christmas_eve_routes_as_holiday_with_its_name_in_both_languages() -> None:
    status = compile_schedule(kontorstid()).state_at(at(2026, 12, 24, 10))
    assert status.state == HOLIDAY
    assert status.reason == "holiday: Christmas Eve (Julafton)"


def test_day_before_christmas_eve_exception_opens_the_morning_only() -> None:
    schedule = compile_schedule(kontorstid())
    morning = schedule.state_at(at(2026, 12, 23, 11))
    assert morning.state == OPEN
    assert morning.reason == "exception 2026-12-23 (Lillejulafton): open 08:00–12:00"
    assert schedule.state_at(at(2026, 12, 23, 13)).state == CLOSED


def test_movable_holidays_follow_the_year() -> None:
    schedule = compile_schedule(kontorstid())
    midsummer_eve = schedule.state_at(at(2027, 6, 25, 10))
    assert midsummer_eve.state == HOLIDAY
    assert midsummer_eve.reason == "holiday: Midsummer Eve (Midsommarafton)"
    assert schedule.state_at(at(2026, 6, 25, 10)).state == OPEN   # a plain Thursday in 2026
    assert schedule.state_at(at(2027, 3, 29, 10)).state == HOLIDAY   # Easter Monday 2027
    assert schedule.state_at(at(2026, 4, 6, 10)).state == HOLIDAY    # Easter Monday 2026
    assert schedule.state_at(at(2027, 4, 6, 10)).state == OPEN


def test_without_de_facto_category_christmas_eve_is_an_ordinary_thursday() -> None:
    schedule = compile_schedule(kontorstid(holidays=HolidayTemplate("SE", ("public",))))
    assert schedule.state_at(at(2026, 12, 24, 10)).state == OPEN
    assert schedule.state_at(at(2026, 12, 25, 10)).state == HOLIDAY


def test_sundays_are_closed_not_holidays() -> None:
    assert compile_schedule(kontorstid()).state_at(at(2026, 11, 29, 10)).state == CLOSED


def test_excluded_holidays_keep_normal_hours() -> None:
    by_date = compile_schedule(kontorstid(holidays=HolidayTemplate("SE", ("public", "de_facto"), exclude=("12-24",))))
    assert by_date.state_at(at(2026, 12, 24, 10)).state == OPEN
    assert by_date.state_at(at(2026, 12, 25, 10)).state == HOLIDAY
    by_name = compile_schedule(kontorstid(holidays=HolidayTemplate("SE", ("public", "de_facto"),
                                                                    exclude=("Midsommarafton",))))
    assert by_name.state_at(at(2027, 6, 25, 10)).state == OPEN
    by_english_name = compile_schedule(kontorstid(holidays=HolidayTemplate("SE", ("public",),
                                                                            exclude=("easter monday",))))
    assert by_english_name.state_at(at(2027, 3, 29, 10)).state == OPEN


def test_manual_override_closes_until_one_then_normal_hours_resume() -> None:
    override = Override(CLOSED, until=at(2026, 11, 24, 13), message="Personalmöte")
    schedule = compile_schedule(kontorstid(override=override))
    during = schedule.state_at(at(2026, 11, 24, 10))
    assert during.state == CLOSED
    assert during.overridden
    assert during.reason == "manual override: closed until 13:00 (Personalmöte)"
    after = schedule.state_at(at(2026, 11, 24, 13, 5))
    assert after.state == OPEN
    assert not after.overridden
    assert schedule.next_change(at(2026, 11, 24, 10)) == at(2026, 11, 24, 13)


def test_override_ending_another_day_names_the_date() -> None:
    schedule = compile_schedule(kontorstid(override=Override(CLOSED, until=at(2026, 11, 25, 13))))
    assert schedule.state_at(at(2026, 11, 24, 10)).reason == "manual override: closed until 2026-11-25 13:00"
    assert schedule.state_at(at(2026, 11, 25, 10)).reason == "manual override: closed until 13:00"


def test_override_without_end_holds_and_never_changes() -> None:
    schedule = compile_schedule(kontorstid(override=Override(OPEN, until=None)))
    assert schedule.state_at(at(2026, 12, 24, 3)).state == OPEN
    assert schedule.next_change(at(2026, 12, 24, 3)) is None


def test_override_that_matches_the_schedule_reports_the_schedules_next_change() -> None:
    # Forced open until 11:00 during opening hours: callers notice nothing until lunch at 12:00.
    schedule = compile_schedule(kontorstid(override=Override(OPEN, until=at(2026, 11, 24, 11))))
    assert schedule.next_change(at(2026, 11, 24, 9)) == at(2026, 11, 24, 12)


def test_next_change_during_lunch_is_when_lunch_ends() -> None:
    change = compile_schedule(kontorstid()).next_change(at(2026, 11, 24, 12, 10))
    assert change == at(2026, 11, 24, 12, 45)
    assert change is not None and change.tzinfo == STOCKHOLM


def test_next_change_after_friday_closing_is_monday_morning() -> None:
    assert compile_schedule(kontorstid()).next_change(at(2026, 11, 27, 15, 30)) == at(2026, 11, 30, 8)


def test_next_change_skips_the_christmas_holidays() -> None:
    assert compile_schedule(kontorstid()).next_change(at(2026, 12, 24, 10)) == at(2026, 12, 27, 0)


def test_always_closed_schedule_has_no_next_change() -> None:
    config = ScheduleConfig("never", "Never", "Europe/Stockholm", weekly=((),) * 7)
    assert compile_schedule(config).next_change(at(2026, 1, 1, 0)) is None


def test_naive_datetimes_are_refused() -> None:
    schedule = compile_schedule(kontorstid())
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.state_at(datetime(2026, 11, 24, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_change(datetime(2026, 11, 24, 10))


def test_day_plan_lists_the_segments_of_a_day() -> None:
    plan = compile_schedule(kontorstid()).day_plan(date(2026, 11, 27))
    assert [(format_minutes(a), format_minutes(b), s.state) for a, b, s in plan] == [
        ("00:00", "08:00", CLOSED), ("08:00", "12:00", OPEN), ("12:00", "12:45", CLOSED),
        ("12:45", "15:00", OPEN), ("15:00", "24:00", CLOSED)]


def test_answers_stay_right_across_more_dates_than_the_cache_holds() -> None:
    config = kontorstid()
    schedule = compile_schedule(config)
    for offset in range(1000):
        instant = at(2026, 1, 1, 11, 30) + timedelta(days=offset)
        assert schedule.state_at(instant).state == brute_force_state(config, instant)
    assert len(schedule._plans) <= 800   # memory stays flat however long the process runs


# ---------------------------------------------------------------------------------------------
# Daylight saving time: opening hours are wall-clock times
# ---------------------------------------------------------------------------------------------

def sunday_schedule(hours: str) -> ScheduleConfig:
    return ScheduleConfig("sun", "Sunday", "Europe/Stockholm", weekly=weekly_hours({"sun": hours}))


@pytest.mark.parametrize(("instant", "expected"), [
    (utc(2026, 3, 29, 0, 30), OPEN),          # 01:30 CET
    (utc(2026, 3, 29, 0, 59, 59), OPEN),      # 01:59:59 CET, just before the clocks jump
    (utc(2026, 3, 29, 1, 0), OPEN),           # 03:00 CEST
    (utc(2026, 3, 29, 1, 59), OPEN),          # 03:59 CEST
    (utc(2026, 3, 29, 2, 0), CLOSED),         # 04:00 CEST
    (utc(2026, 3, 29, 5, 59), CLOSED),        # 07:59 CEST
    (utc(2026, 3, 29, 6, 0), OPEN),           # 08:00 CEST, not 07:00
    (utc(2026, 3, 29, 14, 59), OPEN),         # 16:59 CEST
    (utc(2026, 3, 29, 15, 0), CLOSED),        # 17:00 CEST
    (utc(2026, 10, 25, 0, 30), OPEN),         # 02:30 CEST, first time round
    (utc(2026, 10, 25, 1, 30), OPEN),         # 02:30 CET, second time round
    (utc(2026, 10, 25, 2, 0), OPEN),          # 03:00 CET
    (utc(2026, 10, 25, 3, 0), CLOSED),        # 04:00 CET, not 05:00
    (utc(2026, 10, 25, 6, 59), CLOSED),       # 07:59 CET
    (utc(2026, 10, 25, 7, 0), OPEN),          # 08:00 CET
    (utc(2026, 10, 25, 16, 0), CLOSED),       # 17:00 CET
])
def test_dst_days_are_judged_by_the_wall_clock(instant: datetime, expected: ScheduleState) -> None:
    config = sunday_schedule("01:00-04:00,08:00-17:00")
    assert compile_schedule(config).state_at(instant).state == expected
    assert brute_force_state(config, instant) == expected


def test_both_instances_of_the_repeated_half_hour_are_open() -> None:
    schedule = compile_schedule(sunday_schedule("02:00-02:30"))
    assert schedule.state_at(utc(2026, 10, 25, 0, 10)).state == OPEN     # 02:10 CEST
    assert schedule.state_at(utc(2026, 10, 25, 0, 45)).state == CLOSED   # 02:45 CEST
    assert schedule.state_at(utc(2026, 10, 25, 1, 10)).state == OPEN     # 02:10 CET
    closes = schedule.next_change(utc(2026, 10, 25, 0, 10))
    reopens = schedule.next_change(utc(2026, 10, 25, 0, 45))
    assert closes is not None and closes.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    # The clocks go back from 03:00 CEST to 02:00 CET, which reopens the line.
    assert reopens is not None and reopens.astimezone(UTC) == utc(2026, 10, 25, 1, 0)


def test_hours_inside_the_skipped_hour_never_open_that_day() -> None:
    schedule = compile_schedule(sunday_schedule("02:15-02:45"))
    assert schedule.state_at(utc(2026, 3, 29, 1, 0)).state == CLOSED   # 03:00 CEST
    assert schedule.next_change(utc(2026, 3, 28, 23, 0)) == datetime(2026, 4, 5, 2, 15, tzinfo=STOCKHOLM)


def test_time_zone_is_the_schedules_own() -> None:
    new_york = ScheduleConfig("ny", "New York", "America/New_York", weekly=weekly_hours({"tue": "09:00-17:00"}))
    schedule = compile_schedule(new_york)
    assert schedule.state_at(at(2026, 11, 24, 10)).state == CLOSED   # 04:00 in New York
    assert schedule.state_at(at(2026, 11, 24, 16)).state == OPEN     # 10:00 in New York


# ---------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------

def test_yearly_exception_applies_in_later_years_but_not_before_it_was_entered() -> None:
    half_day = ScheduleException(date(2026, 12, 23), parse_intervals("08:00-12:00"), recurs_yearly=True)
    schedule = compile_schedule(kontorstid(exceptions=(half_day,)))
    assert schedule.state_at(at(2026, 12, 23, 13)).state == CLOSED
    assert schedule.state_at(at(2027, 12, 23, 13)).state == CLOSED
    assert schedule.state_at(at(2030, 12, 23, 13)).state == CLOSED
    assert schedule.state_at(at(2025, 12, 23, 13)).state == OPEN


def test_one_off_exception_applies_only_in_its_year() -> None:
    schedule = compile_schedule(kontorstid())
    assert schedule.state_at(at(2026, 12, 23, 13)).state == CLOSED
    assert schedule.state_at(at(2027, 12, 23, 13)).state == OPEN


def test_exception_beats_a_holiday() -> None:
    open_on_christmas_eve = ScheduleException(date(2026, 12, 24), parse_intervals("09:00-11:00"), name="Jourtid")
    schedule = compile_schedule(kontorstid(exceptions=(open_on_christmas_eve,)))
    assert schedule.state_at(at(2026, 12, 24, 10)).state == OPEN
    assert schedule.state_at(at(2026, 12, 24, 12)).state == CLOSED


def test_closed_exception_marked_holiday_routes_as_holiday() -> None:
    company_day = ScheduleException(date(2026, 11, 24), (), name="Företagsdag", holiday=True)
    status = compile_schedule(kontorstid(exceptions=(company_day,))).state_at(at(2026, 11, 24, 10))
    assert status.state == HOLIDAY
    assert status.reason == "holiday: Företagsdag (exception 2026-11-24)"


def test_closed_exception_without_holiday_flag_is_plain_closed() -> None:
    closed_day = ScheduleException(date(2026, 11, 24), ())
    status = compile_schedule(kontorstid(exceptions=(closed_day,))).state_at(at(2026, 11, 24, 10))
    assert status.state == CLOSED
    assert status.reason == "exception 2026-11-24: closed all day"


# ---------------------------------------------------------------------------------------------
# Validation and parsing
# ---------------------------------------------------------------------------------------------

def test_valid_schedule_has_no_problems() -> None:
    assert validate_schedule(kontorstid()) == []


def test_validation_catches_overlapping_intervals() -> None:
    week = list(kontorstid().weekly)
    week[1] = (Interval(480, 720), Interval(660, 1020))
    problems = validate_schedule(kontorstid(weekly=tuple(week)))
    assert problems == ["Tue: 08:00–12:00 overlaps 11:00–17:00"]


def test_validation_catches_unknown_time_zone() -> None:
    assert validate_schedule(kontorstid(timezone="Europe/Stockholmm")) == ["unknown time zone 'Europe/Stockholmm'"]
    assert validate_schedule(kontorstid(timezone="Europe")) == ["unknown time zone 'Europe'"]


def test_validation_catches_other_mistakes() -> None:
    naive_override = Override(CLOSED, until=datetime(2026, 11, 24, 13))
    problems = validate_schedule(kontorstid(
        weekly=((Interval(600, 540),),) * 6,
        holidays=HolidayTemplate("XX"),
        override=naive_override,
    ))
    assert "weekly hours must have 7 days (Monday first), got 6" in problems
    assert any(p.startswith("Mon: bad interval 600–540") for p in problems)
    assert "unknown holiday country 'XX'" in problems
    assert "override end time must carry a time zone" in problems
    bad_category = validate_schedule(kontorstid(holidays=HolidayTemplate("SE", ("public", "bogus"))))
    assert len(bad_category) == 1 and bad_category[0].startswith("unknown holiday category 'bogus' for SE")


def test_parse_intervals_reads_what_admins_type() -> None:
    assert parse_intervals("08:00-12:00,12:45-17:00") == (Interval(480, 720), Interval(765, 1020))
    assert parse_intervals(" 12:45 – 24:00 , 08:00-12:00 ") == (Interval(480, 720), Interval(765, 1440))
    assert parse_intervals("") == ()


@pytest.mark.parametrize(("text", "message"), [
    ("8-12", "expected HH:MM"),
    ("08:00", "expected HH:MM-HH:MM"),
    ("12:00-08:00", "must end after it starts"),
    ("23:00-25:00", "between 00:00 and 24:00"),
    ("08:00-12:00,11:00-13:00", "overlap"),
])
def test_parse_intervals_explains_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_intervals(text)


def test_format_minutes_shows_clock_time() -> None:
    assert format_minutes(765) == "12:45"
    assert format_minutes(0) == "00:00"
    assert format_minutes(1440) == "24:00"


def test_weekly_hours_leaves_missing_days_closed() -> None:
    week = weekly_hours({"Mon": "08:00-17:00", "saturday": "10:00-14:00"})
    assert len(week) == 7
    assert week[0] == (Interval(480, 1020),)
    assert week[5] == (Interval(600, 840),)
    assert week[1] == week[6] == ()
    with pytest.raises(ValueError, match="unknown weekday"):
        weekly_hours({"funday": "08:00-17:00"})
    with pytest.raises(ValueError, match=r"^Tue: "):
        weekly_hours({"tue": "17:00-08:00"})


# ---------------------------------------------------------------------------------------------
# Properties: the fast path agrees with the naive reference everywhere
# ---------------------------------------------------------------------------------------------

ZONES = ("Europe/Stockholm", "America/New_York", "UTC")
# DST changes in both zones, holidays, a leap day: the dates where mistakes hide.
SPECIAL_DATES = (
    date(2025, 3, 9), date(2025, 3, 30), date(2025, 10, 26), date(2025, 11, 2),
    date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1),
    date(2027, 3, 28), date(2027, 10, 31), date(2028, 3, 26), date(2028, 10, 29),
    date(2026, 12, 24), date(2026, 12, 31), date(2027, 6, 25), date(2027, 3, 29),
    date(2028, 4, 17), date(2025, 6, 20), date(2026, 7, 3), date(2028, 2, 29), date(2027, 11, 25),
)
minutes = st.one_of(st.integers(0, 1440), st.sampled_from((0, 60, 120, 150, 180, 240, 1440)))


def as_intervals(points: list[int]) -> tuple[Interval, ...]:
    ordered = sorted(points)
    return tuple(Interval(a, b) for a, b in zip(ordered[::2], ordered[1::2], strict=False) if a < b)


day_hours = st.lists(minutes, max_size=8).map(as_intervals)
templates = st.one_of(
    st.none(),
    st.builds(HolidayTemplate, country=st.just("SE"),
              categories=st.sampled_from((("public",), ("public", "de_facto"), ("de_facto", "public"))),
              exclude=st.lists(st.sampled_from(("12-24", "Midsommarafton", "Easter Monday", "06-06", "christmas day")),
                               max_size=2).map(tuple)),
    st.just(HolidayTemplate("US", ("public",))),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ScheduleConfig, datetime]:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    anchor = draw(st.one_of(st.dates(date(2025, 1, 1), date(2028, 12, 31)), st.sampled_from(SPECIAL_DATES)))
    minute = draw(st.one_of(st.integers(0, 1439), st.integers(110, 190)))
    local = datetime.combine(anchor, time(minute // 60, minute % 60, draw(st.integers(0, 59))), tzinfo=zone)
    instant = local.replace(fold=draw(st.integers(0, 1))).astimezone(UTC)
    exceptions = []
    for _ in range(draw(st.integers(0, 4))):
        day = anchor + timedelta(days=draw(st.integers(-2, 3)))
        recurs = draw(st.booleans())
        if recurs and not (day.month == 2 and day.day == 29):
            day = day.replace(year=day.year - draw(st.integers(-1, 2)))
        exceptions.append(ScheduleException(day, draw(day_hours), recurs_yearly=recurs, holiday=draw(st.booleans())))
    override = None
    if draw(st.booleans()):
        until = None
        if draw(st.integers(0, 3)):
            until = instant.replace(second=0, microsecond=0) + timedelta(minutes=draw(st.integers(-600, 3000)))
            until = until.astimezone(draw(st.sampled_from((UTC, STOCKHOLM))))
        override = Override(draw(st.sampled_from(ScheduleState)), until)
    config = ScheduleConfig(
        key="random", name="Random", timezone=zone.key,
        weekly=tuple(draw(day_hours) for _ in range(7)),
        exceptions=tuple(exceptions), holidays=draw(templates), override=override,
    )
    return config, instant


PROPERTY_SETTINGS = settings(max_examples=250, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 3 * 1440), max_size=3))
def test_fast_state_agrees_with_brute_force(scenario: tuple[ScheduleConfig, datetime], later: list[int]) -> None:
    config, instant = scenario
    # Generated exceptions may share a date: validation flags that, and the first one listed wins.
    assert all("already covers" in problem for problem in validate_schedule(config))
    schedule = compile_schedule(config)
    for offset in (0, *later):
        moment = instant + timedelta(minutes=offset)
        assert schedule.state_at(moment).state == brute_force_state(config, moment), moment


@settings(PROPERTY_SETTINGS, max_examples=120)
@given(scenarios())
def test_next_change_agrees_with_a_minute_by_minute_scan(scenario: tuple[ScheduleConfig, datetime]) -> None:
    config, instant = scenario
    schedule = compile_schedule(config)
    current = schedule.state_at(instant).state
    # Every zone here moves in whole hours and override ends fall on whole minutes, so states
    # can only change on a whole UTC minute.
    first = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
    scanned = None
    for step in range(3 * 1440):
        moment = first + timedelta(minutes=step)
        if schedule.state_at(moment).state != current:
            scanned = moment
            break
    change = schedule.next_change(instant)
    if scanned is None:
        assert change is None or change.astimezone(UTC) > first + timedelta(minutes=3 * 1440 - 1)
    else:
        assert change is not None and change.astimezone(UTC) == scanned
        assert brute_force_state(config, scanned) != current
        assert brute_force_state(config, scanned - timedelta(microseconds=1)) == current
