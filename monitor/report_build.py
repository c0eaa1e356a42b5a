"""Gathering one day's report: the store's counts and poll history, the config's policies and
intervals, through the pure maths of `monitor.report`. No rendering here.

    report = build_report(store, config, date(2026, 3, 10), now=utc_now(), days=7)

The day is a local day in the owner's time zone. Each figure comes from a few SQL aggregates
over indexed ranges (`Store.report_day`); a trend of N days repeats that per day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor import report as maths
from monitor.config import Config
from monitor.models import ItemRow
from monitor.report import BlindSpot, PollRun, Report, TrendDay
from monitor.store import Store
from monitor.triage import Status

CHART_DAYS = 7  # a chart of one day says nothing: it shows at least a week


class ReportError(ValueError):
    """The report cannot be made as asked (a day in the future, an unknown source)."""


@dataclass(frozen=True, slots=True)
class ItemLine:
    """One item of the report's CSV, with its latency and on-time flag."""

    item: ItemRow
    times: maths.ItemTimes


def today(config: Config, now: datetime) -> date:
    """The owner's current local date."""
    return now.astimezone(_zone(config)).date()


def build_report(
    store: Store,
    config: Config,
    day: date,
    now: datetime,
    *,
    days: int = 1,
    source: str | None = None,
    chart_days: int = 0,
) -> Report:
    """The report for local `day`, as of `now` if the day is not over.

    `days` > 1 adds a trend of that many days ending at `day`; `chart_days` makes the trend at
    least that long for the chart without showing it. `source` limits everything to one.
    """
    zone = _zone(config)
    start, end = maths.day_window(day, zone)
    as_of = min(end, now)
    if as_of <= start:
        raise ReportError(f"{day} has not begun yet in {zone.key}")
    if days < 1:
        raise ReportError(f"--days must be at least 1, got {days}")
    names = _names(config, source)
    scope = [source] if source is not None else None
    first_day = day - timedelta(days=max(days, chart_days, 1) - 1)
    runs = store.poll_runs(maths.day_window(first_day, zone)[0], names)

    budgets = {name: row.budget_interval_s for name in names if (row := store.source(name))}

    def blind_spots(start: datetime, as_of: datetime) -> dict[str, BlindSpot]:
        return _blind_spots(config, names, runs, start, as_of, budgets)

    policies = {s.name: s.policy for s in config.sources}
    data = store.report_day(start, as_of, scope)
    everyone = list(
        dict.fromkeys([*names, *sorted(data.tallies), *(a.source for a in data.answers)])
    )
    misses = store.last_misses(as_of, everyone)
    first_polled = store.first_polled()

    def local(moment: datetime | None) -> date | None:
        return None if moment is None else moment.astimezone(zone).date()

    streaks = {
        name: maths.streak(day, local(misses.get(name)), local(first_polled.get(name)))
        for name in everyone
    }
    last_miss = max((m for m in misses.values() if m is not None), default=None)
    watched = min((w for n in everyone if (w := first_polled.get(n)) is not None), default=None)
    per_source, total = maths.day_figures(
        data,
        names=everyone,
        policies=policies,
        default_policy=config.default_policy,
        streaks=streaks,
        total_streak=maths.streak(day, local(last_miss), local(watched)),
        blind_spots=blind_spots(start, as_of),
    )

    trend: list[TrendDay] = []
    moment = first_day
    while moment < day:
        day_start, day_end = maths.day_window(moment, zone)
        _, day_total = maths.day_figures(
            store.report_day(day_start, day_end, scope),
            names=names,
            policies=policies,
            default_policy=config.default_policy,
            blind_spots=blind_spots(day_start, day_end),
        )
        trend.append(TrendDay(moment, maths.trend_figures(day_total)))
        moment += timedelta(days=1)
    trend.append(TrendDay(day, maths.trend_figures(total)))
    return Report(
        day=day,
        timezone=zone.key,
        generated_at=now,
        as_of=as_of,
        sources=per_source,
        total=total,
        days=days,
        trend=tuple(trend),
    )


def report_lines(
    store: Store, config: Config, day: date, now: datetime, *, source: str | None = None
) -> list[ItemLine]:
    """The items of `day`'s report (created, answered or due in it, or open at its end), each
    with its latency and on-time flag: the report's CSV."""
    zone = _zone(config)
    start, end = maths.day_window(day, zone)
    as_of = min(end, now)
    if as_of <= start:
        raise ReportError(f"{day} has not begun yet in {zone.key}")
    _names(config, source)  # an unknown source is an error here too
    policies = {s.name: s.policy for s in config.sources}
    return [
        ItemLine(
            item,
            maths.item_times(
                item.created_at,
                item.due_at,
                item.answered_at,
                dismissed=item.status == Status.DISMISSED,
                as_of=as_of,
                policy=policies.get(item.source, config.default_policy),
            ),
        )
        for item in store.report_items(start, as_of, [source] if source is not None else None)
    ]


def _blind_spots(
    config: Config,
    names: Sequence[str],
    runs: Mapping[str, Sequence[PollRun]],
    start: datetime,
    as_of: datetime,
    budgets: Mapping[str, float | None],
) -> dict[str, BlindSpot]:
    """The enabled sources among `names` that were blind spots in ``[start, as_of)``: a source
    switched off in the config is nobody's blind spot, and one that the platform's rate budget
    makes poll less often than `every` is judged by that longer interval."""
    found = {}
    for source in config.sources:
        if source.enabled and source.name in names:
            every = source.every.as_timedelta()
            if budget := budgets.get(source.name):
                every = max(every, timedelta(seconds=budget))
            spot = maths.blind_spot(source.name, runs[source.name], every, start, as_of)
            if spot is not None:
                found[source.name] = spot
    return found


def _names(config: Config, source: str | None) -> Sequence[str]:
    if source is None:
        return [s.name for s in config.sources]
    try:
        return [config.source(source).name]
    except KeyError as exc:
        raise ReportError(str(exc.args[0])) from None


def _zone(config: Config) -> ZoneInfo:
    # The owner's zone as the rest of the daemon uses it (quiet hours, digests, `inbox`).
    return config.default_policy.timezone
