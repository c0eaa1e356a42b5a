"""The decider: new vs known, the answered rule, owner records, backfill baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.triage import Answer, Known, KnownItem, KnownReply, Status, plan
from tests.conftest import make_record

T0 = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def statuses(result) -> dict[str, tuple[Status, datetime | None, str | None]]:
    return {
        n.record.external_id: (n.status, n.answered_at, n.answered_by) for n in result.new_items
    }


def test_new_records_become_open_items_and_owner_records_never_items() -> None:
    records = [
        make_record("c1", at(0)),
        make_record("o1", at(5), author="Dana", owner=True, thread="post-2"),
    ]
    result = plan(records, Known())
    assert statuses(result) == {"c1": (Status.OPEN, None, None)}
    assert [r.external_id for r in result.new_replies] == ["o1"]
    assert result.answers == []


def test_known_records_change_nothing() -> None:
    records = [make_record("c1", at(0)), make_record("o1", at(5), owner=True)]
    result = plan(records, Known(item_ids=frozenset({"c1"}), reply_ids=frozenset({"o1"})))
    assert result.is_empty


def test_a_record_repeated_in_one_batch_is_one_item() -> None:
    result = plan([make_record("c1", at(0)), make_record("c1", at(0))], Known())
    assert [n.record.external_id for n in result.new_items] == ["c1"]


# The answered rule, table-driven: (records, which items end answered and by what).
CASES = [
    pytest.param(
        [make_record("c1", at(0)), make_record("o1", at(30), owner=True, parent="c1")],
        {"c1": "o1"},
        id="reply-to-the-item",
    ),
    pytest.param(
        [
            make_record("c1", at(0)),
            make_record("c2", at(10)),
            make_record("o1", at(30), owner=True),
        ],
        {"c1": "o1", "c2": "o1"},
        id="flat-thread-later-owner-comment-answers-all-earlier",
    ),
    pytest.param(
        [
            make_record("c1", at(0)),
            make_record("o1", at(30), owner=True),
            make_record("c2", at(40)),
        ],
        {"c1": "o1"},
        id="flat-thread-comment-after-the-answer-is-a-new-item",
    ),
    pytest.param(
        [make_record("c1", at(0)), make_record("o1", at(30), owner=True, thread="post-2")],
        {},
        id="owner-comment-in-another-thread-answers-nothing",
    ),
    pytest.param(
        [
            make_record("c1", at(0)),
            make_record("c2", at(5)),
            make_record("o1", at(30), owner=True, parent="c2"),
        ],
        {"c2": "o1"},
        id="threaded-reply-answers-only-its-parent",
    ),
    pytest.param(
        [make_record("c1", at(0)), make_record("o1", at(30), owner=True, parent="post-1")],
        {},
        id="top-level-owner-comment-on-threaded-platform-answers-nobody",
    ),
    pytest.param(
        [
            make_record("c1", at(0)),
            make_record("o1", at(30), owner=True),
            make_record("o2", at(20), owner=True),
        ],
        {"c1": "o2"},
        id="the-first-owner-record-after-the-item-wins",
    ),
    pytest.param(
        [make_record("c1", at(0)), make_record("o1", at(0), owner=True)],
        {},
        id="flat-owner-record-at-the-same-instant-is-not-after-it",
    ),
    pytest.param(
        [make_record("c1", at(0), thread=None), make_record("o1", at(30), owner=True, thread=None)],
        {},
        id="no-thread-and-no-parent-answers-nothing",
    ),
]


@pytest.mark.parametrize(("records", "expected"), CASES)
def test_answered_rule_within_one_batch(records, expected: dict[str, str]) -> None:
    result = plan(records, Known())
    by_id = {r.external_id: r for r in records}
    for item_id, (status, answered_at, answered_by) in statuses(result).items():
        if item_id in expected:
            assert status is Status.ANSWERED, item_id
            assert answered_by == expected[item_id]
            assert answered_at == by_id[expected[item_id]].created_at
        else:
            assert (status, answered_at, answered_by) == (Status.OPEN, None, None), item_id


def test_owner_reply_answers_items_stored_in_earlier_polls() -> None:
    known = Known(
        open_items=(KnownItem("c1", "post-1", at(0)), KnownItem("c9", "post-1", at(50))),
    )
    result = plan([make_record("o1", at(30), owner=True)], known)
    assert result.answers == [Answer("c1", at(30), "o1")]
    assert result.new_items == []


def test_item_seen_late_is_answered_by_a_stored_owner_reply() -> None:
    # A comment held for moderation shows up after the owner already replied in its thread.
    known = Known(replies=(KnownReply("o1", "post-1", None, at(30)),))
    result = plan([make_record("c1", at(0))], known)
    assert statuses(result) == {"c1": (Status.ANSWERED, at(30), "o1")}
    assert result.new_replies == []


def test_stored_threaded_reply_answers_its_late_parent() -> None:
    known = Known(replies=(KnownReply("o1", "post-1", "c1", at(30)),))
    result = plan([make_record("c1", at(0)), make_record("c2", at(1))], known)
    assert statuses(result)["c1"] == (Status.ANSWERED, at(30), "o1")
    assert statuses(result)["c2"] == (Status.OPEN, None, None)


def test_backfill_keeps_older_records_as_baseline_and_never_answers_them() -> None:
    cutoff = at(20)
    records = [
        make_record("old", at(0)),
        make_record("new", at(25)),
        make_record("o1", at(40), owner=True),
    ]
    result = plan(records, Known(), baseline_before=cutoff)
    assert statuses(result) == {
        "old": (Status.BASELINE, None, None),
        "new": (Status.ANSWERED, at(40), "o1"),
    }
    assert [r.external_id for r in result.new_replies] == ["o1"]  # kept: later items may need it


def test_out_of_order_records_are_decided_in_time_order() -> None:
    records = [make_record("o1", at(30), owner=True), make_record("c1", at(0))]
    assert statuses(plan(records, Known()))["c1"] == (Status.ANSWERED, at(30), "o1")
