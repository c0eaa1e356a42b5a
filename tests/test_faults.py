"""Fault injection (issue 9): every connector and channel, and the daemon riding it all out.

"Fault injection for every connector and channel: timeouts, connection resets, 429 with
Retry-After, 500/502/503, truncated bodies, invalid JSON or XML, wrong encodings, a clock jump.
The daemon keeps going, nothing is lost, nothing doubles, and status shows what happened."

Faults are played by the proxy of tests/contract_harness.py in front of each platform's fake (and
in front of a webhook), the same way for everyone:

- **Connectors** (one table, every registered type): a connection reset in mid-answer, a
  connection dropped before any answer, 500, 502 and 503, a body shorter than its
  Content-Length, JSON (or XML) cut in half, the platform's own answer in Latin-1 bytes labelled
  UTF-8, and well-formed JSON of the wrong shape (a maintenance notice). Each must be a
  TransientError with a plain message (the feed: its documented warning with what it could
  parse; a wrong encoding may also be decoded correctly), never a crash, never a secret, and
  the item that was waiting comes through once the platform recovers. Timeouts, 429s and invalid
  JSON are the contract's cases (tests/test_contract.py).
- **The daemon**: five sources (feed, WordPress, Discourse, X, Reddit), each failing its own way
  for a few rounds and then recovering, on one injected clock; a clock jump forward by hours and
  back by minutes.
- **Channels**: Apprise to a webhook answering 500, 429, a dropped connection and a timeout, and
  the console, which never holds the webhook up (nor the webhook the console).

Nothing sleeps for real beyond the fakes' sub-second waits; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

import connectors.reddit
from connectors.base import FetchResult, registry
from monitor import sla
from monitor.cli import app
from monitor.config import parse_config
from monitor.daemon import Backoff, Daemon
from monitor.durations import parse_duration
from monitor.notify import (
    AppriseNotifier,
    ConsoleNotifier,
    Deliverer,
    Notifier,
    RecordingNotifier,
)
from monitor.store import Channel, PlannedItem, Store
from monitor.triage import plan
from tests.conftest import Clock, make_record
from tests.contract_harness import (
    ACCENTED_TEXT,
    DROP,
    HANG,
    NETWORKLESS,
    NOW,
    Adapter,
    DiscordAdapter,
    Fault,
    FaultProxy,
    Spy,
    adapter_for,
    answer,
    assert_plain,
    assert_record,
    assert_transient,
    attempt,
    praw_never_sleeps,
    primed,
    reset,
    round_trip,
    server_error,
    source_yaml,
    truncated,
)
from tests.webhook import Webhook

TYPES = sorted(registry())
NETWORKED = [t for t in TYPES if t not in NETWORKLESS]
REPLACEMENT = "\ufffd"  # what a decoder puts where bytes were not in the encoding it assumed


# -- the connector table --------------------------------------------------------------------------


def _cut_in_half(adapter: Adapter) -> Fault:
    """A 200 whose body (JSON or XML) stops in the middle, Content-Length and all agreeing."""
    return answer("cut-in-half", 200, adapter.body_prefix(), adapter.content_type)


FAULTS: dict[str, Callable[[Adapter], Fault]] = {
    "connection-reset": lambda a: reset(a.content_type, a.body_prefix()),
    "connection-dropped": lambda a: DROP,
    "500": lambda a: server_error(500),
    "502": lambda a: server_error(502),
    "503": lambda a: server_error(503),
    "truncated-body": lambda a: truncated(a.content_type, a.body_prefix()),
    "cut-in-half": _cut_in_half,
    "wrong-encoding": lambda a: a.wrong_encoding(),
    "unexpected-json": lambda a: a.unexpected(),
}


def _table() -> list[Any]:
    rows = [
        pytest.param(type_, fault, id=f"{type_}-{fault}") for type_ in NETWORKED for fault in FAULTS
    ]
    # Named, not skipped: a networkless connector has nothing a network fault could reach
    # (tests/test_contract.py proves it opens no socket).
    rows += [pytest.param(t, None, id=f"{t}-networkless-no-io") for t in TYPES if t in NETWORKLESS]
    return rows


@pytest.fixture
def no_praw_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    with praw_never_sleeps(monkeypatch) as calls:
        yield calls


@pytest.mark.parametrize(("type_", "fault_name"), _table())
def test_a_connector_fault_is_a_plain_transient_error_and_loses_nothing(
    type_: str, fault_name: str | None, no_praw_sleep: list[float]
) -> None:
    """Each fault is a TransientError with a plain, secret-free message (or the feed's documented
    warning with what it parsed, or a wrong encoding decoded right), never another exception;
    the item written before the fault comes through, intact, once the platform answers again."""
    if fault_name is None:
        assert NETWORKLESS.get(type_)
        return
    with adapter_for(type_, Clock(NOW)) as adapter:
        assert adapter.proxy is not None
        connector = adapter.connector()
        cursor = primed(connector, type_)
        adapter.add_item(NOW - timedelta(minutes=3), text=ACCENTED_TEXT)
        adapter.proxy.fault = FAULTS[fault_name](adapter)
        outcome = attempt(connector.fetch, cursor)
        assert adapter.proxy.faulted(), f"{type_}: the fetch never met the fault"
        what = f"{type_} {fault_name}"
        texts: list[str] = []
        if isinstance(outcome, FetchResult):
            for record in outcome.records:
                assert REPLACEMENT not in record.text or outcome.warnings, (
                    f"{what}: bytes that are not UTF-8 became U+FFFD without a word: the text "
                    f"is stored garbled for good ({record.text!r})"
                )
                assert_record(record, http_bases=adapter.http_bases, what=what)
            documented = adapter.partial_warning is not None and any(
                adapter.partial_warning in w for w in outcome.warnings
            )
            decoded = fault_name == "wrong-encoding" and any(
                ACCENTED_TEXT in r.text for r in outcome.records
            )
            assert documented or decoded, (
                f"{what}: the fault passed for a normal answer, with no error and no warning "
                f"(records {[r.text for r in outcome.records]}, warnings {outcome.warnings})"
            )
            for warning in outcome.warnings:
                assert_plain(warning, adapter.secrets, what)
            texts += [r.text for r in outcome.records]
            cursor = round_trip(outcome.cursor)
        else:
            assert_transient(outcome, adapter.secrets, what)
        adapter.proxy.clear()
        recovered = attempt(connector.fetch, cursor)
        assert isinstance(recovered, FetchResult), f"{what}: no recovery: {recovered!r}"
        texts += [r.text for r in recovered.records]
        assert sum(ACCENTED_TEXT in t for t in texts) == 1, (
            f"{what}: the waiting item did not come through exactly once, intact: {texts}"
        )


# -- Discord, listening as the daemon runs it ---------------------------------------------------


@pytest.mark.parametrize("fault_name", ["cut-in-half", "503"])
def test_a_listening_discord_source_reads_what_it_missed_once_the_history_answers(
    fault_name: str,
) -> None:
    """In the daemon, Discord's gateway pushes messages and a fetch only drains them; what was
    said while the connection was down is read from the channel history when it comes back. If
    that read fails, the source says so (status shows it) and reads the history again once it
    answers: the message written during the outage is not lost."""
    if "discord" not in registry():
        pytest.fail("connector discord is not installed")
    with DiscordAdapter(Clock(NOW)) as adapter:
        assert adapter.proxy is not None
        connector = adapter.connector()
        connector.listen(lambda: None)  # type: ignore[attr-defined]
        try:
            cursor = round_trip(connector.fetch(None).cursor)
            adapter.add_item(NOW - timedelta(minutes=2), text=ACCENTED_TEXT)  # while it was down
            adapter.proxy.fault = FAULTS[fault_name](adapter)
            adapter.server.close_gateway(OSError("the gateway connection dropped"))
            _wait(lambda: adapter.proxy.faulted() if adapter.proxy else None, "the catch-up")
            problems = []
            during = attempt(connector.fetch, cursor)
            if isinstance(during, FetchResult):
                if not during.warnings:
                    problems.append(
                        "while the history read fails, fetch succeeds with no warning: "
                        "status shows the source healthy"
                    )
                cursor = round_trip(during.cursor)
            adapter.proxy.clear()
            texts: list[str] = []
            deadline = time.monotonic() + 2  # the history is read again 0.2 s later here
            while time.monotonic() < deadline and not any(ACCENTED_TEXT in t for t in texts):
                result = attempt(connector.fetch, cursor)
                if isinstance(result, FetchResult):
                    texts += [r.text for r in result.records]
                    cursor = round_trip(result.cursor)
                time.sleep(0.05)
            if not any(ACCENTED_TEXT in t for t in texts):
                problems.append(
                    "the message written while the gateway was down never came through after "
                    "the history answered again (no retry of the catch-up)"
                )
            assert not problems, f"discord {fault_name}: " + "; ".join(problems)
        finally:
            connector.stop_listening(2)  # type: ignore[attr-defined]


def _wait(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- the daemon -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one poll of a source meets: a fault (None: the platform answers) and the wait a
    429 asks for."""

    fault: Fault | None = None
    retry_after: float | None = None


def _rate_limited(seconds: int) -> Callable[[Adapter], Step]:
    return lambda a: Step(a.rate_limited(seconds), seconds)


def _fault(make: Callable[[Adapter], Fault]) -> Callable[[Adapter], Step]:
    return lambda a: Step(make(a))


def _ok(adapter: Adapter) -> Step:
    return Step()


# Per source: its type, its interval, and what each of its polls meets in turn (then: healthy).
DAEMON_PLAN: dict[str, tuple[str, str, list[Callable[[Adapter], Step]]]] = {
    "blog": ("feed", "2m", [_fault(lambda a: HANG), _fault(FAULTS["connection-reset"]), _ok, _ok]),
    "shop": ("wordpress", "3m", [_ok, _fault(FAULTS["503"]), _fault(FAULTS["500"]), _ok, _ok]),
    "forum": ("discourse", "4m", [_ok, _rate_limited(900), _ok, _ok]),
    "x": (
        "x",
        "5m",  # X's budget of 10 requests per 15 minutes allows no more
        [_ok, _fault(lambda a: a.malformed()), _fault(FAULTS["truncated-body"]), _ok, _ok],
    ),
    "reddit": (
        "reddit",
        "2m",
        [_ok, _rate_limited(600), _fault(FAULTS["connection-dropped"]), _ok, _ok],
    ),
}
HANG_TIMEOUT_S = 1.5  # the hanging source gives up after this; the others finish long before


def expected_delay(every: float, failures: int, retry_after: float | None) -> float:
    """The next-poll rule written out (DESIGN.md, daemon): the interval after a success;
    ``every × 2^failures`` capped at an hour after failures, or the Retry-After when longer."""
    if failures == 0:
        return every
    delay = max(min(every * 2**failures, max(3600.0, every)), every)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, 86_400.0)
    return delay


class ClockTime:
    """Stands in for `time` inside the Reddit connector, whose rate budget counts on
    `time.monotonic` rather than the context's clock: here it follows the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock().timestamp()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def status_json(config_path: Path) -> dict[str, Any]:
    """`sameday status --json`, run by the CLI itself on the daemon's config and store."""
    result = CliRunner().invoke(app, ["-c", str(config_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    return _wait(condition, what, timeout)


def settle(daemon: Daemon, *, leave: frozenset[str] = frozenset()) -> None:
    """Tick (the clock standing still) until every poll but those in `leave` came back."""
    wait_for(
        lambda: daemon.tick() is not None and not (daemon.in_flight() - leave),
        "the polls in flight",
    )


def _rows(db: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query, args).fetchall()


_DONE = re.compile(r"sameday (?:done|dismiss) (\d+)")
_DIGEST = re.compile(r"^#(\d+) \[(\w+)\]", re.MULTILINE)


def alert_keys(channel: RecordingNotifier) -> list[str]:
    """``item:level`` of every alert a channel accepted (a digest carries several)."""
    keys = []
    for message in channel.messages:
        if found := _DIGEST.findall(message.body):
            keys += [f"{item}:{level}" for item, level in found]
        else:
            level = message.title.split(":")[0].split()[0].lower()
            level = {"new": "new", "reminder": "reminder", "overdue": "overdue"}[level]
            keys += [f"{item}:{level}" for item in _DONE.findall(message.body)[:1]]
    return keys


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for daemon in made:
        daemon.shutdown(timeout=5)


def test_the_daemon_rides_out_every_sources_faults_and_status_shows_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_praw_sleep: list[float],
    daemons: list[Daemon],
) -> None:
    """Five sources fail in their own ways (a hang, resets, 503/500, 429s with Retry-After,
    malformed and truncated answers) and recover, on one injected clock. Every source is
    polled exactly on its own schedule (a hanging one holds nobody up; backoff doubles and
    honours Retry-After), `sameday status --json` shows each failure while it lasts and the
    recovery after, and in the end every item is stored once with one `new` alert per channel,
    delivered once."""
    clock = Clock(NOW)
    monkeypatch.setattr(connectors.reddit, "time", ClockTime(clock))
    adapters: dict[str, Adapter] = {}
    with _started(adapters, clock) as started:
        config_path = tmp_path / "sameday.yaml"
        identities = {a.type: list(a.owner) for a in started.values()}
        config_path.write_text(
            f"owner: {{name: Dana, timezone: UTC, identities: {json.dumps(identities)}}}\n"
            "sla: {target: 2d}\n"  # nothing falls due during the run: new alerts only
            f"storage: {{url: 'sqlite:///{tmp_path}/sameday.db'}}\n"
            "sources:\n"
            + "".join(
                source_yaml(name, started[name], every=every, backfill="all")
                for name, (_, every, _) in DAEMON_PLAN.items()
            )
        )
        config = parse_config(config_path.read_text(), path=config_path, environ={})
        store = Store(config.storage_url)
        phone, mail = RecordingNotifier("phone"), RecordingNotifier("mail")
        deliverer = Deliverer(
            store,
            [phone, mail],
            zone=ZoneInfo("UTC"),
            quiet_hours=None,
            daily_at=dt_time(9),
            clock=clock,
        )
        connectors_ = {
            name: started[name].connector(
                name=name, timeout=HANG_TIMEOUT_S if name == "blog" else 5.0
            )
            for name in DAEMON_PLAN
        }
        daemon = Daemon(
            config,
            store,
            deliverer=deliverer,
            channels=[Channel("phone"), Channel("mail")],
            clock=clock,
            connectors=connectors_,
            rng=random.Random(7),
            backoff=Backoff(jitter=0.0),
        )
        daemons.append(daemon)
        secrets = [s for a in started.values() for s in a.secrets]
        for adapter in started.values():
            adapter.add_item(
                NOW - timedelta(minutes=5), text=f"{adapter.type} item 1: are you open on Sunday?"
            )
        added = Counter({name: 1 for name in DAEMON_PLAN})

        daemon.start()
        next_at = dict.fromkeys(DAEMON_PLAN, clock())
        polls = Counter[str]()
        failures = Counter[str]()
        failed_ever: set[str] = set()
        first = True
        while any(polls[n] < len(DAEMON_PLAN[n][2]) for n in DAEMON_PLAN):
            clock.now = min(next_at.values())
            due = sorted(n for n, at in next_at.items() if at == clock.now)
            steps: dict[str, Step] = {}
            for name in due:
                adapter, (_, _, script) = started[name], DAEMON_PLAN[name]
                steps[name] = script[polls[name]](adapter) if polls[name] < len(script) else Step()
                assert adapter.proxy is not None
                adapter.proxy.fault = steps[name].fault
                if polls[name] in (1, len(script) - 1):  # one during the faults, one after
                    added[name] += 1
                    adapter.add_item(
                        clock() - timedelta(seconds=30), text=f"{adapter.type} item {added[name]}"
                    )
            daemon.tick()
            if first:  # the hanging feed holds one thread; the other four come back meanwhile
                settle(daemon, leave=frozenset({"blog"}))
                assert daemon.in_flight() == {"blog"}
                first = False
            settle(daemon)
            for name in DAEMON_PLAN:
                row = store.source(name)
                assert row is not None
                assert (row.last_poll_at == clock.now) == (name in due), (
                    f"{name} at {clock.now:%H:%M}: polled {row.last_poll_at}, due {name in due}"
                )
            for name in due:
                step = steps[name]
                failures[name] = failures[name] + 1 if step.fault else 0
                failed_ever |= {name} if step.fault else set()
                every = float(config.source(name).every.as_timedelta().total_seconds())
                delay = expected_delay(every, failures[name], step.retry_after)
                next_at[name] = clock.now + timedelta(seconds=delay)
                assert daemon.next_run(name) == next_at[name], (
                    f"{name}: next poll {daemon.next_run(name)}, expected {next_at[name]} "
                    f"({failures[name]} failures, Retry-After {step.retry_after})"
                )
                assert store.source(name).next_poll_at == next_at[name]  # type: ignore[union-attr]
                polls[name] += 1
                started[name].proxy.clear()  # type: ignore[union-attr]
            if any(steps[n].fault or (failures[n] == 0 and n in failed_ever) for n in due):
                status = {s["name"]: s for s in status_json(config_path)["sources"]}
                for name in due:
                    shown = status[name]
                    assert shown["consecutive_failures"] == failures[name], shown
                    if failures[name]:
                        assert (shown["last_error"] or "").startswith("temporary: "), shown
                        assert shown["last_error_at"] == shown["last_poll_at"], shown
                    else:
                        assert shown["last_success_at"] == shown["last_poll_at"], shown
                dumped = json.dumps(status)
                assert not [s for s in secrets if s in dumped], "a secret in sameday status"

        # Every source failed, and every one recovered.
        assert failed_ever == set(DAEMON_PLAN)
        final = {s["name"]: s for s in status_json(config_path)["sources"]}
        assert all(final[n]["consecutive_failures"] == 0 for n in DAEMON_PLAN), final
        assert all(final[n]["last_success_at"] > final[n]["last_error_at"] for n in DAEMON_PLAN)
        db = tmp_path / "sameday.db"
        wait_for(
            lambda: (
                not _rows(db, "SELECT id FROM alerts WHERE status != 'sent'") and daemon.lane.idle()
            ),
            "every alert delivered",
        )
        store.close()

    # Nothing lost, nothing doubled: every item once, one `new` alert per item and channel.
    per_source = dict(_rows(db, "SELECT source, COUNT(*) FROM items GROUP BY source"))
    assert per_source == dict(added), (per_source, dict(added))
    assert (
        _rows(
            db,
            "SELECT source, external_id FROM items "
            "GROUP BY source, external_id HAVING COUNT(*) > 1",
        )
        == []
    )
    items = [i for (i,) in _rows(db, "SELECT id FROM items")]
    alerts = _rows(db, "SELECT item_id, channel, level, status FROM alerts")
    assert sorted(alerts) == sorted((i, c, "new", "sent") for i in items for c in ("mail", "phone"))
    for channel in (phone, mail):
        assert sorted(alert_keys(channel)) == sorted(f"{i}:new" for i in items), channel.name


@contextlib.contextmanager
def _started(adapters: dict[str, Adapter], clock: Clock) -> Iterator[dict[str, Adapter]]:
    """The adapter (fake and proxy) of every source of `DAEMON_PLAN`, stopped afterwards."""
    with contextlib.ExitStack() as stack:
        for name, (type_, _, _) in DAEMON_PLAN.items():
            adapters[name] = stack.enter_context(adapter_for(type_, clock))
        yield adapters


# -- a clock jump ---------------------------------------------------------------------------------


def test_a_clock_jump_forward_by_hours_and_back_by_minutes_loses_and_doubles_nothing(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """The clock leaps three hours ahead (a suspended laptop, a VM restored), then falls back ten
    minutes (an NTP correction). After the leap every source is polled once, not once per missed
    interval; the items that waited are overdue by the new time and get one overdue alert; the
    items that arrived meanwhile get their `new` alert only. After the fall back nothing is
    polled early or twice, later items still come in, and no alert is ever sent twice."""
    clock = Clock(NOW)
    with contextlib.ExitStack() as stack:
        blog = stack.enter_context(adapter_for("feed", clock))
        forum = stack.enter_context(adapter_for("discourse", clock))
        sources = {"blog": blog, "forum": forum}
        identities = {a.type: list(a.owner) for a in sources.values()}
        config = parse_config(
            f"owner: {{name: Dana, timezone: UTC, identities: {json.dumps(identities)}}}\n"
            "sla: {target: 1h, remind_before: 30m, repeat_overdue: 4h}\n"
            f"storage: {{url: 'sqlite:///{tmp_path}/jump.db'}}\n"
            "sources:\n"
            + "".join(source_yaml(n, a, every="5m", backfill="all") for n, a in sources.items()),
            path=tmp_path / "sameday.yaml",
            environ={},
        )
        store = Store(config.storage_url)
        channel = RecordingNotifier("phone")
        deliverer = Deliverer(
            store,
            [channel],
            zone=ZoneInfo("UTC"),
            quiet_hours=None,
            daily_at=dt_time(9),
            clock=clock,
        )
        spies = {n: Spy(a.connector(name=n)) for n, a in sources.items()}
        daemon = Daemon(
            config,
            store,
            deliverer=deliverer,
            channels=[Channel("phone")],
            clock=clock,
            connectors=spies,
            rng=random.Random(7),
            backoff=Backoff(jitter=0.0),
        )
        daemons.append(daemon)
        db = tmp_path / "jump.db"

        def fetches() -> dict[str, int]:
            return {n: len(s.results) for n, s in spies.items()}

        def delivered() -> bool:
            return not _rows(db, "SELECT id FROM alerts WHERE status = 'pending'")

        for adapter in sources.values():
            adapter.add_item(NOW - timedelta(minutes=1), text=f"{adapter.type}: first")
        daemon.start()
        daemon.tick()
        settle(daemon)
        assert fetches() == {"blog": 1, "forum": 1}
        wait_for(lambda: len(channel.messages) == 2 and delivered(), "the two new alerts")

        # Three hours ahead: items came in while the clock was away.
        blog.add_item(NOW + timedelta(hours=2), text="feed: while away")
        forum.add_item(NOW + timedelta(hours=2, minutes=30), text="discourse: while away")
        clock.advance(hours=3)
        daemon.tick()
        settle(daemon)
        assert fetches() == {"blog": 2, "forum": 2}  # one poll each, not 36 catch-up polls
        for name in sources:
            assert daemon.next_run(name) == clock() + timedelta(minutes=5)
        wait_for(lambda: len(channel.messages) == 6 and delivered(), "the alerts after the leap")
        health = {h.row.name: h for h in store.health(clock())}
        # The first two are overdue by the new time; the later ones are not due yet.
        assert {n: h.overdue_items for n, h in health.items()} == {"blog": 1, "forum": 1}
        overdue = _rows(db, "SELECT created_at FROM alerts WHERE level = 'overdue'")
        assert len(overdue) == 2 and {c for (c,) in overdue} == {_sql_time(clock())}

        # Ten minutes back: nothing is due until the clock reaches the planned polls again.
        clock.advance(minutes=-10)
        blog.add_item(clock() - timedelta(minutes=1), text="feed: after the correction")
        for _ in range(3):
            daemon.tick()
        assert daemon.in_flight() == set() and fetches() == {"blog": 2, "forum": 2}
        clock.advance(minutes=15)  # the polls planned before the correction fall due
        daemon.tick()
        settle(daemon)
        assert fetches() == {"blog": 3, "forum": 3}
        wait_for(lambda: len(channel.messages) == 7 and delivered(), "the late item's alert")
        clock.advance(minutes=30)  # past the later items' deadlines
        daemon.tick()
        settle(daemon)
        wait_for(lambda: delivered() and daemon.lane.idle(), "the last alerts")
        store.close()

    texts = [t for (t,) in _rows(db, "SELECT text FROM items ORDER BY created_at")]
    assert sorted(texts) == sorted(
        [
            "feed: first",
            "discourse: first",
            "feed: while away",
            "discourse: while away",
            "feed: after the correction",
        ]
    )
    keys = _rows(db, "SELECT key FROM alerts WHERE status = 'sent'")
    sent = alert_keys(channel)
    assert len(sent) == len(set(sent)) == len(keys), sent  # nothing twice
    text_of = {str(i): t for i, t in _rows(db, "SELECT id, text FROM items")}
    got = sorted((text_of[k.split(":")[0]], k.split(":")[1]) for k in sent)
    assert got == sorted(
        [
            ("feed: first", "new"),
            ("discourse: first", "new"),
            # At the leap, only the stage the first two are in now: overdue (their reminder
            # time passed while the clock was away, and is not sent late).
            ("feed: first", "overdue"),
            ("discourse: first", "overdue"),
            # Arrived while away, first seen at the leap: a `new` alert says how late they are.
            ("feed: while away", "new"),
            ("discourse: while away", "new"),
            ("feed: after the correction", "new"),
            # By the end (17:35): due 17:30, overdue; due 17:49, its reminder.
            ("discourse: while away", "overdue"),
            ("feed: after the correction", "reminder"),
        ]
    )


def _sql_time(moment: datetime) -> str:
    """A UTC instant as the SQLite store writes it."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# -- channels -------------------------------------------------------------------------------------


def _ingest(store: Store, names: list[str], texts: list[str], now: datetime) -> list[int]:
    """Items as a poll stores them, with their `new` alerts to every channel in `names`."""
    store.ensure_sources([("blog", "feed")])
    records = [
        make_record(f"c{n}", now - timedelta(minutes=5), thread=f"post-{n}", text=text)
        for n, text in enumerate(texts)
    ]
    result = plan(records, store.known("blog", records))
    two_days = parse_duration("2d")  # nothing falls due while the test runs
    policy = sla.Policy(
        ZoneInfo("UTC"), dt_time(9), dt_time(17), frozenset(range(5)), frozenset(), two_days
    )
    items = [
        PlannedItem(n.record, n.status, sla.due_at(n.record.created_at, policy), None, None)
        for n in result.new_items
    ]
    store.apply("blog", items, result, cursor=None, now=now, channels=[Channel(n) for n in names])
    return sorted(i.id or 0 for i in store.inbox(now))


def _channel_config(tmp_path: Path, hook_url: str) -> Path:
    path = tmp_path / "sameday.yaml"
    path.write_text(
        "owner: {name: Dana, timezone: UTC}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/hook.db'}}\n"
        "sources:\n  - {name: blog, type: feed, url: 'http://127.0.0.1:9/feed', enabled: false}\n"
        f"notify:\n  - {{url: '{hook_url}', name: hook}}\n  - {{type: console, name: console}}\n"
    )
    return path


def _webhook_keys(hook: Webhook) -> list[str]:
    """``item:level`` of every alert the webhook received (one alert per message here)."""
    keys = []
    for body in hook.bodies():
        level = str(body["title"]).split()[0].lower().rstrip(":")
        keys += [f"{item}:{level}" for item in _DONE.findall(str(body["message"]))]
    return keys


def test_alerts_reach_a_failing_webhook_exactly_once_and_status_shows_it_failing_then_healthy(
    tmp_path: Path,
) -> None:
    """Apprise posts to a webhook that answers 500, then 429 with Retry-After, drops the
    connection, and times out, then recovers: each alert is delivered exactly once (the webhook
    receives each alert key once, a restart sends nothing again), the console gets every alert
    at once whatever the webhook does, and `sameday status --json` shows the webhook channel
    failing, then healthy."""
    clock = Clock(NOW)
    with Webhook() as hook, FaultProxy(hook.port) as proxy:
        url = f"json://127.0.0.1:{proxy.port}/alerts?rto=0.5"  # a 0.5 s read timeout
        config_path = _channel_config(tmp_path, url)
        store = Store(f"sqlite:///{tmp_path}/hook.db")
        items = _ingest(store, ["hook", "console"], ["Open on Sunday?", "Gift cards?"], clock())
        slow_down = answer(
            "429", 429, b"Too Many Requests", "text/plain", lambda: {"Retry-After": "60"}
        )
        proxy.script(server_error(500), slow_down, DROP, HANG)
        screen = io.StringIO()
        notifiers: list[Notifier] = [
            AppriseNotifier(url, name="hook"),
            ConsoleNotifier("console", stream=screen),
        ]

        def deliverer() -> Deliverer:
            return Deliverer(
                store,
                notifiers,
                zone=ZoneInfo("UTC"),
                quiet_hours=None,
                daily_at=dt_time(9),
                clock=clock,
                rng=random.Random(7),
            )

        deliver = deliverer()
        report = deliver.deliver_due()
        assert (report.channels["hook"].failed, report.channels["console"].sent) == (2, 2)
        assert screen.getvalue().count("New feed comment to answer") == 2  # not held up
        seen = {c["channel"]: c for c in status_json(config_path)["channels"]}
        assert (seen["hook"]["pending"], seen["hook"]["failing"]) == (2, 2)
        assert "error=429" in (seen["hook"]["last_error"] or ""), seen["hook"]
        assert seen["console"] == {
            "channel": "console",
            "pending": 0,
            "failing": 0,
            "given_up": 0,
            "last_error": None,
        }

        for _ in range(4):  # to each retry time, until the webhook has taken everything
            waiting = [
                row.next_attempt_at or clock()
                for item in items
                for row in store.alerts_for(item)
                if row.channel == "hook" and row.status == "pending"
            ]
            if not waiting:
                break
            clock.now = max(waiting)
            deliver.deliver_due()
        seen = {c["channel"]: c for c in status_json(config_path)["channels"]}
        assert seen["hook"] == {
            "channel": "hook",
            "pending": 0,
            "failing": 0,
            "given_up": 0,
            "last_error": None,
        }
        clock.advance(hours=1)
        deliverer().deliver_due()  # a restart: nothing is sent again
        assert [p.fault for p in proxy.passed] == [
            "500",
            "429",
            "connection-dropped",
            "timeout",
            None,
            None,
        ]
        assert sorted(_webhook_keys(hook)) == sorted(f"{i}:new" for i in items)
        assert screen.getvalue().count("New feed comment to answer") == 2
        store.close()


def test_a_broken_console_never_stops_the_webhook(tmp_path: Path) -> None:
    """The console (a closed terminal) fails every alert; the webhook still gets each one once,
    and status shows the console failing and the webhook healthy."""
    clock = Clock(NOW)
    with Webhook() as hook:
        url = hook.apprise_url("/alerts")
        config_path = _channel_config(tmp_path, url)
        store = Store(f"sqlite:///{tmp_path}/hook.db")
        items = _ingest(store, ["hook", "console"], ["Open on Sunday?", "Gift cards?"], clock())
        closed = io.StringIO()
        closed.close()
        deliver = Deliverer(
            store,
            [ConsoleNotifier("console", stream=closed), AppriseNotifier(url, name="hook")],
            zone=ZoneInfo("UTC"),
            quiet_hours=None,
            daily_at=dt_time(9),
            clock=clock,
        )
        report = deliver.deliver_due()
        assert (report.channels["console"].failed, report.channels["hook"].sent) == (2, 2)
        assert sorted(_webhook_keys(hook)) == sorted(f"{i}:new" for i in items)
        seen = {c["channel"]: c for c in status_json(config_path)["channels"]}
        assert (seen["console"]["failing"], seen["hook"]["failing"]) == (2, 0)
        assert "cannot write to the console" in (seen["console"]["last_error"] or "")
        store.close()
