"""The daily report's maths, pure: day windows (DST), percentiles, streaks, blind spots, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor import sla
from monitor.report import (
    Answer,
    BlindSpot,
    DayData,
    OpenItem,
    PollRun,
    SourceTally,
    blind_spot,
    day_figures,
    day_window,
    item_times,
    median,
    on_time_rate,
    percentile,
    streak,
)

NEW_YORK = ZoneInfo("America/New_York")
POLICY = sla.Policy(NEW_YORK, time(9), time(17), frozenset(range(5)), frozenset(), sla.SAME_DAY)


def ny(text: str) -> datetime:
    """``2026-03-10 14:00`` in New York, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(UTC)


# -- the day ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hours", "starts"),
    [
        pytest.param("America/New_York", date(2026, 3, 10), 24, "2026-03-10T04:00", id="plain"),
        pytest.param("America/New_York", date(2026, 3, 8), 23, "2026-03-08T05:00", id="ny-spring"),
        pytest.param("America/New_York", date(2026, 11, 1), 25, "2026-11-01T04:00", id="ny-fall"),
        pytest.param("Europe/Berlin", date(2026, 3, 29), 23, "2026-03-28T23:00", id="berlin"),
        pytest.param("Asia/Kolkata", date(2026, 3, 10), 24, "2026-03-09T18:30", id="half-hour"),
        # Havana's clocks jump from 00:00 to 01:00: the day starts at 01:00, like a deadline.
        pytest.param("America/Havana", date(2026, 3, 8), 23, "2026-03-08T05:00", id="no-midnight"),
    ],
)
def test_a_day_is_local_midnight_to_midnight(zone: str, day: date, hours: int, starts: str) -> None:
    start, end = day_window(day, ZoneInfo(zone))
    assert start == datetime.fromisoformat(starts).replace(tzinfo=UTC)
    assert end - start == timedelta(hours=hours)
    assert day_window(day + timedelta(days=1), ZoneInfo(zone))[0] == end  # days tile time


# -- percentiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([1, 2, 3, 4], 50, 2.5),
        ([4, 1, 3, 2], 50, 2.5),  # order does not matter
        ([1, 2, 3, 4], 90, 3.7),
        ([1, 2, 3, 4], 0, 1),
        ([1, 2, 3, 4], 100, 4),
        (list(range(1, 11)), 90, 9.1),
        ([60, 60, 60, 3600], 50, 60),
    ],
)
def test_percentiles_interpolate_between_closest_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    found = percentile(values, q)
    assert found == (None if expected is None else pytest.approx(expected))


def test_median_and_rate_are_none_rather_than_nan_when_undefined() -> None:
    assert median([]) is None
    assert on_time_rate(0, 0) is None
    assert on_time_rate(0, 4) == 0
    assert on_time_rate(3, 4) == 0.75
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


# -- streak ----------------------------------------------------------------------------------------

D = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("last_miss", "watched_since", "expected"),
    [
        pytest.param(None, date(2026, 3, 1), 10, id="never-missed-since-watching"),
        pytest.param(date(2026, 3, 7), date(2026, 1, 1), 3, id="miss-three-days-ago"),
        pytest.param(D - timedelta(days=1), date(2026, 1, 1), 1, id="miss-yesterday"),
        pytest.param(D, date(2026, 1, 1), 0, id="miss-today"),
        pytest.param(None, D, 1, id="first-watched-today"),
        pytest.param(None, None, 0, id="never-watched"),
        pytest.param(None, D + timedelta(days=2), 0, id="watched-only-later"),
        pytest.param(date(2025, 12, 1), date(2026, 3, 8), 3, id="miss-before-watching"),
    ],
)
def test_streak_counts_days_without_a_miss_since_watching_began(
    last_miss: date | None, watched_since: date | None, expected: int
) -> None:
    assert streak(D, last_miss, watched_since) == expected


# -- blind spots -----------------------------------------------------------------------------------

EVERY = timedelta(minutes=5)  # blind after 15 minutes without a successful poll
DAY_START, DAY_END = day_window(D, NEW_YORK)


def ok(first: str, last: str | None = None) -> PollRun:
    return PollRun("ok", ny(first), ny(last or first))


def failed(first: str, last: str | None = None, error: str = "temporary: HTTP 503") -> PollRun:
    return PollRun("failed", ny(first), ny(last or first), last_error=error)


def disabled(at: str) -> PollRun:
    return PollRun("disabled", ny(at), ny(at))


WHOLE_DAY = ok("2026-03-09 23:58", "2026-03-11 00:02")


@pytest.mark.parametrize(
    ("runs", "as_of", "expected"),
    [
        pytest.param([WHOLE_DAY], DAY_END, None, id="polled-all-day"),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-10 11:00"),
                failed("2026-03-10 11:05", "2026-03-10 11:10"),
                ok("2026-03-10 11:15", "2026-03-11 01:00"),
            ],
            DAY_END,
            BlindSpot("blog", failed=True, last_error="temporary: HTTP 503", longest_gap_s=None),
            id="failed-for-ten-minutes",
        ),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-10 11:00"),
                ok("2026-03-10 13:00", "2026-03-11 01:00"),
            ],
            DAY_END,
            BlindSpot("blog", failed=False, last_error=None, longest_gap_s=2 * 3600),
            id="two-hours-unpolled",
        ),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-10 11:00"),
                ok("2026-03-10 11:14", "2026-03-11 01:00"),
            ],
            DAY_END,
            None,
            id="fourteen-minutes-is-not-three-intervals",
        ),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-09 23:00"),
                ok("2026-03-10 01:00", "2026-03-11 01:00"),
            ],
            DAY_END,
            BlindSpot("blog", failed=False, last_error=None, longest_gap_s=2 * 3600),
            id="gap-across-the-midnight-before",
        ),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-10 23:00"),
                ok("2026-03-11 01:00", "2026-03-11 03:00"),
            ],
            DAY_END,
            BlindSpot("blog", failed=False, last_error=None, longest_gap_s=3600),
            id="gap-across-the-midnight-after",  # seen until midnight: one hour of it
        ),
        pytest.param(
            [
                ok("2026-03-09 08:00", "2026-03-09 23:55"),
                ok("2026-03-10 00:05", "2026-03-11 01:00"),
            ],
            DAY_END,
            None,
            id="short-gap-across-midnight",
        ),
        pytest.param(
            [ok("2026-03-10 12:00", "2026-03-11 01:00")],
            DAY_END,
            None,
            id="first-polled-at-noon",  # the morning nobody expected polls
        ),
        pytest.param([ok("2026-03-12 09:00")], DAY_END, None, id="first-polled-after-the-day"),
        pytest.param(
            [],
            DAY_END,
            BlindSpot("blog", False, None, None, never_polled=True),
            id="never-polled",
        ),
        pytest.param(
            [ok("2026-03-01 08:00", "2026-03-09 18:00")],
            DAY_END,
            BlindSpot("blog", False, None, longest_gap_s=30 * 3600),
            id="not-polled-since-yesterday",
        ),
        pytest.param(
            [
                ok("2026-03-01 08:00", "2026-03-10 10:00"),
                disabled("2026-03-10 10:05"),
                ok("2026-03-10 15:00", "2026-03-11 01:00"),
            ],
            DAY_END,
            None,
            id="switched-off-then-on-again",
        ),
        pytest.param(
            [ok("2026-03-01 08:00", "2026-03-10 13:50")],
            ny("2026-03-10 14:00"),
            None,
            id="today-polled-ten-minutes-ago",
        ),
        pytest.param(
            [ok("2026-03-01 08:00", "2026-03-10 13:00")],
            ny("2026-03-10 14:00"),
            BlindSpot("blog", False, None, longest_gap_s=3600),
            id="today-unpolled-for-an-hour",
        ),
        pytest.param(
            [failed("2026-03-10 09:00", "2026-03-10 12:00")],
            DAY_END,
            BlindSpot("blog", True, "temporary: HTTP 503", longest_gap_s=15 * 3600),
            id="failing-from-its-first-poll",
        ),
    ],
)
def test_blind_spots(runs: list[PollRun], as_of: datetime, expected: BlindSpot | None) -> None:
    assert blind_spot("blog", runs, EVERY, DAY_START, as_of) == expected


# -- figures ---------------------------------------------------------------------------------------


def test_figures_per_source_and_in_total() -> None:
    oldest_blog = OpenItem(7, "blog", "c7", "Ann", "Hi", None, ny("2026-03-09 10:00"), DAY_START)
    oldest_forum = OpenItem(3, "forum", "p3", "Bo", "Yo", None, ny("2026-03-10 10:00"), DAY_END)
    data = DayData(
        tallies={
            "blog": SourceTally(
                received=5, due=3, answered_on_time=1, open=3, overdue=2, open_by_age=(1, 0, 2, 0)
            ),
            "forum": SourceTally(
                received=1, due=1, answered_on_time=1, open=1, overdue=0, open_by_age=(0, 1, 0, 0)
            ),
        },
        answers=[
            # Created the day before: counted as answered, with its real latency.
            Answer("blog", ny("2026-03-09 15:00"), ny("2026-03-10 10:00")),
            Answer("blog", ny("2026-03-10 09:30"), ny("2026-03-10 10:30")),
            Answer("blog", ny("2026-03-10 11:00"), ny("2026-03-10 18:00")),
            Answer("forum", ny("2026-03-10 10:00"), ny("2026-03-10 13:00")),
        ],
        oldest_open={"blog": oldest_blog, "forum": oldest_forum},
    )
    spot = BlindSpot("forum", failed=True, last_error="x", longest_gap_s=None)
    per_source, total = day_figures(
        data,
        names=["blog", "forum", "quiet"],
        policies={"blog": POLICY},
        default_policy=POLICY,
        streaks={"blog": 0, "forum": 4},
        total_streak=0,
        blind_spots={"forum": spot},
    )
    assert list(per_source) == ["blog", "forum", "quiet"]
    assert (total.received, total.answered, total.due, total.answered_on_time) == (6, 4, 4, 2)
    assert total.on_time_rate == 0.5
    # Latencies 1h, 3h, 7h, 19h: median 5h, p90 15.4h; in business hours 1h, 3h, 3h, 6h.
    assert total.median_latency_s == 5 * 3600
    assert total.p90_latency_s == pytest.approx(15.4 * 3600)
    assert total.business_median_latency_s == 3 * 3600
    assert (total.open, total.overdue, total.open_by_age) == (4, 2, (1, 1, 2, 0))
    assert total.oldest_open == oldest_blog
    assert total.blind_spots == (spot,) and total.streak == 0

    blog = per_source["blog"]
    assert (blog.received, blog.answered, blog.due, blog.on_time_rate) == (5, 3, 3, 0.3333)
    assert blog.median_latency_s == 7 * 3600
    assert per_source["forum"].streak == 4 and per_source["forum"].blind_spots == (spot,)
    quiet = per_source["quiet"]
    assert quiet.quiet and quiet.on_time_rate is None and quiet.median_latency_s is None
    assert not total.quiet


def test_an_empty_day_has_nones_not_nans() -> None:
    _, total = day_figures(DayData({}, [], {}), names=["blog"], policies={}, default_policy=POLICY)
    assert total.quiet
    assert (total.on_time_rate, total.median_latency_s, total.p90_latency_s) == (None, None, None)
    assert total.business_median_latency_s is None and total.oldest_open is None


@pytest.mark.parametrize(
    ("due", "answered", "dismissed", "expected"),
    [
        pytest.param("2026-03-10 17:00", "2026-03-10 11:00", False, (3600.0, 3600.0, True),
                     id="on-time"),
        pytest.param("2026-03-10 17:00", "2026-03-10 18:00", False, (8 * 3600.0, 7 * 3600.0, False),
                     id="late"),
        pytest.param("2026-03-10 17:00", None, False, (None, None, False), id="missed"),
        pytest.param("2026-03-11 17:00", None, False, (None, None, None), id="not-due-yet"),
        pytest.param("2026-03-10 17:00", None, True, (None, None, None), id="dismissed"),
    ],
)  # fmt: skip
def test_item_times_for_the_csv(
    due: str, answered: str | None, dismissed: bool, expected: tuple
) -> None:
    times = item_times(
        ny("2026-03-10 10:00"),
        ny(due),
        ny(answered) if answered else None,
        dismissed=dismissed,
        as_of=DAY_END,
        policy=POLICY,
    )
    assert (times.latency_s, times.business_latency_s, times.on_time) == expected
