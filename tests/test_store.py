"""The store on SQLite and on the real PostgreSQL: exactly once, one transaction, the inbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.store import PlannedItem, Store, UnknownItem
from monitor.triage import Known, KnownItem, Plan, Status, plan
from tests.conftest import make_record

T0 = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def planned(result: Plan, due: timedelta = timedelta(hours=3)) -> list[PlannedItem]:
    return [
        PlannedItem(n.record, n.status, n.record.created_at + due, n.answered_at, n.answered_by)
        for n in result.new_items
    ]


NOW = at(60)


def ingest(store: Store, records, *, cursor=None, now=NOW, baseline_before=None):
    store.ensure_sources([("blog", "feed")])
    result = plan(records, store.known("blog", records), baseline_before=baseline_before)
    return store.apply("blog", planned(result), result, cursor=cursor, now=now)


def test_items_replies_and_cursor_are_stored_together(store: Store) -> None:
    records = [
        make_record("c1", at(0)),
        make_record("c2", at(5), thread="post-2"),
        make_record("o1", at(30), owner=True, author="Dana"),
    ]
    applied = ingest(store, records, cursor={"etag": '"abc"'})
    assert (applied.new_items, applied.new_replies, applied.answered) == (2, 1, 1)

    row = store.source("blog")
    assert row is not None
    assert row.cursor == {"etag": '"abc"'}
    assert row.first_polled_at == at(60)
    assert row.last_success_at == at(60)

    everything = {i.external_id: i for i in store.inbox(at(60), everything=True)}
    assert set(everything) == {"c1", "c2"}
    assert everything["c1"].status == "answered"
    assert everything["c1"].answered_at == at(30)
    assert everything["c1"].answered_via == "detected"
    assert everything["c1"].answered_by == "o1"
    assert everything["c2"].status == "open"
    assert everything["c2"].due_at == at(5) + timedelta(hours=3)
    for item in everything.values():  # aware UTC on every database
        assert item.created_at.tzinfo is not None
        assert item.created_at.utcoffset() == timedelta(0)


def test_reingesting_the_same_records_changes_nothing(store: Store) -> None:
    records = [make_record(f"c{i}", at(i)) for i in range(50)]
    ingest(store, records)
    before = [(i.id, i.status, i.fetched_at) for i in store.inbox(at(99), everything=True)]

    again = ingest(store, records, now=at(120))
    assert (again.new_items, again.new_replies, again.answered) == (0, 0, 0)
    after = [(i.id, i.status, i.fetched_at) for i in store.inbox(at(99), everything=True)]
    assert after == before
    assert store.count_items() == 50


def test_insert_ignores_rows_another_writer_stored_meanwhile(store: Store) -> None:
    # Known was computed before a concurrent poll stored c1: the insert must not fail or double.
    records = [make_record("c1", at(0))]
    store.ensure_sources([("blog", "feed")])
    stale = plan(records, Known())
    store.apply("blog", planned(stale), stale, cursor=None, now=at(1))
    applied = store.apply("blog", planned(stale), stale, cursor=None, now=at(2))
    assert applied.new_items == 0
    assert store.count_items() == 1


def test_owner_reply_in_a_later_poll_answers_a_stored_item(store: Store) -> None:
    ingest(store, [make_record("c1", at(0)), make_record("c2", at(3), thread="post-2")])
    reply = [make_record("o1", at(90), owner=True, author="Dana")]
    known = store.known("blog", reply)
    assert known.open_items == (KnownItem("c1", "post-1", at(0)),)

    applied = ingest(store, reply, now=at(100))
    assert applied.answered == 1
    item = next(i for i in store.inbox(at(100), everything=True) if i.external_id == "c1")
    assert (item.status, item.answered_at, item.answered_by) == ("answered", at(90), "o1")
    assert [i.external_id for i in store.inbox(at(100))] == ["c2"]


def test_late_item_is_answered_by_a_stored_owner_reply(store: Store) -> None:
    ingest(store, [make_record("o1", at(30), owner=True)])
    applied = ingest(store, [make_record("c1", at(0))], now=at(100))
    assert applied.answered == 1
    assert store.inbox(at(100)) == []


def test_detection_never_overrides_the_owners_own_decision(store: Store) -> None:
    ingest(store, [make_record("c1", at(0))])
    item_id = store.inbox(at(1))[0].id
    store.dismiss(item_id)
    ingest(store, [make_record("o1", at(30), owner=True)], now=at(40))
    assert store.item(item_id).status == "dismissed"


def test_baseline_items_stay_out_of_the_inbox(store: Store) -> None:
    ingest(store, [make_record("old", at(0)), make_record("new", at(50))], baseline_before=at(10))
    assert [i.external_id for i in store.inbox(at(60))] == ["new"]
    statuses = {i.external_id: i.status for i in store.inbox(at(60), everything=True)}
    assert statuses == {"old": "baseline", "new": "open"}


def test_a_failed_write_moves_neither_items_nor_cursor(store: Store) -> None:
    ingest(store, [make_record("c1", at(0))], cursor={"page": 1})
    records = [make_record("c2", at(1)), make_record("c3", at(2))]
    result = plan(records, Known())
    broken = planned(result)
    # A naive due_at is refused when bound: the whole transaction must roll back.
    broken[1] = PlannedItem(broken[1].record, broken[1].status, datetime(2026, 3, 9, 18))
    with pytest.raises(Exception, match="naive"):
        store.apply("blog", broken, result, cursor={"page": 2}, now=at(5))
    assert store.count_items() == 1
    assert store.source("blog").cursor == {"page": 1}


def test_failures_are_counted_and_cleared_by_a_success(store: Store) -> None:
    ingest(store, [make_record("c1", at(0))], cursor={"page": 1})
    store.record_failure("blog", "temporary: HTTP 503", at(70))
    store.record_failure("blog", "temporary: HTTP 503", at(75))
    row = store.source("blog")
    assert (row.consecutive_failures, row.last_error, row.last_error_at) == (
        2,
        "temporary: HTTP 503",
        at(75),
    )
    assert row.cursor == {"page": 1}
    assert row.last_success_at == at(60)
    ingest(store, [], cursor={"page": 1}, now=at(80))
    assert store.source("blog").consecutive_failures == 0


def test_manual_changes_and_unknown_ids(store: Store) -> None:
    ingest(
        store,
        [
            make_record("c1", at(0)),
            make_record("c2", at(1), thread="p2"),
            make_record("c3", at(2), thread="p3"),
        ],
    )
    ids = {i.external_id: i.id for i in store.inbox(at(10))}
    done = store.mark_answered(ids["c1"], at(20))
    assert (done.status, done.answered_at, done.answered_via) == ("answered", at(20), "manual")
    assert store.dismiss(ids["c2"]).status == "dismissed"
    snoozed = store.snooze(ids["c3"], at(200))
    assert (snoozed.status, snoozed.snoozed_until) == ("snoozed", at(200))
    assert store.inbox(at(100)) == []  # still snoozed
    assert [i.external_id for i in store.inbox(at(200))] == ["c3"]  # the snooze has ended
    with pytest.raises(UnknownItem):
        store.dismiss(999_999)
    with pytest.raises(UnknownItem):
        store.item(999_999)


def test_inbox_is_ordered_by_deadline(store: Store) -> None:
    store.ensure_sources([("blog", "feed")])
    records = [make_record(f"c{i}", at(i), thread=f"t{i}") for i in range(3)]
    result = plan(records, Known())
    dues = [at(300), at(100), at(200)]
    items = [
        PlannedItem(n.record, n.status, due) for n, due in zip(result.new_items, dues, strict=True)
    ]
    store.apply("blog", items, result, cursor=None, now=at(5))
    assert [i.external_id for i in store.inbox(at(5))] == ["c1", "c2", "c0"]


def test_health_counts_open_and_overdue(store: Store) -> None:
    ingest(store, [make_record("c1", at(0)), make_record("c2", at(200), thread="p2")])
    (health,) = store.health(at(200))  # c1 due at(180): overdue; c2 due at(380)
    assert (health.row.name, health.open_items, health.overdue_items) == ("blog", 2, 1)


def test_sqlite_readers_are_not_blocked_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "sameday.db"
    daemon = Store(f"sqlite:///{path}")
    ingest(daemon, [make_record("c1", at(0))])
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)

    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE items SET text = 'changing'")
    cli = Store(f"sqlite:///{path}")
    assert [i.text for i in cli.inbox(at(1))] == ["Hello, are you open on Sunday?"]
    writer.execute("ROLLBACK")


def test_sqlite_path_with_tilde_is_expanded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = Store("sqlite:///~/deep/er/sameday.db")
    assert (tmp_path / "deep" / "er" / "sameday.db").exists()
    store.close()


def test_status_values_are_plain_strings(store: Store) -> None:
    ingest(store, [make_record("c1", at(0))])
    assert store.inbox(at(1))[0].status == Status.OPEN == "open"


def test_a_clean_poll_clears_the_last_warning(store: Store) -> None:
    store.ensure_sources([("blog", "feed")])
    empty = Plan()
    store.apply("blog", [], empty, cursor=None, now=at(1), warning="feed is malformed")
    row = store.source("blog")
    assert (row.last_warning, row.last_warning_at) == ("feed is malformed", at(1))
    store.touch("blog", at(2))  # a 304 says nothing about the feed's shape: keep it
    assert store.source("blog").last_warning == "feed is malformed"
    store.apply("blog", [], empty, cursor=None, now=at(3))
    row = store.source("blog")
    assert (row.last_warning, row.last_warning_at) == (None, None)
