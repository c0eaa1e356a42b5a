"""Shared fixtures: a controllable clock, stores on SQLite and on the real PostgreSQL, records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Record
from monitor.store import Store

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
POSTGRES_URL = os.environ.get(
    "SAMEDAY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class Clock:
    """A clock the test moves by hand; never sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def source_for(tmp_path: Path, name: str, connector: Any) -> Any:
    """A configured `monitor.config.Source` named `name` around `connector` (its settings and
    owner identities), as `monitor.config` builds one, with ``backfill: all``."""
    import dataclasses

    from monitor.config import parse_config

    config = parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {demo: [Dana]}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/config.db'}}\n"
        f"sources:\n  - {{name: {name}, type: demo, platform: forum, backfill: all}}\n",
        path="test.yaml",
        environ={},
    )
    return dataclasses.replace(
        config.source(name),
        type=connector.type,
        connector_class=type(connector),
        settings=connector.settings,
        owner_identities=connector.context.owner_identities,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 9, 14, 0, tzinfo=UTC))  # Monday 10:00 in New York


def make_record(
    external_id: str,
    at: datetime,
    *,
    author: str = "Ann",
    owner: bool = False,
    thread: str | None = "post-1",
    parent: str | None = None,
    text: str = "Hello, are you open on Sunday?",
) -> Record:
    return Record(
        external_id=external_id,
        thread_id=thread,
        parent_id=parent,
        author=author,
        is_owner=owner,
        text=text,
        url=f"https://blog.example/{external_id}",
        created_at=at,
        kind="reply" if owner else "comment",
    )


def _postgres_schema() -> tuple[str, str]:
    """A new, empty schema on the real PostgreSQL, and a store URL that works in it."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {plain} ({exc}); start it "
            "(.ci/run does) or point SAMEDAY_TEST_POSTGRES at one"
        )
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on the default SQLite and on the real PostgreSQL (its own schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sameday.db'}"
        return
    url, schema = _postgres_schema()
    yield url
    _drop_schema(schema)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty schema on the real PostgreSQL: for what only PostgreSQL does (several workers)."""
    url, schema = _postgres_schema()
    yield url
    _drop_schema(schema)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The same tests on the default SQLite and on the real PostgreSQL."""
    opened = Store(database_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'sameday.db'}")
    yield opened
    opened.close()
