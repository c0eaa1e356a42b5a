"""The daily latency report's figures: pure maths over what the store counted. No I/O.

It implements DESIGN.md, "The daily report (exact)", for a local day D in the owner's time zone
(local midnight to local midnight, so a DST day lasts 23 or 25 hours), over items that are not
``baseline``. The store does the counting in SQL (`monitor.store.Store.report_day`); this module
turns those counts, the day's answers and the poll history into `Figures`. Decided here:

* **As of.** A day still in progress is reported as of now (``as_of = min(end of D, now)``):
  ``due`` counts the deadlines passed so far, ``open``/``overdue`` are taken at ``as_of``. An
  item due tonight is not a miss at 18:00. For a past day ``as_of`` is its end: the figures are
  exactly DESIGN.md's and do not change when the report is made again later.
* **Percentiles** interpolate linearly between the closest ranks (numpy's default, and
  ``statistics.quantiles(method="inclusive")``): the median of 1, 2, 3, 4 is 2.5, its p90 3.7.
* **Latency** is wall clock (never negative), and in business time under the item's own
  source policy (`monitor.sla.business_seconds_between`).
* **Streak**: consecutive days up to D on which nothing due was missed (on_time_rate 1 or
  nothing due), counted from the day after the last missed deadline, and never from before
  the source was first polled (days nobody watched are not good days). 0 when D had a miss.
* **Blind spots** come from the compacted poll history (`PollRun`, see
  `monitor.models.PollRunRow`): a source is one on D when a failed poll fell in D, or when at
  some moment of D its last successful poll was more than 3x its interval ago. A gap that
  crosses midnight counts on both days; time before a source's first poll, and after the
  daemon found it disabled until its next poll, counts on neither. A source with no poll at
  all is a blind spot ("never polled") unless it was first polled after D.
* **Empty day**: `Figures.quiet` is True when nothing was received, answered or due;
  renderings say so in words instead of printing zeros, and every undefined figure is None,
  never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor import sla

__all__ = [
    "AGE_BUCKETS",
    "BLIND_FACTOR",
    "Answer",
    "BlindSpot",
    "DayData",
    "Figures",
    "ItemTimes",
    "OpenItem",
    "PollRun",
    "Report",
    "SourceTally",
    "TrendDay",
    "age_edges",
    "blind_spot",
    "day_figures",
    "day_window",
    "item_times",
    "median",
    "on_time_rate",
    "percentile",
    "streak",
]

BLIND_FACTOR = 3  # a source not polled successfully for longer than 3x its interval is blind

# Open items by how long they have waited: (label, upper bound of the age; None: no bound).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 4h", timedelta(hours=4)),
    ("4h to 1d", timedelta(days=1)),
    ("1d to 3d", timedelta(days=3)),
    ("over 3d", None),
)

OK = "ok"
FAILED = "failed"
DISABLED = "disabled"


# -- what the store hands over ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceTally:
    """One source's SQL aggregates for one day (see `Store.report_day`)."""

    received: int = 0
    due: int = 0
    answered_on_time: int = 0
    open: int = 0
    overdue: int = 0
    open_by_age: tuple[int, ...] = (0,) * len(AGE_BUCKETS)

    def __add__(self, other: SourceTally) -> SourceTally:
        return SourceTally(
            received=self.received + other.received,
            due=self.due + other.due,
            answered_on_time=self.answered_on_time + other.answered_on_time,
            open=self.open + other.open,
            overdue=self.overdue + other.overdue,
            open_by_age=tuple(
                a + b for a, b in zip(self.open_by_age, other.open_by_age, strict=True)
            ),
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """One item answered during the day: what its latency is computed from."""

    source: str
    created_at: datetime
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An item still waiting at the report's moment (the oldest one is shown)."""

    id: int
    source: str
    external_id: str
    author: str
    text: str
    url: str | None
    created_at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class PollRun:
    """A run of polls of one source with one outcome (see `monitor.models.PollRunRow`)."""

    outcome: str  # "ok" | "failed" | "disabled"
    first_at: datetime
    last_at: datetime
    polls: int = 1
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DayData:
    """Everything the store counted for one day."""

    tallies: Mapping[str, SourceTally]
    answers: Sequence[Answer]
    oldest_open: Mapping[str, OpenItem]


# -- what the report says -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlindSpot:
    """Why a source's quiet day may not be a good one."""

    source: str
    failed: bool  # a poll failed during the day
    last_error: str | None  # the failure, as the poll recorded it
    longest_gap_s: float | None  # the longest stretch without a successful poll, if too long
    never_polled: bool = False


@dataclass(frozen=True, slots=True)
class Figures:
    """DESIGN.md's figures for one source, or the total, on one day."""

    received: int = 0
    answered: int = 0
    due: int = 0
    answered_on_time: int = 0
    on_time_rate: float | None = None
    median_latency_s: float | None = None
    p90_latency_s: float | None = None
    business_median_latency_s: float | None = None
    open: int = 0
    overdue: int = 0
    oldest_open: OpenItem | None = None
    streak: int = 0
    blind_spots: tuple[BlindSpot, ...] = ()
    open_by_age: tuple[int, ...] = (0,) * len(AGE_BUCKETS)  # for the chart

    @property
    def quiet(self) -> bool:
        """Nothing received, answered or due: a day to describe in words, not zeros."""
        return self.received == 0 and self.answered == 0 and self.due == 0


@dataclass(frozen=True, slots=True)
class TrendDay:
    day: date
    figures: Figures  # the total of that day (no oldest item, no streak)


@dataclass(frozen=True, slots=True)
class Report:
    """One day's report. `trend` runs oldest first and ends with `day`; `days` is how many of
    its days were asked for (renderings show a trend only when more than one); the chart may
    use a longer `trend`."""

    day: date
    timezone: str
    generated_at: datetime
    as_of: datetime  # the end of the day, or the moment of a report on the current day
    sources: Mapping[str, Figures]
    total: Figures
    days: int = 1
    trend: tuple[TrendDay, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """Whether the day was over when the report was made."""
        return self.as_of >= day_window(self.day, ZoneInfo(self.timezone))[1]

    @property
    def shown_trend(self) -> tuple[TrendDay, ...]:
        """The trend the owner asked for (`days` > 1), oldest first."""
        return self.trend[-self.days :] if self.days > 1 else ()


# -- the maths ----------------------------------------------------------------------------------


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of `day`'s local midnight and the next one: 23 or 25 h on a DST day.

    >>> start, end = day_window(date(2026, 3, 8), ZoneInfo("America/New_York"))
    >>> (end - start) / timedelta(hours=1)
    23.0
    """
    return sla.local_instant(day, time(0), zone), sla.local_instant(
        day + timedelta(days=1), time(0), zone
    )


def age_edges(as_of: datetime) -> tuple[datetime, ...]:
    """The creation times that separate the `AGE_BUCKETS` at `as_of`, newest first."""
    return tuple(as_of - bound for _, bound in AGE_BUCKETS if bound is not None)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The `q`-th percentile (0-100), interpolating between closest ranks; None when empty.

    >>> percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 90)
    (2.5, 3.7)
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 50)


def on_time_rate(answered_on_time: int, due: int) -> float | None:
    """answered_on_time / due; None when nothing was due (not 0, not NaN)."""
    return None if due == 0 else answered_on_time / due


def streak(day: date, last_miss: date | None, watched_since: date | None) -> int:
    """Consecutive days up to `day` with nothing due missed, since watching began.

    >>> streak(date(2026, 3, 10), date(2026, 3, 7), date(2026, 1, 1))
    3
    >>> streak(date(2026, 3, 10), None, date(2026, 3, 9))
    2
    """
    if watched_since is None or watched_since > day:
        return 0
    first_good = watched_since
    if last_miss is not None:
        first_good = max(first_good, last_miss + timedelta(days=1))
    return max(0, (day - first_good).days + 1)


def blind_spot(
    source: str, runs: Sequence[PollRun], every: timedelta, start: datetime, as_of: datetime
) -> BlindSpot | None:
    """Whether `source` was a blind spot in ``[start, as_of)``, from its poll runs.

    `runs` must hold at least the source's last run that ended before `start` and every later
    one; more do no harm.
    """
    if as_of <= start:
        return None
    ordered = sorted(runs, key=lambda r: (r.first_at, r.last_at))
    if not ordered:
        return BlindSpot(
            source, failed=False, last_error=None, longest_gap_s=None, never_polled=True
        )
    limit = every * BLIND_FACTOR
    failures = [
        r for r in ordered if r.outcome == FAILED and r.first_at < as_of and r.last_at >= start
    ]
    longest = timedelta(0)

    def stale(since: datetime, until: datetime) -> None:
        # How long the source had gone without a success, at the last moment of the gap that
        # falls inside the day; only gaps that reach into the day count.
        nonlocal longest
        seen_until = min(until, as_of)
        if max(since, start) < seen_until and seen_until - since > limit:
            longest = max(longest, seen_until - since)

    anchor: datetime | None = None  # the last moment the source was known to be watched
    for run in ordered:
        if run.first_at >= as_of:
            break
        if run.outcome == OK:
            if anchor is not None:
                stale(anchor, run.first_at)
            anchor = run.last_at
        elif run.outcome == DISABLED:
            if anchor is not None:
                stale(anchor, run.first_at)
            anchor = None  # switched off: no poll expected until the next run
        elif anchor is None:  # a failing first run (or the first after a pause) starts watching
            anchor = run.first_at
    if anchor is not None:
        stale(anchor, as_of)
    if not failures and longest <= timedelta(0):
        return None
    return BlindSpot(
        source,
        failed=bool(failures),
        last_error=failures[-1].last_error if failures else None,
        longest_gap_s=longest.total_seconds() if longest > timedelta(0) else None,
    )


def day_figures(
    data: DayData,
    *,
    names: Sequence[str],
    policies: Mapping[str, sla.Policy],
    default_policy: sla.Policy,
    streaks: Mapping[str, int] | None = None,
    total_streak: int = 0,
    blind_spots: Mapping[str, BlindSpot] | None = None,
) -> tuple[dict[str, Figures], Figures]:
    """Per-source figures (for `names` and any other source with data) and their total.

    `streaks` and `blind_spots` are per source; `total_streak` is the streak of all of them
    together (one miss anywhere breaks it).
    """
    streaks = streaks or {}
    blind_spots = blind_spots or {}
    everyone = list(dict.fromkeys([*names, *data.tallies, *(a.source for a in data.answers)]))
    # Each answer's latencies, computed once for its source's figures and the total's.
    latencies: dict[str, list[tuple[float, float]]] = {name: [] for name in everyone}
    for answer in data.answers:
        latencies[answer.source].append(
            (
                sla.latency_seconds(answer.created_at, answer.answered_at),
                sla.business_seconds_between(
                    answer.created_at,
                    answer.answered_at,
                    policies.get(answer.source, default_policy),
                ),
            )
        )
    per_source = {
        name: _figures(
            data.tallies.get(name, SourceTally()),
            latencies[name],
            data.oldest_open.get(name),
            streak=streaks.get(name, 0),
            blind=(blind_spots[name],) if name in blind_spots else (),
        )
        for name in everyone
    }
    tally = sum((data.tallies.get(n, SourceTally()) for n in everyone), SourceTally())
    oldest = min(
        (item for n in everyone if (item := data.oldest_open.get(n)) is not None),
        key=lambda item: (item.created_at, item.id),
        default=None,
    )
    total = _figures(
        tally,
        [pair for n in everyone for pair in latencies[n]],
        oldest,
        streak=total_streak,
        blind=tuple(blind_spots[n] for n in everyone if n in blind_spots),
    )
    return per_source, total


def _figures(
    tally: SourceTally,
    latencies: Sequence[tuple[float, float]],  # (wall clock, business time) per answer
    oldest: OpenItem | None,
    *,
    streak: int,
    blind: tuple[BlindSpot, ...],
) -> Figures:
    wall = [pair[0] for pair in latencies]
    business = [pair[1] for pair in latencies]
    return Figures(
        received=tally.received,
        answered=len(latencies),
        due=tally.due,
        answered_on_time=tally.answered_on_time,
        on_time_rate=_rounded(on_time_rate(tally.answered_on_time, tally.due), 4),
        median_latency_s=_rounded(median(wall), 1),
        p90_latency_s=_rounded(percentile(wall, 90), 1),
        business_median_latency_s=_rounded(median(business), 1),
        open=tally.open,
        overdue=tally.overdue,
        oldest_open=oldest,
        streak=streak,
        blind_spots=blind,
        open_by_age=tally.open_by_age,
    )


@dataclass(frozen=True, slots=True)
class ItemTimes:
    """One item's latency and whether it met its deadline, for the report's CSV."""

    latency_s: float | None  # None: not answered
    business_latency_s: float | None
    on_time: bool | None  # None: not answered, and its deadline had not passed (or dismissed)


def item_times(
    created_at: datetime,
    due_at: datetime,
    answered_at: datetime | None,
    *,
    dismissed: bool,
    as_of: datetime,
    policy: sla.Policy,
) -> ItemTimes:
    """An item's latency (wall clock and business time) and on-time flag at `as_of`."""
    if answered_at is not None:
        return ItemTimes(
            latency_s=round(sla.latency_seconds(created_at, answered_at), 1),
            business_latency_s=round(
                sla.business_seconds_between(created_at, answered_at, policy), 1
            ),
            on_time=answered_at <= due_at,
        )
    missed = not dismissed and due_at < as_of
    return ItemTimes(None, None, False if missed else None)


def trend_figures(figures: Figures) -> Figures:
    """A day's total as the trend keeps it: no oldest item, no streak."""
    return replace(figures, oldest_open=None, streak=0)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
