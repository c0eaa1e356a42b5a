"""Schema migrations (Alembic), on SQLite and on the real PostgreSQL: the migrations make
exactly the tables the models describe, a store from before migrations is brought up and
stamped, nothing runs twice, and several processes opening one new store do not collide."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel
from typer.testing import CliRunner

from monitor import schema
from monitor.cli import app
from monitor.store import Store


def test_the_migrations_make_exactly_the_schema_of_the_models(database_url: str) -> None:
    store = Store(database_url)
    try:
        assert store.migration.before is None and not store.migration.legacy
        assert store.migration.after == schema.head() == schema.current(store.engine)
        with store.engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert drift == []  # a model changed without a migration: write one
    finally:
        store.close()


def test_head_is_the_newest_migration_script() -> None:
    """`schema.HEAD` spares Alembic's import when a store is up to date: it must name the
    newest script (add a migration, move HEAD)."""
    assert schema.head() == schema.scripts_head()


def test_opening_again_migrates_nothing_and_keeps_the_data(database_url: str, clock) -> None:
    first = Store(database_url)
    first.ensure_sources([("blog", "demo")])
    first.close()
    again = Store(database_url)
    try:
        assert not again.migration.changed
        assert again.source("blog") is not None
    finally:
        again.close()


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    store = Store(database_url)
    try:
        with store.engine.begin() as conn:
            config = schema._alembic_config(conn)
            command.downgrade(config, "base")
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
            command.upgrade(config, "head")
        assert schema.current(store.engine) == schema.head()
    finally:
        store.close()


def _open(url: str) -> str:
    store = Store(url)
    try:
        return store.migration.after
    finally:
        store.close()


def test_workers_opening_one_new_store_at_once_migrate_it_once(database_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_open, [database_url] * 4)
    assert revisions == [schema.head()] * 4
    store = Store(database_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert [row[0] for row in rows] == [schema.head()]
    finally:
        store.close()


def test_sameday_migrate_says_where_the_store_is(tmp_path: Path) -> None:
    config = tmp_path / "sameday.yaml"
    config.write_text(f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n")
    result = CliRunner().invoke(app, ["-c", str(config), "migrate"])
    assert result.exit_code == 0, result.output
    assert f"migrated from nothing to {schema.head()}" in result.output
    result = CliRunner().invoke(app, ["-c", str(config), "migrate"])
    assert result.exit_code == 0 and f"already at {schema.head()}" in result.output
