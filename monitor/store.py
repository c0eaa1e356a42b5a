"""The triage store: the only module that talks SQL.

One `Store` wraps one database (SQLite by default, PostgreSQL for larger setups). Each poll of a
source is written by `Store.apply` in one transaction together with the source's new cursor, so
the cursor never moves ahead of stored data and a crash loses nothing. Inserts are bulk
``INSERT … ON CONFLICT DO NOTHING`` statements on ``(source, external_id)``: ingesting the same
records again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import SQLModel

from connectors.base import Record
from monitor.models import ItemRow, OwnerReplyRow, SourceRow
from monitor.triage import ANSWERABLE, Known, KnownItem, KnownReply, Plan, Status

log = logging.getLogger(__name__)

# SQLite allows 32766 bound parameters per statement (999 before 3.32); stay well below.
_CHUNK = 500
_BUSY_TIMEOUT_MS = 10_000

ITEMS = ItemRow.__table__  # type: ignore[attr-defined]
REPLIES = OwnerReplyRow.__table__  # type: ignore[attr-defined]
SOURCES = SourceRow.__table__  # type: ignore[attr-defined]


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


@dataclass(frozen=True, slots=True)
class ApplyResult:
    new_items: int
    new_replies: int
    answered: int  # items answered by detection, stored before or new in this batch


@dataclass(frozen=True, slots=True)
class SourceHealth:
    row: SourceRow
    open_items: int
    overdue_items: int


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
        SQLModel.metadata.create_all(self.engine)

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

    def record_failure(self, name: str, message: str, now: datetime) -> None:
        """Remember a failed poll; the cursor and the items are left as they were."""
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
    ) -> ApplyResult:
        """Write one poll's outcome, its cursor and the source's health in one transaction."""
        with self.engine.begin() as conn:
            new_items = self._insert_items(conn, source, items, now)
            new_replies = self._insert_replies(conn, source, plan.new_replies, now)
            answered = self._answer(conn, source, plan)
            values: dict[str, Any] = {
                "cursor": cursor,
                "last_poll_at": now,
                "last_success_at": now,
                "consecutive_failures": 0,
                "first_polled_at": func.coalesce(SOURCES.c.first_polled_at, now),
            }
            # A clean poll clears the warning: status shows what is wrong now, not once.
            values.update(last_warning=warning, last_warning_at=now if warning else None)
            conn.execute(update(SOURCES).where(SOURCES.c.name == source).values(**values))
        answered += sum(1 for i in items if i.status is Status.ANSWERED)
        return ApplyResult(new_items=new_items, new_replies=new_replies, answered=answered)

    def touch(self, source: str, now: datetime) -> None:
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
                )
            )

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

    def dismiss(self, item_id: int) -> ItemRow:
        """The owner says it needs no reply."""
        return self._set(item_id, status=Status.DISMISSED, snoozed_until=None)

    def snooze(self, item_id: int, until: datetime) -> ItemRow:
        return self._set(item_id, status=Status.SNOOZED, snoozed_until=until)

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ITEMS)).scalar_one())

    # -- helpers --------------------------------------------------------------------------

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

    def _insert_counted(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> int:
        """Insert what is not there yet; how many rows were new.

        Counted with RETURNING because an executemany's rowcount is not reliable on every
        driver; SQLAlchemy sends the rows as multi-row INSERTs ("insertmanyvalues").
        """
        statement = self._insert_ignore(table, ["source", "external_id"]).returning(table.c.id)
        return len(conn.execute(statement, rows).all())

    def _insert_items(
        self, conn: Connection, source: str, items: Sequence[PlannedItem], now: datetime
    ) -> int:
        if not items:
            return 0
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
            for i in items
        ]
        return self._insert_counted(conn, ITEMS, rows)

    def _insert_replies(
        self, conn: Connection, source: str, replies: Sequence[Record], now: datetime
    ) -> int:
        if not replies:
            return 0
        rows = [_written(source, r, now) for r in replies]
        return self._insert_counted(conn, REPLIES, rows)

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
        found: set[str] = set()
        for chunk in _chunks(ids):
            query = select(table.c.external_id).where(
                table.c.source == source, table.c.external_id.in_(chunk)
            )
            found.update(conn.execute(query).scalars())
        return found

    @staticmethod
    def _answerable(
        conn: Connection, source: str, threads: set[str], parents: set[str]
    ) -> list[KnownItem]:
        found: dict[str, KnownItem] = {}
        for column, values in ((ITEMS.c.thread_id, threads), (ITEMS.c.external_id, parents)):
            for chunk in _chunks(sorted(values)):
                query = select(ITEMS.c.external_id, ITEMS.c.thread_id, ITEMS.c.created_at).where(
                    ITEMS.c.source == source,
                    ITEMS.c.status.in_(list(ANSWERABLE)),
                    column.in_(chunk),
                )
                for row in conn.execute(query):
                    found[row.external_id] = KnownItem(*row)
        return list(found.values())

    @staticmethod
    def _replies_near(
        conn: Connection, source: str, threads: set[str], parents: set[str]
    ) -> list[KnownReply]:
        columns = (REPLIES.c.external_id, REPLIES.c.thread_id, REPLIES.c.parent_id)
        found: dict[str, KnownReply] = {}
        for column, values in ((REPLIES.c.thread_id, threads), (REPLIES.c.parent_id, parents)):
            for chunk in _chunks(sorted(values)):
                query = select(*columns, REPLIES.c.created_at).where(
                    REPLIES.c.source == source, column.in_(chunk)
                )
                for row in conn.execute(query):
                    found[row.external_id] = KnownReply(*row)
        return list(found.values())


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
