"""The decider: fetched records plus what the store knows → what to write. Pure, no I/O.

The answered rule (DESIGN.md): an item is answered by the first owner record created after it
that replies to it (``parent_id``), or, where the platform has no reply structure (the owner
record has no ``parent_id``: flat blog threads, forum topics, chat channels), that follows it in
the same thread. The owner's own records are never items. A reply whose ``parent_id`` names
something that is not an item (a post, a submission) answers nothing: on threaded platforms a
top-level owner comment is not an answer to everybody else.

Only ``open`` and ``snoozed`` items can be answered by detection: a dismissed item stays
dismissed, and ``baseline`` items (older than the first poll's backfill window) stay out of the
figures for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from connectors.base import Record


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    BASELINE = "baseline"


ANSWERABLE = frozenset({Status.OPEN, Status.SNOOZED})


@dataclass(frozen=True, slots=True)
class KnownItem:
    """A stored item that a record of this batch might answer."""

    external_id: str
    thread_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KnownReply:
    """A stored owner reply that might answer an item first seen in this batch."""

    external_id: str
    thread_id: str | None
    parent_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Known:
    """What the store holds that matters to this batch (see `monitor.store.Store.known`)."""

    item_ids: frozenset[str] = frozenset()  # batch ids already stored as items
    reply_ids: frozenset[str] = frozenset()  # batch ids already stored as owner replies
    open_items: tuple[KnownItem, ...] = ()  # answerable items in the batch's owner threads
    replies: tuple[KnownReply, ...] = ()  # owner replies in the threads of new items


@dataclass(frozen=True, slots=True)
class NewItem:
    record: Record
    status: Status  # open, answered (already in this batch) or baseline
    answered_at: datetime | None = None
    answered_by: str | None = None  # external id of the owner record that answered it


@dataclass(frozen=True, slots=True)
class Answer:
    """A stored item that an owner record answers."""

    external_id: str
    answered_at: datetime
    answered_by: str


@dataclass(frozen=True, slots=True)
class Plan:
    new_items: list[NewItem] = field(default_factory=list)
    new_replies: list[Record] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.new_items or self.new_replies or self.answers)


def threads_and_parents(records: Iterable[Record]) -> tuple[set[str], set[str]]:
    """The thread ids and parent ids that `records` mention (for the store's look-ups)."""
    threads = {r.thread_id for r in records if r.thread_id is not None}
    parents = {r.parent_id for r in records if r.parent_id is not None}
    return threads, parents


def plan(
    records: Sequence[Record], known: Known, *, baseline_before: datetime | None = None
) -> Plan:
    """Decide what a batch changes.

    `baseline_before` is set on a source's first poll only: items created before it are stored
    as ``baseline`` (never alerted, not in figures).

    >>> from datetime import UTC, datetime
    >>> at = lambda h: datetime(2026, 5, 4, h, tzinfo=UTC)
    >>> q = Record("c1", "post", None, "Ann", False, "Open on Sunday?", None, at(10))
    >>> a = Record("c2", "post", None, "Dana", True, "Yes, 10 to 4!", None, at(11))
    >>> p = plan([q, a], Known())
    >>> (p.new_items[0].status, p.new_items[0].answered_at.hour, len(p.new_replies))
    (<Status.ANSWERED: 'answered'>, 11, 1)
    """
    fresh = _unseen(records, known)
    replies = [r for r in fresh if r.is_owner]
    candidates = [
        _Candidate(r.external_id, r.thread_id, r.created_at)
        for r in fresh
        if not r.is_owner and not _is_baseline(r, baseline_before)
    ]
    candidates += [_Candidate(i.external_id, i.thread_id, i.created_at) for i in known.open_items]

    # Every owner reply, stored or new, in time order: the first one that answers an item wins.
    all_replies = sorted(
        [KnownReply(r.external_id, r.thread_id, r.parent_id, r.created_at) for r in replies]
        + list(known.replies),
        key=lambda reply: reply.created_at,
    )
    answered = _match(candidates, all_replies)

    new_items = []
    for record in fresh:
        if record.is_owner:
            continue
        if _is_baseline(record, baseline_before):
            new_items.append(NewItem(record, Status.BASELINE))
        elif (hit := answered.get(record.external_id)) is not None:
            new_items.append(NewItem(record, Status.ANSWERED, hit.created_at, hit.external_id))
        else:
            new_items.append(NewItem(record, Status.OPEN))
    answers = [
        Answer(item.external_id, hit.created_at, hit.external_id)
        for item in known.open_items
        if (hit := answered.get(item.external_id)) is not None
    ]
    return Plan(new_items=new_items, new_replies=replies, answers=answers)


@dataclass(slots=True)
class _Candidate:
    external_id: str
    thread_id: str | None
    created_at: datetime


def _unseen(records: Sequence[Record], known: Known) -> list[Record]:
    """Records not stored yet, each once (feeds do repeat entries), in time order."""
    seen = set(known.item_ids) | set(known.reply_ids)
    fresh = []
    for record in records:
        if record.external_id in seen:
            continue
        seen.add(record.external_id)
        fresh.append(record)
    fresh.sort(key=lambda r: r.created_at)
    return fresh


def _is_baseline(record: Record, baseline_before: datetime | None) -> bool:
    return baseline_before is not None and record.created_at < baseline_before


def _match(candidates: list[_Candidate], replies: list[KnownReply]) -> dict[str, KnownReply]:
    """Item external id → the first owner reply that answers it."""
    by_id = {c.external_id: c for c in candidates}
    by_thread: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        if candidate.thread_id is not None:
            by_thread.setdefault(candidate.thread_id, []).append(candidate)

    answered: dict[str, KnownReply] = {}
    for reply in replies:  # already in time order
        if reply.parent_id is not None:
            target = by_id.get(reply.parent_id)
            if target is not None and target.external_id not in answered:
                answered[target.external_id] = reply
            continue
        if reply.thread_id is None:
            continue  # no parent and no thread: nothing to tell what it answers
        for candidate in by_thread.get(reply.thread_id, ()):
            if candidate.external_id not in answered and candidate.created_at < reply.created_at:
                answered[candidate.external_id] = reply
    return answered
