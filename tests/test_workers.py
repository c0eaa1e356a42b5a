"""Several `sameday run` workers on one PostgreSQL store: three real processes share 100 feed
sources by leasing them, one is killed with SIGKILL mid-run, and the other two take its sources
over within one lease period. No source is ever fetched by two workers at once (the feed server
sees every request's start and end), every comment is stored once, and every alert is sent once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.feedserver import comment_item, rss
from tests.localserver import LocalServer
from tests.test_daemon import new_alerts, spawn_daemon, wait_for
from tests.webhook import Webhook

SOURCES = 100
EVERY_S = 10  # the shortest interval a source may have
LEASE_S = 6
FETCH_S = 0.15  # each feed answers this slowly, so that overlapping fetches would show


class TimedFeeds(LocalServer):
    """Serves /feed/N (one comment each, more added by the test) and records when each request
    started and ended."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.comments: dict[int, list[int]] = {n: [n] for n in range(SOURCES)}
        self.visits: dict[int, list[tuple[float, float]]] = defaultdict(list)
        self.published = datetime.now(UTC) - timedelta(minutes=5)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                started = time.monotonic()
                feed = int(self.path.rsplit("/", 1)[-1])
                with server.lock:
                    numbers = list(server.comments[feed])
                body = rss(*(comment_item(n, server.published, post=f"p{feed}") for n in numbers))
                time.sleep(FETCH_S)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with server.lock:
                    server.visits[feed].append((started, time.monotonic()))

        super().__init__(Handler)

    def add_comment(self, feed: int, number: int) -> None:
        with self.lock:
            self.comments[feed].append(number)


def _config(tmp_path: Path, url: str, feeds: TimedFeeds, hook: str) -> Path:
    lines = [
        "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}",
        "sla: {target: 2d}",  # nothing falls due during the test: new alerts only
        f"storage: {{url: '{url}', lease: {LEASE_S}s}}",
        "sources:",
        *(
            f"  - {{name: s{n:03}, type: feed, url: 'http://127.0.0.1:{feeds.port}/feed/{n}', "
            f"every: {EVERY_S}s, backfill: all}}"
            for n in range(SOURCES)
        ),
        f"notify:\n  - {{url: '{hook}', name: hook}}",
    ]
    path = tmp_path / "sameday.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _polled_sources(log: Path) -> set[str]:
    """The sources a worker polled, from its JSON log."""
    found = set()
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "new items" in str(entry.get("message", "")) and entry.get("source"):
            found.add(entry["source"])
    return found


def test_three_workers_share_the_sources_and_survive_one_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    with TimedFeeds() as feeds, Webhook() as hook:
        config = _config(tmp_path, postgres_url, feeds, hook.apprise_url("/alerts"))
        logs = [tmp_path / f"worker{n}.log" for n in range(3)]
        workers = [
            spawn_daemon(config, "--log-format", "json", "--log-level", "info", output=log)
            for log in logs
        ]
        try:
            wait_for(lambda: len(feeds.visits) == SOURCES, 60, "every source polled once")
            time.sleep(EVERY_S / 2)  # mid-run: some of the victim's polls are in flight
            workers[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            workers[0].wait(timeout=10)
            for feed in range(0, SOURCES, 10):  # new comments after the kill: still alerted once
                feeds.add_comment(feed, 1000 + feed)
            expected = sorted([*range(SOURCES), *(1000 + f for f in range(0, SOURCES, 10))])
            wait_for(
                lambda: sorted(new_alerts(hook.bodies())) == expected,
                60,
                "one alert for every comment",
            )
            # Two more rounds after the kill: the victim's sources must keep being polled.
            time.sleep(EVERY_S + LEASE_S)
        finally:
            for worker in workers[1:]:
                worker.send_signal(signal.SIGTERM)
            exits = [worker.wait(timeout=30) for worker in workers[1:]]
        assert exits == [0, 0], [log.read_text()[-2000:] for log in logs[1:]]

        # Never two fetches of one source at once, by any pair of workers.
        for feed, visits in feeds.visits.items():
            ordered = sorted(visits)
            for (_, end), (start, _) in pairwise(ordered):
                assert start >= end, f"feed {feed} was fetched by two workers at once"
        # Every source went on being polled after the kill: gaps stay within one interval plus
        # one lease period (the victim's leases expiring) and a little scheduling slack.
        for feed, visits in feeds.visits.items():
            times = sorted(start for start, _ in visits)
            after = [t for t in times if t > killed_at]
            assert after, f"feed {feed} was never polled after the kill"
            before = [t for t in times if t <= killed_at]
            if before:
                assert after[0] - before[-1] <= EVERY_S + LEASE_S + 5, f"feed {feed} stalled"
        # The work was shared: both survivors polled sources, and so had the victim.
        polled = [_polled_sources(log) for log in logs]
        assert all(polled), [len(p) for p in polled]
        assert set().union(*polled) == {f"s{n:03}" for n in range(SOURCES)}

        # Every comment stored once, every alert sent once.
        alerts = new_alerts(hook.bodies())
        assert sorted(alerts) == expected, "an alert was lost or sent twice"
        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT source, external_id FROM items")).all()
        engine.dispose()
        assert len(rows) == len(set(rows)) == len(expected)
