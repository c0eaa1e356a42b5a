"""Daemon memory: `sameday run` idle, after taking in 100,000 items, and at its peak.

    python bench/memory.py [--sources 200] [--comments 500] [--open 10] [--every 10]
                           [--settle 15] [--timeout 900] [--json FILE]

Runs `sameday run` as a real process (JSON logs, an Apprise ``json://`` channel to a local
webhook, tests/webhook.py) on --sources feed sources served by a local feed server
(tests/feedserver.py, with ETag and 304s), each polled every --every seconds, and reads its
memory from /proc/PID/status:

  1. idle: every feed is empty at first; after the first round of polls and --settle seconds,
     VmRSS (target < 150 MB);
  2. the load: each feed then publishes --comments comments (in threads of ten, each answered
     by an owner reply, except the newest --open comments, which stay open and are alerted),
     so the daemon stores sources x comments items (200 x 500 = 100,000) in its next round and
     delivers their alerts; once the store holds them all and no alert is pending, and after
     --settle more seconds (at least one round of 304s), VmRSS again (target < 300 MB);
  3. the peak: VmHWM, the most the process was ever resident (target < 512 MB).

Baseline, measured in the same run: a bare ``python -c "import monitor.cli"`` process
(bench/_proc.py), what any `sameday` command costs before it does anything; each ratio says
how many times that the daemon holds.

Why these targets: Sameday runs beside the site it watches, often on a 512 MB to 1 GB VPS or a
small home server. Idle, it should take no more than a modest web app (150 MB). It keeps no
items in memory, so its size must not grow with the store: after 100,000 items (years of a
small business's comments) it should stay within twice the idle figure (300 MB), and even while
it parses 200 big feeds at once it must leave half of a 1 GB machine free (512 MB).
Checks: every item stored, every open item's alert delivered, exit code 0 after SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The local servers live with the tests; run from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _proc import bare_import_kb, status_kb
from _results import Figure, add_json_option, write_json

from tests.feedserver import FeedServer, comment_item, rss
from tests.webhook import Webhook

IDLE_TARGET_MB = 150.0
AFTER_TARGET_MB = 300.0
PEAK_TARGET_MB = 512.0
THREAD = 10  # comments per post; the owner answers each post's comments once


def feed_body(site: int, comments: int, open_: int, now: datetime) -> bytes:
    """`comments` comments, oldest first 10 s apart up to `now`; every post but the last gets
    the owner's reply after its comments; the last `open_` comments share one unanswered post."""
    entries = []
    answered = comments - open_
    for n in range(comments):
        when = now - timedelta(seconds=10 * (comments - n))
        post = f"post-{n // THREAD}" if n < answered else "open-questions"
        entries.append(
            comment_item(n, when, author=f"Reader {n % 97}", post=post,
                         text=f"Question {n} for site {site}: does it ship to Canada?")
        )  # fmt: skip
        if n < answered and (n % THREAD == THREAD - 1 or n == answered - 1):
            entries.append(
                comment_item(1_000_000 + n, when + timedelta(seconds=5), author="Dana",
                             post=post, text="Thanks for asking! Yes, we ship to Canada.")
            )  # fmt: skip
    return rss(*reversed(entries))  # newest first, as blogs publish them


def write_config(folder: Path, feeds: FeedServer, hook: Webhook, sources: int, every: int) -> Path:
    lines = [
        "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}",
        f"storage: {{url: 'sqlite:///{folder}/sameday.db'}}",
        f"notify: [{{url: '{hook.apprise_url('/alerts')}', name: owner-chat}}]",
        "sources:",
    ]
    lines += [
        f"  - {{name: site-{i:03d}, type: feed, url: '{feeds.url(f'/site/{i}.xml')}', "
        f"every: {every}s}}"
        for i in range(sources)
    ]
    path = folder / "sameday.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Log:
    """The daemon's JSON log, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.polled: dict[str, int] = {}  # source -> poll lines seen

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode().splitlines():
            entry = json.loads(line)
            if entry.get("logger") == "sameday.poll" and "source" in entry:
                self.polled[entry["source"]] = self.polled.get(entry["source"], 0) + 1


def counts(db: Path) -> dict[str, int]:
    """Rows in the store as the daemon has committed them (a read-only connection, WAL)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM items),"
            " (SELECT count(*) FROM items WHERE status = 'open'),"
            " (SELECT count(*) FROM items WHERE status = 'answered'),"
            " (SELECT count(*) FROM owner_replies),"
            " (SELECT count(*) FROM alerts WHERE level = 'new' AND status = 'sent'),"
            " (SELECT count(*) FROM alerts WHERE status = 'pending')"
        ).fetchone()
    conn.close()
    keys = ("items", "open", "answered", "replies", "new_sent", "pending")
    return dict(zip(keys, row, strict=True))


def wait(until: str, seconds: float, done: Callable[[], bool]) -> None:
    """Poll `done` twice a second until it says yes; TimeoutError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{until} did not happen within {seconds:g} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--comments", type=int, default=500, help="comments per source")
    parser.add_argument("--open", type=int, default=10, help="unanswered comments per source")
    parser.add_argument("--every", type=int, default=10, help="poll interval, s (at least 10)")
    parser.add_argument("--settle", type=float, default=15.0, help="idle seconds before measuring")
    parser.add_argument("--timeout", type=float, default=900.0, help="for the load, s")
    add_json_option(parser)
    args = parser.parse_args()
    items = args.sources * args.comments
    open_items = args.sources * min(args.open, args.comments)

    bare_mb = bare_import_kb()["VmRSS"] / 1024
    with (
        tempfile.TemporaryDirectory(prefix="sameday-memory-") as tmp,
        FeedServer() as feeds,
        Webhook() as hook,
    ):
        # 16 polls connect at once: a listen backlog of 5 would drop SYNs (resent after 1 s).
        feeds._httpd.socket.listen(256)
        folder = Path(tmp)
        for i in range(args.sources):
            feeds.add(f"/site/{i}.xml", rss(), last_modified=time.time() - 3600)
        config = write_config(folder, feeds, hook, args.sources, args.every)
        db, log = folder / "sameday.db", Log(folder / "daemon.jsonl")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "-c", str(config), "run", "--log-format", "json",
             "--log-file", str(log.path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:

            def first_round() -> bool:
                log.read()
                return len(log.polled) >= args.sources

            wait("the first round of polls", 120, first_round)
            time.sleep(args.settle)
            idle = status_kb(daemon.pid)

            now = datetime.now(UTC)
            bodies = [feed_body(i, args.comments, args.open, now) for i in range(args.sources)]
            published = time.monotonic()
            for i, body in enumerate(bodies):
                feeds.add(f"/site/{i}.xml", body, last_modified=time.time())

            def loaded() -> bool:
                now_counts = counts(db)
                return now_counts["items"] >= items and now_counts["pending"] == 0

            wait(f"storing {items:,} items", args.timeout, loaded)
            load_s = time.monotonic() - published
            time.sleep(args.settle)
            after = status_kb(daemon.pid)
            final = counts(db)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
        messages = len(hook.accepted())

    idle_mb, after_mb = idle["VmRSS"] / 1024, after["VmRSS"] / 1024
    peak_mb = after["VmHWM"] / 1024
    print(f"daemon: {args.sources} feed sources every {args.every} s, one json:// channel")
    print(f"load: {final['items']:,} items ({final['open']:,} open, {final['answered']:,} "
          f"answered by {final['replies']:,} owner replies) stored in {load_s:.1f} s; "
          f"{final['new_sent']:,} new alerts sent in {messages} webhook messages")  # fmt: skip
    rows = [
        ("bare python -c 'import monitor.cli' (baseline)", bare_mb, None),
        ("idle, every feed empty", idle_mb, IDLE_TARGET_MB),
        (f"idle again after {final['items']:,} items", after_mb, AFTER_TARGET_MB),
        ("peak (VmHWM)", peak_mb, PEAK_TARGET_MB),
    ]
    width = max(len(label) for label, _, _ in rows) + 1
    for label, mb, target in rows:
        tail = f" ({mb / bare_mb:.2f}x bare; target < {target:g} MB)" if target else ""
        print(f"{label + ':':<{width}} {mb:6.1f} MB{tail}")
    print(f"stopped on SIGTERM with exit code {code}")

    bare = "python -c 'import monitor.cli'"
    figures = [
        Figure("memory.idle", f"daemon memory idle, {args.sources} sources, no items yet",
               idle_mb, "MB", target=IDLE_TARGET_MB, op="<", baseline_name=bare,
               baseline=bare_mb),
        Figure("memory.after", f"daemon memory idle after {final['items']:,} items",
               after_mb, "MB", target=AFTER_TARGET_MB, op="<", baseline_name=bare,
               baseline=bare_mb, note=f"{final['items']:,} items stored in {load_s:.1f} s"),
        Figure("memory.peak", f"daemon memory peak (VmHWM), taking in {final['items']:,} items",
               peak_mb, "MB", target=PEAK_TARGET_MB, op="<", baseline_name=bare,
               baseline=bare_mb),
        Figure("memory.missing", "memory: items not stored", max(0, items - final["items"]),
               "", target=0, op="==", check=True),
        Figure("memory.unalerted", "memory: open items without a sent new alert",
               max(0, open_items - final["new_sent"]), "", target=0, op="==", check=True),
        Figure("memory.exit", "memory: daemon's exit code after SIGTERM", code, "",
               target=0, op="==", check=True),
    ]  # fmt: skip
    write_json(args.json, figures)
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
