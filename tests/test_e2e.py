"""End to end, as a new user would: `sameday poll` on local feeds over HTTP, then `inbox --json`.

Three blogs in three time zones, each with its own deadline policy; the owner's reply in a feed
marks its item answered with the reply's own time; an unchanged feed costs one 304 and writes no
item.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, comment_item, rss

NEW_YORK = [
    # Friday 16:30 EST: due that day at 17:00 EST.
    comment_item(
        1, "Fri, 06 Mar 2026 21:30:00 +0000", post="hours", author="Ann", text="Open Sunday?"
    ),
    # Friday 17:00:00 EST exactly: the day is over; Monday 17:00 EDT (DST began on Sunday).
    comment_item(
        2,
        "Fri, 06 Mar 2026 22:00:00 +0000",
        post="beans",
        author="Ben",
        text="Is the roast &amp; decaf?",
    ),
    # Monday 18:30 EDT: Tuesday is a holiday, so Wednesday 17:00 EDT.
    comment_item(
        3, "Mon, 09 Mar 2026 22:30:00 +0000", post="cups", author="Cleo", text="Do you sell cups?"
    ),
    # The owner answers Ann in the same flat thread at 18:00 EST.
    comment_item(
        4, "Fri, 06 Mar 2026 23:00:00 +0000", post="hours", author="Dana", text="Yes, 10 to 4!"
    ),
]
BERLIN = [
    # Friday 16:00 CET, 4 business hours: 1h on Friday, 3h on Monday (CEST): 12:00 CEST.
    comment_item(
        1,
        "Fri, 27 Mar 2026 15:00:00 +0000",
        post="kaffee",
        author="Jonas",
        text="Versand nach Wien?",
    ),
]
KOLKATA = [
    # Monday 16:30 IST: due 17:00 IST, a half-hour zone.
    comment_item(
        1, "Mon, 09 Mar 2026 11:00:00 +0000", post="chai", author="Priya", text="Any chai blends?"
    ),
]

EXPECTED_DUE = {
    ("ny", "Ann"): "2026-03-06T22:00:00Z",
    ("ny", "Ben"): "2026-03-09T21:00:00Z",
    ("ny", "Cleo"): "2026-03-11T21:00:00Z",
    ("berlin", "Jonas"): "2026-03-30T10:00:00Z",
    ("kolkata", "Priya"): "2026-03-09T11:30:00Z",
}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        srv.add("/ny.xml", rss(*NEW_YORK))
        srv.add("/berlin.xml", rss(*BERLIN))
        srv.add("/kolkata.xml", rss(*KOLKATA))
        yield srv


@pytest.fixture
def config_file(tmp_path: Path, server: FeedServer) -> Path:
    path = tmp_path / "sameday.yaml"
    path.write_text(f"""
owner:
  name: Dana
  timezone: America/New_York
  identities: {{feed: [Dana]}}
sla: {{holidays: [2026-03-10]}}
storage: {{url: "sqlite:///{tmp_path}/sameday.db"}}
sources:
  - {{name: ny, type: feed, url: "{server.url("/ny.xml")}", backfill: all}}
  - name: berlin
    type: feed
    url: "{server.url("/berlin.xml")}"
    backfill: all
    sla: {{timezone: Europe/Berlin, target: 4h, business_time: true}}
  - name: kolkata
    type: feed
    url: "{server.url("/kolkata.xml")}"
    backfill: all
    sla: {{timezone: Asia/Kolkata}}
""")
    return path


def sameday(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        items = conn.execute("SELECT * FROM items ORDER BY id").fetchall()
        replies = conn.execute("SELECT * FROM owner_replies ORDER BY id").fetchall()
        cursors = conn.execute("SELECT name, cursor FROM sources ORDER BY name").fetchall()
    return [items, replies, cursors]


def test_poll_inbox_conditional_get_and_detected_answers(
    config_file: Path, server: FeedServer, tmp_path: Path
) -> None:
    out = sameday(config_file, "poll")
    assert "✓ ny: 3 new, 1 answered, 1 owner replies" in out

    items = {
        (i["source"], i["author"]): i
        for i in json.loads(sameday(config_file, "inbox", "--json", "--all"))
    }
    assert {key: item["due_at"] for key, item in items.items()} == EXPECTED_DUE
    ann = items[("ny", "Ann")]
    assert (ann["status"], ann["answered_at"], ann["answered_via"]) == (
        "answered",
        "2026-03-06T23:00:00Z",  # the reply's own time, not the time of the poll
        "detected",
    )
    assert items[("ny", "Ben")]["text"] == "Is the roast & decaf?"
    open_now = json.loads(sameday(config_file, "inbox", "--json"))
    assert [i["author"] for i in open_now] == ["Priya", "Ben", "Cleo", "Jonas"]  # by deadline

    # Unchanged feeds: conditional GET, 304, and nothing written but the health stamp.
    before = rows(tmp_path / "sameday.db")
    out = sameday(config_file, "poll")
    assert out.count("not modified since the last poll") == 3
    second = server.seen("/ny.xml")[-1]
    assert second.get("if-none-match") and second.get("if-modified-since")
    assert rows(tmp_path / "sameday.db") == before

    # The owner answers Ben on his post; the next poll sees it.
    server.add(
        "/ny.xml",
        rss(
            *NEW_YORK,
            comment_item(
                5,
                "Mon, 09 Mar 2026 13:15:00 +0000",
                post="beans",
                author="Dana",
                text="Yes, we have decaf.",
            ),
        ),
        last_modified=1_800_000_000.0,
    )
    assert "✓ ny: 0 new, 1 answered, 1 owner replies" in sameday(
        config_file, "poll", "--source", "ny"
    )
    ben = next(
        i
        for i in json.loads(sameday(config_file, "inbox", "--json", "--all"))
        if i["author"] == "Ben"
    )
    assert (ben["status"], ben["answered_at"]) == ("answered", "2026-03-09T13:15:00Z")


def test_a_dead_feed_does_not_stop_the_others(config_file: Path, server: FeedServer) -> None:
    config_file.write_text(config_file.read_text().replace("/berlin.xml", "/gone.xml"))
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config_file), "poll"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "✗ berlin: configuration: the feed URL returned 404" in done.stdout
    assert "✓ ny: 3 new" in done.stdout and "✓ kolkata: 1 new" in done.stdout
    status = {s["name"]: s for s in json.loads(sameday(config_file, "status", "--json"))["sources"]}
    assert status["berlin"]["blind_spot"] and status["berlin"]["consecutive_failures"] == 1
    assert "404" in status["berlin"]["last_error"]
    assert not status["ny"]["blind_spot"]
