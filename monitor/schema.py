"""Bring a store's database to the schema this version of Sameday needs (Alembic migrations).

Every `Store` calls `migrate` when it opens, so the daemon applies new migrations at start and
`sameday migrate` does the same on its own (and says what it did). Three cases:

* **an empty database**: the migrations run from the first one;
* **a database from before migrations** (tables, no ``alembic_version``): the tables, columns
  and indexes it lacks are added, then it is stamped as revision 0001, whose schema it now
  has, and the later migrations run;
* **a migrated database**: the revisions it lacks run, in order; at head nothing happens.

Several processes may open one store at once (workers sharing PostgreSQL, the daemon and a CLI
command on SQLite), and each migrates in one transaction that holds a lock from its first
statement, so they take turns and the later ones find the work done: on PostgreSQL a
transaction-level advisory lock; on SQLite ``BEGIN IMMEDIATE`` (the database's write lock) on a
connection of its own, since the driver would otherwise start the transaction only at the first
write and run DDL outside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Index, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import monitor.models  # noqa: F401  (registers the tables)

if TYPE_CHECKING:  # Alembic is imported only to migrate: 0.15 s that a store at HEAD skips
    from alembic.config import Config as AlembicConfig

log = logging.getLogger("sameday.schema")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions: a test checks it against Alembic's own reading.
HEAD = "0002"
BASELINE = "0001"  # the schema of a store made before migrations, once `_legacy_upgrade` ran
# Any number, as long as it is Sameday's own: pg_advisory_xact_lock serialises migrations.
_PG_LOCK_KEY = 0x5A3ED4_0001
# Columns added to existing tables before migrations existed: a legacy store may lack them.
_LEGACY_COLUMNS = {"items": ("dismissed_at",), "sources": ("budget_interval_s",)}
# Tables that later migrations create: a legacy store is brought to BASELINE without them.
_AFTER_BASELINE = frozenset({"leases"})


@dataclass(frozen=True, slots=True)
class Migration:
    before: str | None  # the revision the store was at; None: a new or pre-migration store
    after: str  # the revision it is at now (head)
    legacy: bool = False  # it was made before migrations and has been brought up to BASELINE

    @property
    def changed(self) -> bool:
        return self.before != self.after


def head() -> str:
    """The newest revision this version ships."""
    return HEAD


@cache
def scripts_head() -> str | None:
    """The newest revision as Alembic reads the scripts (tests compare it with `HEAD`)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    # Alembic's own table, read without Alembic; no table means never migrated.
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> Migration:
    """Bring the database behind `engine` to `head()`; see the module docstring."""
    # Most opens find the store up to date: a plain read says so without taking the write
    # lock, so `sameday inbox` never waits for the daemon's transaction.
    at = current(engine)
    if at == head():
        return Migration(at, at)
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return _migrate(engine)  # an in-memory SQLite lives in its engine: nobody to race
    locked = create_engine(engine.url, connect_args={"timeout": SQLITE_WAIT_S}, poolclass=NullPool)
    event.listen(locked, "connect", _driver_transactions_off)
    event.listen(locked, "begin", _begin_immediate)
    try:
        return _migrate(locked)
    finally:
        locked.dispose()


SQLITE_WAIT_S = 60.0  # another process migrating the same file holds the lock this long at most


def _driver_transactions_off(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event says BEGIN itself


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _migrate(engine: Engine) -> Migration:
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = _revision(conn)
        legacy = before is None and _has_tables(conn)
        config = _alembic_config(conn)
        if legacy:
            _legacy_upgrade(conn)
            command.stamp(config, BASELINE)
            log.info("store: a store from before migrations, brought to %s", BASELINE)
        command.upgrade(config, "head")
        after = _revision(conn)
    assert after is not None
    if after != before:
        log.info("store: migrated from %s to %s", before or "nothing", after)
    return Migration(before, after, legacy)


def _alembic_config(conn: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def _has_tables(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables))


def _legacy_upgrade(conn: Connection) -> None:
    """Add what a store made by create_all before migrations lacks: whole tables, the columns
    added since (all nullable, so existing rows need no value) and indexes."""
    baseline = [t for t in SQLModel.metadata.sorted_tables if t.name not in _AFTER_BASELINE]
    SQLModel.metadata.create_all(conn, tables=baseline)
    existing = inspect(conn)
    for table_name, names in _LEGACY_COLUMNS.items():
        have = {c["name"] for c in existing.get_columns(table_name)}
        table = SQLModel.metadata.tables[table_name]
        for name in names:
            if name not in have:
                kind = table.c[name].type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {kind}"))
                log.info("store: added the column %s.%s", table_name, name)
    for table in baseline:
        indexed = {i["name"] for i in existing.get_indexes(table.name)}
        index: Index
        for index in table.indexes:
            if index.name not in indexed:
                index.create(conn, checkfirst=True)
