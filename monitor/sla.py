"""When an item is due, and how much business time lies between two instants.

Pure arithmetic, no I/O. It implements DESIGN.md, "The same-day target (exact)", with the
ambiguous parts decided as follows.

* Instants in, UTC out. Every function takes timezone-aware datetimes (in any zone) and
  returns aware datetimes in UTC. A naive datetime raises ValueError: guessing its zone would
  silently move deadlines by hours.
* Business hours are half-open, ``[opens, closes)``: with 09:00-17:00, 16:59:59 is inside the
  day and 17:00:00 is already "at or after the end". ``closes=None`` is midnight at the end of
  the day ("24:00"). Overnight spans such as 22:00-06:00 are refused rather than guessed at.
* A workday is a weekday in ``workdays`` that is not in ``holidays`` (local calendar dates).
* ``same_day``: an item created on a workday before its closing (including before opening) is
  due at that day's closing; otherwise at the closing of the next workday. ``business_time``
  has no effect on ``same_day``.
* A Duration with ``business_time`` False: the days are calendar days, the same local
  wall-clock time N days later (so "1d" across a DST change is 23 or 25 real hours), and the
  clock part is then added as elapsed time (so "4h" is always 4 real hours).
* A Duration with ``business_time`` True: each day counts as one nominal business day, the
  wall-clock length ``closes - opens`` (8h for 09:00-17:00, 24h for 00:00-24:00), added to the
  clock part; the total is then counted through business hours with `add_business_time`.
* Local wall times that do not exist (DST gap) move forward by the gap, so 02:30 on a
  spring-forward night becomes 03:30; ambiguous ones (DST fold) take the first occurrence.
  That is what zoneinfo does with ``fold=0``, normalised through UTC.
* Each day's opening and closing become UTC instants before any comparison or subtraction.
  Python subtracts aware datetimes sharing a tzinfo on the wall clock, which ignores DST; in
  UTC a day with a DST change inside business hours has its real length (23h or 25h for a
  00:00-24:00 policy).
* `add_business_time` returns the earliest instant at which the requested business time has
  passed: counting starts at the next opening when ``start`` is outside hours, an amount that
  exactly fills a day ends at that day's closing (not at the next opening), and zero seconds
  return ``start`` itself. That makes it the inverse of `business_seconds_between`.
* No endless loops: a policy without workdays is refused when built, and a search that meets
  no workday for about three years (holidays covering everything) raises ValueError.
* Cost: the work is per day at most, never per minute, and each day's window is cached, so
  `due_at` is a handful of operations per item and `business_seconds_between` is linear in the
  days spanned. Whole weeks are not counted arithmetically: holidays and DST make weeks differ,
  and a per-day loop stays obviously correct.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from monitor.durations import Duration

__all__ = [
    "MAX_SEARCH_DAYS",
    "SAME_DAY",
    "Policy",
    "add_business_time",
    "business_seconds_between",
    "due_at",
    "latency_seconds",
    "local_instant",
    "next_opening",
    "parse_business_hours",
    "parse_workdays",
]

SAME_DAY = "same_day"

# Longer than any real run of holidays; past it the policy is almost certainly a mistake.
MAX_SEARCH_DAYS = 3 * 366

_ONE_DAY = timedelta(days=1)
_NOTHING = timedelta(0)
_MIDNIGHT = time(0)
_SECONDS_PER_DAY = 24 * 3600

_HOURS_HINT = "business hours like 09:00-17:00 (00:00-24:00 for the whole day)"
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NUMBERS = {
    spelling: number for number, name in enumerate(_WEEKDAY_NAMES) for spelling in (name, name[:3])
}


@dataclass(frozen=True, slots=True)
class Policy:
    """When a source's items fall due: its zone, business hours, workdays, holidays, target."""

    timezone: ZoneInfo
    opens: time
    closes: time | None
    workdays: frozenset[int]
    holidays: frozenset[date]
    target: str | Duration
    business_time: bool = False

    def __post_init__(self) -> None:
        if not self.workdays:
            raise ValueError("a policy needs at least one workday, or nothing could ever be due")
        if not set(self.workdays) <= set(range(7)):
            raise ValueError(f"workdays must be 0 (Monday) to 6 (Sunday), got {self.workdays}")
        if self.opens.tzinfo is not None or (
            self.closes is not None and self.closes.tzinfo is not None
        ):
            raise ValueError("business hours are local wall-clock times: pass naive times")
        if self.closes is not None and self.closes <= self.opens:
            raise ValueError(_closes_too_early(f"{self.opens:%H:%M}-{self.closes:%H:%M}"))
        if not isinstance(self.target, Duration) and self.target != SAME_DAY:
            raise ValueError(f"target must be {SAME_DAY!r} or a Duration, got {self.target!r}")

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` (a local calendar date) is a working weekday and not a holiday."""
        return day.weekday() in self.workdays and day not in self.holidays


def parse_business_hours(text: str) -> tuple[time, time | None]:
    """Parse ``"09:00-17:00"`` into (opens, closes); ``24:00`` as the closing gives None."""
    match = _HOURS.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected {_HOURS_HINT}, got {text!r}")
    open_hour, open_minute, close_hour, close_minute = (int(part) for part in match.groups())
    opens = _clock_time(open_hour, open_minute, text)
    if opens is None:
        raise ValueError(f"business hours cannot open at 24:00, got {text!r}")
    closes = _clock_time(close_hour, close_minute, text)
    if closes is not None and closes <= opens:
        raise ValueError(_closes_too_early(text))
    return opens, closes


def parse_workdays(names: Iterable[str]) -> frozenset[int]:
    """Turn weekday names (``"mon"`` or ``"Monday"``, any case) into numbers, 0 = Monday.

    A single string is read as a comma- or space-separated list.
    """
    if isinstance(names, str):
        names = [name for name in re.split(r"[\s,]+", names) if name]
    numbers = set()
    for name in names:
        number = _WEEKDAY_NUMBERS.get(name.strip().lower()) if isinstance(name, str) else None
        if number is None:
            raise ValueError(
                f"unknown weekday {name!r}: expected mon, tue, wed, thu, fri, sat or sun "
                "(full names work too)"
            )
        numbers.add(number)
    return frozenset(numbers)


def due_at(created_at: datetime, policy: Policy) -> datetime:
    """The instant (UTC) by which an item created at ``created_at`` must be answered."""
    created = _as_utc(created_at, "created_at")
    target = policy.target
    if not isinstance(target, Duration):
        return _same_day_due(created, policy)
    if policy.business_time:
        return add_business_time(created, _business_seconds_of(target, policy), policy)
    return _wall_clock_due(created, target, policy.timezone)


def business_seconds_between(start: datetime, end: datetime, policy: Policy) -> float:
    """Seconds of business time in ``[start, end)``; 0 when ``end <= start``."""
    low = _as_utc(start, "start")
    high = _as_utc(end, "end")
    if high <= low:
        return 0.0
    total = _NOTHING
    for day in _days_between(_local_date(low, policy), _local_date(high, policy)):
        if policy.is_workday(day):
            opening, closing = _window(day, policy)
            overlap = min(closing, high) - max(opening, low)
            if overlap > _NOTHING:
                total += overlap
    return total.total_seconds()


def add_business_time(start: datetime, seconds: float, policy: Policy) -> datetime:
    """The earliest instant at which ``seconds`` of business time have passed since ``start``.

    Counting starts at the next opening when ``start`` is outside business hours.
    """
    begin = _as_utc(start, "start")
    if seconds < 0:
        raise ValueError(f"cannot add a negative amount of business time ({seconds} seconds)")
    remaining = timedelta(seconds=seconds)
    if remaining == _NOTHING:
        return begin
    for day in _workdays_from(_local_date(begin, policy), policy):
        opening, closing = _window(day, policy)
        counted_from = max(opening, begin)
        available = closing - counted_from
        if available <= _NOTHING:
            continue
        if remaining <= available:
            return counted_from + remaining
        remaining -= available
    raise AssertionError("unreachable: _workdays_from never runs out")


def next_opening(after: datetime, policy: Policy) -> datetime:
    """The first business-day opening strictly after ``after`` (for "snooze until opening")."""
    moment = _as_utc(after, "after")
    for day in _workdays_from(_local_date(moment, policy), policy):
        opening = _window(day, policy)[0]
        if opening > moment:
            return opening
    raise AssertionError("unreachable: _workdays_from never runs out")


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of the local wall time `wall` on `day`, by the rules above (a time in a
    DST gap moves forward by the gap, one in a fold is the first): local midnights, report
    hours."""
    return _local_instant(day, wall, zone)


def latency_seconds(created_at: datetime, answered_at: datetime) -> float:
    """Wall-clock seconds from creation to answer, never negative (clocks disagree sometimes)."""
    elapsed = _as_utc(answered_at, "answered_at") - _as_utc(created_at, "created_at")
    return max(0.0, elapsed.total_seconds())


def _same_day_due(created: datetime, policy: Policy) -> datetime:
    today = _local_date(created, policy)
    if policy.is_workday(today):
        closing = _window(today, policy)[1]
        if created < closing:
            return closing
    next_workday = next(_workdays_from(today + _ONE_DAY, policy))
    return _window(next_workday, policy)[1]


def _wall_clock_due(created: datetime, duration: Duration, zone: ZoneInfo) -> datetime:
    shifted = created
    # Rebuilding the local time is only needed for calendar days, and would lose the second
    # occurrence of an ambiguous time if done for a pure clock duration.
    if duration.days:
        local = created.astimezone(zone)
        shifted = _local_instant(local.date() + timedelta(days=duration.days), local.time(), zone)
    return shifted + timedelta(seconds=duration.seconds)


def _business_seconds_of(duration: Duration, policy: Policy) -> float:
    return duration.days * _nominal_day_seconds(policy) + duration.seconds


def _nominal_day_seconds(policy: Policy) -> float:
    closes = _SECONDS_PER_DAY if policy.closes is None else _seconds_into_day(policy.closes)
    return closes - _seconds_into_day(policy.opens)


def _seconds_into_day(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def _workdays_from(first: date, policy: Policy) -> Iterator[date]:
    """Every workday from ``first`` on, endlessly, unless holidays leave none for years."""
    day = first
    days_without_work = 0
    while True:
        if policy.is_workday(day):
            days_without_work = 0
            yield day
        else:
            days_without_work += 1
            if days_without_work > MAX_SEARCH_DAYS:
                raise ValueError(
                    f"no workday between {first} and {day}: the holidays cover every workday "
                    f"for more than {MAX_SEARCH_DAYS} days"
                )
        day += _ONE_DAY


def _days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def _window(day: date, policy: Policy) -> tuple[datetime, datetime]:
    return _business_window(policy.timezone, policy.opens, policy.closes, day)


@lru_cache(maxsize=16384)
def _business_window(
    zone: ZoneInfo, opens: time, closes: time | None, day: date
) -> tuple[datetime, datetime]:
    """``day``'s opening and closing as UTC instants, so that DST changes keep their real length."""
    opening = _local_instant(day, opens, zone)
    if closes is None:
        return opening, _local_instant(day + _ONE_DAY, _MIDNIGHT, zone)
    return opening, _local_instant(day, closes, zone)


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: forward by the gap in a DST gap, first in a fold."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=zone).astimezone(UTC)


def _local_date(moment: datetime, policy: Policy) -> date:
    return moment.astimezone(policy.timezone).date()


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _clock_time(hour: int, minute: int, text: str) -> time | None:
    """A time of day from parsed digits; None stands for 24:00, the end of the day."""
    if hour == 24 and minute == 0:
        return None
    if hour > 23 or minute > 59:
        raise ValueError(
            f"{hour:02}:{minute:02} in {text!r} is not a time of day "
            "(00:00 to 23:59, or 24:00 for the end of the day)"
        )
    return time(hour, minute)


def _closes_too_early(text: str) -> str:
    return (
        f"business hours {text!r} close at or before they open; overnight spans are not "
        "supported (use 00:00-24:00 for the whole day)"
    )
