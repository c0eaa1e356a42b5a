"""The poll cycle: errors are values per source, 304 writes nothing, first-poll backfill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from connectors.base import (
    AuthError,
    ConnectorContext,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from monitor.config import Config, parse_config
from monitor.poll import build_connector, poll_all, poll_source
from monitor.store import Store
from tests.conftest import Clock, make_record

CONFIG = """
owner: {name: Dana, timezone: America/New_York, identities: {demo: [Dana]}}
sources:
  - {name: blog, type: demo, platform: blog, seed: 7, per_hour: 4, backfill: 6h}
  - {name: forum, type: demo, platform: forum, seed: 3, per_hour: 4, sla: {target: 4h}}
"""


class Scripted:
    """A connector that returns or raises whatever the test queued; real code, not a mock."""

    type: ClassVar[str] = "scripted"
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings

    def __init__(self, *outcomes: FetchResult | Exception) -> None:
        self.outcomes = list(outcomes)
        self.cursors: list[dict[str, Any] | None] = []

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        self.cursors.append(cursor)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def config(tmp_path) -> Config:
    return parse_config(
        CONFIG + f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n", path="test.yaml", environ={}
    )


def test_a_failing_source_never_stops_the_others(
    config: Config, sqlite_store: Store, clock: Clock
) -> None:
    forum = build_connector(config.source("forum"), clock)
    broken = Scripted(TransientError("HTTP 503 from the blog", retry_after=120))
    outcomes = poll_all(
        config, sqlite_store, clock=clock, connectors={"blog": broken, "forum": forum}
    )

    blog, forum_outcome = outcomes
    assert not blog.ok
    assert blog.error == "temporary: HTTP 503 from the blog"
    assert blog.retry_after == 120
    assert forum_outcome.ok and forum_outcome.new_items > 0

    health = {h.row.name: h.row for h in sqlite_store.health(clock())}
    assert health["blog"].consecutive_failures == 1
    assert health["blog"].last_success_at is None
    assert health["forum"].last_success_at == clock()


def test_a_crashing_connector_is_an_error_value_too(
    config: Config, sqlite_store: Store, clock: Clock
) -> None:
    sqlite_store.ensure_sources([("blog", "demo")])
    outcome = poll_source(
        config.source("blog"), Scripted(KeyError("entries")), sqlite_store, clock=clock
    )
    assert outcome.error == "internal error (KeyError): 'entries'"
    outcome = poll_source(
        config.source("blog"), Scripted(AuthError("token expired")), sqlite_store, clock=clock
    )
    assert outcome.error == "credentials: token expired"
    assert sqlite_store.source("blog").consecutive_failures == 2


def test_not_modified_writes_no_items_and_keeps_the_cursor(
    config: Config, sqlite_store: Store, clock: Clock
) -> None:
    sqlite_store.ensure_sources([("blog", "demo")])
    first = FetchResult([make_record("c1", clock() - timedelta(minutes=5))], {"etag": '"v1"'})
    unchanged = FetchResult([], {"etag": '"v1"'}, not_modified=True)
    connector = Scripted(first, unchanged)
    poll_source(config.source("blog"), connector, sqlite_store, clock=clock)
    clock.advance(minutes=5)
    outcome = poll_source(config.source("blog"), connector, sqlite_store, clock=clock)

    assert outcome.not_modified and outcome.new_items == 0
    assert connector.cursors == [None, {"etag": '"v1"'}]
    assert sqlite_store.count_items() == 1
    row = sqlite_store.source("blog")
    assert row.cursor == {"etag": '"v1"'}
    assert row.last_success_at == clock()


def test_first_poll_backfill_and_later_polls(
    config: Config, sqlite_store: Store, clock: Clock
) -> None:
    sqlite_store.ensure_sources([("blog", "demo")])
    old = make_record("old", clock() - timedelta(hours=7))
    recent = make_record("recent", clock() - timedelta(hours=1), thread="p2")
    late_old = make_record("late-old", clock() - timedelta(hours=30), thread="p3")
    connector = Scripted(FetchResult([old, recent], None), FetchResult([late_old], None))

    first = poll_source(config.source("blog"), connector, sqlite_store, clock=clock)
    assert (first.new_items, first.baseline) == (1, 1)
    clock.advance(minutes=5)
    # After the first poll nothing is baseline any more, however old: it was missed, not history.
    second = poll_source(config.source("blog"), connector, sqlite_store, clock=clock)
    assert (second.new_items, second.baseline) == (1, 0)
    assert {i.external_id for i in sqlite_store.inbox(clock())} == {"recent", "late-old"}


def test_new_items_get_their_sources_deadline(
    config: Config, sqlite_store: Store, clock: Clock
) -> None:
    # clock: Monday 2026-03-09 14:00 UTC = 10:00 in New York (EDT since the day before)
    sqlite_store.ensure_sources([("blog", "demo"), ("forum", "demo")])
    record = make_record("c1", clock() - timedelta(minutes=1))
    poll_source(
        config.source("blog"), Scripted(FetchResult([record], None)), sqlite_store, clock=clock
    )
    poll_source(
        config.source("forum"), Scripted(FetchResult([record], None)), sqlite_store, clock=clock
    )
    due = {i.source: i.due_at.isoformat() for i in sqlite_store.inbox(clock())}
    assert due == {
        "blog": "2026-03-09T21:00:00+00:00",  # same day, 17:00 EDT
        "forum": "2026-03-09T17:59:00+00:00",  # 4h after 13:59 UTC
    }


def test_demo_connector_replays_the_same_stream_whatever_the_polling(config: Config) -> None:
    """Polling often or rarely sees the same records: a restart loses and repeats nothing."""
    source = config.source("forum")
    start = datetime(2026, 3, 9, 14, tzinfo=UTC)
    end = start + timedelta(hours=12)

    def collect(step: timedelta) -> list[Record]:
        clock = Clock(start)
        connector = build_connector(source, clock)
        cursor = None
        seen: list[Record] = []
        while clock.now < end:
            clock.advance(seconds=step.total_seconds())
            result = connector.fetch(cursor)
            cursor = result.cursor
            seen += result.records
        return seen

    often, rarely = collect(timedelta(minutes=5)), collect(timedelta(hours=3))
    # The first fetches look back from different moments; from the later one on, both see all.
    common = start + timedelta(hours=3)
    both = [sorted(r.external_id for r in run if r.created_at > common) for run in (often, rarely)]
    assert both[0] != []
    assert both[0] == both[1]
    assert len({r.external_id for r in often}) == len(often)
    assert any(r.is_owner and r.parent_id for r in often)  # the forum owner quotes what they answer


def test_connector_context_matches_owner_identities_loosely() -> None:
    context = ConnectorContext(source="s", owner_identities=("Dana", " admin "))
    assert context.is_owner("dana") and context.is_owner("Admin")
    assert (
        not context.is_owner("Danielle") and not context.is_owner("") and not context.is_owner(None)
    )


def test_a_rate_budget_longer_than_the_interval_is_kept_shown_and_judged_by(
    config: Config, clock: Clock
) -> None:
    """A connector whose platform allows fewer polls than `every` says so (wait_at_least): the
    source's health keeps that interval, status shows why, and blind spots are judged by it."""
    from monitor.views import is_blind_spot

    store = Store(config.storage_url)
    store.ensure_sources([("blog", "demo")])
    blog = config.source("blog")  # every: 5m (the default)
    budgeted = Scripted(
        FetchResult([make_record("c1", clock())], {"since": 1}, wait_at_least=1800),
        FetchResult([], {"since": 1}, wait_at_least=60),  # within `every`: nothing to say
    )
    outcome = poll_source(blog, budgeted, store, clock=clock)
    assert outcome.ok and outcome.wait_at_least == 1800
    row = store.source("blog")
    assert row is not None and row.budget_interval_s == 1800
    assert row.last_warning == (
        "the platform's rate budget allows a poll every 30m, not every 5m as configured: "
        "polling every 30m"
    )
    # 40 minutes without a poll: past 3 x 5m, but not past 3 x the budget's 30m.
    later = clock() + timedelta(minutes=40)
    assert not is_blind_spot(row, timedelta(minutes=5), later)
    assert is_blind_spot(row, timedelta(minutes=5), clock() + timedelta(minutes=91))

    clock.advance(minutes=30)
    assert poll_source(blog, budgeted, store, clock=clock).wait_at_least == 60
    row = store.source("blog")
    assert row is not None and row.budget_interval_s is None and row.last_warning is None
    assert is_blind_spot(row, timedelta(minutes=5), clock() + timedelta(minutes=16))
    store.close()
