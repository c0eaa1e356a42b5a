"""The triage store: the only module that talks SQL.

One `Store` wraps one database (SQLite by default, PostgreSQL for larger setups). Each poll of a
source is written by `Store.apply` in one transaction together with the source's new cursor, so
the cursor never moves ahead of stored data and a crash loses nothing. Inserts are bulk
``INSERT … ON CONFLICT DO NOTHING`` statements on ``(source, external_id)``: ingesting the same
records again changes nothing.

The daily report's figures are SQL aggregates over indexed ranges (`report_day`): counting a
day never reads every item. Opening a store brings its schema to this version's with the Alembic
migrations of `monitor.schema` (the one other module that runs SQL, and only DDL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    Engine,
    Float,
    and_,
    bindparam,
    case,
    create_engine,
    event,
    func,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from connectors.base import Record
from monitor import schema
from monitor.alerts import AlertRules, AlertView, Level, alert_key, current_stage
from monitor.metrics import LATENCY_BUCKETS, ItemCounts, Snapshot
from monitor.models import (
    AlertRow,
    ItemRow,
    LeaseRow,
    OwnerReplyRow,
    PollRunRow,
    ReportSentRow,
    SourceRow,
)
from monitor.report import (
    BLIND_FACTOR,
    Answer,
    DayData,
    OpenItem,
    PollRun,
    SourceTally,
    age_edges,
)
from monitor.triage import ANSWERABLE, Known, KnownItem, KnownReply, Plan, Status
from monitor.views import current_draft

if TYPE_CHECKING:  # only its attributes are read here
    from monitor.suggest import Suggestion

log = logging.getLogger(__name__)

# SQLite allows 32766 bound parameters per statement (999 before 3.32); stay well below.
_CHUNK = 500
_BUSY_TIMEOUT_MS = 10_000

ITEMS = ItemRow.__table__  # type: ignore[attr-defined]
REPLIES = OwnerReplyRow.__table__  # type: ignore[attr-defined]
SOURCES = SourceRow.__table__  # type: ignore[attr-defined]
ALERTS = AlertRow.__table__  # type: ignore[attr-defined]
RUNS = PollRunRow.__table__  # type: ignore[attr-defined]
REPORTS = ReportSentRow.__table__  # type: ignore[attr-defined]
LEASES = LeaseRow.__table__  # type: ignore[attr-defined]
_WAITING = (Status.OPEN, Status.SNOOZED)  # what `health` and `sameday status` call open

# Added to tables after their first release: `_upgrade` adds them to a store made before.


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to fix."""


class UnknownItem(LookupError):
    """No item has that id."""


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """A new item with its deadline, as the poll cycle hands it to `Store.apply`."""

    record: Record
    status: Status
    due_at: datetime
    answered_at: datetime | None = None
    answered_by: str | None = None
    suggestion: Suggestion | None = None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    new_items: int
    new_replies: int
    answered: int  # items answered by detection, stored before or new in this batch


@dataclass(frozen=True, slots=True)
class Channel:
    """An alert channel as the outbox knows it: a stable name and the lowest level it wants."""

    name: str
    min_level: Level = Level.NEW


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An outbox row ready to deliver, with what rendering needs."""

    id: int
    key: str
    channel: str
    level: Level
    seq: int
    created_at: datetime
    attempts: int
    view: AlertView


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel: str
    pending: int
    failing: int  # pending rows whose last attempt failed
    given_up: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    row: SourceRow
    open_items: int = 0
    overdue_items: int = 0


def open_store(url: str) -> Store:
    """Open (and create, if needed) the store at a SQLAlchemy `url`."""
    return Store(url)


class Store:
    def __init__(self, url: str) -> None:
        self.url = _expand_sqlite_path(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise StoreError(
                f"storage.url {url!r} is not a database URL; write e.g. "
                "sqlite:///~/.local/share/sameday/sameday.db or postgresql+psycopg://host/db"
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, future=True)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migration = schema.migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- sources --------------------------------------------------------------------------

    def ensure_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Make sure a row exists for every configured (name, type)."""
        rows = [{"name": name, "type": type_} for name, type_ in sources]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignore(SOURCES, ["name"]), rows)
            for row in rows:  # a source whose type changed keeps its name and history
                conn.execute(
                    update(SOURCES)
                    .where(SOURCES.c.name == row["name"], SOURCES.c.type != row["type"])
                    .values(type=row["type"], cursor=None, first_polled_at=None)
                )

    def source(self, name: str) -> SourceRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(SOURCES).where(SOURCES.c.name == name)).mappings().first()
        return SourceRow.model_validate(dict(row)) if row else None

    def record_failure(
        self, name: str, message: str, now: datetime, *, every: timedelta | None = None
    ) -> None:
        """Remember a failed poll; the cursor and the items are left as they were.

        `every` is the source's poll interval, for the poll history (see `_note_poll`).
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(SOURCES)
                .where(SOURCES.c.name == name)
                .values(
                    last_poll_at=now,
                    last_error=message,
                    last_error_at=now,
                    consecutive_failures=SOURCES.c.consecutive_failures + 1,
                )
            )
            _note_poll(conn, name, "failed", now, every=every, error=message)

    def note_disabled(self, name: str, now: datetime) -> None:
        """The daemon found the source switched off: no poll is due until it is polled again,
        so the report does not count the pause as a blind spot."""
        with self.engine.begin() as conn:
            _note_poll(conn, name, "disabled", now, every=None)

    def health(self, now: datetime) -> list[SourceHealth]:
        """Every source with its open and overdue item counts, by name."""
        open_ = ITEMS.c.status.in_([Status.OPEN, Status.SNOOZED])
        counts = (
            select(
                ITEMS.c.source,
                func.count().label("open"),
                func.count().filter(ITEMS.c.due_at < now).label("overdue"),
            )
            .where(open_)
            .group_by(ITEMS.c.source)
        )
        with self.engine.connect() as conn:
            tallies = {r.source: (r.open, r.overdue) for r in conn.execute(counts)}
            rows = conn.execute(select(SOURCES).order_by(SOURCES.c.name)).mappings().all()
        return [
            SourceHealth(SourceRow.model_validate(dict(r)), *tallies.get(r["name"], (0, 0)))
            for r in rows
        ]

    # -- leases: several workers on one store ------------------------------------------------

    def claim(self, names: Sequence[str], worker: str, now: datetime, ttl: timedelta) -> list[str]:
        """Lease the free ones among `names` to `worker` until ``now + ttl``; the names got.

        Free means unheld, expired, or already `worker`'s (claiming again renews). On
        PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``: workers claiming at the
        same moment never wait for each other and never get the same row. SQLite has one
        writer at a time, which serialises claims by itself.
        """
        if not names:
            return []
        with self.engine.begin() as conn:
            conn.execute(self._insert_ignore(LEASES, ["name"]), [{"name": n} for n in names])
            free = (
                select(LEASES.c.name)
                .where(
                    LEASES.c.name.in_(names),
                    or_(
                        LEASES.c.owner.is_(None),
                        LEASES.c.until < now,
                        LEASES.c.owner == worker,
                    ),
                )
                .order_by(LEASES.c.name)
                .with_for_update(skip_locked=True)
            )
            got = [row.name for row in conn.execute(free)]
            if got:
                conn.execute(
                    update(LEASES)
                    .where(LEASES.c.name.in_(got))
                    .values(owner=worker, until=now + ttl)
                )
        return got

    def release(self, names: Sequence[str], worker: str) -> None:
        """Give up `worker`'s leases on `names`; a lease that expired and moved on stays put."""
        if not names:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(LEASES)
                .where(LEASES.c.name.in_(names), LEASES.c.owner == worker)
                .values(owner=None, until=None)
            )

    def release_all(self, worker: str) -> None:
        """Give up every lease `worker` holds: a worker stopping hands its work on at once."""
        with self.engine.begin() as conn:
            conn.execute(
                update(LEASES).where(LEASES.c.owner == worker).values(owner=None, until=None)
            )

    def finish_poll(self, source: str, worker: str, next_poll_at: datetime) -> None:
        """Write when `source` is polled next and give up `worker`'s lease on it, together:
        whoever claims it next sees the new time and waits for it."""
        with self.engine.begin() as conn:
            conn.execute(
                update(SOURCES).where(SOURCES.c.name == source).values(next_poll_at=next_poll_at)
            )
            conn.execute(
                update(LEASES)
                .where(LEASES.c.name == f"source:{source}", LEASES.c.owner == worker)
                .values(owner=None, until=None)
            )

    def lease(self, name: str) -> tuple[str | None, datetime | None]:
        """One lease: (owner, until); (None, None) when nobody holds it or it was never made."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(LEASES.c.owner, LEASES.c.until).where(LEASES.c.name == name)
            ).first()
        return (row.owner, row.until) if row is not None else (None, None)

    def leases(self) -> dict[str, tuple[str | None, datetime | None]]:
        """Every lease row: name -> (owner, until), for status and tests."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(LEASES.c.name, LEASES.c.owner, LEASES.c.until))
            return {row.name: (row.owner, row.until) for row in rows}

    # -- metrics (the Prometheus endpoint, `monitor.metrics`) --------------------------------

    def metrics_snapshot(self, now: datetime, *, channels: Sequence[str] | None = None) -> Snapshot:
        """The figures `monitor.metrics` reports, as of `now` (which only ``overdue`` depends on).

        `channels` limits the outbox counts to those names, each with a row even when nothing
        waits (and the query stays on the ``(channel, status, …)`` index); None: every channel
        with pending alerts.
        """
        latency = seconds_between(ITEMS.c.created_at, ITEMS.c.answered_at)
        # One row per item that counts (baseline never does); `latency` is NULL when unanswered
        # and never negative (clocks disagree sometimes: `monitor.sla.latency_seconds`).
        rows = (
            select(
                ITEMS.c.source,
                ITEMS.c.status,
                ITEMS.c.answered_via,
                ITEMS.c.dismissed_at,
                ITEMS.c.due_at,
                case((latency < 0, 0.0), else_=latency).label("latency"),
            )
            .where(ITEMS.c.status != Status.BASELINE)
            # OFFSET 0 keeps the subquery a subquery: flattened into the outer query, `latency`
            # would be computed again in each of the 13 aggregates that read it (9x slower on
            # SQLite; PostgreSQL treats OFFSET 0 as the same fence).
            .offset(0)
            .subquery()
        )
        answered = rows.c.latency.is_not(None)
        waiting = rows.c.status.in_(_WAITING)
        items = select(
            rows.c.source,
            func.count().label("received"),
            func.count().filter(answered, rows.c.answered_via == "detected").label("detected"),
            func.count(rows.c.latency).label("answered"),
            # Dismissed rows from before `dismissed_at` existed have it NULL: the status says so.
            func.count()
            .filter((rows.c.status == Status.DISMISSED) | rows.c.dismissed_at.is_not(None))
            .label("dismissed"),
            func.count().filter(waiting).label("open"),
            func.count().filter(waiting, rows.c.due_at < now).label("overdue"),
            func.coalesce(func.sum(rows.c.latency), 0.0).label("latency_sum"),
            *(func.count().filter(rows.c.latency <= bound) for bound in LATENCY_BUCKETS),
        ).group_by(rows.c.source)
        health = select(SOURCES).order_by(SOURCES.c.name)
        pending = ALERTS.c.status == "pending"
        if channels is None:
            outbox = select(ALERTS.c.channel, func.count()).where(pending)
        else:
            outbox = select(ALERTS.c.channel, func.count()).where(
                pending, ALERTS.c.channel.in_(list(channels))
            )
        outbox = outbox.group_by(ALERTS.c.channel)

        with self.engine.connect() as conn:
            counts = {row.source: _metric_counts(row) for row in conn.execute(items)}
            sources = {
                row["name"]: SourceRow.model_validate(dict(row))
                for row in conn.execute(health).mappings()
            }
            waiting_alerts = dict.fromkeys(channels or (), 0)
            waiting_alerts.update({channel: n for channel, n in conn.execute(outbox)})
        return Snapshot(taken_at=now, items=counts, sources=sources, outbox_pending=waiting_alerts)

    # -- the poll cycle -------------------------------------------------------------------

    def known(self, source: str, records: Sequence[Record]) -> Known:
        """What triage needs to know about `records` (see `monitor.triage.Known`)."""
        ids = [r.external_id for r in records]
        owner = [r for r in records if r.is_owner]
        others = [r for r in records if not r.is_owner]
        owner_threads = {r.thread_id for r in owner if r.thread_id is not None}
        owner_parents = {r.parent_id for r in owner if r.parent_id is not None}
        other_threads = {r.thread_id for r in others if r.thread_id is not None}
        other_ids = {r.external_id for r in others}
        with self.engine.connect() as conn:
            item_ids = self._existing(conn, ITEMS, source, ids)
            reply_ids = self._existing(conn, REPLIES, source, ids)
            open_items = self._answerable(conn, source, owner_threads, owner_parents)
            replies = self._replies_near(conn, source, other_threads, other_ids - item_ids)
        return Known(
            item_ids=frozenset(item_ids),
            reply_ids=frozenset(reply_ids),
            open_items=tuple(open_items),
            replies=tuple(replies),
        )

    def apply(
        self,
        source: str,
        items: Sequence[PlannedItem],
        plan: Plan,
        *,
        cursor: dict[str, Any] | None,
        now: datetime,
        warning: str | None = None,
        channels: Sequence[Channel] = (),
        every: timedelta | None = None,
        budget_interval: timedelta | None = None,
    ) -> ApplyResult:
        """Write one poll's outcome, its cursor and the source's health in one transaction.

        The ``new`` alerts for the open items it stores are written in the same transaction
        (to every channel that wants that level), so a crash cannot store an item and lose its
        alert, or alert an item that was not stored. `every` is the source's poll interval,
        for the poll history (see `_note_poll`); `budget_interval` the longer one the
        platform's rate budget forces, if any.
        """
        with self.engine.begin() as conn:
            inserted = self._insert_items(conn, source, items, now)
            new_items = len(inserted)
            opened = [item_id for item_id, status in inserted if status == Status.OPEN]
            self._write_alerts(
                conn,
                [(item_id, Level.NEW, 0, now) for item_id in opened],
                channels,
                now,
            )
            new_replies = self._insert_replies(conn, source, plan.new_replies, now)
            answered = self._answer(conn, source, plan)
            values: dict[str, Any] = {
                "cursor": cursor,
                "last_poll_at": now,
                "last_success_at": now,
                "consecutive_failures": 0,
                "first_polled_at": func.coalesce(SOURCES.c.first_polled_at, now),
                "budget_interval_s": _seconds(budget_interval),
            }
            # A clean poll clears the warning: status shows what is wrong now, not once.
            values.update(last_warning=warning, last_warning_at=now if warning else None)
            conn.execute(update(SOURCES).where(SOURCES.c.name == source).values(**values))
            _note_poll(conn, source, "ok", now, every=_longer(every, budget_interval))
        answered += sum(1 for i in items if i.status is Status.ANSWERED)
        return ApplyResult(new_items=new_items, new_replies=new_replies, answered=answered)

    def touch(
        self,
        source: str,
        now: datetime,
        *,
        every: timedelta | None = None,
        budget_interval: timedelta | None = None,
    ) -> None:
        """A poll that found nothing changed (HTTP 304): only the health moves."""
        with self.engine.begin() as conn:
            conn.execute(
                update(SOURCES)
                .where(SOURCES.c.name == source)
                .values(
                    last_poll_at=now,
                    last_success_at=now,
                    consecutive_failures=0,
                    first_polled_at=func.coalesce(SOURCES.c.first_polled_at, now),
                    budget_interval_s=_seconds(budget_interval),
                )
            )
            _note_poll(conn, source, "ok", now, every=_longer(every, budget_interval))

    # -- the inbox ------------------------------------------------------------------------

    def inbox(self, now: datetime, *, everything: bool = False) -> list[ItemRow]:
        """Items to answer, soonest deadline first: open ones and snoozes that have ended.

        With `everything`, every item in every status, newest first.
        """
        query = select(ITEMS)
        if everything:
            query = query.order_by(ITEMS.c.created_at.desc(), ITEMS.c.id.desc())
        else:
            woke = (ITEMS.c.status == Status.SNOOZED) & (ITEMS.c.snoozed_until <= now)
            query = query.where(or_(ITEMS.c.status == Status.OPEN, woke)).order_by(
                ITEMS.c.due_at, ITEMS.c.id
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [ItemRow.model_validate(dict(r)) for r in rows]

    def item(self, item_id: int) -> ItemRow:
        with self.engine.connect() as conn:
            row = conn.execute(select(ITEMS).where(ITEMS.c.id == item_id)).mappings().first()
        if row is None:
            raise UnknownItem(item_id)
        return ItemRow.model_validate(dict(row))

    def mark_answered(self, item_id: int, now: datetime) -> ItemRow:
        """The owner says they answered it (outside any watched place, or we missed it)."""
        return self._set(
            item_id,
            status=Status.ANSWERED,
            answered_at=now,
            answered_via="manual",
            snoozed_until=None,
        )

    def dismiss(self, item_id: int, now: datetime | None = None) -> ItemRow:
        """The owner says it needs no reply (at `now`: the report counts it open until then)."""
        return self._set(item_id, status=Status.DISMISSED, snoozed_until=None, dismissed_at=now)

    def snooze(self, item_id: int, until: datetime) -> ItemRow:
        return self._set(item_id, status=Status.SNOOZED, snoozed_until=until)

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ITEMS)).scalar_one())

    # -- the daily report -----------------------------------------------------------------

    def report_day(
        self, start: datetime, as_of: datetime, sources: Sequence[str] | None = None
    ) -> DayData:
        """What the daily report counts for the day ``[start, as_of)``, per source.

        SQL aggregates, each over one indexed range: items created in the day (``received``),
        due in it (``due``, ``answered_on_time``), open at `as_of` (``open``, ``overdue``, by
        age, the oldest one). Only the day's answers come back row by row, for their
        percentiles. Baseline items are left out everywhere; `sources` limits to those names.
        """
        not_baseline = ITEMS.c.status != Status.BASELINE
        scope = [ITEMS.c.source.in_(list(sources))] if sources is not None else []
        received = (
            select(ITEMS.c.source, func.count().label("n"))
            .where(ITEMS.c.created_at >= start, ITEMS.c.created_at < as_of, not_baseline, *scope)
            .group_by(ITEMS.c.source)
        )
        on_time = ITEMS.c.answered_at.is_not(None) & (ITEMS.c.answered_at <= ITEMS.c.due_at)
        due = (
            select(
                ITEMS.c.source,
                func.count().label("due"),
                func.count().filter(on_time).label("on_time"),
            )
            .where(
                ITEMS.c.due_at >= start,
                ITEMS.c.due_at < as_of,
                ITEMS.c.status.not_in([Status.BASELINE, Status.DISMISSED]),
                *scope,
            )
            .group_by(ITEMS.c.source)
        )
        answers = select(ITEMS.c.source, ITEMS.c.created_at, ITEMS.c.answered_at).where(
            ITEMS.c.answered_at >= start, ITEMS.c.answered_at < as_of, not_baseline, *scope
        )
        waiting = _open_at(as_of, scope).subquery()
        # Open items by age: created at or after each edge and before the previous (newer) one.
        edges: list[datetime | None] = [*age_edges(as_of), None]
        buckets = [
            func.count().filter(
                and_(
                    *([] if edge is None else [waiting.c.created_at >= edge]),
                    *([] if newer is None else [waiting.c.created_at < newer]),
                )
            )
            for newer, edge in zip([None, *edges[:-1]], edges, strict=True)
        ]
        open_counts = select(
            waiting.c.source,
            func.count().label("open"),
            func.count().filter(waiting.c.due_at < as_of).label("overdue"),
            *buckets,
        ).group_by(waiting.c.source)
        ranked = select(
            waiting.c.id,
            func.row_number()
            .over(partition_by=waiting.c.source, order_by=(waiting.c.created_at, waiting.c.id))
            .label("rank"),
        ).subquery()
        oldest = select(ITEMS).join(ranked, ranked.c.id == ITEMS.c.id).where(ranked.c.rank == 1)
        tallies: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(received):
                tallies.setdefault(row.source, {})["received"] = row.n
            for row in conn.execute(due):
                tallies.setdefault(row.source, {}).update(due=row.due, answered_on_time=row.on_time)
            for row in conn.execute(open_counts):
                tallies.setdefault(row.source, {}).update(
                    open=row.open, overdue=row.overdue, open_by_age=tuple(row[3:])
                )
            answered = [Answer(*row) for row in conn.execute(answers)]
            oldest_rows = conn.execute(oldest).mappings().all()
        return DayData(
            tallies={name: SourceTally(**values) for name, values in tallies.items()},
            answers=answered,
            oldest_open={
                row["source"]: OpenItem(
                    id=row["id"],
                    source=row["source"],
                    external_id=row["external_id"],
                    author=row["author"],
                    text=row["text"],
                    url=row["url"],
                    created_at=row["created_at"],
                    due_at=row["due_at"],
                )
                for row in oldest_rows
            },
        )

    def last_misses(self, before: datetime, sources: Sequence[str]) -> dict[str, datetime | None]:
        """Per source, the latest deadline before `before` that was missed (not answered by
        then, or answered late): where its same-day streak starts over.

        One query per source, each walking the (source, due_at) index back from `before` until
        the first miss, so a day's report does not read a source's whole history.
        """
        missed = ITEMS.c.answered_at.is_(None) | (ITEMS.c.answered_at > ITEMS.c.due_at)
        query = (
            select(ITEMS.c.due_at)
            .where(
                ITEMS.c.source == bindparam("source"),
                ITEMS.c.due_at < before,
                ITEMS.c.status.not_in([Status.BASELINE, Status.DISMISSED]),
                missed,
            )
            .order_by(ITEMS.c.due_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            return {name: conn.execute(query, {"source": name}).scalar() for name in sources}

    def poll_runs(self, since: datetime, sources: Sequence[str]) -> dict[str, list[PollRun]]:
        """Each source's poll runs that end at or after `since`, and the last one before it
        (where the gap that crosses into `since` began)."""
        scope = RUNS.c.source.in_(list(sources))
        recent = select(RUNS).where(scope, RUNS.c.last_at >= since)
        ranked = (
            select(
                RUNS.c.id,
                func.row_number()
                .over(
                    partition_by=RUNS.c.source, order_by=(RUNS.c.last_at.desc(), RUNS.c.id.desc())
                )
                .label("rank"),
            )
            .where(scope, RUNS.c.last_at < since)
            .subquery()
        )
        before = select(RUNS).join(ranked, ranked.c.id == RUNS.c.id).where(ranked.c.rank == 1)
        found: dict[str, list[PollRun]] = {name: [] for name in sources}
        with self.engine.connect() as conn:
            for query in (before, recent):
                for row in conn.execute(query).mappings():
                    found[row["source"]].append(
                        PollRun(
                            outcome=row["outcome"],
                            first_at=row["first_at"],
                            last_at=row["last_at"],
                            polls=row["polls"],
                            last_error=row["last_error"],
                        )
                    )
        return found

    def first_polled(self) -> dict[str, datetime | None]:
        """When each source was first polled successfully: the report's streaks start there."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(SOURCES.c.name, SOURCES.c.first_polled_at)).all()
        return {name: at for name, at in rows}

    def report_items(
        self, start: datetime, as_of: datetime, sources: Sequence[str] | None = None
    ) -> list[ItemRow]:
        """The items the day's report is about: created, answered or due in ``[start, as_of)``,
        or open at `as_of`; oldest first. For the report's CSV, one row each."""
        scope = [ITEMS.c.source.in_(list(sources))] if sources is not None else []
        ids = union(
            select(ITEMS.c.id).where(ITEMS.c.created_at >= start, ITEMS.c.created_at < as_of),
            select(ITEMS.c.id).where(ITEMS.c.answered_at >= start, ITEMS.c.answered_at < as_of),
            select(ITEMS.c.id).where(ITEMS.c.due_at >= start, ITEMS.c.due_at < as_of),
            select(_open_at(as_of, []).subquery().c.id),
        ).subquery()
        query = (
            select(ITEMS)
            .where(ITEMS.c.id.in_(select(ids.c.id)), ITEMS.c.status != Status.BASELINE, *scope)
            .order_by(ITEMS.c.created_at, ITEMS.c.id)
        )
        with self.engine.connect() as conn:
            return [ItemRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    # -- the daily report's outbox ---------------------------------------------------------

    def plan_report(self, day: date, channels: Sequence[str], now: datetime) -> None:
        """Write the day's report as due for every channel; a row already there stays as it is."""
        rows = [
            {"day": day, "channel": name, "status": "pending", "created_at": now, "attempts": 0}
            for name in channels
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(self._insert_ignore(REPORTS, ["day", "channel"]), rows)

    def report_deliveries(self, day: date) -> dict[str, str]:
        """Each channel's report status for `day`: pending, sent or given_up."""
        query = select(REPORTS.c.channel, REPORTS.c.status).where(REPORTS.c.day == day)
        with self.engine.connect() as conn:
            return {channel: status for channel, status in conn.execute(query)}

    def mark_report_sent(self, day: date, channel: str, now: datetime) -> None:
        self._update_report(day, channel, status="sent", sent_at=now)

    def mark_report_failed(self, day: date, channel: str, error: str) -> None:
        self._update_report(day, channel, attempts=REPORTS.c.attempts + 1, last_error=error)

    def give_up_reports(self, before: date) -> int:
        """Reports of days before `before` still pending are given up: a stale report is noise."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(REPORTS)
                .where(REPORTS.c.day < before, REPORTS.c.status == "pending")
                .values(status="given_up")
            )
        return max(done.rowcount, 0)

    def _update_report(self, day: date, channel: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(REPORTS)
                .where(
                    REPORTS.c.day == day,
                    REPORTS.c.channel == channel,
                    REPORTS.c.status == "pending",
                )
                .values(**values)
            )

    # -- the alert outbox -----------------------------------------------------------------

    def plan_alerts(
        self, now: datetime, rules: dict[str, AlertRules], channels: Sequence[Channel]
    ) -> int:
        """Write the reminder and overdue alerts that open items have become due for.

        Idempotent: an alert already written (sent or not) is never written again. Items of
        sources without `rules` (no longer configured) are left alone. Returns rows written.
        """
        if not channels:
            return 0
        awake = or_(
            ITEMS.c.status == Status.OPEN,
            (ITEMS.c.status == Status.SNOOZED) & (ITEMS.c.snoozed_until <= now),
        )
        query = select(ITEMS.c.id, ITEMS.c.source, ITEMS.c.due_at, ITEMS.c.fetched_at).where(
            awake, ITEMS.c.source.in_(list(rules))
        )
        wanted = []
        with self.engine.begin() as conn:
            for item_id, source, due_at, first_seen in conn.execute(query):
                stage = current_stage(due_at, first_seen, now, rules[source])
                if stage is not None:
                    wanted.append((item_id, stage.level, stage.seq, stage.since))
            return self._write_alerts(conn, wanted, channels, now)

    def pending_alerts(self, channel: str, now: datetime) -> list[PendingAlert]:
        """Alerts for `channel` that may be delivered now, oldest first.

        Alerts whose item was answered or dismissed meanwhile are cancelled here; an item's
        older pending alerts are cancelled when a later stage is pending (one message says
        where it stands); alerts of items snoozed until later are held, not returned.
        Alerts waiting for a retry take part in that comparison but are not returned: a
        reminder that failed must not go out after the overdue alert that replaced it.
        """
        query = (
            select(ALERTS, ITEMS, SOURCES.c.type.label("platform"))
            .join(ITEMS, ITEMS.c.id == ALERTS.c.item_id)
            .join(SOURCES, SOURCES.c.name == ITEMS.c.source)
            .where(
                ALERTS.c.channel == channel,
                ALERTS.c.status == "pending",
                ALERTS.c.deliver_at <= now,
            )
            .order_by(ALERTS.c.created_at, ALERTS.c.id)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(query.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)).all()
            cancel: list[int] = []
            ready: list[tuple[dict[str, Any], dict[str, Any], str]] = []
            latest: dict[int, tuple[Level, int, int]] = {}  # item id -> its latest stage's alert
            for row in rows:
                alert, item = _prefixed(row, "alerts_"), _prefixed(row, "items_")
                if item["status"] in (Status.ANSWERED, Status.DISMISSED, Status.BASELINE):
                    cancel.append(alert["id"])
                    continue
                if item["status"] == Status.SNOOZED and (item["snoozed_until"] or now) > now:
                    continue
                level = Level(alert["level"])
                best = latest.get(item["id"])
                if best is not None and (best[0].rank, best[1]) >= (level.rank, alert["seq"]):
                    cancel.append(alert["id"])
                    continue
                if best is not None:
                    cancel.append(best[2])
                latest[item["id"]] = (level, alert["seq"], alert["id"])
                ready.append((alert, item, row.platform))
            if cancel:
                conn.execute(
                    update(ALERTS)
                    .where(ALERTS.c.id.in_(cancel), ALERTS.c.status == "pending")
                    .values(status="cancelled", closed_at=now)
                )
        kept = {entry[2] for entry in latest.values()}
        return [
            _pending(alert, item, platform, now)
            for alert, item, platform in ready
            if alert["id"] in kept and not _backing_off(alert, now)
        ]

    def last_sent_at(self, channel: str) -> datetime | None:
        """When `channel` last took an alert: a digest's window is over once this is in it."""
        query = select(func.max(ALERTS.c.sent_at)).where(
            ALERTS.c.channel == channel, ALERTS.c.status == "sent"
        )
        with self.engine.connect() as conn:
            # max() keeps the column's type, so UTCDateTime hands back aware UTC here too.
            return conn.execute(query).scalar()

    def mark_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        self._update_pending(alert_ids, status="sent", sent_at=now)

    def mark_failed(
        self, alert_ids: Sequence[int], error: str, now: datetime, retry_at: datetime
    ) -> None:
        """A delivery failed: count it, keep the row pending, try again at `retry_at`."""
        self._update_pending(
            alert_ids, attempts=ALERTS.c.attempts + 1, last_error=error, next_attempt_at=retry_at
        )

    def give_up(self, alert_ids: Sequence[int], error: str, now: datetime) -> None:
        """Stop trying: the row stays, marked given up, for `status` to show."""
        self._update_pending(alert_ids, status="given_up", closed_at=now, last_error=error)

    def outbox_health(self) -> list[ChannelHealth]:
        """Per channel: what waits, what keeps failing, what was given up, and why."""
        failing = (ALERTS.c.status == "pending") & (ALERTS.c.attempts > 0)
        query = (
            select(
                ALERTS.c.channel,
                func.count().filter(ALERTS.c.status == "pending").label("pending"),
                func.count().filter(failing).label("failing"),
                func.count().filter(ALERTS.c.status == "given_up").label("given_up"),
            )
            .group_by(ALERTS.c.channel)
            .order_by(ALERTS.c.channel)
        )
        last_error = (
            select(ALERTS.c.last_error)
            .where(ALERTS.c.channel == bindparam("channel"), ALERTS.c.last_error.is_not(None))
            .where(ALERTS.c.status.in_(["pending", "given_up"]))
            .order_by(ALERTS.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            tallies = conn.execute(query).all()
            return [
                ChannelHealth(
                    channel=t.channel,
                    pending=t.pending,
                    failing=t.failing,
                    given_up=t.given_up,
                    last_error=conn.execute(last_error, {"channel": t.channel}).scalar(),
                )
                for t in tallies
            ]

    def alerts_for(self, item_id: int) -> list[AlertRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ALERTS).where(ALERTS.c.item_id == item_id).order_by(ALERTS.c.id)
            ).mappings()
            return [AlertRow.model_validate(dict(r)) for r in rows]

    def drafts_to_refine(self, limit: int) -> list[ItemRow]:
        """Items waiting for an answer whose draft is still the template's, soonest due first."""
        query = (
            select(ITEMS)
            .where(
                ITEMS.c.status.in_([Status.OPEN, Status.SNOOZED]),
                ITEMS.c.needs_reply.is_(True),
                ITEMS.c.suggestion_via == "template",
            )
            .order_by(ITEMS.c.due_at, ITEMS.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ItemRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def set_refined_draft(
        self, item_id: int, draft: str | None, *, late: bool, late_draft: str | None = None
    ) -> None:
        """Keep the LLM's draft: only as the late one when `late`, else as the draft and, when
        given, `late_draft` as the late one. None: the template stays, for good."""
        values: dict[str, Any] = {"suggestion_via": "llm" if draft else "template:kept"}
        if draft and late:
            values["suggestion_late"] = draft
        elif draft:
            values["suggestion"] = draft
            if late_draft:
                values["suggestion_late"] = late_draft
        with self.engine.begin() as conn:
            conn.execute(
                update(ITEMS)
                .where(ITEMS.c.id == item_id, ITEMS.c.suggestion_via == "template")
                .values(**values)
            )

    def set_next_poll(self, source: str, at: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(SOURCES).where(SOURCES.c.name == source).values(next_poll_at=at))

    # -- helpers --------------------------------------------------------------------------

    def _write_alerts(
        self,
        conn: Connection,
        wanted: Sequence[tuple[int, Level, int, datetime]],
        channels: Sequence[Channel],
        now: datetime,
    ) -> int:
        rows = [
            {
                "key": alert_key(item_id, level, seq, channel.name),
                "item_id": item_id,
                "channel": channel.name,
                "level": str(level),
                "seq": seq,
                "status": "pending",
                "created_at": now,
                "deliver_at": now,
                "attempts": 0,
            }
            for item_id, level, seq, _since in wanted
            for channel in channels
            if level.rank >= channel.min_level.rank
        ]
        if not rows:
            return 0
        statement = self._insert_ignore(ALERTS, ["key"]).returning(ALERTS.c.id)
        return len(conn.execute(statement, rows).all())

    def _update_pending(self, alert_ids: Sequence[int], **values: Any) -> None:
        """Change alerts still pending; a sent, cancelled or given-up alert is final."""
        if not alert_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(ALERTS)
                .where(ALERTS.c.id.in_(list(alert_ids)), ALERTS.c.status == "pending")
                .values(**values)
            )

    def _set(self, item_id: int, **values: Any) -> ItemRow:
        with self.engine.begin() as conn:
            done = conn.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(**values))
        if done.rowcount == 0:
            raise UnknownItem(item_id)
        return self.item(item_id)

    def _insert_ignore(self, table: Any, keys: list[str]) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        if self.dialect not in ("postgresql", "sqlite"):
            raise StoreError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        return dialect.insert(table).on_conflict_do_nothing(index_elements=keys)

    def _insert_new(
        self, conn: Connection, table: Any, rows: list[dict[str, Any]], *returning: Any
    ) -> list[Any]:
        """Insert what is not there yet; the `returning` columns of the rows that were new.

        RETURNING, because an executemany's rowcount is not reliable on every driver;
        SQLAlchemy sends the rows as multi-row INSERTs ("insertmanyvalues").
        """
        statement = self._insert_ignore(table, ["source", "external_id"]).returning(*returning)
        return list(conn.execute(statement, rows).all())

    def _insert_items(
        self, conn: Connection, source: str, items: Sequence[PlannedItem], now: datetime
    ) -> list[tuple[int, str]]:
        """Insert new items; (id, status) of each one that was not stored yet."""
        if not items:
            return []
        rows = [
            _written(source, i.record, now)
            | {
                "kind": i.record.kind,
                "created_at_estimated": i.record.created_at_estimated,
                "due_at": i.due_at,
                "status": str(i.status),
                "answered_at": i.answered_at,
                "answered_via": "detected" if i.answered_at else None,
                "answered_by": i.answered_by,
            }
            | _suggestion_columns(i.suggestion)
            for i in items
        ]
        return [tuple(r) for r in self._insert_new(conn, ITEMS, rows, ITEMS.c.id, ITEMS.c.status)]

    def _insert_replies(
        self, conn: Connection, source: str, replies: Sequence[Record], now: datetime
    ) -> int:
        if not replies:
            return 0
        rows = [_written(source, r, now) for r in replies]
        return len(self._insert_new(conn, REPLIES, rows, REPLIES.c.id))

    def _answer(self, conn: Connection, source: str, plan: Plan) -> int:
        if not plan.answers:
            return 0
        statement = (
            update(ITEMS)
            .where(
                ITEMS.c.source == source,
                ITEMS.c.external_id == bindparam("item"),
                # Spelled out: an IN list cannot be expanded in an executemany.
                or_(*(ITEMS.c.status == s for s in sorted(ANSWERABLE))),
            )
            .values(
                status=Status.ANSWERED,
                answered_at=bindparam("at"),
                answered_via="detected",
                answered_by=bindparam("by"),
                snoozed_until=None,
            )
        )
        params = [
            {"item": a.external_id, "at": a.answered_at, "by": a.answered_by} for a in plan.answers
        ]
        result = conn.execute(statement, params)
        return max(result.rowcount, 0)

    @staticmethod
    def _existing(conn: Connection, table: Any, source: str, ids: Sequence[str]) -> set[str]:
        query = select(table.c.external_id).where(table.c.source == source)
        return {row.external_id for row in _rows_where_in(conn, query, (table.c.external_id, ids))}

    @staticmethod
    def _answerable(
        conn: Connection, source: str, threads: set[str], parents: set[str]
    ) -> list[KnownItem]:
        query = select(ITEMS.c.external_id, ITEMS.c.thread_id, ITEMS.c.created_at).where(
            ITEMS.c.source == source, ITEMS.c.status.in_(list(ANSWERABLE))
        )
        rows = _rows_where_in(
            conn, query, (ITEMS.c.thread_id, threads), (ITEMS.c.external_id, parents)
        )
        return list({row.external_id: KnownItem(*row) for row in rows}.values())

    @staticmethod
    def _replies_near(
        conn: Connection, source: str, threads: set[str], parents: set[str]
    ) -> list[KnownReply]:
        columns = (REPLIES.c.external_id, REPLIES.c.thread_id, REPLIES.c.parent_id)
        query = select(*columns, REPLIES.c.created_at).where(REPLIES.c.source == source)
        rows = _rows_where_in(
            conn, query, (REPLIES.c.thread_id, threads), (REPLIES.c.parent_id, parents)
        )
        return list({row.external_id: KnownReply(*row) for row in rows}.values())


def _open_at(as_of: datetime, scope: Sequence[Any]) -> Any:
    """The items open at `as_of` (id, source, created_at, due_at): created before it and
    neither answered nor dismissed by then.

    Three selects, one per way an item can be open then, each on an index the planner cannot
    miss: still waiting now (status), answered only later (answered_at), dismissed only later
    (status). A single OR over them would read every item created before `as_of`.
    """
    columns = (ITEMS.c.id, ITEMS.c.source, ITEMS.c.created_at, ITEMS.c.due_at)
    created = ITEMS.c.created_at < as_of
    not_answered = ITEMS.c.answered_at.is_(None) | (ITEMS.c.answered_at >= as_of)
    return union_all(
        select(*columns).where(
            ITEMS.c.status.in_([Status.OPEN, Status.SNOOZED]), created, not_answered, *scope
        ),
        select(*columns).where(
            ITEMS.c.answered_at >= as_of, ITEMS.c.status == Status.ANSWERED, created, *scope
        ),
        select(*columns).where(
            ITEMS.c.status == Status.DISMISSED,
            ITEMS.c.dismissed_at >= as_of,
            created,
            not_answered,
            *scope,
        ),
    )


def _note_poll(
    conn: Connection,
    source: str,
    outcome: str,
    now: datetime,
    *,
    every: timedelta | None,
    error: str | None = None,
) -> None:
    """Add one poll to the source's history (`monitor.models.PollRunRow`).

    The latest run grows when this poll has its outcome and comes at most 3x `every` after
    it: a gap the report would call a blind spot always starts a new run. Without `every`
    (a caller that does not know the interval) each poll is a run of its own: exact, only
    larger. ``disabled`` notes always merge: a source stays switched off until polled again.
    """
    latest = conn.execute(
        select(RUNS.c.id, RUNS.c.outcome, RUNS.c.last_at)
        .where(RUNS.c.source == source)
        .order_by(RUNS.c.last_at.desc(), RUNS.c.id.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.outcome == outcome and latest.last_at <= now:
        near = every is not None and now - latest.last_at <= BLIND_FACTOR * every
        if outcome == "disabled" or near:
            conn.execute(
                update(RUNS)
                .where(RUNS.c.id == latest.id)
                .values(last_at=now, polls=RUNS.c.polls + 1, last_error=error)
            )
            return
    conn.execute(
        RUNS.insert().values(
            source=source, outcome=outcome, first_at=now, last_at=now, polls=1, last_error=error
        )
    )


def _rows_where_in(
    conn: Connection, query: Any, *matches: tuple[Any, Iterable[str]]
) -> Iterator[Any]:
    """The rows of `query` where any `column IN values` holds, asked in driver-sized chunks.

    A row matching several columns comes once per match: callers key them by id.
    """
    for column, values in matches:
        for chunk in _chunks(sorted(values)):
            yield from conn.execute(query.where(column.in_(chunk)))


def _prefixed(row: Any, prefix: str) -> dict[str, Any]:
    """The columns of one table from a joined row labelled ``table_column``."""
    return {k[len(prefix) :]: v for k, v in row._mapping.items() if k.startswith(prefix)}


def _backing_off(alert: dict[str, Any], now: datetime) -> bool:
    retry_at = alert["next_attempt_at"]
    return retry_at is not None and retry_at > now


def _pending(
    alert: dict[str, Any], item: dict[str, Any], platform: str, now: datetime
) -> PendingAlert:
    row = ItemRow.model_validate(item)  # as a model: current_draft() and attribute access
    return PendingAlert(
        id=alert["id"],
        key=alert["key"],
        channel=alert["channel"],
        level=Level(alert["level"]),
        seq=alert["seq"],
        created_at=alert["created_at"],
        attempts=alert["attempts"],
        view=AlertView(
            item_id=row.id or 0,
            level=Level(alert["level"]),
            platform=platform,
            source=row.source,
            author=row.author,
            text=row.text,
            url=row.url,
            created_at=row.created_at,
            due_at=row.due_at,
            suggestion=current_draft(row, now),
            hint=row.suggestion_hint,
            needs_reply=row.needs_reply is not False,
        ),
    )


_NO_SUGGESTION = dict.fromkeys(
    ("intent", "sentiment", "needs_reply", "suggestion", "suggestion_late", "suggestion_hint",
     "suggestion_via"),
)  # fmt: skip


def _suggestion_columns(suggestion: Suggestion | None) -> dict[str, Any]:
    # Every row of one bulk insert needs the same columns.
    if suggestion is None:
        return _NO_SUGGESTION
    return {
        "intent": str(suggestion.intent),
        "sentiment": suggestion.sentiment,
        "needs_reply": suggestion.needs_reply,
        "suggestion": suggestion.draft,
        "suggestion_late": suggestion.late_draft,
        "suggestion_hint": suggestion.hint,
        "suggestion_via": "template" if suggestion.draft else None,
    }


def _written(source: str, record: Record, now: datetime) -> dict[str, Any]:
    """The columns items and owner replies share: who wrote what, where and when."""
    return {
        "source": source,
        "external_id": record.external_id,
        "thread_id": record.thread_id,
        "parent_id": record.parent_id,
        "author": record.author,
        "text": record.text,
        "url": record.url,
        "created_at": record.created_at,
        "fetched_at": now,
    }


class seconds_between(FunctionElement[float]):  # lower case: an SQL function, named like one
    """``end - start`` in seconds, as a float, in SQL: SQLite has no interval type.

    * PostgreSQL: ``EXTRACT(EPOCH FROM end - start)``: exact, to the microsecond.
    * SQLite: both times are stored as UTC text, which ``julianday()`` turns into days (a
      double); times 2026 days apart differ in the 5th decimal of a second, and SQLite reads
      only milliseconds anyway, so the result is rounded to the millisecond: a latency of
      exactly 300 s compares equal to the 5-minute bucket's bound on both databases.
    """

    type = Float()
    name = "seconds_between"
    inherit_cache = True

    def __init__(self, start: ColumnElement[Any], end: ColumnElement[Any]) -> None:
        super().__init__(start, end)


def _operands(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    start, end = element.clauses.clauses
    return compiler.process(start, **kw), compiler.process(end, **kw)


@compiles(seconds_between)
def _seconds_anywhere(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(
        f"seconds_between is written for SQLite and PostgreSQL, not {compiler.dialect.name}"
    )


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _operands(element, compiler, **kw)
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _operands(element, compiler, **kw)
    return f"EXTRACT(EPOCH FROM ({end}) - ({start}))"


def _metric_counts(row: Any) -> ItemCounts:
    buckets = tuple(int(n) for n in row[-len(LATENCY_BUCKETS) :])
    return ItemCounts(
        received=row.received,
        answered_detected=row.detected,
        # Everything not seen as an owner reply was marked by hand (NULL only on old rows).
        answered_manual=row.answered - row.detected,
        dismissed=row.dismissed,
        open=row.open,
        overdue=row.overdue,
        latency_buckets=buckets,
        latency_count=row.answered,
        latency_sum=float(row.latency_sum),  # PostgreSQL's EXTRACT gives numeric: a Decimal
    )


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _longer(every: timedelta | None, budget: timedelta | None) -> timedelta | None:
    """The interval a source is actually polled at: its own, or the budget's when longer."""
    if every is None or budget is None:
        return every or budget
    return max(every, budget)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _expand_sqlite_path(url: str) -> str:
    """``sqlite:///~/x.db`` → the home directory spelled out (SQLAlchemy does not expand ~)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix) :].startswith("~"):
        return prefix + str(Path(url[len(prefix) :]).expanduser())
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read while the daemon writes; the busy timeout makes writers wait
    # for each other instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
