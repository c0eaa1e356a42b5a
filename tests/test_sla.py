"""Tests for monitor.sla: deadlines and business time, across DST, odd zones and holidays.

Inputs are written as local wall times with their explicit UTC offset, so the local time is
readable; every expected instant is written out in UTC, worked out by hand.

2026 DST changes used here:
  America/New_York  2026-03-08 02:00 EST -> 03:00 EDT;  2026-11-01 02:00 EDT -> 01:00 EST
  Europe/Berlin     2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET
  Australia/Adelaide 2026-04-05 03:00 ACDT (+10:30) -> 02:00 ACST (+09:30)
  Asia/Kolkata      none, always +05:30
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.durations import parse_duration
from monitor.sla import (
    SAME_DAY,
    Policy,
    add_business_time,
    business_seconds_between,
    due_at,
    latency_seconds,
    next_opening,
    parse_business_hours,
    parse_workdays,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
ADELAIDE = ZoneInfo("Australia/Adelaide")

MON_TO_FRI = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
SUNDAY_ONLY = frozenset({6})


def make_policy(
    zone: ZoneInfo,
    opens: time = time(9),
    closes: time | None = time(17),
    *,
    workdays: frozenset[int] = MON_TO_FRI,
    holidays: frozenset[date] = frozenset(),
) -> Policy:
    return Policy(
        timezone=zone,
        opens=opens,
        closes=closes,
        workdays=workdays,
        holidays=holidays,
        target=SAME_DAY,
    )


NY = make_policy(NEW_YORK)
NY_ALL_DAY = make_policy(NEW_YORK, time(0), None)
NY_LABOR_DAY = make_policy(NEW_YORK, holidays=frozenset({date(2026, 9, 7)}))
NY_CHRISTMAS = make_policy(NEW_YORK, holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
NY_LONG_CHRISTMAS = make_policy(
    NEW_YORK, holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28)})
)
NY_SUNDAYS_ALL_DAY = make_policy(NEW_YORK, time(0), None, workdays=SUNDAY_ONLY)
BERLIN_9_TO_5 = make_policy(BERLIN)
BERLIN_SUNDAYS_ALL_DAY = make_policy(BERLIN, time(0), None, workdays=SUNDAY_ONLY)
BERLIN_EVERY_DAY_ALL_DAY = make_policy(BERLIN, time(0), None, workdays=EVERY_DAY)
BERLIN_1_TO_4 = make_policy(BERLIN, time(1), time(4), workdays=EVERY_DAY)
BERLIN_230_TO_5 = make_policy(BERLIN, time(2, 30), time(5), workdays=EVERY_DAY)
KOLKATA_10_TO_6 = make_policy(KOLKATA, time(10), time(18))
ADELAIDE_9_TO_5 = make_policy(ADELAIDE)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def with_target(policy: Policy, target: str, *, business_time: bool = False) -> Policy:
    duration = SAME_DAY if target == SAME_DAY else parse_duration(target)
    return dataclasses.replace(policy, target=duration, business_time=business_time)


def assert_utc_instant(result: datetime, expected: str) -> None:
    assert result.tzinfo is UTC
    assert result == at(expected), f"{result.isoformat()} != {expected}"


# --- same_day ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "created", "expected"),
    [
        pytest.param(NY, "2026-03-04T10:00-05:00", "2026-03-04T22:00Z", id="ny-mid-morning"),
        pytest.param(NY, "2026-03-04T07:00-05:00", "2026-03-04T22:00Z", id="ny-before-opening"),
        pytest.param(
            NY, "2026-03-04T16:59:59-05:00", "2026-03-04T22:00Z", id="ny-one-second-before-close"
        ),
        pytest.param(
            NY, "2026-03-04T16:59:59.999999-05:00", "2026-03-04T22:00Z", id="ny-last-microsecond"
        ),
        pytest.param(
            NY, "2026-03-04T17:00:00-05:00", "2026-03-05T22:00Z", id="ny-exactly-at-close"
        ),
        pytest.param(
            NY, "2026-03-05T21:00-05:00", "2026-03-06T22:00Z", id="ny-evening-utc-date-already-next"
        ),
        pytest.param(
            NY, "2026-03-06T18:00-05:00", "2026-03-09T21:00Z", id="ny-friday-evening-over-dst-start"
        ),
        pytest.param(NY, "2026-03-07T12:00-05:00", "2026-03-09T21:00Z", id="ny-saturday"),
        pytest.param(
            NY, "2026-03-08T03:30-04:00", "2026-03-09T21:00Z", id="ny-sunday-of-dst-start"
        ),
        pytest.param(
            NY, "2026-10-30T17:30-04:00", "2026-11-02T22:00Z", id="ny-friday-evening-over-dst-end"
        ),
        pytest.param(NY, "2026-11-02T08:00-05:00", "2026-11-02T22:00Z", id="ny-after-dst-end"),
        pytest.param(
            NY_LABOR_DAY,
            "2026-09-04T17:30-04:00",
            "2026-09-08T21:00Z",
            id="ny-friday-evening-before-holiday-monday",
        ),
        pytest.param(
            NY_LABOR_DAY,
            "2026-09-05T10:00-04:00",
            "2026-09-08T21:00Z",
            id="ny-weekend-then-holiday",
        ),
        pytest.param(
            NY_LABOR_DAY, "2026-09-07T10:00-04:00", "2026-09-08T21:00Z", id="ny-on-the-holiday"
        ),
        pytest.param(
            NY_CHRISTMAS, "2026-12-23T16:00-05:00", "2026-12-23T22:00Z", id="ny-eve-of-holidays"
        ),
        pytest.param(
            NY_CHRISTMAS,
            "2026-12-23T18:00-05:00",
            "2026-12-28T22:00Z",
            id="ny-consecutive-holidays-then-weekend",
        ),
        pytest.param(
            NY_LONG_CHRISTMAS,
            "2026-12-23T18:00-05:00",
            "2026-12-29T22:00Z",
            id="ny-holidays-weekend-holiday",
        ),
        pytest.param(
            NY_ALL_DAY, "2026-03-02T23:30-05:00", "2026-03-03T05:00Z", id="ny-24h-due-at-midnight"
        ),
        pytest.param(
            NY_ALL_DAY,
            "2026-03-07T12:00-05:00",
            "2026-03-10T04:00Z",
            id="ny-24h-saturday-due-end-of-monday-edt",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "2026-03-27T17:00+01:00",
            "2026-03-30T15:00Z",
            id="berlin-friday-at-close-over-dst-start",
        ),
        pytest.param(
            BERLIN_9_TO_5, "2026-03-29T10:00+02:00", "2026-03-30T15:00Z", id="berlin-dst-sunday"
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "2026-10-23T18:00+02:00",
            "2026-10-26T16:00Z",
            id="berlin-friday-evening-over-dst-end",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "2026-10-26T16:59:59+01:00",
            "2026-10-26T16:00Z",
            id="berlin-just-before-close-after-dst-end",
        ),
        pytest.param(
            KOLKATA_10_TO_6, "2026-03-02T12:00+05:30", "2026-03-02T12:30Z", id="kolkata-midday"
        ),
        pytest.param(
            KOLKATA_10_TO_6, "2026-03-02T18:30+05:30", "2026-03-03T12:30Z", id="kolkata-after-close"
        ),
        pytest.param(
            KOLKATA_10_TO_6,
            "2026-03-02T04:00+05:30",
            "2026-03-02T12:30Z",
            id="kolkata-local-monday-utc-sunday",
        ),
        pytest.param(
            ADELAIDE_9_TO_5,
            "2026-04-03T09:30+10:30",
            "2026-04-03T06:30Z",
            id="adelaide-local-friday-utc-thursday",
        ),
        pytest.param(
            ADELAIDE_9_TO_5,
            "2026-04-03T17:30+10:30",
            "2026-04-06T07:30Z",
            id="adelaide-friday-evening-over-dst-end",
        ),
    ],
)
def test_same_day_due(policy: Policy, created: str, expected: str) -> None:
    assert_utc_instant(due_at(at(created), policy), expected)


def test_same_day_ignores_business_time_flag() -> None:
    policy = with_target(NY, SAME_DAY, business_time=True)
    assert_utc_instant(due_at(at("2026-03-06T18:00-05:00"), policy), "2026-03-09T21:00Z")


# --- durations on the wall clock -----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "target", "created", "expected"),
    [
        pytest.param(
            NY, "4h", "2026-03-07T23:00-05:00", "2026-03-08T08:00Z", id="ny-4h-over-dst-start"
        ),
        pytest.param(
            NY, "1d", "2026-03-07T10:00-05:00", "2026-03-08T14:00Z", id="ny-1d-over-dst-start"
        ),
        pytest.param(
            NY,
            "2d",
            "2026-03-07T10:00-05:00",
            "2026-03-09T14:00Z",
            id="ny-2d-saturday-to-monday-over-dst-start",
        ),
        pytest.param(
            NY, "1d2h", "2026-03-07T10:00-05:00", "2026-03-08T16:00Z", id="ny-1d2h-over-dst-start"
        ),
        pytest.param(
            NY, "4h", "2026-11-01T00:30-04:00", "2026-11-01T08:30Z", id="ny-4h-over-dst-end"
        ),
        pytest.param(
            NY, "1d", "2026-10-31T10:00-04:00", "2026-11-01T15:00Z", id="ny-1d-over-dst-end"
        ),
        pytest.param(
            NY, "1d", "2026-03-07T02:30-05:00", "2026-03-08T07:30Z", id="ny-1d-into-gap-forward"
        ),
        pytest.param(
            NY, "1d", "2026-10-31T01:30-04:00", "2026-11-01T05:30Z", id="ny-1d-into-fold-first"
        ),
        pytest.param(
            NY,
            "4h",
            "2026-11-01T01:30-05:00",
            "2026-11-01T10:30Z",
            id="ny-4h-from-second-occurrence",
        ),
        pytest.param(
            NY,
            "1d",
            "2026-11-01T01:30-05:00",
            "2026-11-02T06:30Z",
            id="ny-1d-from-second-occurrence",
        ),
        pytest.param(NY, "1w", "2026-03-04T10:00-05:00", "2026-03-11T14:00Z", id="ny-1w"),
        pytest.param(
            NY,
            "4h",
            "2026-06-12T15:00-04:00",
            "2026-06-12T23:00Z",
            id="ny-4h-friday-ignores-hours",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "4h",
            "2026-03-29T00:00+01:00",
            "2026-03-29T03:00Z",
            id="berlin-4h-over-dst-start",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "1d",
            "2026-03-28T12:00+01:00",
            "2026-03-29T10:00Z",
            id="berlin-1d-over-dst-start",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "4h",
            "2026-10-25T01:00+02:00",
            "2026-10-25T03:00Z",
            id="berlin-4h-over-dst-end",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "1d",
            "2026-10-24T12:00+02:00",
            "2026-10-25T11:00Z",
            id="berlin-1d-over-dst-end",
        ),
        pytest.param(
            KOLKATA_10_TO_6, "30m", "2026-03-02T23:45+05:30", "2026-03-02T18:45Z", id="kolkata-30m"
        ),
        pytest.param(
            ADELAIDE_9_TO_5,
            "1d",
            "2026-04-04T12:00+10:30",
            "2026-04-05T02:30Z",
            id="adelaide-1d-over-dst-end",
        ),
    ],
)
def test_wall_clock_duration_due(policy: Policy, target: str, created: str, expected: str) -> None:
    assert_utc_instant(due_at(at(created), with_target(policy, target)), expected)


# --- durations in business time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "target", "created", "expected"),
    [
        pytest.param(
            NY, "4h", "2026-06-12T15:00-04:00", "2026-06-15T15:00Z", id="friday-15h-to-monday-11h"
        ),
        pytest.param(
            NY, "4h", "2026-06-15T13:00-04:00", "2026-06-15T21:00Z", id="fills-day-ends-at-close"
        ),
        pytest.param(
            NY, "30m", "2026-06-13T12:00-04:00", "2026-06-15T13:30Z", id="saturday-starts-monday"
        ),
        pytest.param(NY, "4h", "2026-06-16T07:00-04:00", "2026-06-16T17:00Z", id="before-opening"),
        pytest.param(
            NY, "1h", "2026-06-16T18:00-04:00", "2026-06-17T14:00Z", id="after-close-next-opening"
        ),
        pytest.param(
            NY, "2d", "2026-06-15T13:00-04:00", "2026-06-17T17:00Z", id="2d-is-16-business-hours"
        ),
        pytest.param(NY, "2d", "2026-06-18T10:00-04:00", "2026-06-22T14:00Z", id="2d-over-weekend"),
        pytest.param(
            NY, "4h", "2026-03-06T15:00-05:00", "2026-03-09T15:00Z", id="ny-over-dst-start"
        ),
        pytest.param(
            NY_LABOR_DAY,
            "2h",
            "2026-09-04T16:00-04:00",
            "2026-09-08T14:00Z",
            id="over-holiday-monday",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "3h",
            "2026-10-23T16:00+02:00",
            "2026-10-26T10:00Z",
            id="berlin-over-dst-end",
        ),
        pytest.param(
            BERLIN_EVERY_DAY_ALL_DAY,
            "1d",
            "2026-03-28T12:00+01:00",
            "2026-03-29T11:00Z",
            id="all-day-policy-1d-is-24-real-hours",
        ),
        pytest.param(
            KOLKATA_10_TO_6,
            "1h30m",
            "2026-03-06T17:00+05:30",
            "2026-03-09T05:00Z",
            id="kolkata-friday-to-monday",
        ),
    ],
)
def test_business_time_duration_due(
    policy: Policy, target: str, created: str, expected: str
) -> None:
    business_policy = with_target(policy, target, business_time=True)
    assert_utc_instant(due_at(at(created), business_policy), expected)


def test_zero_business_time_is_the_start_itself() -> None:
    start = at("2026-06-13T12:00-04:00")
    assert_utc_instant(add_business_time(start, 0, NY), "2026-06-13T16:00Z")


def test_negative_business_time_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(at("2026-06-15T10:00-04:00"), -1, NY)


# --- business_seconds_between --------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "start", "end", "expected"),
    [
        pytest.param(
            NY, "2026-06-12T15:00-04:00", "2026-06-15T11:00-04:00", 4 * 3600, id="across-weekend"
        ),
        pytest.param(
            NY, "2026-06-15T00:00-04:00", "2026-06-22T00:00-04:00", 40 * 3600, id="whole-week"
        ),
        pytest.param(
            NY_LABOR_DAY,
            "2026-09-04T16:00-04:00",
            "2026-09-08T10:00-04:00",
            2 * 3600,
            id="across-holiday-monday",
        ),
        pytest.param(
            NY,
            "2026-09-04T16:00-04:00",
            "2026-09-08T10:00-04:00",
            10 * 3600,
            id="same-span-without-holiday",
        ),
        pytest.param(
            NY, "2026-06-16T10:15-04:00", "2026-06-16T12:45-04:00", 9000, id="partial-day"
        ),
        pytest.param(
            NY,
            "2026-06-16T06:00-04:00",
            "2026-06-16T20:00-04:00",
            8 * 3600,
            id="before-opening-to-after-close",
        ),
        pytest.param(
            NY, "2026-06-16T17:00-04:00", "2026-06-17T09:00-04:00", 0, id="closed-overnight"
        ),
        pytest.param(NY, "2026-06-13T08:00-04:00", "2026-06-14T20:00-04:00", 0, id="weekend-only"),
        pytest.param(NY, "2026-06-16T10:00-04:00", "2026-06-16T10:00-04:00", 0, id="end-is-start"),
        pytest.param(
            NY, "2026-06-16T12:00-04:00", "2026-06-16T10:00-04:00", 0, id="end-before-start"
        ),
        pytest.param(
            NY, "2026-06-16T14:00Z", "2026-06-16T20:00+02:00", 4 * 3600, id="inputs-in-other-zones"
        ),
        pytest.param(
            NY_SUNDAYS_ALL_DAY,
            "2026-03-07T00:00Z",
            "2026-03-10T00:00Z",
            23 * 3600,
            id="ny-all-day-dst-start-23h",
        ),
        pytest.param(
            NY_SUNDAYS_ALL_DAY,
            "2026-10-31T00:00Z",
            "2026-11-03T00:00Z",
            25 * 3600,
            id="ny-all-day-dst-end-25h",
        ),
        pytest.param(
            BERLIN_SUNDAYS_ALL_DAY,
            "2026-03-28T00:00Z",
            "2026-03-31T00:00Z",
            23 * 3600,
            id="berlin-all-day-dst-start-23h",
        ),
        pytest.param(
            BERLIN_SUNDAYS_ALL_DAY,
            "2026-10-24T00:00Z",
            "2026-10-27T00:00Z",
            25 * 3600,
            id="berlin-all-day-dst-end-25h",
        ),
        pytest.param(
            BERLIN_1_TO_4,
            "2026-03-29T00:00+01:00",
            "2026-03-30T00:00+02:00",
            2 * 3600,
            id="berlin-change-inside-hours-spring",
        ),
        pytest.param(
            BERLIN_1_TO_4,
            "2026-10-25T00:00+02:00",
            "2026-10-26T00:00+01:00",
            4 * 3600,
            id="berlin-change-inside-hours-autumn",
        ),
        pytest.param(
            BERLIN_230_TO_5,
            "2026-03-29T00:00+01:00",
            "2026-03-30T00:00+02:00",
            5400,
            id="berlin-opening-in-gap-moves-forward",
        ),
        pytest.param(
            KOLKATA_10_TO_6,
            "2026-03-02T17:00+05:30",
            "2026-03-03T11:00+05:30",
            2 * 3600,
            id="kolkata-overnight",
        ),
        pytest.param(
            ADELAIDE_9_TO_5,
            "2026-04-03T16:00+10:30",
            "2026-04-06T10:00+09:30",
            2 * 3600,
            id="adelaide-over-dst-end-weekend",
        ),
    ],
)
def test_business_seconds_between(policy: Policy, start: str, end: str, expected: int) -> None:
    assert business_seconds_between(at(start), at(end), policy) == expected


# --- add_business_time and business_seconds_between are inverses ---------------------------

INVERSE_STARTS = [
    "2026-03-06T15:00-05:00",
    "2026-03-07T12:00-05:00",
    "2026-03-08T01:30-05:00",
    "2026-09-04T16:59:59-04:00",
    "2026-10-23T08:00+02:00",
    "2026-10-31T23:00-04:00",
    "2026-11-01T01:30-05:00",
    "2026-12-23T17:00-05:00",
]
INVERSE_AMOUNTS = [1, 1800, 8 * 3600, 3 * 8 * 3600 + 123, 100 * 3600]


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(NY, id="ny"),
        pytest.param(NY_LABOR_DAY, id="ny-labor-day"),
        pytest.param(NY_LONG_CHRISTMAS, id="ny-long-christmas"),
        pytest.param(NY_ALL_DAY, id="ny-all-day"),
        pytest.param(BERLIN_9_TO_5, id="berlin"),
        pytest.param(BERLIN_1_TO_4, id="berlin-1-to-4"),
        pytest.param(KOLKATA_10_TO_6, id="kolkata"),
        pytest.param(ADELAIDE_9_TO_5, id="adelaide"),
    ],
)
def test_add_then_measure_gives_the_amount_back(policy: Policy) -> None:
    for start_text in INVERSE_STARTS:
        start = at(start_text)
        for seconds in INVERSE_AMOUNTS:
            end = add_business_time(start, seconds, policy)
            assert business_seconds_between(start, end, policy) == seconds, (start_text, seconds)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param("2026-06-12T15:00-04:00", "2026-06-15T11:00-04:00", id="over-weekend"),
        pytest.param("2026-06-13T12:00-04:00", "2026-06-15T09:00:01-04:00", id="from-saturday"),
        pytest.param("2026-06-16T10:00-04:00", "2026-06-16T17:00-04:00", id="to-closing"),
        pytest.param("2026-03-06T16:00-05:00", "2026-03-09T10:30-04:00", id="over-dst-start"),
    ],
)
def test_measure_then_add_gives_the_end_back(start: str, end: str) -> None:
    seconds = business_seconds_between(at(start), at(end), NY)
    assert add_business_time(at(start), seconds, NY) == at(end)


# --- next_opening --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "after", "expected"),
    [
        pytest.param(
            NY, "2026-06-12T18:00-04:00", "2026-06-15T13:00Z", id="friday-evening-to-monday"
        ),
        pytest.param(
            NY, "2026-06-16T07:00-04:00", "2026-06-16T13:00Z", id="before-opening-same-day"
        ),
        pytest.param(
            NY, "2026-06-16T09:00-04:00", "2026-06-17T13:00Z", id="at-opening-is-not-after"
        ),
        pytest.param(NY, "2026-06-16T10:00-04:00", "2026-06-17T13:00Z", id="during-hours"),
        pytest.param(NY, "2026-03-06T18:00-05:00", "2026-03-09T13:00Z", id="friday-over-dst-start"),
        pytest.param(
            NY_LABOR_DAY,
            "2026-09-04T18:00-04:00",
            "2026-09-08T13:00Z",
            id="skips-holiday-monday",
        ),
        pytest.param(
            BERLIN_9_TO_5,
            "2026-10-23T18:00+02:00",
            "2026-10-26T08:00Z",
            id="berlin-over-dst-end",
        ),
        pytest.param(
            KOLKATA_10_TO_6, "2026-03-02T19:00+05:30", "2026-03-03T04:30Z", id="kolkata-evening"
        ),
    ],
)
def test_next_opening(policy: Policy, after: str, expected: str) -> None:
    assert_utc_instant(next_opening(at(after), policy), expected)


# --- latency_seconds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "answered", "expected"),
    [
        pytest.param("2026-06-16T10:00-04:00", "2026-06-16T10:30-04:00", 1800, id="same-zone"),
        pytest.param("2026-06-16T10:00-04:00", "2026-06-16T16:30+02:00", 1800, id="other-zones"),
        pytest.param("2026-03-08T01:00-05:00", "2026-03-08T03:00-04:00", 3600, id="over-dst"),
        pytest.param("2026-06-16T10:30-04:00", "2026-06-16T10:00-04:00", 0, id="answer-earlier"),
    ],
)
def test_latency_seconds(created: str, answered: str, expected: int) -> None:
    assert latency_seconds(at(created), at(answered)) == expected


# --- naive datetimes -----------------------------------------------------------------------

NAIVE = datetime(2026, 6, 16, 10, 0)
AWARE = at("2026-06-16T10:00-04:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: due_at(NAIVE, NY), id="due_at"),
        pytest.param(lambda: business_seconds_between(NAIVE, AWARE, NY), id="between-start"),
        pytest.param(lambda: business_seconds_between(AWARE, NAIVE, NY), id="between-end"),
        pytest.param(lambda: add_business_time(NAIVE, 60, NY), id="add_business_time"),
        pytest.param(lambda: next_opening(NAIVE, NY), id="next_opening"),
        pytest.param(lambda: latency_seconds(NAIVE, AWARE), id="latency-created"),
        pytest.param(lambda: latency_seconds(AWARE, NAIVE), id="latency-answered"),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()  # type: ignore[operator]


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("09:00-17:00", (time(9), time(17)), id="office-hours"),
        pytest.param(" 8:30 - 16:45 ", (time(8, 30), time(16, 45)), id="spaces-single-digit"),
        pytest.param("09:00–17:00", (time(9), time(17)), id="en-dash"),
        pytest.param("00:00-24:00", (time(0), None), id="whole-day"),
        pytest.param("18:00-24:00", (time(18), None), id="until-midnight"),
        pytest.param("00:00-23:59", (time(0), time(23, 59)), id="almost-whole-day"),
    ],
)
def test_parse_business_hours(text: str, expected: tuple[time, time | None]) -> None:
    assert parse_business_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("9-17", "expected business hours like 09:00-17:00", id="no-minutes"),
        pytest.param("09:00", "expected business hours", id="one-time"),
        pytest.param("", "expected business hours", id="empty"),
        pytest.param("09:00-17:00-18:00", "expected business hours", id="three-times"),
        pytest.param("22:00-06:00", "overnight spans are not supported", id="overnight"),
        pytest.param("09:00-09:00", "close at or before they open", id="empty-span"),
        pytest.param("00:00-00:00", "close at or before they open", id="zero-to-zero"),
        pytest.param("25:00-26:00", "not a time of day", id="hour-25"),
        pytest.param("09:60-17:00", "not a time of day", id="minute-60"),
        pytest.param("09:00-24:30", "not a time of day", id="past-24"),
        pytest.param("24:00-24:00", "cannot open at 24:00", id="opens-at-24"),
    ],
)
def test_parse_business_hours_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_business_hours(text)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["mon", "tue", "wed", "thu", "fri"], {0, 1, 2, 3, 4}, id="short-names"),
        pytest.param(["Monday", "SUNDAY", " saturday "], {0, 5, 6}, id="full-names-any-case"),
        pytest.param(["fri", "Friday"], {4}, id="duplicates"),
        pytest.param("mon, wed,fri", {0, 2, 4}, id="one-string"),
    ],
)
def test_parse_workdays(names: list[str] | str, expected: set[int]) -> None:
    assert parse_workdays(names) == frozenset(expected)


@pytest.mark.parametrize(
    ("names", "bad"),
    [
        pytest.param(["mon", "funday"], "funday", id="made-up"),
        pytest.param(["mo"], "mo", id="too-short"),
        pytest.param(["tues"], "tues", id="four-letters"),
        pytest.param(["mon", ""], "''", id="empty-name"),
    ],
)
def test_parse_workdays_names_the_bad_one(names: list[str], bad: str) -> None:
    with pytest.raises(ValueError, match=f"unknown weekday '?{bad}"):
        parse_workdays(names)


# --- policy validation and runaway searches -------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"workdays": frozenset()}, "at least one workday", id="no-workdays"),
        pytest.param({"workdays": frozenset({7})}, "0 \\(Monday\\) to 6", id="weekday-7"),
        pytest.param({"closes": time(9)}, "close at or before they open", id="closes-at-opening"),
        pytest.param({"target": "tomorrow"}, "same_day", id="unknown-target"),
        pytest.param({"opens": time(9, tzinfo=UTC)}, "naive times", id="aware-opening"),
    ],
)
def test_bad_policies_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(NY, **changes)  # type: ignore[arg-type]


def test_is_workday() -> None:
    assert NY_LABOR_DAY.is_workday(date(2026, 9, 8))
    assert not NY_LABOR_DAY.is_workday(date(2026, 9, 7))
    assert not NY_LABOR_DAY.is_workday(date(2026, 9, 5))


EVERY_MONDAY_FOR_FOUR_YEARS = frozenset(
    date(2026, 1, 5) + timedelta(weeks=week) for week in range(4 * 53)
)
MONDAYS_ALL_HOLIDAYS = make_policy(
    NEW_YORK, workdays=frozenset({0}), holidays=EVERY_MONDAY_FOR_FOUR_YEARS
)
SUNDAY_BEFORE = at("2026-01-04T10:00-05:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: due_at(SUNDAY_BEFORE, MONDAYS_ALL_HOLIDAYS), id="due_at"),
        pytest.param(
            lambda: add_business_time(SUNDAY_BEFORE, 60, MONDAYS_ALL_HOLIDAYS),
            id="add_business_time",
        ),
        pytest.param(lambda: next_opening(SUNDAY_BEFORE, MONDAYS_ALL_HOLIDAYS), id="next_opening"),
    ],
)
def test_holidays_covering_years_stop_the_search(call: object) -> None:
    with pytest.raises(ValueError, match="holidays cover every workday"):
        call()  # type: ignore[operator]


def test_measuring_years_of_holidays_is_just_zero() -> None:
    end = SUNDAY_BEFORE + timedelta(days=4 * 365)
    assert business_seconds_between(SUNDAY_BEFORE, end, MONDAYS_ALL_HOLIDAYS) == 0
