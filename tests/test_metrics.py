"""The Prometheus endpoint, scraped over HTTP, on SQLite and on the real PostgreSQL.

Items go in through the real poll path (`monitor.triage.plan` + `Store.apply`), are answered
by detection and by hand, dismissed or left overdue; each test scrapes the endpoint on
127.0.0.1 and reads the text exposition with prometheus_client's own parser.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import bindparam, event, select

import monitor
from connectors.base import Record
from monitor import metrics
from monitor.alerts import Level
from monitor.metrics import (
    INSTALL_HINT,
    MetricsError,
    MetricsServer,
    Snapshot,
    parse_listen,
    serve,
)
from monitor.models import UTCDateTime
from monitor.store import Channel, PlannedItem, Store, seconds_between
from monitor.triage import plan
from tests.conftest import Clock, make_record

T0 = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
INTERVALS: dict[str, timedelta | None] = {"blog": EVERY, "forum": EVERY, "quiet": EVERY}
CHANNELS = [Channel("console"), Channel("phone", min_level=Level.OVERDUE)]
SCRAPED_AT = T0 + timedelta(hours=26)
# A comment written to break a text exposition, and an author to match.
ODD_TEXT = (
    'Nice!"} 1\n# TYPE sameday_items_open counter\nsameday_items_open{source="pwned"} 1e9\n'
    "\\ \u2028 <script>alert(1)</script> \U0001f642"
)
ODD_AUTHOR = 'Zyxwv"}\n'
LE = ["300.0", "900.0", "1800.0", "3600.0", "7200.0", "14400.0", "28800.0", "86400.0",
      "172800.0", "604800.0", "+Inf"]  # fmt: skip

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def poll(
    store: Store,
    source: str,
    records: Sequence[Record],
    now: datetime,
    *,
    due: Mapping[str, datetime] | None = None,
    baseline_before: datetime | None = None,
) -> None:
    """One poll as `monitor.poll` writes it: triage's plan, deadlines, `Store.apply`."""
    decided = plan(records, store.known(source, records), baseline_before=baseline_before)
    items = [
        PlannedItem(
            n.record,
            n.status,
            (due or {}).get(n.record.external_id, n.record.created_at + timedelta(hours=3)),
            n.answered_at,
            n.answered_by,
        )
        for n in decided.new_items
    ]
    store.apply(source, items, decided, cursor=None, now=now, channels=CHANNELS, every=EVERY)


def owner(external_id: str, when: datetime, parent: str) -> Record:
    return make_record(external_id, when, owner=True, author="Dana", thread=parent, parent=parent)


def item(external_id: str, when: datetime, **kw: Any) -> Record:
    return make_record(external_id, when, thread=external_id, **kw)


@dataclass
class World:
    store: Store
    ids: dict[str, int]


def build(store: Store) -> World:
    """Two busy sources and a quiet one; the figures each test expects are worked out here.

    blog (first poll takes items before T0 as baseline):
      old1, old2  baseline                                       → in no figure
      b1  T0       answered in the same poll, at T0+5m           → detected, 300 s (a bound)
      b2  T0+1m    answered by a reply seen in the next poll     → detected, 9000 s
      b3  T0+2m    open, due T0+3h                               → overdue at SCRAPED_AT
      b4  T0+3m    open, due T0+2d                               → overdue from T0+2d only
      b5  T0+4m    odd text, dismissed                           → dismissed
      last polled fine 5 minutes before SCRAPED_AT               → up
    forum:
      f1  T0       marked answered at T0+25h                     → manual, 90000 s
      f2  T0+10m   answered by a reply 45.5 s later              → detected, 45.5 s
      f3  T0+15m   open, due T0+1h                               → overdue
      f4  T0+20m   marked answered at T0+19m (a clock behind)    → manual, 0 s (never negative)
      its last poll failed                                       → down, 1 failure
    quiet: configured, never polled, no items.
    Outbox: a "new" alert for each item stored open (b2-b5, f1-f4: 8) to console, one of
    them sent; phone only wants overdue alerts.
    """
    store.ensure_sources([("blog", "feed"), ("forum", "discourse"), ("quiet", "feed")])
    poll(
        store,
        "blog",
        [
            item("old1", at(-2 * 1440)),
            item("old2", at(-1440)),
            item("b1", at(0)),
            owner("ob1", at(5), "b1"),
            item("b2", at(1)),
            item("b3", at(2)),
            item("b4", at(3)),
            item("b5", at(4), text=ODD_TEXT, author=ODD_AUTHOR),
        ],
        at(30),
        due={"b3": at(180), "b4": at(2 * 1440)},
        baseline_before=T0,
    )
    poll(store, "blog", [owner("ob2", at(1 + 150), "b2")], at(180))
    poll(
        store,
        "forum",
        [item("f1", at(0)), item("f2", at(10)), item("f3", at(15)), item("f4", at(20))],
        at(30),
        due={"f3": at(60)},
    )
    poll(store, "forum", [owner("of2", at(10) + timedelta(seconds=45.5), "f2")], at(60))

    rows = store.inbox(at(0), everything=True)
    ids = {row.external_id: row.id for row in rows if row.id is not None}
    store.dismiss(ids["b5"], at(35))
    store.mark_answered(ids["f1"], at(25 * 60))
    store.mark_answered(ids["f4"], at(19))
    store.mark_sent([store.alerts_for(ids["b3"])[0].id or 0], at(40))
    store.record_failure("forum", "HTTP 503", at(25 * 60 + 30), every=EVERY)
    store.touch("blog", SCRAPED_AT - EVERY, every=EVERY)
    return World(store, ids)


@pytest.fixture
def world(store: Store) -> World:
    return build(store)


@pytest.fixture
def clock() -> Clock:
    return Clock(SCRAPED_AT)


@pytest.fixture
def server(world: World, clock: Clock) -> Iterator[MetricsServer]:
    with serve(
        world.store,
        port=0,
        intervals=INTERVALS,
        channels=[c.name for c in CHANNELS],
        clock=clock,
        cache_s=15,
    ) as running:
        yield running


def scrape(server: MetricsServer) -> tuple[str, Samples]:
    response = httpx.get(server.url, timeout=10)
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def histogram(
    samples: Samples, source: str
) -> tuple[list[float | None], float | None, float | None]:
    name = "sameday_response_latency_seconds"
    buckets = [value(samples, f"{name}_bucket", source=source, le=le) for le in LE]
    count = value(samples, f"{name}_count", source=source)
    return buckets, count, value(samples, f"{name}_sum", source=source)


# -- the figures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # received, detected, manual, dismissed, open, overdue
        ("blog", (5, 2, 0, 1, 2, 1)),
        ("forum", (4, 1, 2, 0, 1, 1)),
        ("quiet", (0, 0, 0, 0, 0, 0)),
    ],
)
def test_item_counts_per_source_leave_baseline_out(
    server: MetricsServer, source: str, expected: tuple[int, ...]
) -> None:
    _, samples = scrape(server)
    got = (
        value(samples, "sameday_items_received_total", source=source),
        value(samples, "sameday_items_answered_total", source=source, how="detected"),
        value(samples, "sameday_items_answered_total", source=source, how="manual"),
        value(samples, "sameday_items_dismissed_total", source=source),
        value(samples, "sameday_items_open", source=source),
        value(samples, "sameday_items_overdue", source=source),
    )
    assert got == expected


def test_latency_histograms_are_the_hand_computed_ones(server: MetricsServer) -> None:
    _, samples = scrape(server)
    # blog: 300 s (on the 5-minute bound: counted in it) and 9000 s.
    assert histogram(samples, "blog") == ([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], 2, 9300)
    # forum: 0 s (answered "before" it was written: clamped), 45.5 s and 90000 s (over a day).
    assert histogram(samples, "forum") == ([2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3], 3, 90045.5)
    assert histogram(samples, "quiet") == ([0] * 11, 0, 0)
    for source in INTERVALS:  # cumulative, and +Inf is the count
        buckets, count, _ = histogram(samples, source)
        assert buckets == sorted(buckets, key=lambda n: n or 0) and buckets[-1] == count


def test_source_health_and_the_outbox(server: MetricsServer) -> None:
    _, samples = scrape(server)
    assert value(samples, "sameday_source_up", source="blog") == 1
    assert value(samples, "sameday_source_up", source="forum") == 0  # its last poll failed
    assert value(samples, "sameday_source_up", source="quiet") == 0  # never polled
    assert value(samples, "sameday_source_consecutive_failures", source="forum") == 1
    assert value(samples, "sameday_source_consecutive_failures", source="blog") == 0
    assert value(samples, "sameday_source_consecutive_failures", source="quiet") == 0
    last = "sameday_source_last_success_timestamp_seconds"
    assert value(samples, last, source="blog") == (SCRAPED_AT - EVERY).timestamp()
    assert value(samples, last, source="forum") == at(60).timestamp()
    assert value(samples, last, source="quiet") is None  # never: absent, not 1970
    assert value(samples, "sameday_outbox_pending", channel="console") == 7
    assert value(samples, "sameday_outbox_pending", channel="phone") == 0


def test_labels_are_config_names_and_comment_text_never_appears(server: MetricsServer) -> None:
    body, samples = scrape(server)
    labels: dict[str, set[str]] = {}
    for _name, pairs in samples:
        for key, label in pairs:
            labels.setdefault(key, set()).add(label)
    assert labels == {
        "source": {"blog", "forum", "quiet"},
        "how": {"detected", "manual"},
        "le": set(LE),
        "channel": {"console", "phone"},
    }
    for fragment in ("pwned", "<script>", "Zyxwv", "\u2028", "\U0001f642", "Hello"):
        assert fragment not in body


# -- the cache and the clock --------------------------------------------------------------------


def test_scrapes_within_cache_s_query_once_and_overdue_follows_the_clock(
    world: World, clock: Clock
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        with serve(world.store, port=0, intervals=INTERVALS, clock=clock, cache_s=15) as server:
            assert statements == []  # registering describes the metrics without querying

            _, first = scrape(server)
            assert len(statements) == 3  # items, sources, outbox: whatever the number of items
            assert value(first, "sameday_items_overdue", source="blog") == 1

            # New data within the window is not seen, and costs nothing.
            world.store.mark_answered(world.ids["b4"], SCRAPED_AT)
            statements.clear()
            clock.advance(seconds=14.9)
            for _ in range(5):
                assert scrape(server)[1] == first
            assert statements == []

            clock.advance(seconds=0.1)  # 15 s old: read again
            _, second = scrape(server)
            assert len(statements) == 3
            assert value(second, "sameday_items_open", source="blog") == 1
            assert value(second, "sameday_items_answered_total", source="blog", how="manual") == 1

            # b4 answered, so nothing new goes overdue at b4's deadline; f3 and b3 still are.
            clock.now = at(2 * 1440 + 1)
            _, third = scrape(server)
            assert value(third, "sameday_items_overdue", source="blog") == 1
            assert value(third, "sameday_items_overdue", source="forum") == 1
    finally:
        event.remove(world.store.engine, "before_cursor_execute", count)


def test_overdue_is_judged_at_the_injected_now(world: World) -> None:
    def overdue_at(now: datetime) -> float | None:
        with serve(world.store, port=0, intervals=INTERVALS, clock=lambda: now) as server:
            return value(scrape(server)[1], "sameday_items_overdue", source="blog")

    assert overdue_at(at(179)) == 0  # b3 due at T0+3h
    assert overdue_at(at(181)) == 1
    assert overdue_at(at(2 * 1440 + 1)) == 2  # b4 too


# -- health rules, in Python over the store's rows ----------------------------------------------


def test_a_blind_spot_is_down_though_its_last_poll_succeeded(sqlite_store: Store) -> None:
    build(sqlite_store)
    late = SCRAPED_AT - EVERY + 3 * EVERY + timedelta(seconds=1)  # last success > 3x ago
    with serve(sqlite_store, port=0, intervals=INTERVALS, clock=lambda: late) as server:
        _, samples = scrape(server)
    assert value(samples, "sameday_source_up", source="blog") == 0


def test_a_switched_off_source_has_no_up_and_unlisted_sources_are_left_out(
    sqlite_store: Store,
) -> None:
    build(sqlite_store)
    intervals = {"blog": EVERY, "forum": None}  # forum disabled; quiet no longer configured
    with serve(sqlite_store, port=0, intervals=intervals, clock=lambda: SCRAPED_AT) as server:
        _, samples = scrape(server)
    assert value(samples, "sameday_source_up", source="forum") is None
    assert value(samples, "sameday_items_received_total", source="forum") == 4
    assert value(samples, "sameday_source_consecutive_failures", source="forum") == 1
    assert not any(("source", "quiet") in labels for _, labels in samples)


def test_without_intervals_every_stored_source_is_reported(sqlite_store: Store) -> None:
    build(sqlite_store)
    late = SCRAPED_AT + timedelta(days=30)  # no interval: nothing is judged a blind spot
    with serve(sqlite_store, port=0, clock=lambda: late) as server:
        _, samples = scrape(server)
    up = {dict(labels)["source"]: v for (name, labels), v in samples.items()
          if name == "sameday_source_up"}  # fmt: skip
    assert up == {"blog": 1, "forum": 0, "quiet": 0}
    # No channel list: only the channels with something pending.
    assert value(samples, "sameday_outbox_pending", channel="console") == 7
    assert value(samples, "sameday_outbox_pending", channel="phone") is None


# -- SQL on both databases ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (T0, T0 + timedelta(minutes=5), 300.0),  # exactly on a bucket bound
        (T0, T0 + timedelta(days=7), 604800.0),
        (T0, T0 + timedelta(seconds=45.5), 45.5),
        (T0, T0 + timedelta(milliseconds=1), 0.001),
        (T0 + timedelta(minutes=1), T0, -60.0),  # the caller clamps
        (datetime(2026, 3, 7, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC), 86401.0),
    ],
)
def test_seconds_between_on_each_database(
    store: Store, start: datetime, end: datetime, seconds: float
) -> None:
    query = select(
        seconds_between(
            bindparam("start", start, type_=UTCDateTime()),
            bindparam("end", end, type_=UTCDateTime()),
        )
    )
    with store.engine.connect() as conn:
        assert float(conn.execute(query).scalar_one()) == seconds


# -- the endpoint -------------------------------------------------------------------------------


class FailingStore:
    """A `SnapshotSource` whose database is down; counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def metrics_snapshot(self, now: datetime, *, channels: Sequence[str] | None = None) -> Snapshot:
        self.calls += 1
        raise ConnectionError("could not connect to server")


def test_a_store_that_cannot_be_read_answers_503_and_is_not_asked_again_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing, clock = FailingStore(), Clock(SCRAPED_AT)
    with serve(failing, port=0, clock=clock, cache_s=15) as server:
        for _ in range(3):
            response = httpx.get(server.url, timeout=10)
            assert response.status_code == 503
        assert failing.calls == 1
        clock.advance(seconds=15)
        assert httpx.get(server.url, timeout=10).status_code == 503
        assert failing.calls == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "sameday.metrics"]
    assert logged.count("metrics: reading the store failed: ConnectionError: could not connect "
                        "to server") == 2  # fmt: skip


def test_serves_on_loopback_by_default_and_stop_closes_the_port(sqlite_store: Store) -> None:
    server = serve(sqlite_store, port=0)
    assert server.host == "127.0.0.1" and server.port > 0
    assert httpx.get(server.url, timeout=10).status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_a_taken_port_is_a_clear_error(sqlite_store: Store) -> None:
    with serve(sqlite_store, port=0) as running, pytest.raises(MetricsError) as raised:
        serve(sqlite_store, port=running.port)
    assert f"cannot serve metrics on 127.0.0.1:{running.port}" in str(raised.value)


def test_imports_without_prometheus_client_and_serve_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, sqlite_store: Store
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "prometheus_client"]:
        monkeypatch.setitem(sys.modules, name, None)  # None: "import prometheus_client" fails
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "monitor.metrics")
    monkeypatch.setattr(monitor, "metrics", metrics)  # the import below rebinds it: restore
    fresh = importlib.import_module("monitor.metrics")
    assert fresh is not metrics
    with pytest.raises(fresh.MetricsError) as raised:
        fresh.serve(sqlite_store, port=0)
    assert str(raised.value) == INSTALL_HINT
    assert INSTALL_HINT == (
        "the metrics endpoint needs prometheus-client: pip install 'sameday[metrics]'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:9464", ("::1", 9464)),
        ("9464", ("127.0.0.1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["localhost", "::1:9464", "127.0.0.1:99999", "host:port"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not host:port"):
        parse_listen(text)


def test_sameday_run_serves_the_metrics_it_is_configured_to(tmp_path: Path) -> None:
    """`metrics: {listen: …}` in the config: the real daemon serves /metrics while it runs."""
    import re
    import signal

    from tests.feedserver import FeedServer, comment_item, rss
    from tests.test_daemon import spawn_daemon, wait_for

    with FeedServer() as feeds:
        feeds.add("/blog.xml", rss(comment_item(1, datetime.now(UTC) - timedelta(minutes=5))))
        config = tmp_path / "sameday.yaml"
        config.write_text(
            "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}\n"
            f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
            f"sources:\n  - {{name: blog, type: feed, url: '{feeds.url('/blog.xml')}', "
            "backfill: all}\n"
            "notify: [{type: console}]\n"
            "metrics: {listen: '127.0.0.1:0', cache: 1s}\n"
        )
        log = tmp_path / "run.log"
        daemon = spawn_daemon(config, "--log-level", "info", output=log)
        try:
            found = wait_for(
                lambda: re.search(r"metrics at (http://\S+)", log.read_text()), 30, "the endpoint"
            )
            url = found.group(1)

            def received() -> float | None:
                text = httpx.get(url, timeout=5).text
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "sameday_items_received_total":
                            return sample.value
                return None

            assert wait_for(lambda: received() == 1.0, 30, "the first poll counted")
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
