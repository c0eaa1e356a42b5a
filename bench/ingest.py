"""Ingest speed: a 10,000-entry comment feed end to end vs `feedparser.parse` alone.

    python bench/ingest.py [--entries 10000] [--repeat 3] [--json FILE]

Generates a WordPress-style comment feed (HTML bodies, 500 posts, a tenth of the comments by the
owner) in a temporary folder, then times, best of --repeat, interleaved:
  - baseline: feedparser.parse on the file's bytes;
  - end to end: one `sameday poll` of that file into a fresh SQLite store (read, parse, records,
    triage, deadlines, one transaction).
It prints both and their ratio (the target is at most 1.5x), then touches the file so that it is
parsed again and checks that re-ingesting it writes no item and no reply.

Why 1.5x: parsing is the one cost a feed reader cannot avoid, so everything Sameday adds on top
of it (records, triage, deadlines, one transaction) must stay a fraction of it; a first poll of a
big comment feed then takes about as long as reading it. --json FILE also writes the figures
(bench/_results.py) for bench/run_all.py.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
from _results import Figure, add_json_option, write_json

from monitor.config import Config, parse_config
from monitor.poll import build_connector, poll_source
from monitor.store import Store

TARGET = 1.5


def write_feed(path: Path, entries: int) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    items = []
    for n in range(entries):
        post = n % 500
        owner = n % 10 == 9
        author = "Dana" if owner else f"Reader {n % 997}"
        when = format_datetime(start + timedelta(minutes=3 * n))
        body = (
            f"<p>Thanks for the post about <em>topic {post}</em>!</p>"
            f"<p>Question {n}: does this work with the <a href='https://x.example/{n}'>kit</a>"
            " &amp; the older model? I&#8217;d love to know.</p>"
        )
        link = f"https://blog.example.com/{post}/post-{post}/#comment-{n}"
        items.append(
            f"<item><title>Comment on Post {post} by {escape(author)}</title>"
            f"<link>{link}</link><dc:creator><![CDATA[{author}]]></dc:creator>"
            f"<pubDate>{when}</pubDate>"
            f'<guid isPermaLink="false">https://blog.example.com/?p={post}#comment-{n}</guid>'
            f"<description><![CDATA[{body}]]></description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>Comments for Bench Blog</title><link>https://blog.example.com</link>"
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )


def config_for(folder: Path, feed: Path, run: int) -> Config:
    text = f"""
owner: {{name: Dana, timezone: America/New_York, identities: {{feed: [Dana]}}}}
storage: {{url: "sqlite:///{folder}/bench-{run}.db"}}
sources: [{{name: blog, type: feed, url: "{feed}", backfill: all}}]
"""
    return parse_config(text, path="bench.yaml", environ={})


def item_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM owner_replies)"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_json_option(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        feed = folder / "comments.xml"
        write_feed(feed, args.entries)
        print(f"feed: {args.entries} entries, {feed.stat().st_size / 1e6:.1f} MB")

        baseline, lean, ours = [], [], []
        for run in range(args.repeat):
            began = time.perf_counter()
            parsed = feedparser.parse(feed.read_bytes())
            baseline.append(time.perf_counter() - began)
            assert len(parsed.entries) == args.entries

            # The stricter baseline: feedparser with the options the connector itself uses.
            began = time.perf_counter()
            feedparser.parse(feed.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
            lean.append(time.perf_counter() - began)

            config = config_for(folder, feed, run)
            source = config.source("blog")
            store = Store(config.storage_url)
            store.ensure_sources([("blog", "feed")])
            began = time.perf_counter()
            outcome = poll_source(source, build_connector(source), store)
            ours.append(time.perf_counter() - began)
            assert outcome.ok, outcome.error
            assert outcome.new_items + outcome.new_replies == args.entries, outcome

        best_base, best_lean, best_ours = min(baseline), min(lean), min(ours)
        ratio = best_ours / best_base
        print(f"feedparser.parse alone:             {best_base:.3f} s (best of {args.repeat})")
        print(f"  same, sanitize/resolve off:       {best_lean:.3f} s (the connector's options)")
        print(f"end to end (parse..store):          {best_ours:.3f} s (best of {args.repeat})")
        verdict = "OK" if ratio <= TARGET else "OVER TARGET"
        print(f"ratio end-to-end / parse alone:     {ratio:.2f}x (target <= {TARGET}x) {verdict}")
        print(f"ratio end-to-end / same-options parse: {best_ours / best_lean:.2f}x")

        # Re-ingest: a changed mtime makes the connector parse the whole file again.
        db = folder / f"bench-{args.repeat - 1}.db"
        before = item_rows(db)
        os.utime(feed, (time.time() + 5, time.time() + 5))
        began = time.perf_counter()
        again = poll_source(source, build_connector(source), store)
        took = time.perf_counter() - began
        written = item_rows(db) - before
        assert again.ok and not again.not_modified, again
        print(
            f"re-ingest of the same feed:         {took:.3f} s, {again.new_items} new items, "
            f"{again.new_replies} new replies, {again.answered} answers, {written} rows written"
        )
        write_json(
            args.json,
            [
                Figure(
                    "ingest.end_to_end",
                    f"ingest: {args.entries:,}-entry comment feed, end to end",
                    best_ours,
                    "s",
                    target=TARGET,
                    op="<=",
                    target_of="ratio",
                    baseline_name="feedparser.parse alone",
                    baseline=best_base,
                    note=f"{best_ours / best_lean:.2f}x feedparser with the connector's options "
                    f"(sanitize and relative URIs off, {best_lean:.3f} s)",
                ),
                Figure(
                    "ingest.reingest",
                    "ingest: re-ingest of the same feed, rows written",
                    written + again.new_items + again.answered,
                    "",
                    target=0,
                    op="==",
                    check=True,
                ),
            ],
        )
        if ratio > TARGET or written or again.new_items or again.answered:
            sys.exit(1)


if __name__ == "__main__":
    main()
