"""The connector contract (issue 8): every registered connector through one table of cases.

Connectors are discovered through the entry-point group ``sameday.connectors``, the built-in ones
exactly as an outside package would register. Every type found there runs through the same cases,
with the same assertions, against its platform's fake on 127.0.0.1 behind the fault proxy of
tests/contract_harness.py:

===================  ====================================================================
empty-page           no records, no warning, and a cursor the next fetch accepts
one-new-record       exactly one Record with the contract's fields and a JSON cursor; the
                     next fetch with that cursor does not return it again
owner-reply          an is_owner record that answers the item (parent_id, or the thread on
                     flat platforms); polled into a SQLite store, the item ends answered at
                     the reply's created_at
malformed            invalid JSON/XML: a TransientError (the feed: its documented warning
                     with what it could parse), never a crash or an AuthError
429-retry-after      a TransientError whose retry_after is the 120 s the platform asked for
timeout              an answer that never comes: a TransientError within the context timeout
===================  ====================================================================

No message may contain a configured secret. A registered type without an adapter fails with
"connector X has no contract adapter in tests/contract_harness.py": a new connector joins the
contract by adding one. ``demo`` does no I/O (`NETWORKLESS`): its network cases prove that
instead, under ids ending in ``networkless-no-io``.
"""

from __future__ import annotations

import socket
import time
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from connectors.base import (
    ENTRY_POINT_GROUP,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
    registry,
)
from monitor.config import parse_config
from monitor.poll import poll_source
from monitor.store import Store
from tests.conftest import Clock
from tests.contract_harness import (
    ADAPTERS,
    HANG,
    NETWORKLESS,
    NOW,
    Adapter,
    Spy,
    adapter_for,
    answers,
    assert_plain,
    assert_record,
    assert_transient,
    attempt,
    praw_never_sleeps,
    primed,
    round_trip,
    source_yaml,
)

ROOT = Path(__file__).resolve().parents[1]
TYPES = sorted(registry())
TIMEOUT_S = 0.3


def _network_params() -> list[Any]:
    """Every registered type; a networkless one says so in its id (and proves it in its body)."""
    return [
        pytest.param(name, id=f"{name}-networkless-no-io" if name in NETWORKLESS else name)
        for name in TYPES
    ]


@pytest.fixture
def adapter_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a type's adapter (its fake and proxy) on a fixed clock; stopped after the test."""
    started: list[Adapter] = []

    def start(type_: str) -> Adapter:
        adapter = adapter_for(type_, Clock(NOW))
        adapter.__enter__()
        started.append(adapter)
        return adapter

    with praw_never_sleeps(monkeypatch):
        yield start
    for adapter in started:
        adapter.__exit__(None, None, None)


def fetched(outcome: Any, what: str) -> FetchResult:
    """The outcome as a FetchResult; any exception fails the case, saying which."""
    assert isinstance(outcome, FetchResult), (
        f"{what}: expected a FetchResult, got {type(outcome).__name__}: {outcome!r}"
    )
    return outcome


def assert_no_io(adapter: Adapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """A networkless connector fetches a whole simulated day without opening one socket, so
    no malformed answer, 429 or timeout can reach it."""
    tried: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        tried.append(args)
        raise AssertionError("a networkless connector tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    connector = adapter.connector()
    cursor = None
    for _ in range(24):
        result = fetched(attempt(connector.fetch, cursor), f"{adapter.type} without a network")
        for record in result.records:
            assert_record(record, http_bases=(), what=f"{adapter.type} without a network")
        cursor = round_trip(result.cursor)
        adapter.clock.advance(hours=1)
    assert tried == []


# -- discovery ------------------------------------------------------------------------------------


def test_built_in_connectors_register_through_the_entry_point_group_like_an_outside_one() -> None:
    """pyproject.toml declares each built-in connector in ``sameday.connectors``, the installed
    metadata says the same (a stale install would hide a new connector), and each class found
    there is a connector of that type with strict settings."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][
        ENTRY_POINT_GROUP
    ]
    installed = {e.name: e for e in entry_points(group=ENTRY_POINT_GROUP)}
    ours = {name: e.value for name, e in installed.items() if e.dist and e.dist.name == "sameday"}
    assert ours == declared, "the installed entry points differ: run `pip install -e .` again"
    for name, cls in registry().items():
        assert cls.type == name, f"{installed[name].value} says its type is {cls.type!r}"
        assert issubclass(cls.Settings, ConnectorSettings), f"{name}: Settings"
        assert cls.Settings.model_config.get("extra") == "forbid", f"{name}: unknown keys pass"
        assert callable(getattr(cls, "fetch", None)), f"{name}: no fetch"


@pytest.mark.parametrize("type_", TYPES)
def test_every_registered_connector_has_a_contract_adapter(type_: str) -> None:
    """A connector joins the contract by adding its adapter to tests/contract_harness.py."""
    if type_ not in ADAPTERS:
        pytest.fail(f"connector {type_} has no contract adapter in tests/contract_harness.py")


def test_every_adapter_belongs_to_a_registered_connector() -> None:
    """No adapter outlives its connector (or tests one that is not installed)."""
    assert set(ADAPTERS) <= set(registry()), sorted(set(ADAPTERS) - set(registry()))


# -- the cases ------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", TYPES)
def test_empty_page(type_: str, adapter_of: Any) -> None:
    """Nothing new: no records, no warning, and a cursor (JSON) the next fetch accepts."""
    adapter: Adapter = adapter_of(type_)
    connector = adapter.connector()
    start = adapter.initial_cursor(connector)
    result = fetched(attempt(connector.fetch, start), f"{type_} empty page")
    assert result.records == [] and result.warnings == []
    again = fetched(attempt(connector.fetch, round_trip(result.cursor)), f"{type_} next fetch")
    assert again.records == [] and again.warnings == []
    round_trip(again.cursor)


@pytest.mark.parametrize("type_", TYPES)
def test_one_new_record(type_: str, adapter_of: Any) -> None:
    """One new item is exactly one Record with the contract's fields (aware UTC time from the
    platform, plain text, a permalink, an allowed kind, not the owner's), with a JSON cursor;
    the next fetch with that cursor does not return it again."""
    adapter: Adapter = adapter_of(type_)
    connector = adapter.connector()
    empty = fetched(attempt(connector.fetch, adapter.initial_cursor(connector)), f"{type_} empty")
    written = adapter.arrange_item()
    result = fetched(attempt(connector.fetch, round_trip(empty.cursor)), f"{type_} one new")
    assert len(result.records) == 1, f"{type_}: {result.records!r}"
    assert result.warnings == [], f"{type_}: warnings for one new record: {result.warnings}"
    (record,) = result.records
    assert_record(record, http_bases=adapter.http_bases, what=type_)
    assert record.created_at == written, f"{type_}: created_at is not the platform's"
    assert record.is_owner is False
    later = fetched(attempt(connector.fetch, round_trip(result.cursor)), f"{type_} next fetch")
    assert record.external_id not in {r.external_id for r in later.records}
    round_trip(later.cursor)


@pytest.mark.parametrize("type_", TYPES)
def test_owner_reply(type_: str, adapter_of: Any, tmp_path: Path) -> None:
    """The owner's answer comes back as an is_owner record that answers the item under the
    answered rule (its parent_id, or its thread on flat platforms), and polled into a SQLite
    store the item ends answered at the reply's created_at."""
    adapter: Adapter = adapter_of(type_)
    identities = {type_: list(adapter.owner)}
    config = parse_config(
        f"owner: {{name: Dana, timezone: UTC, identities: {identities}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/contract.db'}}\n"
        "sources:\n" + source_yaml(type_, adapter, every="5m", backfill="all"),
        path=tmp_path / "sameday.yaml",
        environ={},
    )
    # Named after its type: the demo's timeline depends on the source's name.
    source = config.source(type_)
    store = Store(config.storage_url)
    inner = adapter.connector(name=type_)
    # The demo's first fetch (three days of comments) stands for the empty platform: its first
    # poll starts from the cursor that fetch left. Elsewhere the first poll has no cursor.
    spy = Spy(inner, adapter.initial_cursor(inner))
    try:
        store.ensure_sources([(type_, type_)])
        assert poll_source(source, spy, store, clock=adapter.clock).ok
        adapter.arrange_item()
        outcome = poll_source(source, spy, store, clock=adapter.clock)
        assert outcome.ok, outcome.error
        (item,) = [r for r in spy.results[-1].records if not r.is_owner]
        adapter.arrange_owner_reply(item)
        outcome = poll_source(source, spy, store, clock=adapter.clock)
        assert outcome.ok, outcome.error
        fresh = spy.results[-1].records
        for record in fresh:
            assert_record(record, http_bases=adapter.http_bases, what=f"{type_} after the reply")
        replies = [r for r in fresh if answers(r, item, flat=adapter.flat)]
        assert replies, f"{type_}: no owner record answers {item.external_id}: {fresh!r}"
        if not adapter.flat:
            assert all(r.parent_id == item.external_id for r in replies)
        first = min(r.created_at for r in replies)
        (stored,) = [
            i
            for i in store.inbox(adapter.clock(), everything=True)
            if i.external_id == item.external_id
        ]
        assert (stored.status, stored.answered_at) == ("answered", first)
    finally:
        store.close()


@pytest.mark.parametrize("type_", _network_params())
def test_malformed_response(type_: str, adapter_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Invalid JSON (or XML) is a TransientError, never a crash or an AuthError; the feed
    connector instead documents a warning and keeps what it could parse."""
    adapter: Adapter = adapter_of(type_)
    if adapter.networkless:
        assert_no_io(adapter, monkeypatch)
        return
    connector = adapter.connector()
    cursor = primed(connector, type_)
    assert adapter.proxy is not None
    adapter.proxy.fault = adapter.malformed()
    outcome = attempt(connector.fetch, cursor)
    assert adapter.proxy.faulted(), f"{type_}: the fetch never met the malformed answer"
    if adapter.partial_warning is None:
        assert_transient(outcome, adapter.secrets, f"{type_} malformed")
        return
    result = fetched(outcome, f"{type_} malformed")
    assert any(adapter.partial_warning in w for w in result.warnings), result.warnings
    for warning in result.warnings:
        assert_plain(warning, adapter.secrets, f"{type_} warning")
    for record in result.records:
        assert_record(record, http_bases=adapter.http_bases, what=f"{type_} partial")


@pytest.mark.parametrize("type_", _network_params())
def test_429_with_retry_after(type_: str, adapter_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 429 asking for 120 s (Retry-After, or the platform's own reset header arranged to mean
    120 s) is a TransientError whose retry_after is 120: the daemon waits as long as asked.
    (Mastodon states a reset instant against its Date header: 120 s to within a second.)"""
    adapter: Adapter = adapter_of(type_)
    if adapter.networkless:
        assert_no_io(adapter, monkeypatch)
        return
    connector = adapter.connector()
    cursor = primed(connector, type_)
    assert adapter.proxy is not None
    adapter.proxy.fault = adapter.rate_limited(120)
    error = assert_transient(attempt(connector.fetch, cursor), adapter.secrets, f"{type_} 429")
    assert error.retry_after == pytest.approx(120, abs=1), (
        f"{type_}: retry_after is {error.retry_after!r}, not 120, in {error!r}"
    )


@pytest.mark.parametrize("type_", _network_params())
def test_timeout(type_: str, adapter_of: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that never answers is a TransientError, reached by the context's timeout
    (0.3 s; a library's own retries may take a few), never a poll that hangs."""
    adapter: Adapter = adapter_of(type_)
    if adapter.networkless:
        assert_no_io(adapter, monkeypatch)
        return
    connector = adapter.connector(timeout=TIMEOUT_S)
    cursor = primed(connector, type_)
    assert adapter.proxy is not None
    adapter.proxy.fault = HANG
    began = time.monotonic()
    outcome = attempt(connector.fetch, cursor)
    took = time.monotonic() - began
    assert_transient(outcome, adapter.secrets, f"{type_} timeout")
    assert took < 10 * TIMEOUT_S, f"{type_}: gave up after {took:.1f} s, not {TIMEOUT_S} s"


def test_the_contract_record_check_catches_what_it_must() -> None:
    """The shared record assertions fail on the mistakes they exist for (a check that cannot
    fail proves nothing)."""
    good = Record(
        "1", "t", None, "Ann", False, "Open on Sunday?", "https://x.example/1", NOW, "comment"
    )
    assert_record(good, http_bases=(), what="good")
    bad = [
        Record("", "t", None, "Ann", False, "x", None, NOW),
        Record("1", "t", None, "Ann", False, "<p>x</p>", None, NOW),
        Record("1", "t", None, "Ann", False, "x", "http://x.example/1", NOW),
        Record("1", "t", None, "Ann", False, "x", None, NOW, "held-comment"),
        Record("1", "t", None, "Ann", False, "x", None, NOW.astimezone(_plus_one())),
    ]
    for record in bad:
        with pytest.raises(AssertionError):
            assert_record(record, http_bases=(), what="bad")
    with pytest.raises(AssertionError):
        assert_transient(TransientError("token s3cret refused"), ("s3cret",), "secret")
    reply = Record("2", "t", None, "Dana", True, "Yes", None, NOW + timedelta(minutes=1), "reply")
    assert answers(reply, good, flat=True) and not answers(reply, good, flat=False)


def _plus_one() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=1))
