"""The tables (SQLModel): sources with their cursor, health and poll history, items, the owner's
replies, and the two outboxes (alerts, daily reports).

Times are stored as UTC. `UTCDateTime` makes every database hand back timezone-aware UTC values
(SQLite keeps no offset; PostgreSQL uses ``timestamptz``), so no naive datetime leaks out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; use an aware UTC one")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC so that text comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(**kwargs: Any) -> Any:
    nullable = kwargs.pop("nullable", True)
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, **kwargs))


class SourceRow(SQLModel, table=True):
    """One configured source: where its connector got to, and how healthy it is."""

    __tablename__ = "sources"

    name: str = Field(primary_key=True)
    type: str
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    first_polled_at: datetime | None = _utc()
    last_poll_at: datetime | None = _utc()
    last_success_at: datetime | None = _utc()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: datetime | None = _utc()
    consecutive_failures: int = 0
    last_warning: str | None = Field(default=None, sa_column=Column(Text))
    last_warning_at: datetime | None = _utc()
    # Written by the daemon: when it will poll next (after backoff), for `sameday status`.
    next_poll_at: datetime | None = _utc()
    # Seconds between polls that the platform's rate budget forces, when longer than `every`
    # (the last successful poll said so): status and the report judge blind spots by it.
    budget_interval_s: float | None = None


class ItemRow(SQLModel, table=True):
    """Something someone else wrote that may need an answer."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_items_source_external"),
        Index("ix_items_source_thread", "source", "thread_id"),
        Index("ix_items_status_due", "status", "due_at"),
        Index("ix_items_created", "created_at"),
        Index("ix_items_answered", "answered_at"),
        # The daily report: items due during a day, a source's latest missed deadline, and
        # items answered or dismissed only after a moment (so open then).
        Index("ix_items_due", "due_at"),
        Index("ix_items_source_due", "source", "due_at"),
        Index("ix_items_status_answered", "status", "answered_at"),
        Index("ix_items_status_dismissed", "status", "dismissed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(foreign_key="sources.name")
    external_id: str
    kind: str = "comment"
    thread_id: str | None = None
    parent_id: str | None = None
    author: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = None
    created_at: datetime = _utc(nullable=False)
    created_at_estimated: bool = False
    fetched_at: datetime = _utc(nullable=False)
    due_at: datetime = _utc(nullable=False)
    status: str = "open"
    answered_at: datetime | None = _utc()
    answered_via: str | None = None  # "detected" | "manual"
    answered_by: str | None = None  # external id of the owner reply, when detected
    snoozed_until: datetime | None = _utc()
    # When the owner said it needs no reply: the report counts it open until then. NULL on rows
    # dismissed before this column existed: those count as never open.
    dismissed_at: datetime | None = _utc()
    intent: str | None = None
    sentiment: float | None = None  # VADER compound, -1..1
    needs_reply: bool | None = None  # False: spam or idle chatter, suggested for dismissal
    suggestion: str | None = Field(default=None, sa_column=Column(Text))
    # The same reply opening with an apology, shown once the deadline has passed.
    suggestion_late: str | None = Field(default=None, sa_column=Column(Text))
    suggestion_hint: str | None = None  # a note for the owner ("Looks like spam: dismiss it.")
    suggestion_via: str | None = None  # "template" | "llm"


class OwnerReplyRow(SQLModel, table=True):
    """Something the owner wrote; kept so that items seen later can still be matched to it."""

    __tablename__ = "owner_replies"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_replies_source_external"),
        Index("ix_replies_source_thread", "source", "thread_id"),
        Index("ix_replies_source_parent", "source", "parent_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(foreign_key="sources.name")
    external_id: str
    thread_id: str | None = None
    parent_id: str | None = None
    author: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = None
    created_at: datetime = _utc(nullable=False)
    fetched_at: datetime = _utc(nullable=False)


class AlertRow(SQLModel, table=True):
    """The outbox: one alert about one item, at one level, for one channel.

    A row is written in the transaction that makes the alert due and marked sent only after the
    channel took it. `key` is the idempotency key (item, level, repeat, channel): writing the
    same alert twice is a no-op, so a restart re-plans without repeating anything.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("key", name="uq_alerts_key"),
        Index("ix_alerts_channel_status_deliver", "channel", "status", "deliver_at"),
        Index("ix_alerts_item", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str
    item_id: int = Field(foreign_key="items.id")
    channel: str
    level: str  # "new" | "reminder" | "overdue"
    seq: int = 0  # which overdue repeat (0 for the first and for other levels)
    status: str = "pending"  # pending | sent | cancelled | given_up
    created_at: datetime = _utc(nullable=False)
    deliver_at: datetime = _utc(nullable=False)  # not before this
    attempts: int = 0
    next_attempt_at: datetime | None = _utc()  # after a failed delivery
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()  # when cancelled or given up


class PollRunRow(SQLModel, table=True):
    """A source's poll history, compacted: one row per run of polls with the same outcome.

    Each poll extends the source's latest run when it has the same outcome and comes at most
    3x the source's interval after it; anything else starts a new run. So a source polled
    every 5 minutes without trouble adds one row per daemon start, not 288 a day, and every
    gap the report calls a blind spot (longer than 3x the interval) is a gap between runs.
    ``outcome`` is ``ok``, ``failed`` (``last_error`` says why) or ``disabled`` (the daemon
    started with the source switched off: no poll is expected until the next run).
    """

    __tablename__ = "poll_runs"
    __table_args__ = (Index("ix_poll_runs_source_last", "source", "last_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: the history of a source removed from the config stays readable.
    source: str
    outcome: str  # "ok" | "failed" | "disabled"
    first_at: datetime = _utc(nullable=False)
    last_at: datetime = _utc(nullable=False)
    polls: int = 1
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ReportSentRow(SQLModel, table=True):
    """The daily report's outbox: one row per (local day, channel).

    Written before delivery and marked sent only after the channel took the report, so a
    restart at the report's minute neither sends it twice nor loses it.
    """

    __tablename__ = "reports_sent"
    __table_args__ = (UniqueConstraint("day", "channel", name="uq_reports_day_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(Date, nullable=False))
    channel: str
    status: str = "pending"  # pending | sent | given_up
    created_at: datetime = _utc(nullable=False)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = _utc()


class LeaseRow(SQLModel, table=True):
    """Who does a piece of work right now, and until when: ``source:NAME`` (polling a source)
    or ``duty:delivery`` (the outbox and the daily report).

    Several `sameday run` processes share one PostgreSQL store by leasing: a worker claims a
    row (``SELECT … FOR UPDATE SKIP LOCKED``), does the work, renews while it lasts and releases
    it. A worker that dies keeps its leases only until `until`; then another claims them.
    """

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    owner: str | None = None  # the worker id (host:pid:random) holding it, None when free
    until: datetime | None = _utc()
