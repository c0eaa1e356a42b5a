"""Alert stages and alert text: pure, with literal times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor import sla
from monitor.alerts import (
    AlertRules,
    AlertView,
    Level,
    Stage,
    alert_key,
    current_stage,
    render_alert,
    render_digest,
    safe,
)

NY = ZoneInfo("America/New_York")
POLICY = sla.Policy(NY, time(9), time(17), frozenset(range(5)), frozenset(), sla.SAME_DAY)
RULES = AlertRules(POLICY, remind_before=timedelta(hours=2), repeat_overdue=timedelta(hours=4))


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in New York in March 2026 (EDT from the 8th), returned in UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY).astimezone(UTC)


DUE = ny(9, 17)  # Monday 17:00
SEEN = ny(9, 10)  # first seen Monday 10:00


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(ny(9, 14, 59), None, id="before-the-reminder"),
        pytest.param(ny(9, 15), Stage(Level.REMINDER, 0, ny(9, 15)), id="reminder-2h-before"),
        pytest.param(ny(9, 16, 59), Stage(Level.REMINDER, 0, ny(9, 15)), id="still-reminder"),
        pytest.param(ny(9, 17), Stage(Level.OVERDUE, 0, DUE), id="overdue-at-the-deadline"),
        pytest.param(ny(9, 23), Stage(Level.OVERDUE, 0, DUE), id="no-repeat-at-night"),
        pytest.param(ny(10, 12, 59), Stage(Level.OVERDUE, 0, DUE), id="3h59-business-time"),
        pytest.param(
            ny(10, 13), Stage(Level.OVERDUE, 1, ny(10, 13)), id="repeat-after-4-biz-hours"
        ),
        pytest.param(ny(10, 17), Stage(Level.OVERDUE, 2, ny(10, 17)), id="second-repeat"),
        pytest.param(  # Tue..Fri are 32 business hours: 8 repeats, the last on Friday 17:00
            ny(14, 12), Stage(Level.OVERDUE, 8, ny(13, 17)), id="weekend-adds-nothing"
        ),
        pytest.param(ny(16, 13), Stage(Level.OVERDUE, 9, ny(16, 13)), id="monday-repeat"),
    ],
)
def test_current_stage(now: datetime, expected: Stage | None) -> None:
    assert current_stage(DUE, SEEN, now, RULES) == expected


def test_a_stage_that_began_before_the_item_was_seen_is_covered_by_new() -> None:
    seen_late = ny(9, 18)  # first seen after its deadline (a backfilled comment)
    assert current_stage(DUE, seen_late, ny(9, 18, 5), RULES) is None
    assert current_stage(DUE, seen_late, ny(10, 13), RULES) == Stage(Level.OVERDUE, 1, ny(10, 13))


def test_levels_rank_and_keys() -> None:
    assert Level.NEW.rank < Level.REMINDER.rank < Level.OVERDUE.rank
    assert alert_key(12, Level.OVERDUE, 3, "apprise-0") == "12:overdue:3:apprise-0"


HOSTILE = AlertView(
    item_id=42,
    level=Level.OVERDUE,
    platform="feed",
    source="shop-blog",
    author="@everyone <@123456> Mallory",
    text="Click [here](http://evil.example) <!channel> \x1b[2J now\nplease",
    url="https://blog.example.com/post/#comment-9",
    created_at=ny(9, 10),
    due_at=DUE,
    suggestion="Hi Mallory, thanks for writing!",
)


def test_an_alert_says_who_what_where_when_and_what_to_do() -> None:
    message = render_alert(HOSTILE, ny(9, 18, 30), NY)
    assert message.title == "Overdue: feed comment, 1h 30m late"
    body = message.body
    assert "on shop-blog, 8h 30m ago" in body
    assert "https://blog.example.com/post/#comment-9" in body
    assert "Deadline Mon 09 Mar 17:00 (America/New_York): overdue by 1h 30m" in body
    assert "Suggested reply:\nHi Mallory, thanks for writing!" in body
    assert body.endswith("Answered it? sameday done 42")


def test_untrusted_text_pings_nobody_and_steers_no_terminal() -> None:
    body = render_alert(HOSTILE, ny(9, 18, 30), NY).body
    for ping in ("@everyone", "<@123456>", "<!channel>"):
        assert ping not in body
    assert "@\u200beveryone" in body and "<@\u200b123456>" in body
    assert "\x1b" not in body
    assert "now please" in body  # the comment stays on one quoted line


def test_reminder_and_new_headlines() -> None:
    new = render_alert(
        AlertView(1, Level.NEW, "demo", "blog", "Ann", "Hi", None, ny(9, 10), DUE), ny(9, 10), NY
    )
    assert new.title == "New demo comment to answer"
    reminder = render_alert(
        AlertView(1, Level.REMINDER, "demo", "blog", "Ann", "Hi", None, ny(9, 10), DUE),
        ny(9, 15),
        NY,
    )
    assert reminder.title == "Reminder: demo comment due in 2h"


def test_a_digest_lists_the_most_urgent_first() -> None:
    calm = AlertView(1, Level.NEW, "feed", "blog", "Ann", "Hi there", None, ny(9, 10), DUE)
    late = AlertView(2, Level.OVERDUE, "feed", "forum", "Ben", "Still waiting", None, ny(9, 9),
                     ny(9, 12))  # fmt: skip
    message = render_digest([calm, late], ny(9, 13), NY)
    assert message.title == "2 comments waiting for an answer, 1 overdue"
    first, second = message.body.splitlines()[:2]
    assert first.startswith("#2 [overdue] Ben on forum")
    assert second.startswith("#1 [new] Ann on blog")


def test_safe_breaks_every_mention_sigil() -> None:
    assert safe("@here <!here> hi") == "@\u200bhere <\u200b!here> hi"
