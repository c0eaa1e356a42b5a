"""Alembic's environment for Sameday's store: run by `monitor.schema`, never by hand.

`monitor.schema.migrate` hands over an open connection (``config.attributes["connection"]``),
so migrations run on the same engine, search path and locks as the store itself. SQLite cannot
alter most of a table in place: batch mode copies and renames it instead.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import monitor.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
