"""Which alert an item is due for, and what an alert says. Pure: no I/O, `now` is given.

Levels, in rising order: ``new`` when an item arrives; ``reminder`` at ``remind_before`` ahead of
its deadline; ``overdue`` at the deadline, then again every ``repeat_overdue`` counted in business
hours (so no repeat lands at night or on a weekend) while it stays open.

Only the *current* stage of an item is ever planned: a daemon that was down for a day sends one
overdue alert when it comes back, not every one it missed. A stage whose moment came before the
item was first seen is covered by the ``new`` alert (an item that arrives already overdue says
so in its ``new`` alert instead of sending two at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from monitor import sla
from monitor.views import deadline_phrase, local, printable, span, trim


class Level(StrEnum):
    NEW = "new"
    REMINDER = "reminder"
    OVERDUE = "overdue"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.NEW: 0, Level.REMINDER: 1, Level.OVERDUE: 2}


@dataclass(frozen=True, slots=True)
class AlertRules:
    """One source's alerting policy."""

    policy: sla.Policy
    remind_before: timedelta = timedelta(hours=2)
    repeat_overdue: timedelta = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Stage:
    level: Level
    seq: int  # which overdue repeat; 0 otherwise
    since: datetime  # the moment this stage began


def current_stage(
    due_at: datetime, first_seen: datetime, now: datetime, rules: AlertRules
) -> Stage | None:
    """The reminder or overdue stage an open item is in at `now`, if any.

    >>> from datetime import UTC, time
    >>> from zoneinfo import ZoneInfo
    >>> p = sla.Policy(ZoneInfo("UTC"), time(9), time(17), frozenset(range(5)), frozenset(),
    ...                sla.SAME_DAY)
    >>> due = datetime(2026, 3, 9, 17, tzinfo=UTC)
    >>> seen = datetime(2026, 3, 9, 10, tzinfo=UTC)
    >>> current_stage(due, seen, datetime(2026, 3, 9, 15, 30, tzinfo=UTC), AlertRules(p)).level
    <Level.REMINDER: 'reminder'>
    >>> current_stage(due, seen, datetime(2026, 3, 10, 13, tzinfo=UTC), AlertRules(p)).seq
    1
    """
    if now >= due_at:
        stage = _overdue_stage(due_at, now, rules)
    elif now >= due_at - rules.remind_before:
        stage = Stage(Level.REMINDER, 0, due_at - rules.remind_before)
    else:
        return None
    return stage if stage.since > first_seen else None


def _overdue_stage(due_at: datetime, now: datetime, rules: AlertRules) -> Stage:
    step = rules.repeat_overdue.total_seconds()
    if step <= 0:
        return Stage(Level.OVERDUE, 0, due_at)
    elapsed = sla.business_seconds_between(due_at, now, rules.policy)
    repeat = int(elapsed // step)
    since = due_at if repeat == 0 else sla.add_business_time(due_at, repeat * step, rules.policy)
    return Stage(Level.OVERDUE, repeat, since)


def alert_key(item_id: int, level: Level, seq: int, channel: str) -> str:
    """The idempotency key of one alert: the same alert is only ever written once."""
    return f"{item_id}:{level}:{seq}:{channel}"


# -- what an alert says ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    """What rendering needs to know about one alert and its item."""

    item_id: int
    level: Level
    platform: str  # the source's connector type
    source: str
    author: str
    text: str
    url: str | None
    created_at: datetime
    due_at: datetime
    suggestion: str | None = None
    hint: str | None = None  # for the owner, e.g. "Looks like spam: dismiss it."
    needs_reply: bool = True


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message where the channel takes files (the daily report's chart)."""

    name: str
    content: bytes
    mimetype: str


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str  # plain text; channels escape it for their own markup
    attachments: tuple[Attachment, ...] = ()  # dropped by channels that take no files


_HEADLINE = {
    Level.NEW: "New {platform} comment to answer",
    Level.REMINDER: "Reminder: {platform} comment due {left}",
    Level.OVERDUE: "Overdue: {platform} comment, {late} late",
}


def render_alert(alert: AlertView, now: datetime, zone: ZoneInfo, *, width: int = 280) -> Message:
    """One alert as a chat message: who, what, where, how long it has waited, what to do."""
    title = _HEADLINE[alert.level].format(
        platform=alert.platform,
        left=deadline_phrase(alert.due_at, now).removeprefix("due "),
        late=span(now - alert.due_at),
    )
    lines = [
        f"{safe(trim(alert.author, 60))} on {alert.source}, {span(now - alert.created_at)} ago:",
        f"“{safe(trim(alert.text, width))}”",
    ]
    if alert.url:
        lines.append(safe(printable(alert.url)))
    lines.append(
        f"Deadline {local(alert.due_at, zone)} ({zone.key}): {deadline_phrase(alert.due_at, now)}"
    )
    if alert.suggestion:
        lines += ["", "Suggested reply:", safe(alert.suggestion.strip())]
    if alert.hint:
        lines += ["", safe(alert.hint)]
    if alert.needs_reply:
        lines += ["", f"Answered it? sameday done {alert.item_id}"]
    else:
        lines += ["", f"No reply needed? sameday dismiss {alert.item_id}"]
    return Message(title=title, body="\n".join(lines))


def render_digest(alerts: Sequence[AlertView], now: datetime, zone: ZoneInfo) -> Message:
    """Several alerts in one message, the most urgent first."""
    ordered = sorted(alerts, key=lambda a: (-a.level.rank, a.due_at))
    overdue = sum(1 for a in alerts if a.due_at <= now)
    noun = "comment" if len(alerts) == 1 else "comments"  # a digest channel may carry just one
    title = f"{len(alerts)} {noun} waiting for an answer" + (
        f", {overdue} overdue" if overdue else ""
    )
    lines = []
    for alert in ordered:
        lines.append(
            f"#{alert.item_id} [{alert.level}] {safe(trim(alert.author, 30))} on {alert.source}: "
            f"“{safe(trim(alert.text, 100))}” ({deadline_phrase(alert.due_at, now)})"
        )
        if alert.url:
            lines.append(f"    {safe(printable(alert.url))}")
    lines += ["", f"Times in {zone.key}. Answered one? sameday done ID"]
    return Message(title=title, body="\n".join(lines))


# Mentions that chat services turn into pings (@everyone, @here, <@123>, <!channel>): a zero-width
# space after the sigil keeps them readable and inert. Markup is escaped by each channel.
_ZWSP = "\u200b"


def safe(text: str) -> str:
    """Untrusted text with every mention made inert."""
    return text.replace("@", "@" + _ZWSP).replace("<!", "<" + _ZWSP + "!")
