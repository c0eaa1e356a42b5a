"""The store as of Sameday 0.1: sources, items, owner replies, alerts, poll runs, reports.

A database made before migrations existed is brought to this schema by `monitor.schema` (the
missing tables, columns and indexes are added) and stamped with this revision.

Revision ID: 0001
Revises: (none)
Created: 2026-11-24 15:45:05.358994
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import monitor.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("first_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("last_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("poll_runs", schema=None) as batch_op:
        batch_op.create_index("ix_poll_runs_source_last", ["source", "last_at"], unique=False)

    op.create_table(
        "reports_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", monitor.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "channel", name="uq_reports_day_channel"),
    )
    op.create_table(
        "sources",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.Column("first_polled_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("last_poll_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_warning", sa.Text(), nullable=True),
        sa.Column("last_warning_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("next_poll_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("budget_interval_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("created_at_estimated", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("due_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answered_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("answered_via", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("snoozed_until", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("dismissed_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("intent", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("needs_reply", sa.Boolean(), nullable=True),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("suggestion_late", sa.Text(), nullable=True),
        sa.Column("suggestion_hint", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("suggestion_via", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source"],
            ["sources.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_items_source_external"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_answered", ["answered_at"], unique=False)
        batch_op.create_index("ix_items_created", ["created_at"], unique=False)
        batch_op.create_index("ix_items_due", ["due_at"], unique=False)
        batch_op.create_index("ix_items_source_due", ["source", "due_at"], unique=False)
        batch_op.create_index("ix_items_source_thread", ["source", "thread_id"], unique=False)
        batch_op.create_index("ix_items_status_answered", ["status", "answered_at"], unique=False)
        batch_op.create_index("ix_items_status_dismissed", ["status", "dismissed_at"], unique=False)
        batch_op.create_index("ix_items_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "owner_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("fetched_at", monitor.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source"],
            ["sources.name"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_replies_source_external"),
    )
    with op.batch_alter_table("owner_replies", schema=None) as batch_op:
        batch_op.create_index("ix_replies_source_parent", ["source", "parent_id"], unique=False)
        batch_op.create_index("ix_replies_source_thread", ["source", "thread_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("deliver_at", monitor.models.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", monitor.models.UTCDateTime(), nullable=True),
        sa.Column("closed_at", monitor.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_alerts_key"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_channel_status_deliver", ["channel", "status", "deliver_at"], unique=False
        )
        batch_op.create_index("ix_alerts_item", ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_item")
        batch_op.drop_index("ix_alerts_channel_status_deliver")

    op.drop_table("alerts")
    with op.batch_alter_table("owner_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_source_thread")
        batch_op.drop_index("ix_replies_source_parent")

    op.drop_table("owner_replies")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_status_due")
        batch_op.drop_index("ix_items_status_dismissed")
        batch_op.drop_index("ix_items_status_answered")
        batch_op.drop_index("ix_items_source_thread")
        batch_op.drop_index("ix_items_source_due")
        batch_op.drop_index("ix_items_due")
        batch_op.drop_index("ix_items_created")
        batch_op.drop_index("ix_items_answered")

    op.drop_table("items")
    op.drop_table("sources")
    op.drop_table("reports_sent")
    with op.batch_alter_table("poll_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_runs_source_last")

    op.drop_table("poll_runs")
