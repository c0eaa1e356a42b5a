"""Daily report speed: one day's report over a store holding 1,000,000 items.

    python bench/report.py [--items 1000000] [--days 60] [--sources 20] [--repeat 3]
                           [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--explain]
                           [--json FILE]

Generates --items items over --days days and --sources sources into a temporary SQLite database
(or, with --url, into a schema of its own on that PostgreSQL, dropped afterwards), in bulk: one
``INSERT … SELECT`` over a recursive CTE (SQLite) or ``generate_series`` (PostgreSQL), with
the store's own schema and indexes. About 2 % of the items are baseline, 3 % dismissed, 1 % still
open, the rest answered after 1 minute to 6 hours against a 4-hour deadline; every source has a
poll history, one of them a failure and another a two-hour gap on the last day.

Then it times, best of --repeat, interleaved:
  - baseline: ``SELECT COUNT(*) FROM items``, a full count of the table (SQLite counts the
    smallest index), and, for scale, ``SELECT SUM(LENGTH(text)) FROM items``, which reads every
    row;
  - the report: `build_report` for the last day (the whole day, as the CLI computes it) and its
    JSON, as `sameday report --format json` does after start-up;
and prints them, the row count, and the ratios (the target is under 1 s for the report).
--explain prints the query plans of the report's queries (SQLite).

Why 1 s: `sameday report` is typed by a person, and sent by the daemon at report time; after
years of comments (a million items is many years of a busy small business) it must still
answer at once. The ratio to the full read (in SQL, nothing sent back) puts the figure in
scale: a report that scanned the table would cost at least that, and grow with it.
--json FILE also writes the figures (bench/_results.py, baseline: the full read) for
bench/run_all.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import Figure, add_json_option, write_json

from monitor.config import Config, parse_config
from monitor.report import day_window
from monitor.report_build import build_report
from monitor.report_render import render_json
from monitor.store import RUNS, SOURCES, Store

TARGET_S = 1.0
ZONE = ZoneInfo("America/New_York")
LAST_DAY = date(2026, 3, 10)  # the day reported on: the last of the generated days

_COLUMNS = (
    "source, external_id, kind, thread_id, author, text, url, created_at, created_at_estimated, "
    "fetched_at, due_at, status, answered_at, answered_via, dismissed_at, intent, needs_reply"
)
# One row per number i; c is its creation time in epoch seconds, h a pseudo-random 0..999.
_SQLITE = f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1),
v AS (
  SELECT i, :t0 + i * :span / :count AS c, (i * 2654435761) % 1000 AS h,
         60 + (i * 40503) % 21600 AS lat
  FROM n
)
INSERT INTO items ({_COLUMNS})
SELECT 'src-' || printf('%02d', i % :sources), 'e' || i, 'comment', 't' || (i / 10),
       'Reader ' || (i % 997), 'Bench comment number ' || i || ', does it ship to Canada?',
       'https://bench.example/c/' || i, {{ts(c)}}, 0, {{ts(c)}}, {{ts(c + 14400)}},
       CASE WHEN h < 20 THEN 'baseline' WHEN h < 50 THEN 'dismissed' WHEN h < 60 THEN 'open'
            ELSE 'answered' END,
       CASE WHEN h >= 60 THEN {{ts(c + lat)}} END,
       CASE WHEN h >= 60 THEN 'detected' END,
       CASE WHEN h >= 20 AND h < 50 THEN {{ts(c + 3600)}} END,
       'question', 1
FROM v
"""
_POSTGRES = f"""
INSERT INTO items ({_COLUMNS})
SELECT 'src-' || lpad((i % :sources)::text, 2, '0'), 'e' || i, 'comment', 't' || (i / 10),
       'Reader ' || (i % 997), 'Bench comment number ' || i || ', does it ship to Canada?',
       'https://bench.example/c/' || i, {{ts(c)}}, false, {{ts(c)}}, {{ts(c + 14400)}},
       CASE WHEN h < 20 THEN 'baseline' WHEN h < 50 THEN 'dismissed' WHEN h < 60 THEN 'open'
            ELSE 'answered' END,
       CASE WHEN h >= 60 THEN {{ts(c + lat)}} END,
       CASE WHEN h >= 60 THEN 'detected' END,
       CASE WHEN h >= 20 AND h < 50 THEN {{ts(c + 3600)}} END,
       'question', true
FROM (
  SELECT i, :t0 + i * :span / :count AS c, (i * 2654435761) % 1000 AS h,
         60 + (i * 40503) % 21600 AS lat
  FROM generate_series(0::bigint, :count - 1) AS i
) AS v
"""


def insert_sql(dialect: str) -> str:
    """The bulk insert, with timestamps written the way the store writes them."""
    if dialect == "sqlite":
        # UTCDateTime stores naive UTC text with microseconds: the same here, so that text
        # comparison in range queries orders these rows like the store's own.
        template, stamp = _SQLITE, "strftime('%Y-%m-%d %H:%M:%S', {}, 'unixepoch') || '.000000'"
    else:
        template, stamp = _POSTGRES, "to_timestamp({})"
    out = template
    for expression in ("c + 14400", "c + lat", "c + 3600", "c"):
        out = out.replace("{ts(" + expression + ")}", stamp.format(expression))
    return out


def config_for(url: str, sources: int) -> Config:
    listed = "".join(f"  - {{name: src-{n:02}, type: demo, every: 5m}}\n" for n in range(sources))
    return parse_config(
        "owner: {name: Dana, timezone: America/New_York}\n"
        f"storage: {{url: '{url}'}}\nsources:\n{listed}",
        path="bench.yaml",
        environ={},
    )


def fill(store: Store, items: int, days: int, sources: int) -> None:
    first_day = LAST_DAY - timedelta(days=days - 1)
    start, _ = day_window(first_day, ZONE)
    _, end = day_window(LAST_DAY, ZONE)
    names = [f"src-{n:02}" for n in range(sources)]
    with store.engine.begin() as conn:
        conn.execute(
            SOURCES.insert(),
            [{"name": n, "type": "demo", "first_polled_at": start, "consecutive_failures": 0}
             for n in names],
        )  # fmt: skip
        conn.execute(
            text(insert_sql(store.dialect)),
            {
                "count": items,
                "sources": sources,
                "t0": int(start.timestamp()),
                "span": int((end - start).total_seconds()),
            },
        )
        # The poll history: one steady run per source, one failure and one gap on the last day.
        day_start, _ = day_window(LAST_DAY, ZONE)
        runs = []
        for n, name in enumerate(names):
            if n == 3:
                failed_at = day_start + timedelta(hours=11)
                runs += [
                    _run(name, "ok", start, failed_at - timedelta(minutes=5)),
                    _run(name, "failed", failed_at, failed_at + timedelta(minutes=20), "HTTP 503"),
                    _run(name, "ok", failed_at + timedelta(minutes=25), end),
                ]
            elif n == 7:
                gap = day_start + timedelta(hours=14)
                runs += [
                    _run(name, "ok", start, gap),
                    _run(name, "ok", gap + timedelta(hours=2), end),
                ]
            else:
                runs.append(_run(name, "ok", start, end))
        conn.execute(RUNS.insert(), runs)
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:  # what autovacuum would do after such a load
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def _run(source: str, outcome: str, first: datetime, last: datetime, error: str | None = None):
    return {"source": source, "outcome": outcome, "first_at": first, "last_at": last,
            "polls": 1, "last_error": error}  # fmt: skip


def best_of(repeat: int, *work: Callable[[], object]) -> list[float]:
    """The best time of each piece of `work`, run interleaved `repeat` times."""
    best = [float("inf")] * len(work)
    for _ in range(repeat):
        for index, piece in enumerate(work):
            began = time.perf_counter()
            piece()
            best[index] = min(best[index], time.perf_counter() - began)
    return best


def explain(store: Store, config: Config) -> None:
    """Print SQLite's plan for every statement the report runs."""
    if store.dialect != "sqlite":
        print("--explain: SQLite only")
        return
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    build_report(store, config, LAST_DAY, day_window(LAST_DAY, ZONE)[1] + timedelta(hours=1))
    event.remove(store.engine, "before_cursor_execute", record)
    raw = store.engine.raw_connection()
    for statement, parameters in seen:
        print("\n" + " ".join(statement.split())[:160] + " …")
        for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters):
            print("   ", row[-1])
    raw.close()


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A temporary SQLite file, or a schema of its own on the PostgreSQL at `url`."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--explain", action="store_true", help="print the query plans (SQLite)")
    add_json_option(parser)
    args = parser.parse_args()

    with database(args.url) as url:
        store = Store(url)
        config = config_for(url, args.sources)
        began = time.perf_counter()
        fill(store, args.items, args.days, args.sources)
        rows = store.count_items()
        took = time.perf_counter() - began
        print(f"store: {store.dialect}, {rows:,} items over {args.days} days and "
              f"{args.sources} sources, generated in {took:.1f} s")  # fmt: skip
        if args.explain:
            explain(store, config)
        now = datetime.combine(LAST_DAY + timedelta(days=1), dt_time(1), ZONE).astimezone(UTC)
        report = build_report(store, config, LAST_DAY, now)

        def full_count() -> None:
            with store.engine.connect() as conn:
                assert conn.execute(text("SELECT COUNT(*) FROM items")).scalar() == rows

        def full_read() -> None:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT SUM(LENGTH(text)) FROM items")).scalar()

        def one_day() -> None:
            render_json(build_report(store, config, LAST_DAY, now))

        count_s, read_s, report_s = best_of(args.repeat, full_count, full_read, one_day)
        total = report.total
        blind = ", ".join(b.source for b in total.blind_spots) or "none"
        print(f"report for {LAST_DAY}: {total.received:,} received, {total.answered:,} answered "
              f"(their latencies read back), {total.due:,} due, {total.open:,} open, "
              f"blind spots: {blind}")  # fmt: skip
        print(f"SELECT COUNT(*) FROM items:          {count_s:.3f} s (best of {args.repeat})")
        print(f"SELECT SUM(LENGTH(text)) FROM items: {read_s:.3f} s (every row read)")
        print(f"one day's report (+ JSON):           {report_s:.3f} s (best of {args.repeat})")
        verdict = "OK" if report_s < TARGET_S else "OVER TARGET"
        print(f"ratio report / full count:           {report_s / count_s:.2f}x")
        print(f"ratio report / full read:            {report_s / read_s:.2f}x")
        print(f"report: {report_s:.3f} s for {rows:,} rows (target < {TARGET_S:.0f} s) {verdict}")
        label = "PostgreSQL" if store.dialect == "postgresql" else "SQLite"
        write_json(
            args.json,
            [
                Figure(
                    f"report.{store.dialect}",
                    f"one day's report, {rows:,} items ({label})",
                    report_s,
                    "s",
                    target=TARGET_S,
                    op="<",
                    baseline_name="SUM(LENGTH(text)), every row read",
                    baseline=read_s,
                    note=f"SELECT COUNT(*) FROM items: {count_s:.3f} s ({report_s / count_s:.1f}x)",
                )
            ],
        )
        store.close()
        if report_s >= TARGET_S:
            sys.exit(1)


if __name__ == "__main__":
    main()
