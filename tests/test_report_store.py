"""The daily report on SQLite and on the real PostgreSQL: DESIGN.md's exact figures from SQL,
the poll history behind blind spots, the report outbox, and the schema upgrade."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text

from monitor import schema
from monitor.config import Config, parse_config
from monitor.report import PollRun
from monitor.report_build import ReportError, build_report, report_lines
from monitor.store import PlannedItem, Store
from monitor.triage import Plan, Status
from tests.conftest import make_record

NEW_YORK = ZoneInfo("America/New_York")
D = date(2026, 3, 10)  # a Tuesday; New York is on summer time (UTC-4) since 8 March
LATER = datetime(2026, 3, 20, tzinfo=UTC)  # "now" for reports about D: D is over


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(UTC)


def config(tmp_path: Path, url: str = "sqlite://", extra: str = "") -> Config:
    return parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {demo: [Dana]}}\n"
        f"storage: {{url: '{url}'}}\n"
        "sources:\n"
        "  - {name: blog, type: demo, every: 5m}\n"
        "  - {name: forum, type: demo, every: 5m, sla: {target: 4h}}\n" + extra,
        path=tmp_path / "sameday.yaml",
        environ={},
    )


def add(
    store: Store,
    source: str,
    ext: str,
    created: str,
    due: str,
    *,
    status: Status = Status.OPEN,
    answered: str | None = None,
    polled: str = "2026-03-09 08:00",
) -> int:
    """One item, stored as a poll would store it; returns its id."""
    record = make_record(ext, ny(created), thread=f"t-{ext}", author=f"author {ext}")
    item = PlannedItem(record, status, ny(due), ny(answered) if answered else None)
    store.apply(source, [item], Plan(), cursor=None, now=ny(polled))
    (found,) = [i for i in store.inbox(LATER, everything=True) if i.external_id == ext]
    assert found.id is not None
    return found.id


@pytest.fixture
def day_store(store: Store) -> Store:
    """Items around Tuesday 10 March, each one testing a clause of DESIGN.md's definitions."""
    store.ensure_sources([("blog", "demo"), ("forum", "demo")])
    # Created Monday, answered Tuesday: answered on D, not received on D (and late).
    add(store, "blog", "a", "2026-03-09 15:00", "2026-03-09 17:00",
        status=Status.ANSWERED, answered="2026-03-10 10:00")  # fmt: skip
    # Answered within the hour: on time.
    add(store, "blog", "b", "2026-03-10 09:30", "2026-03-10 17:00",
        status=Status.ANSWERED, answered="2026-03-10 10:30")  # fmt: skip
    add(store, "blog", "c", "2026-03-10 11:00", "2026-03-10 17:00")
    store.mark_answered(_id(store, "c"), ny("2026-03-10 18:00"))  # by hand, late
    d = add(store, "blog", "d", "2026-03-10 12:00", "2026-03-10 17:00")
    store.dismiss(d, ny("2026-03-10 13:00"))  # dismissed: received, never due
    add(store, "blog", "e", "2026-03-10 16:00", "2026-03-10 17:00")  # missed, open, overdue
    add(store, "blog", "f", "2026-03-10 14:00", "2026-03-10 17:00", status=Status.BASELINE)
    add(store, "blog", "g", "2026-03-10 20:00", "2026-03-11 17:00")  # open, not overdue
    # Open at the end of D, answered or dismissed only on Wednesday: open and overdue on D.
    add(store, "blog", "h", "2026-03-09 10:00", "2026-03-09 17:00",
        status=Status.ANSWERED, answered="2026-03-11 09:00")  # fmt: skip
    i = add(store, "blog", "i", "2026-03-09 11:00", "2026-03-09 17:00")
    store.dismiss(i, ny("2026-03-11 10:00"))
    # The forum (first polled on Sunday) answered within its four hours.
    add(store, "forum", "j", "2026-03-10 10:00", "2026-03-10 14:00",
        status=Status.ANSWERED, answered="2026-03-10 13:00",
        polled="2026-03-08 08:00")  # fmt: skip
    return store


def _id(store: Store, ext: str) -> int:
    (found,) = [i.id for i in store.inbox(LATER, everything=True) if i.external_id == ext]
    assert found is not None
    return found


def test_the_days_figures_follow_the_design_exactly(day_store: Store, tmp_path: Path) -> None:
    report = build_report(day_store, config(tmp_path), D, LATER)
    assert report.complete and report.as_of == ny("2026-03-11 00:00")
    total = report.total
    assert (total.received, total.answered) == (6, 4)  # b c d e g j; a b c j
    assert (total.due, total.answered_on_time, total.on_time_rate) == (4, 2, 0.5)  # b c e j
    assert total.median_latency_s == 5 * 3600  # 1h 3h 7h 19h
    assert total.p90_latency_s == pytest.approx(15.4 * 3600)
    assert total.business_median_latency_s == 3 * 3600  # 1h 3h 3h 6h of 09:00-17:00
    assert (total.open, total.overdue) == (4, 3)  # e g h i; e h i
    assert total.oldest_open is not None and total.oldest_open.external_id == "h"
    assert total.open_by_age == (1, 1, 2, 0)  # g (4h); e (8h); h, i (~1.5d)

    blog, forum = report.sources["blog"], report.sources["forum"]
    assert (blog.received, blog.answered, blog.due, blog.answered_on_time) == (5, 3, 3, 1)
    assert (blog.open, blog.overdue, blog.streak) == (4, 3, 0)  # e was missed on D
    assert (forum.received, forum.answered, forum.due, forum.on_time_rate) == (1, 1, 1, 1.0)
    assert forum.streak == 3  # first polled Sunday the 8th, never missed
    assert total.streak == 0


def test_a_day_in_progress_counts_deadlines_passed_so_far(day_store: Store, tmp_path: Path) -> None:
    report = build_report(day_store, config(tmp_path), D, ny("2026-03-10 15:00"))
    assert not report.complete
    total = report.total
    assert (total.received, total.answered) == (4, 3)  # b c d j; a b j
    assert (total.due, total.answered_on_time) == (1, 1)  # only j (14:00) is due by 15:00
    # At 15:00: c (answered at 18:00), h and i are open; e and g do not exist yet.
    assert (total.open, total.overdue) == (3, 2)


def test_days_without_items_and_the_dst_day(store: Store, tmp_path: Path) -> None:
    store.ensure_sources([("blog", "demo")])
    # Sunday 8 March lasts 23 hours in New York: 00:30 and 23:30 are on it, 00:30 the next
    # day is not.
    add(store, "blog", "early", "2026-03-08 00:30", "2026-03-09 17:00")
    add(store, "blog", "late", "2026-03-08 23:30", "2026-03-09 17:00")
    add(store, "blog", "next", "2026-03-09 00:30", "2026-03-09 17:00")
    report = build_report(store, config(tmp_path), date(2026, 3, 8), LATER)
    assert report.total.received == 2
    # The day before: nothing at all, and every undefined figure is None.
    empty = build_report(store, config(tmp_path), date(2026, 3, 7), LATER).total
    assert empty.quiet and empty.open == 0
    assert (empty.on_time_rate, empty.median_latency_s, empty.oldest_open) == (None, None, None)
    # 1 November lasts 25 hours: both 01:30s are on it.
    add(store, "blog", "first-1:30", "2026-11-01 01:30", "2026-11-02 17:00")
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second one
    record = make_record("second-1:30", second, thread="t2")
    store.apply("blog", [PlannedItem(record, Status.OPEN, second)], Plan(), cursor=None, now=second)
    december = datetime(2026, 12, 1, tzinfo=UTC)
    assert build_report(store, config(tmp_path), date(2026, 11, 1), december).total.received == 2


def test_one_source_and_the_trend(day_store: Store, tmp_path: Path) -> None:
    report = build_report(day_store, config(tmp_path), D, LATER, days=3, source="forum")
    assert list(report.sources) == ["forum"]
    assert report.total.received == 1 and report.total.answered == 1
    assert [t.day for t in report.shown_trend] == [D - timedelta(days=2), D - timedelta(days=1), D]
    whole = build_report(day_store, config(tmp_path), D, LATER, days=2)
    monday = whole.shown_trend[0].figures
    # a, h, i arrived; a and h were due and answered late; i was dismissed (so never due).
    assert (monday.received, monday.due, monday.answered_on_time) == (3, 2, 0)
    assert (monday.open, monday.overdue) == (3, 3)  # a, h, i at Monday's end
    assert whole.shown_trend[1].figures.received == whole.total.received
    longer = build_report(day_store, config(tmp_path), D, LATER, chart_days=7)
    assert len(longer.trend) == 7 and longer.shown_trend == ()
    with pytest.raises(ReportError, match="no source named 'nope'"):
        build_report(day_store, config(tmp_path), D, LATER, source="nope")
    with pytest.raises(ReportError, match="has not begun"):
        build_report(day_store, config(tmp_path), date(2026, 4, 1), LATER)


def test_csv_lines_are_the_items_the_day_is_about(day_store: Store, tmp_path: Path) -> None:
    lines = report_lines(day_store, config(tmp_path), D, LATER)
    by_id = {line.item.external_id: line for line in lines}
    assert set(by_id) == set("abcdeghij")  # not f (baseline)
    assert by_id["a"].times.latency_s == 19 * 3600 and by_id["a"].times.on_time is False
    assert by_id["b"].times.on_time is True
    assert by_id["e"].times.on_time is False and by_id["e"].times.latency_s is None
    assert by_id["g"].times.on_time is None  # due Wednesday
    assert by_id["d"].times.on_time is None  # dismissed
    only = report_lines(day_store, config(tmp_path), D, LATER, source="forum")
    assert [line.item.external_id for line in only] == ["j"]


def test_poll_history_is_compacted_into_runs(store: Store) -> None:
    store.ensure_sources([("blog", "demo")])
    every = timedelta(minutes=5)
    start = ny("2026-03-10 09:00")
    for minute in range(0, 60, 5):  # an hour of regular polls: one run
        store.touch("blog", start + timedelta(minutes=minute), every=every)
    store.record_failure("blog", "temporary: HTTP 503", start + timedelta(minutes=60), every=every)
    store.record_failure("blog", "temporary: HTTP 502", start + timedelta(minutes=70), every=every)
    store.apply("blog", [], Plan(), cursor=None, now=start + timedelta(minutes=75), every=every)
    # Twenty minutes without a poll: more than 3x the interval, a new run.
    store.touch("blog", start + timedelta(minutes=95), every=every)
    store.note_disabled("blog", start + timedelta(hours=3))
    store.note_disabled("blog", start + timedelta(hours=5))  # a second start: still off
    runs = store.poll_runs(start - timedelta(days=1), ["blog"])["blog"]
    assert sorted(runs, key=lambda r: r.first_at) == [
        PollRun("ok", start, start + timedelta(minutes=55), polls=12),
        PollRun("failed", start + timedelta(minutes=60), start + timedelta(minutes=70), polls=2,
                last_error="temporary: HTTP 502"),
        PollRun("ok", start + timedelta(minutes=75), start + timedelta(minutes=75)),
        PollRun("ok", start + timedelta(minutes=95), start + timedelta(minutes=95)),
        PollRun("disabled", start + timedelta(hours=3), start + timedelta(hours=5), polls=2),
    ]  # fmt: skip
    # Asked from later on: the last run before, and those after.
    later = store.poll_runs(start + timedelta(hours=6), ["blog"])["blog"]
    assert [r.outcome for r in later] == ["disabled"]
    # Without the interval every poll is a run of its own.
    store.touch("blog", start + timedelta(hours=6))
    store.touch("blog", start + timedelta(hours=6, minutes=1))
    assert len(store.poll_runs(start + timedelta(hours=6), ["blog"])["blog"]) == 3


def test_blind_spots_come_from_the_poll_history(store: Store, tmp_path: Path) -> None:
    store.ensure_sources([("blog", "demo"), ("forum", "demo")])
    every = timedelta(minutes=5)
    moment = ny("2026-03-09 23:00")
    while moment < ny("2026-03-11 01:00"):
        if not ny("2026-03-10 12:00") <= moment < ny("2026-03-10 13:00"):  # an hour down
            store.touch("blog", moment, every=every)
        if moment == ny("2026-03-10 15:00"):
            store.record_failure("forum", "credentials: 401", moment, every=every)
        else:
            store.touch("forum", moment, every=every)
        moment += every
    report = build_report(store, config(tmp_path), D, LATER)
    spots = {b.source: b for b in report.total.blind_spots}
    assert spots["blog"].longest_gap_s == 65 * 60 and not spots["blog"].failed
    assert spots["forum"].failed and spots["forum"].last_error == "credentials: 401"
    assert report.sources["blog"].blind_spots == (spots["blog"],)
    # The day before (polled from 23:00 only, created that evening) was watched as it began.
    assert (
        build_report(store, config(tmp_path), D - timedelta(days=1), LATER).total.blind_spots == ()
    )
    # A source switched off in the config is nobody's blind spot.
    quiet = build_report(
        store,
        parse_config(
            "owner: {timezone: America/New_York}\nsources:\n"
            "  - {name: blog, type: demo}\n  - {name: forum, type: demo, enabled: false}\n",
            path=tmp_path / "s.yaml",
            environ={},
        ),
        D,
        LATER,
    )
    assert [b.source for b in quiet.total.blind_spots] == ["blog"]


def test_the_report_outbox_is_one_row_per_day_and_channel(store: Store) -> None:
    now = ny("2026-03-10 18:00")
    store.plan_report(D, ["chat", "mail"], now)
    store.plan_report(D, ["chat", "mail"], now)  # again: nothing new
    assert store.report_deliveries(D) == {"chat": "pending", "mail": "pending"}
    store.mark_report_sent(D, "chat", now)
    store.mark_report_failed(D, "mail", "HTTP 500")
    store.plan_report(D, ["chat", "mail"], now)
    assert store.report_deliveries(D) == {"chat": "sent", "mail": "pending"}
    store.mark_report_sent(D, "chat", now + timedelta(hours=1))  # sent is final
    assert store.give_up_reports(before=D + timedelta(days=1)) == 1
    assert store.report_deliveries(D) == {"chat": "sent", "mail": "given_up"}
    assert store.report_deliveries(D + timedelta(days=1)) == {}


def test_opening_a_store_from_before_migrations_adds_what_it_lacks_and_stamps_it(
    store: Store,
) -> None:
    store.ensure_sources([("blog", "demo")])
    add(store, "blog", "x", "2026-03-10 09:00", "2026-03-10 17:00")
    added = {"ix_items_due", "ix_items_source_due", "ix_items_status_answered",
             "ix_items_status_dismissed"}  # fmt: skip
    with store.engine.begin() as conn:  # the store as the release before the report made it
        for name in sorted(added):
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("ALTER TABLE items DROP COLUMN dismissed_at"))
        conn.execute(text("ALTER TABLE sources DROP COLUMN budget_interval_s"))
        conn.execute(text("DROP TABLE reports_sent"))
        conn.execute(text("DROP TABLE leases"))  # came with migrations
        conn.execute(text("DROP TABLE alembic_version"))  # made before migrations existed
    assert "dismissed_at" not in {c["name"] for c in inspect(store.engine).get_columns("items")}
    again = Store(store.url)
    try:
        assert again.migration.legacy and again.migration.before is None
        assert again.migration.after == schema.head() == schema.current(again.engine)
        found = inspect(again.engine)
        assert "dismissed_at" in {c["name"] for c in found.get_columns("items")}
        assert "budget_interval_s" in {c["name"] for c in found.get_columns("sources")}
        assert "reports_sent" in found.get_table_names()
        assert added <= {i["name"] for i in found.get_indexes("items")}
        item = again.dismiss(_id(again, "x"), ny("2026-03-10 10:00"))
        assert item.dismissed_at == ny("2026-03-10 10:00")
    finally:
        again.close()
