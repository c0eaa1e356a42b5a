"""The daemon: its own interval per source, backoff, prompt delivery, logs, and `sameday run`.

In-process tests drive `Daemon.tick` with a hand-moved clock against real feeds on a local HTTP
server; only the network calls take real time. The last test runs `sameday run` as a real
process with a local feed and a local webhook (Apprise ``json://``) and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from connectors.base import ConnectorContext, ConnectorSettings, FetchResult
from connectors.feed import FeedConnector, FeedSettings
from monitor.cli import app
from monitor.config import Config, parse_config
from monitor.daemon import AlreadyRunning, Backoff, Daemon, acquire_lock
from monitor.logs import CHATTY, setup_logging
from monitor.models import SourceRow
from monitor.notify import Deliverer, RecordingNotifier
from monitor.redact import Redactor
from monitor.store import Channel, Store
from tests.conftest import Clock
from tests.feedserver import FeedServer, Scripted, comment_item, rss
from tests.webhook import Webhook

# -- helpers, shared with test_crash.py -----------------------------------------------------------


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` in real time until it is truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


_SINGLE = re.compile(r"comment-(\d+):")
_DIGEST_NEW = re.compile(r"^#\d+ \[new\] .*?comment-(\d+):", re.MULTILINE)


def new_alerts(bodies: list[dict[str, Any]]) -> list[int]:
    """The comment number of every ``new`` alert in the webhook's bodies, in order.

    A plain alert is one message (title "New … comment to answer"); a digest (several alerts
    due at once) lists one ``#ID [level] …`` line per alert, and each counts.
    """
    found: list[int] = []
    for body in bodies:
        title, message = str(body.get("title", "")), str(body.get("message", ""))
        if title.startswith("New "):
            found += [int(n) for n in _SINGLE.findall(message)[:1]]
        else:
            found += [int(n) for n in _DIGEST_NEW.findall(message)]
    return found


def write_config(tmp_path: Path, feed_url: str, hook_url: str, *, every: str = "10s") -> Path:
    path = tmp_path / "sameday.yaml"
    path.write_text(
        "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}\n"
        "sla: {target: 2d}\n"  # nothing falls due while a test runs: new alerts only
        f"storage: {{url: 'sqlite:///{tmp_path}/sameday.db'}}\n"
        f"sources:\n  - {{name: blog, type: feed, url: '{feed_url}', every: {every}, "
        "backfill: all}\n"
        f"notify:\n  - {{url: '{hook_url}', name: hook}}\n"
    )
    return path


def spawn_daemon(config: Path, *args: str, output: Path) -> subprocess.Popen[bytes]:
    """`sameday run` as a real process; its stdout and stderr go to `output` (never a pipe that
    could fill up and block it)."""
    with output.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "-c", str(config), "run", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


# -- in-process -----------------------------------------------------------------------------------


def recording_deliverer(store: Store, clock: Clock) -> tuple[Deliverer, RecordingNotifier]:
    channel = RecordingNotifier("test")
    deliverer = Deliverer(
        store, [channel], zone=ZoneInfo("UTC"), quiet_hours=None, daily_at=dt_time(9), clock=clock
    )
    return deliverer, channel


def row(store: Store, name: str) -> SourceRow:
    found = store.source(name)
    assert found is not None, f"no sources row for {name}"
    return found


def next_poll(store: Store, name: str) -> datetime:
    at = row(store, name).next_poll_at
    assert at is not None, f"no next poll written for {name}"
    return at


def make_config(tmp_path: Path, sources: str) -> Config:
    text = (
        "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}\n"
        "sla: {target: 2d}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
        f"sources:\n{sources}"
    )
    return parse_config(text, path=tmp_path / "sameday.yaml", environ={})


def connector(url: str, name: str, clock: Clock, timeout: float = 5.0) -> FeedConnector:
    context = ConnectorContext(
        source=name, owner_identities=("Dana",), clock=clock, timeout=timeout
    )
    return FeedConnector(FeedSettings(url=url), context)


def settle(daemon: Daemon, timeout: float = 5.0, *, leave: frozenset[str] = frozenset()) -> None:
    """Tick (without moving the clock) until every poll but those in `leave` has come back."""
    wait_for(lambda: daemon.tick() is not None and not (daemon.in_flight() - leave), timeout,
             "the polls in flight")  # fmt: skip


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(config: Config, store: Store, clock: Clock, **kwargs: Any) -> Daemon:
        kwargs.setdefault("deliverer", recording_deliverer(store, clock)[0])
        kwargs.setdefault("channels", [Channel("test")])
        kwargs.setdefault("rng", random.Random(7))
        daemon = Daemon(config, store, clock=clock, **kwargs)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.shutdown(timeout=5)


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [
        (0, None, 60),
        (1, None, 120),
        (2, None, 240),
        (5, None, 1920),
        (6, None, 3600),  # capped at an hour…
        (60, None, 3600),
        (1000, None, 3600),  # …without overflowing
        (1, 900, 900),  # Retry-After, when longer, wins
        (3, 30, 480),  # …and only then
        (0, 10**9, 86_400),  # a silly Retry-After is held to a day
    ],
)
def test_backoff_doubles_to_a_cap_and_honours_retry_after(
    failures: int, retry_after: float | None, expected: float
) -> None:
    assert Backoff(jitter=0.0).delay(60, failures, retry_after) == expected


def test_backoff_never_polls_below_the_interval_and_jitters_within_ten_percent() -> None:
    rng = random.Random(1)
    rule = Backoff()
    plain = [rule.delay(100, 0, rng=rng) for _ in range(500)]
    # Spread over the whole 10 % below the interval, never above: a comment is alerted within
    # one interval of appearing.
    assert 90 <= min(plain) < 92 and 98 < max(plain) <= 100
    assert min(rule.delay(7200, 3, rng=rng) for _ in range(100)) >= 7200  # every > the cap


def test_a_hanging_source_never_delays_the_others(
    tmp_path: Path, clock: Clock, daemon_factory: Callable[..., Daemon]
) -> None:
    with FeedServer() as server:
        server.add("/a.xml", rss(comment_item(1, clock() - timedelta(minutes=5))))
        server.add("/b.xml", rss(comment_item(2, clock() - timedelta(minutes=5))))
        server.script("/slow.xml", Scripted(hang=True))
        config = make_config(
            tmp_path,
            "".join(
                f"  - {{name: {n}, type: feed, url: '{server.url(f'/{n}.xml')}', every: 10s}}\n"
                for n in ("slow", "a", "b")
            ),
        )
        store = Store(config.storage_url)
        connectors = {
            n: connector(server.url(f"/{n}.xml"), n, clock, timeout=1.5 if n == "slow" else 5)
            for n in ("slow", "a", "b")
        }
        daemon = daemon_factory(config, store, clock, connectors=connectors)
        daemon.start()
        daemon.tick()
        assert daemon.in_flight() == {"slow", "a", "b"}
        settle(daemon, leave=frozenset({"slow"}))
        assert daemon.in_flight() == {"slow"}  # still hanging, and it held nobody up

        for _ in range(3):  # three more rounds of the others while the slow one hangs
            clock.advance(seconds=10)  # every 10s, jitter only ever makes it sooner
            daemon.tick()
            assert daemon.in_flight() == {"slow", "a", "b"}  # never a second poll of "slow"
            settle(daemon, leave=frozenset({"slow"}))
        assert len(server.seen("/a.xml")) == len(server.seen("/b.xml")) == 4
        assert len(server.seen("/slow.xml")) == 1
        for name in ("a", "b"):
            assert clock() < next_poll(store, name) <= clock() + timedelta(seconds=11)
            assert next_poll(store, name) == daemon.next_run(name)

        settle(daemon)  # the slow poll times out (1.5 s) and becomes a failure value
        slow = row(store, "slow")
        assert slow.consecutive_failures == 1
        assert "did not answer within 1.5 s" in (slow.last_error or "")
        # Backing off from the moment it gave up (not from its start, long past): 2 x 10 s ±10 %.
        later = next_poll(store, "slow") - clock()
        assert timedelta(seconds=18) <= later <= timedelta(seconds=22)
        store.close()


def test_backoff_doubles_honours_retry_after_resets_and_survives_a_restart(
    tmp_path: Path, clock: Clock, daemon_factory: Callable[..., Daemon]
) -> None:
    with FeedServer() as server:
        server.script(
            "/flaky.xml",
            Scripted(500),
            Scripted(503),
            Scripted(502),
            Scripted(429, headers={"Retry-After": "3600"}),
            Scripted(200, body=rss(comment_item(1, clock()))),
        )
        url = server.url("/flaky.xml")
        config = make_config(
            tmp_path, f"  - {{name: flaky, type: feed, url: '{url}', every: 1m}}\n"
        )
        store = Store(config.storage_url)
        daemon = daemon_factory(
            config, store, clock, backoff=Backoff(jitter=0.0),
            connectors={"flaky": connector(url, "flaky", clock)},
        )  # fmt: skip
        daemon.start()
        assert row(store, "flaky").next_poll_at == clock()  # due at once
        delays = []
        for _ in range(5):
            polled_at = clock()
            daemon.tick()
            settle(daemon)
            flaky = row(store, "flaky")
            delays.append(
                (
                    (next_poll(store, "flaky") - polled_at).total_seconds(),
                    flaky.consecutive_failures,
                )
            )
            assert daemon.next_run("flaky") == flaky.next_poll_at
            clock.now = next_poll(store, "flaky")
        # 2^failures x 1 m; the 429's Retry-After (1 h) is longer than 16 m; success: 1 m again.
        assert delays == [(120, 1), (240, 2), (480, 3), (3600, 4), (60, 0)]

        # A restart keeps a backoff in force: the next poll stays where it was written.
        server.script("/flaky.xml", Scripted(500))
        daemon.tick()
        settle(daemon)
        planned = next_poll(store, "flaky")
        assert planned == clock() + timedelta(minutes=2)
        daemon.shutdown(timeout=5)
        again = daemon_factory(
            config, store, clock, backoff=Backoff(jitter=0.0),
            connectors={"flaky": connector(url, "flaky", clock)},
        )  # fmt: skip
        again.start()
        assert again.next_run("flaky") == planned and row(store, "flaky").next_poll_at == planned
        store.close()


def test_a_new_item_is_delivered_right_after_its_poll(
    tmp_path: Path, clock: Clock, daemon_factory: Callable[..., Daemon]
) -> None:
    with FeedServer() as server:
        server.add("/blog.xml", rss(comment_item(1, clock() - timedelta(minutes=1))))
        url = server.url("/blog.xml")
        config = make_config(
            tmp_path, f"  - {{name: blog, type: feed, url: '{url}', every: 10s}}\n"
        )
        store = Store(config.storage_url)
        deliverer, sent = recording_deliverer(store, clock)
        daemon = daemon_factory(
            config,
            store,
            clock,
            deliverer=deliverer,
            connectors={"blog": connector(url, "blog", clock)},
        )
        daemon.start()
        daemon.tick()
        settle(daemon)
        wait_for(lambda: len(sent.messages) == 1, 5, "the first alert")

        # The next comment arrives; 11 s later the source is polled again and its alert goes out
        # at once: the 30-second planning round (not due yet) is not what sends it.
        server.add(
            "/blog.xml",
            rss(comment_item(1, clock() - timedelta(minutes=1)), comment_item(2, clock())),
            last_modified=1_720_000_000.0,
        )
        clock.advance(seconds=11)
        # The start's planning round and the first poll's request may still be finishing.
        wait_for(daemon.lane.idle, 5, "the lane to go idle")
        rounds = daemon.lane.rounds
        daemon.tick()
        settle(daemon)
        wait_for(lambda: len(sent.messages) == 2, 5, "the second alert")
        assert daemon.lane.rounds == rounds + 1
        assert sent.titles == ["New feed comment to answer"] * 2
        assert "comment-1:" in sent.messages[0].body and "comment-2:" in sent.messages[1].body
        store.close()


class Gate:
    """A connector whose fetch waits until the test opens the gate; real code, not a mock."""

    type: ClassVar[str] = "gate"
    Settings: ClassVar[type[ConnectorSettings]] = ConnectorSettings

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        self.entered.set()
        self.open.wait(30)
        return FetchResult(records=[], cursor={"seen": True})


def test_stopping_lets_the_poll_in_flight_finish_its_transaction_then_gives_up_at_the_deadline(
    tmp_path: Path, clock: Clock, daemon_factory: Callable[..., Daemon]
) -> None:
    config = make_config(
        tmp_path,
        "  - {name: quick, type: feed, url: 'http://127.0.0.1:9/q', every: 10s}\n"
        "  - {name: stuck, type: feed, url: 'http://127.0.0.1:9/s', every: 10s}\n",
    )
    store = Store(config.storage_url)
    quick, stuck = Gate(), Gate()
    daemon = daemon_factory(config, store, clock, connectors={"quick": quick, "stuck": stuck})
    daemon.start()
    daemon.tick()
    wait_for(lambda: quick.entered.is_set() and stuck.entered.is_set(), 5, "both polls")
    try:
        threading.Timer(0.2, quick.open.set).start()  # finishes while the daemon stops
        began = time.monotonic()
        assert daemon.shutdown(timeout=1.0) is False  # "stuck" never finished
        assert 0.9 < time.monotonic() - began < 2.0  # the deadline, and a moment for the lane
        assert row(store, "quick").cursor == {"seen": True}  # its transaction was finished
        assert row(store, "stuck").last_poll_at is None
        daemon.tick()
        assert daemon.in_flight() == {"stuck"}  # and nothing new was started
    finally:
        stuck.open.set()  # release the abandoned thread so the test run ends cleanly
    store.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    yield
    for name, chatty_level in chatty.items():
        logging.getLogger(name).setLevel(chatty_level)
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_logs_are_one_object_per_line_with_the_source_and_no_secret(
    tmp_path: Path, restore_logging: None
) -> None:
    path = tmp_path / "logs" / "sameday.jsonl"
    setup_logging(
        level="info",
        file=path,
        format="json",
        redact=Redactor(["hunter22"]),
        sources=["shop-blog", "forum"],
    )
    poll_log = logging.getLogger("sameday.poll")
    poll_log.warning("[%s] poll failed: login hunter22 refused", "shop-blog")
    logging.getLogger("sameday.daemon").info("started: %d sources", 2)
    logging.getLogger("sameday.notify").warning("[%s] could not deliver", "hook")  # a channel
    try:
        raise ValueError("token hunter22 expired")
    except ValueError:
        poll_log.exception("[%s] connector crashed", "forum")
    poll_log.debug("not at info level")

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["level"], e["logger"], e.get("source")) for e in lines] == [
        ("WARNING", "sameday.poll", "shop-blog"),
        ("INFO", "sameday.daemon", None),
        ("WARNING", "sameday.notify", None),
        ("ERROR", "sameday.poll", "forum"),
    ]
    assert lines[0]["message"] == "[shop-blog] poll failed: login *** refused"
    assert "ValueError: token *** expired" in lines[3]["exception"]
    assert "hunter22" not in path.read_text()
    assert all(e["time"].endswith("Z") for e in lines)


def test_a_second_daemon_on_the_same_sqlite_store_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    lock = acquire_lock(store)
    assert lock is not None and lock.path == tmp_path / "s.db.lock"
    with pytest.raises(AlreadyRunning, match=rf"already using {tmp_path}/s\.db, pid {os.getpid()}"):
        acquire_lock(Store(f"sqlite:///{tmp_path}/s.db"))
    lock.release()
    again = acquire_lock(store)  # free again once released
    assert again is not None
    again.release()
    assert acquire_lock(Store("sqlite://")) is None  # in memory: nothing to share
    store.close()


def test_sameday_run_alerts_within_one_interval_is_alone_on_its_store_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    with FeedServer() as server, Webhook() as hook:
        first = datetime.now(UTC) - timedelta(minutes=1)
        server.add("/blog.xml", rss(comment_item(1, first)))
        config = write_config(tmp_path, server.url("/blog.xml"), hook.apprise_url("/alerts"))
        log = tmp_path / "daemon.jsonl"
        daemon = spawn_daemon(
            config, "--log-format", "json", "--log-file", str(log), output=tmp_path / "out.txt"
        )
        try:
            wait_for(lambda: new_alerts(hook.bodies()) == [1], 20, "the alert of the first poll")
            # The worst case: a comment appearing just after a poll waits a whole interval.
            server.add("/blog.xml", rss(comment_item(1, first), comment_item(2, datetime.now(UTC))))
            added = time.monotonic()

            second = subprocess.run(
                [sys.executable, "-m", "monitor", "-c", str(config), "run"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert second.returncode == 1, second.stderr
            database = re.escape(str(tmp_path / "sameday.db"))
            assert re.search(
                rf"another sameday run is already using {database}, pid {daemon.pid}",
                second.stderr,
            )

            wait_for(lambda: 2 in new_alerts(hook.bodies()), 15, "the alert of the new comment")
            latency = time.monotonic() - added
            assert latency <= 10 + 2, f"the new comment's alert took {latency:.1f} s"

            stopping = time.monotonic()
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
            assert time.monotonic() - stopping < 10
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        assert new_alerts(hook.bodies()) == [1, 2]

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= entries[0].keys()
    about_blog = [e for e in entries if e.get("source") == "blog"]
    assert any("1 new items" in e["message"] for e in about_blog)
    assert any(e["message"] == "stopped" for e in entries)

    runner = CliRunner()
    status = json.loads(runner.invoke(app, ["-c", str(config), "status", "--json"]).output)
    (blog,) = status["sources"]
    assert blog["next_poll_at"] and blog["last_error"] is None and blog["open"] == 2
    assert status["channels"] == [
        {"channel": "hook", "pending": 0, "failing": 0, "given_up": 0, "last_error": None}
    ]
    table = runner.invoke(app, ["-c", str(config), "status"])
    assert table.exit_code == 0 and "alert channel" in table.output and "hook" in table.output


def test_a_rate_budget_spaces_the_polls_as_the_platform_requires(
    tmp_path: Path, clock: Clock, daemon_factory: Callable[..., Daemon]
) -> None:
    class Budgeted:
        """Returns nothing new, and says its platform allows one poll every 4m30s."""

        type = "budgeted"
        Settings = FeedConnector.Settings

        def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
            return FetchResult([], {"n": 1}, wait_at_least=270)

    config = make_config(
        tmp_path, "  - {name: x, type: feed, url: 'http://127.0.0.1:9/x', every: 1m}\n"
    )
    store = Store(config.storage_url)
    daemon = daemon_factory(
        config, store, clock, backoff=Backoff(jitter=0.0), connectors={"x": Budgeted()}
    )
    daemon.start()
    daemon.tick()
    settle(daemon)
    assert next_poll(store, "x") == clock() + timedelta(seconds=270)  # not 1m
    assert "rate budget" in (row(store, "x").last_warning or "")
    store.close()
