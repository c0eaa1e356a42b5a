"""Leases: several workers share one store.

One row per piece of work a `sameday run` process can hold (``source:NAME``,
``duty:delivery``); see `monitor.models.LeaseRow`.

Revision ID: 0002
Revises: 0001
Created: 2026-11-24 16:05:02.878341
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import monitor.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("until", monitor.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
