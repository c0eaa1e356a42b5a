"""Daemon scale: one full poll round of 200 feed sources, and the idle daemon's memory.

    python bench/poll_round.py [--sources 200] [--delay 0.2] [--settle 3] [--json FILE]

Starts a local HTTP server that answers every feed request after --delay seconds (a slow blog
host), writes a config with --sources feed sources on it (every 5m, a few comments each, one of
them recent so the round also writes alerts), and runs `sameday run` as a real process with JSON
logs. It prints:

  - the round: from the daemon's "started" line to the last source's poll line (target < 5 s;
    serially it would take sources x delay = 40 s);
  - the idle daemon's resident memory (VmRSS from /proc/PID/status, --settle seconds after the
    round) and its peak (VmHWM) (target < 150 MB);

each with its ratio to the target. Not part of the test run.

Baselines, measured in the same run: for the round, the same --sources requests made by bare
httpx GETs on as many threads as the daemon has poll threads (no parsing, no store): the least
any poller with that many threads can take; for the memory, a bare `python -c "import
monitor.cli"` process (bench/_proc.py). They are printed after the figures above.

Why these targets: 200 answers of 200 ms cannot come back in less than 2.6 s on 16 threads;
5 s leaves room for parsing and storing while a whole round stays far inside the shortest
interval worth configuring (a minute), so slow hosts never hold back the other sources' alerts.
150 MB idle lets the daemon share a small VPS (512 MB to 1 GB) with the site it watches.
--json FILE also writes the figures (bench/_results.py) for bench/run_all.py.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The feed builders live with the tests; run from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from _proc import bare_import_kb, status_kb
from _results import Figure, add_json_option, write_json

from connectors.http import tls_context
from monitor.daemon import DEFAULT_WORKERS
from tests.feedserver import comment_item, rss

ROUND_TARGET_S = 5.0
RSS_TARGET_MB = 150.0


def feed_body(site: int) -> bytes:
    now = datetime.now(UTC)
    # One recent comment per site (a real item with a `new` alert), four older ones.
    return rss(
        *(
            comment_item(
                n,
                now - (timedelta(minutes=5) if n == 0 else timedelta(days=10 + n)),
                author=f"Reader {n}",
                post=f"site{site}",
                text=f"Question {n} for site {site}",
            )
            for n in range(5)
        )
    )


class _Server(ThreadingHTTPServer):
    # Read by listen() in the constructor: set afterwards, the backlog stays 5, and 16 polls
    # connecting at once lose SYNs that the kernel resends only after a second.
    request_queue_size = 256
    daemon_threads = True


class SlowFeeds:
    """Serves /site/N.xml, each answer after `delay` seconds, many requests at once."""

    def __init__(self, sources: int, delay: float) -> None:
        bodies = {f"/site/{i}.xml": feed_body(i) for i in range(sources)}
        self.requests = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(delay)
                with lock:
                    outer.requests += 1
                body = bodies.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, site: int) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/site/{site}.xml"


def write_config(folder: Path, feeds: SlowFeeds, sources: int) -> Path:
    lines = [
        "owner: {name: Dana, timezone: UTC, identities: {feed: [Dana]}}",
        f"storage: {{url: 'sqlite:///{folder}/sameday.db'}}",
        "sources:",
    ]
    lines += [
        f"  - {{name: site-{i:03d}, type: feed, url: '{feeds.url(i)}', every: 5m}}"
        for i in range(sources)
    ]
    path = folder / "sameday.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bare_fetch(feeds: SlowFeeds, sources: int, workers: int) -> float:
    """Seconds to GET every feed once with `workers` threads, a client per request sharing one
    TLS context (as the feed connector does): the baseline of the round."""
    context = tls_context()

    def get(site: int) -> None:
        with httpx.Client(verify=context, timeout=30) as client:
            client.get(feeds.url(site)).raise_for_status()

    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(get, range(sources)))
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before measuring")
    add_json_option(parser)
    args = parser.parse_args()

    feeds = SlowFeeds(args.sources, args.delay)
    workers_n = min(DEFAULT_WORKERS, max(1, args.sources))  # as the daemon sizes its pool
    fetch_s = bare_fetch(feeds, args.sources, workers_n)
    bare = bare_import_kb()
    feeds.requests = 0  # from here on, the daemon's requests only
    with tempfile.TemporaryDirectory(prefix="sameday-round-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, feeds, args.sources)
        log = folder / "daemon.jsonl"
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "-c", str(config), "run", "--log-format", "json",
             "--log-file", str(log)],
            stdout=subprocess.DEVNULL,  # the console channel prints the round's alerts
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            entries: list[dict[str, str]] = []
            polled: dict[str, str] = {}
            while time.monotonic() < deadline and len(polled) < args.sources:
                time.sleep(0.2)
                if log.exists():
                    entries = [json.loads(line) for line in log.read_text().splitlines()]
                    polled = {
                        e["source"]: e["time"]
                        for e in entries
                        if e.get("logger") == "sameday.poll" and "source" in e
                    }
            if len(polled) < args.sources:
                print(f"only {len(polled)} of {args.sources} sources were polled in time")
                return 1
            started = next(e["time"] for e in entries if e["message"].startswith("started:"))
            round_s = (_moment(max(polled.values())) - _moment(started)).total_seconds()
            time.sleep(args.settle)
            memory = status_kb(daemon.pid)
            workers = next(e["message"] for e in entries if e["message"].startswith("started:"))
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=15)

    rss_mb, peak_mb = memory["VmRSS"] / 1024, memory["VmHWM"] / 1024
    serial = args.sources * args.delay
    print(f"daemon: {workers}")
    print(f"feed requests answered: {feeds.requests} (each after {args.delay:g} s)")
    print(
        f"one full poll round of {args.sources} sources: {round_s:.2f} s "
        f"(target < {ROUND_TARGET_S:g} s: {round_s / ROUND_TARGET_S:.2f}x of target; "
        f"serial would be {serial:g} s)"
    )
    print(
        f"idle daemon resident memory: {rss_mb:.1f} MB, peak {peak_mb:.1f} MB "
        f"(target < {RSS_TARGET_MB:g} MB: {rss_mb / RSS_TARGET_MB:.2f}x of target)"
    )
    print(f"stopped on SIGTERM with exit code {code}")
    bare_mb = bare["VmRSS"] / 1024
    print(
        f"baseline: the same {args.sources} GETs, bare httpx on {workers_n} threads: "
        f"{fetch_s:.2f} s (round / bare fetch: {round_s / fetch_s:.2f}x)"
    )
    print(
        f"baseline: python -c 'import monitor.cli': {bare_mb:.1f} MB resident "
        f"(idle daemon / bare import: {rss_mb / bare_mb:.2f}x)"
    )
    write_json(
        args.json,
        [
            Figure(
                "poll_round.round",
                f"poll round: {args.sources} sources at {args.delay * 1000:g} ms each",
                round_s,
                "s",
                target=ROUND_TARGET_S,
                op="<",
                baseline_name=f"bare httpx GETs on {workers_n} threads",
                baseline=fetch_s,
            ),
            Figure(
                "poll_round.idle_rss",
                f"daemon memory, idle after that round (peak {peak_mb:.0f} MB)",
                rss_mb,
                "MB",
                target=RSS_TARGET_MB,
                op="<",
                baseline_name="python -c 'import monitor.cli'",
                baseline=bare_mb,
            ),
            Figure(
                "poll_round.exit",
                "poll round: daemon's exit code after SIGTERM",
                code,
                "",
                target=0,
                op="==",
                check=True,
            ),
        ],
    )
    return 0 if round_s < ROUND_TARGET_S and rss_mb < RSS_TARGET_MB and code == 0 else 1


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())
