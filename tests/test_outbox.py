"""The alert outbox in the store, on SQLite and the real PostgreSQL: written once, closed once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor import sla
from monitor.alerts import AlertRules, Level
from monitor.store import Channel, PlannedItem, Store
from monitor.triage import Status, plan
from tests.conftest import make_record

NY = ZoneInfo("America/New_York")
RULES = {
    "blog": AlertRules(
        sla.Policy(NY, time(9), time(17), frozenset(range(5)), frozenset(), sla.SAME_DAY),
        remind_before=timedelta(hours=2),
        repeat_overdue=timedelta(hours=4),
    )
}
CHANNELS = [Channel("mail"), Channel("pager", Level.OVERDUE)]


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NY).astimezone(UTC)


DUE = ny(9, 17)


def ingest(store: Store, records, now: datetime, *, baseline_before=None) -> None:
    store.ensure_sources([("blog", "feed")])
    result = plan(records, store.known("blog", records), baseline_before=baseline_before)
    items = [
        PlannedItem(n.record, n.status, DUE, n.answered_at, n.answered_by) for n in result.new_items
    ]
    store.apply("blog", items, result, cursor=None, now=now, channels=CHANNELS)


def pending(store: Store, channel: str, now: datetime) -> list[tuple[str, Level, int]]:
    return [(p.view.author, p.level, p.seq) for p in store.pending_alerts(channel, now)]


def test_new_alerts_are_written_with_the_items_for_open_ones_only(store: Store) -> None:
    records = [
        make_record("old", ny(6, 10), author="Old"),
        make_record("c1", ny(9, 9), author="Ann"),
        make_record("c2", ny(9, 9, 30), author="Ben", thread="post-2"),
        make_record("o1", ny(9, 9, 45), author="Dana", owner=True, thread="post-2"),
    ]
    ingest(store, records, ny(9, 10), baseline_before=ny(8, 0))
    assert pending(store, "mail", ny(9, 10)) == [("Ann", Level.NEW, 0)]  # Ben: answered already
    assert pending(store, "pager", ny(9, 10)) == []  # wants overdue only

    ingest(store, records, ny(9, 10, 5))  # the same records again
    assert len(store.alerts_for(store.inbox(ny(9, 10))[0].id or 0)) == 1


def test_plan_alerts_writes_each_stage_once_per_channel(store: Store) -> None:
    ingest(store, [make_record("c1", ny(9, 9), author="Ann")], ny(9, 10))
    (item,) = store.inbox(ny(9, 10))
    [new] = store.pending_alerts("mail", ny(9, 10))
    store.mark_sent([new.id], ny(9, 10))

    assert store.plan_alerts(ny(9, 14), RULES, CHANNELS) == 0
    assert store.plan_alerts(ny(9, 15), RULES, CHANNELS) == 1  # reminder, mail only
    assert store.plan_alerts(ny(9, 16), RULES, CHANNELS) == 0  # already written
    assert pending(store, "mail", ny(9, 15)) == [("Ann", Level.REMINDER, 0)]
    assert store.plan_alerts(ny(9, 17), RULES, CHANNELS) == 2  # overdue, mail and pager
    assert store.plan_alerts(ny(10, 13), RULES, CHANNELS) == 2  # the first repeat
    keys = sorted(a.key for a in store.alerts_for(item.id or 0))
    assert keys == sorted(
        f"{item.id}:{level}:{seq}:{channel}"
        for level, seq, channel in [
            ("new", 0, "mail"),
            ("reminder", 0, "mail"),
            ("overdue", 0, "mail"),
            ("overdue", 0, "pager"),
            ("overdue", 1, "mail"),
            ("overdue", 1, "pager"),
        ]
    )


def test_a_later_stage_supersedes_what_is_still_pending(store: Store) -> None:
    # Quiet hours held the reminder; by the time it could go, the item is overdue: one message.
    ingest(store, [make_record("c1", ny(9, 9), author="Ann")], ny(9, 10))
    store.plan_alerts(ny(9, 15), RULES, CHANNELS)
    store.plan_alerts(ny(9, 17), RULES, CHANNELS)
    assert pending(store, "mail", ny(9, 17)) == [("Ann", Level.OVERDUE, 0)]
    statuses = sorted((a.level, a.status) for a in store.alerts_for(store.inbox(DUE)[0].id or 0))
    assert statuses == [
        ("new", "cancelled"),
        ("overdue", "pending"),
        ("overdue", "pending"),  # the pager's
        ("reminder", "cancelled"),
    ]


def test_answered_items_are_never_alerted_and_snoozed_ones_wait(store: Store) -> None:
    ingest(
        store,
        [make_record("c1", ny(9, 9), author="Ann"), make_record("c2", ny(9, 9), author="Ben",
                                                                 thread="p2")],
        ny(9, 10),
    )  # fmt: skip
    ann, ben = sorted(store.inbox(ny(9, 10)), key=lambda i: i.author)
    store.mark_answered(ann.id or 0, ny(9, 11))
    store.snooze(ben.id or 0, ny(9, 13))
    assert pending(store, "mail", ny(9, 12)) == []
    assert [a.status for a in store.alerts_for(ann.id or 0)] == ["cancelled"]
    assert pending(store, "mail", ny(9, 13)) == [("Ben", Level.NEW, 0)]  # the snooze ended
    assert store.plan_alerts(ny(9, 17), RULES, CHANNELS) == 2  # Ben only: Ann is answered


def test_failures_retry_later_then_give_up_and_show_in_health(store: Store) -> None:
    ingest(store, [make_record("c1", ny(9, 9), author="Ann")], ny(9, 10))
    [alert] = store.pending_alerts("mail", ny(9, 10))
    store.mark_failed([alert.id], "HTTP 500 from the webhook", ny(9, 10), ny(9, 10, 1))
    assert store.pending_alerts("mail", ny(9, 10, 0)) == []  # waits for its retry
    [again] = store.pending_alerts("mail", ny(9, 10, 1))
    assert again.attempts == 1
    (health,) = store.outbox_health()
    assert (health.channel, health.pending, health.failing, health.given_up) == ("mail", 1, 1, 0)
    assert health.last_error == "HTTP 500 from the webhook"

    store.give_up([alert.id], "still HTTP 500 after 1d", ny(10, 10))
    assert store.pending_alerts("mail", ny(11, 10)) == []
    (health,) = store.outbox_health()
    assert (health.pending, health.given_up, health.last_error) == (
        0,
        1,
        "still HTTP 500 after 1d",
    )


def test_sent_is_final(store: Store) -> None:
    ingest(store, [make_record("c1", ny(9, 9), author="Ann")], ny(9, 10))
    [alert] = store.pending_alerts("mail", ny(9, 10))
    store.mark_sent([alert.id], ny(9, 10))
    store.mark_failed([alert.id], "late failure report", ny(9, 10), ny(9, 11))  # ignored
    store.give_up([alert.id], "too late", ny(9, 12))  # ignored
    [row] = store.alerts_for(alert.view.item_id)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == ("sent", ny(9, 10), 0, None)
    assert store.pending_alerts("mail", ny(12, 10)) == []


def test_items_of_unconfigured_sources_are_left_alone(store: Store) -> None:
    ingest(store, [make_record("c1", ny(9, 9), author="Ann")], ny(9, 10))
    assert store.plan_alerts(ny(9, 17), {}, CHANNELS) == 0
    assert store.inbox(ny(9, 17))[0].status == Status.OPEN
    assert store.plan_alerts(ny(9, 17), RULES, ()) == 0
