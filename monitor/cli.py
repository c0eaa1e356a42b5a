"""The `sameday` command: a thin typer layer over config, store, poll and views.

Each command loads the config, opens the store and calls one function. Tables are for people;
``--json`` is for scripts. Exit codes: 0 ok, 1 a runtime failure, 2 bad usage or a bad config.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from platformdirs import user_data_dir
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connectors.base import Checkable
from monitor import __version__, sla
from monitor.config import Config, ConfigFileError, default_config_path, load_config
from monitor.daemon import AlreadyRunning, acquire_lock, default_delivery, run_daemon
from monitor.demo import Event, demo_config, run_demo
from monitor.durations import parse_duration
from monitor.logs import FORMATS, LEVELS, setup_logging
from monitor.models import ItemRow, SourceRow
from monitor.poll import build_connector, describe_error, poll_all, utc_now
from monitor.redact import redact_logs
from monitor.report_build import CHART_DAYS, ReportError, build_report, report_lines, today
from monitor.store import SourceHealth, Store, StoreError, UnknownItem
from monitor.views import (
    ago,
    channel_json,
    current_draft,
    deadline_phrase,
    is_blind_spot,
    item_json,
    local,
    source_json,
    span,
    trim,
)

app = typer.Typer(
    help="Sameday: answer every comment and mention the same day.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,  # locals can hold secrets
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    config_path: Path | None = None


state = State()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help="Config file (default: $SAMEDAY_CONFIG, then ./sameday.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"sameday {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: ConfigOption = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "warning",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.config_path = config
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        _usage(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _usage(message: str) -> NoReturn:
    err.print(Text(f"error: {message}"))
    raise typer.Exit(2)


def _config(path: Path | None = None) -> Config:
    try:
        config = load_config(path or state.config_path or default_config_path())
    except ConfigFileError as exc:
        err.print(Text(str(exc)))
        raise typer.Exit(2) from None
    redact_logs(config.redact)
    return config


def _store(config: Config) -> Store:
    try:
        return Store(config.storage_url)
    except StoreError as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(2) from None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


# -- commands ---------------------------------------------------------------------------------


@app.command()
def poll(
    source: Annotated[str | None, typer.Option("--source", help="Poll only this source.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Poll every enabled source once and store what is new.

    Example: sameday -c sameday.yaml poll --source shop-blog
    """
    config = _config()
    if source is not None:
        try:
            config.source(source)
        except KeyError as exc:
            _usage(str(exc.args[0]))
    store = _store(config)
    outcomes = poll_all(config, store, only=source)
    if as_json:
        _print_json([asdict(o) | {"ok": o.ok} for o in outcomes])
    else:
        for o in outcomes:
            if not o.ok:
                out.print(Text(f"✗ {o.source}: {o.error}", style="red"))
                continue
            if o.not_modified:
                line = f"✓ {o.source}: not modified since the last poll"
            else:
                line = (
                    f"✓ {o.source}: {o.new_items} new, {o.answered} answered, "
                    f"{o.new_replies} owner replies"
                    + (f", {o.baseline} older ones kept as baseline" if o.baseline else "")
                )
            out.print(Text(line))
            if o.warning:
                out.print(Text(f"  ! {o.warning}", style="yellow"))
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command()
def inbox(
    as_json: JsonOption = False,
    show_all: Annotated[bool, typer.Option("--all", help="Every item, in every status.")] = False,
) -> None:
    """List what still needs an answer, soonest deadline first."""
    config = _config()
    store = _store(config)
    now = utc_now()
    items = store.inbox(now, everything=show_all)
    if as_json:
        _print_json([item_json(i, now) for i in items])
        return
    if not items:
        out.print("Nothing waiting for an answer." if not show_all else "No items yet.")
        return
    zone = config.default_policy.timezone
    table = Table(show_lines=True, header_style="bold")
    for column in ("id", "source", "author", "comment and suggested reply", "received", "deadline"):
        table.add_column(column, overflow="fold" if column.startswith("comment") else "ellipsis")
    if show_all:
        table.add_column("status")
    for item in items:
        overdue = item.due_at < now and item.status in ("open", "snoozed")
        row = [
            Text(str(item.id)),
            Text(item.source),
            Text(trim(item.author, 20)),
            _comment_cell(item, now),
            Text(ago(item.created_at, now)),
            Text(
                f"{local(item.due_at, zone)} ({deadline_phrase(item.due_at, now)})",
                style="red" if overdue else "",
            ),
        ]
        if show_all:
            row.append(Text(item.status))
        table.add_row(*row)
    out.print(table)
    out.print(Text(f"times in {zone.key}; `sameday done ID` once answered", style="dim"))


def _comment_cell(item: ItemRow, now: datetime) -> Text:
    """The comment, its intent, and the draft to send now (or why it may need none)."""
    cell = Text(trim(item.text, 70))
    if item.intent:
        cell.append(f"  [{item.intent}]", style="cyan")
    draft = current_draft(item, now)
    if draft:
        cell.append("\n\u2192 " + trim(draft, 160), style="green")
    elif item.suggestion_hint:
        cell.append("\n" + trim(item.suggestion_hint, 160), style="yellow")
    return cell


def _change(action: str, item_id: int, apply: Any) -> None:
    config = _config()
    store = _store(config)
    try:
        item = store.item(item_id)
    except UnknownItem:
        _usage(f"no item with id {item_id}; `sameday inbox --all` lists them")
    if item.status == "answered" and action != "snoozed":
        when = item.answered_at.isoformat() if item.answered_at else "?"
        out.print(Text(f"item {item_id} is already answered ({item.answered_via}, {when})"))
        return
    item = apply(store, config)
    out.print(Text(f"item {item_id} {action}: {trim(item.author, 20)}: {trim(item.text, 50)}"))


@app.command()
def done(item_id: Annotated[int, typer.Argument(help="The item's id (see `inbox`).")]) -> None:
    """Mark an item answered by hand."""
    _change("marked answered", item_id, lambda s, c: s.mark_answered(item_id, utc_now()))


@app.command()
def dismiss(item_id: Annotated[int, typer.Argument(help="The item's id (see `inbox`).")]) -> None:
    """Mark an item as needing no reply."""
    _change("dismissed", item_id, lambda s, c: s.dismiss(item_id))


@app.command()
def snooze(
    item_id: Annotated[int, typer.Argument(help="The item's id (see `inbox`).")],
    duration: Annotated[
        str, typer.Argument(help="How long: 30m, 2h, 1d… or 'tomorrow' (next opening).")
    ],
) -> None:
    """Hide an item from the inbox for a while.

    Example: sameday snooze 12 2h
    """
    now = utc_now()
    if duration == "tomorrow":

        def until(config: Config) -> datetime:
            return sla.next_opening(now, config.default_policy)
    else:
        try:
            length = parse_duration(duration).as_timedelta()
        except ValueError as exc:
            _usage(f"snooze DURATION: {exc}, or 'tomorrow'")

        def until(config: Config) -> datetime:
            return now + length

    _change("snoozed", item_id, lambda s, c: s.snooze(item_id, until(c)))


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Each source's health and next poll, and each alert channel's deliveries.

    A source is a blind spot when it has not succeeded for more than 3x its interval; its next
    poll is the one `sameday run` planned (after backoff). Per alert channel: alerts waiting,
    alerts whose delivery keeps failing, alerts given up, and the last delivery error.
    --json prints {"sources": [...], "channels": [...]}.
    """
    config = _config()
    store = _store(config)
    now = utc_now()
    health = {h.row.name: h for h in store.health(now)}
    outbox = store.outbox_health()
    rows = []
    for source in config.sources:
        # A source never polled has no row yet: show it with nothing known, as a blind spot.
        h = health.get(source.name) or SourceHealth(SourceRow(name=source.name, type=source.type))
        blind = source.enabled and is_blind_spot(h.row, source.every.as_timedelta(), now)
        rows.append((source, h, blind))
    if as_json:
        sources = [
            source_json(h.row, blind_spot=blind, open_items=h.open_items, overdue=h.overdue_items)
            | {"enabled": s.enabled}
            for s, h, blind in rows
        ]
        _print_json({"sources": sources, "channels": [channel_json(c) for c in outbox]})
        return
    table = Table(header_style="bold")
    columns = ("source", "type", "every", "last success", "next poll", "last error", "open",
               "overdue", "")  # fmt: skip
    for column in columns:
        table.add_column(column)
    for source, h, blind in rows:
        row = h.row
        error = "—"
        if row and row.consecutive_failures and row.last_error:  # failing now, not in the past
            failures = row.consecutive_failures
            error = f"{trim(row.last_error, 60)} ({ago(row.last_error_at, now)}, ×{failures})"
        flag = "disabled" if not source.enabled else ("BLIND SPOT" if blind else "ok")
        table.add_row(
            Text(source.name),
            Text(source.type),
            Text(str(source.every)),
            Text(ago(row.last_success_at, now)),
            Text(_next_poll(row.next_poll_at if source.enabled else None, now)),
            Text(error, style="red" if error != "—" else ""),
            Text(str(h.open_items)),
            Text(str(h.overdue_items), style="red" if h.overdue_items else ""),
            Text(flag, style="bold red" if blind else "green"),
        )
    out.print(table)
    for source, h, _ in rows:
        if h.row.last_warning:
            out.print(
                Text(
                    f"! {source.name}: {h.row.last_warning} ({ago(h.row.last_warning_at, now)})",
                    style="yellow",
                )
            )
    if outbox:
        alerts = Table(header_style="bold")
        for column in ("alert channel", "pending", "failing", "given up", "last error"):
            alerts.add_column(column)
        for c in outbox:
            alerts.add_row(
                Text(c.channel),
                Text(str(c.pending)),
                Text(str(c.failing), style="red" if c.failing else ""),
                Text(str(c.given_up), style="red" if c.given_up else ""),
                Text(trim(c.last_error, 80) if c.last_error else "—"),
            )
        out.print(alerts)


def _next_poll(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "—"
    if at >= now:
        return f"in {span(at - now)}"
    # Past: the daemon is busy with a backlog, or not running at all.
    return f"{span(now - at)} late"


@app.command("run")
def run_command(
    ctx: typer.Context,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="debug, info, warning or error (default: the global --log-level if given, "
            "else info).",
            show_default=False,
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Append the log to this file instead of stderr."),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text, or json: one object per line.")
    ] = "text",
) -> None:
    """Run the daemon: poll each source at its interval and send alerts, until stopped.

    SIGTERM or Ctrl-C stops it within 10 s, letting the polls in flight finish; a second signal
    exits at once. One daemon per SQLite store: a second one exits with status 1.

    Example: sameday -c sameday.yaml run --log-format json --log-file ~/sameday.log
    """
    # First of all: a signal during start-up (config, store, lock) must stop cleanly too.
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(128 + signum)  # asked twice: the owner wants out now
        logging.getLogger("sameday.daemon").info(
            "%s received: stopping (send it again to exit at once)", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    config = _config()
    level = (log_level or _global_log_level(ctx) or "info").lower()
    if level not in LEVELS:
        _usage(f"--log-level must be one of {', '.join(LEVELS)}, not {level!r}")
    if log_format not in FORMATS:
        _usage(f"--log-format must be text or json, not {log_format!r}")
    try:
        setup_logging(
            level=level,
            file=log_file,
            format="json" if log_format == "json" else "text",
            redact=config.redact,
            sources=[s.name for s in config.sources],
        )
    except OSError as exc:
        _usage(f"--log-file {log_file}: {exc.strerror or exc}")
    store = _store(config)
    try:
        lock = acquire_lock(store)
    except AlreadyRunning as exc:
        err.print(Text(f"error: {exc}"))
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(Text(f"error: cannot lock the store ({exc.strerror or exc})"))
        raise typer.Exit(1) from None

    metrics = None
    try:
        try:
            deliverer, channels, reporter = default_delivery(config, store, utc_now)
        except ValueError as exc:  # channels that cannot work together: a config problem
            err.print(Text(f"error: {exc}"))
            raise typer.Exit(2) from None
        metrics = _serve_metrics(config, store, [c.name for c in channels])
        clean = run_daemon(
            config,
            store,
            stop_event=stop,
            deliverer=deliverer,
            channels=channels,
            reporter=reporter,
        )
    except typer.Exit:
        raise
    except Exception:  # the store failed at start-up, or a bug: say so, in the log too
        logging.getLogger("sameday.daemon").exception("the daemon stopped on an error")
        raise typer.Exit(1) from None
    finally:
        if metrics is not None:
            metrics.stop()
        if lock is not None:
            lock.release()
    if not clean:
        # Polls abandoned at the deadline hold pool threads that Python would wait for at
        # exit; what they stored is committed already, so leave now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _serve_metrics(config: Config, store: Store, channels: list[str]) -> Any:
    """Start the Prometheus endpoint when `metrics:` is configured; None otherwise."""
    if config.metrics is None:
        return None
    from monitor.metrics import MetricsError, parse_listen, serve

    host, port = parse_listen(config.metrics.listen)
    try:
        server = serve(
            store,
            host,
            port,
            intervals={
                s.name: s.every.as_timedelta() if s.enabled else None for s in config.sources
            },
            channels=channels,
            cache_s=parse_duration(config.metrics.cache).as_timedelta().total_seconds(),
        )
    except MetricsError as exc:
        err.print(Text(f"error: metrics: {exc}"))
        raise typer.Exit(2) from None
    logging.getLogger("sameday.daemon").info("metrics at %s", server.url)
    return server


def _global_log_level(ctx: typer.Context) -> str | None:
    """The `sameday --log-level` given before the command, if it was given at all."""
    parent = ctx.parent
    if parent is None:
        return None
    # A ParameterSource; by name, as typer vendors its own click.
    source = getattr(parent.get_parameter_source("log_level"), "name", "DEFAULT")
    if source == "DEFAULT":
        return None
    value = parent.params.get("log_level")
    return value if isinstance(value, str) else None


@app.command()
def report(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The local day, YYYY-MM-DD (default: today in the owner's time zone).",
            show_default=False,
        ),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="Add a trend of the last N days.")
    ] = 1,
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source.", show_default=False)
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, md, html, json or csv (one row per item).")
    ] = "text",
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="Also write the chart (PNG) to this file.", show_default=False
        ),
    ] = None,
) -> None:
    """How quickly comments were answered on one day, and what still waits.

    Received, answered, due and answered on time, on-time rate, median and p90 time to answer
    (also in business hours), open and overdue items, the oldest one, the same-day streak and
    blind spots, per source and in total. A day in progress is reported as of now.

    Example: sameday report --date 2026-03-10 --days 7 --format html > report.html
    """
    from monitor import report_render as render  # Jinja2: only when a report is asked for

    if fmt not in render.REPORT_FORMATS:
        _usage(f"--format must be one of {', '.join(render.REPORT_FORMATS)}, not {fmt!r}")
    config = _config()
    now = utc_now()
    try:
        when = date.fromisoformat(day) if day is not None else today(config, now)
    except ValueError:
        _usage(f"--date must be a day like 2026-03-10, not {day!r}")
    store = _store(config)
    want_chart = chart is not None or fmt == "html"
    try:
        lines = report_lines(store, config, when, now, source=source) if fmt == "csv" else None
        built = None
        if fmt != "csv" or want_chart:
            built = build_report(
                store,
                config,
                when,
                now,
                days=days,
                source=source,
                chart_days=CHART_DAYS if want_chart else 0,
            )
    except ReportError as exc:
        _usage(str(exc))
    png = None
    if built is not None and want_chart:
        from monitor.report_chart import render_chart  # matplotlib: only when a chart is asked

        png = render_chart(built.trend, title=f"Sameday, {len(built.trend)} days to {when}")
        if chart is not None:
            try:
                chart.write_bytes(png)
            except OSError as exc:
                err.print(Text(f"error: --chart {chart}: {exc.strerror or exc}"))
                raise typer.Exit(1) from None
    if lines is not None:
        sys.stdout.write(render.render_csv(lines))
    elif built is not None:
        text = {
            "json": render.render_json,
            "md": render.render_markdown,
            "text": render.render_text,
        }.get(fmt)
        sys.stdout.write(text(built) if text else render.render_html(built, chart_png=png))


@app.command()
def check(
    config_only: Annotated[
        bool,
        typer.Option(
            "--config-only", help="Only validate the config: contact no source (for start-up)."
        ),
    ] = False,
) -> None:
    """Check the config and that every source answers, without storing anything.

    Example: sameday -c sameday.yaml check --config-only   (exit 2 on a bad config)
    """
    config = _config()
    where = config.path or "config"
    out.print(Text(f"✓ {where}: valid, {len(config.sources)} sources"))
    if config_only:
        return
    failed = 0
    for source in config.sources:
        if not source.enabled:
            out.print(Text(f"- {source.name}: disabled"))
            continue
        connector = build_connector(source)
        try:
            # Credentials first, where the connector can check them on their own: "the token
            # expired" says more than whichever request happened to fail.
            if isinstance(connector, Checkable):
                signed_in = config.redact(connector.check())
                out.print(Text(f"✓ {source.name} ({source.type}): {signed_in}"))
            result = connector.fetch(None)
        except Exception as exc:
            failed += 1
            problem = config.redact(describe_error(exc))
            out.print(Text(f"✗ {source.name} ({source.type}): {problem}", style="red"))
            continue
        mine = sum(1 for r in result.records if r.is_owner)
        note = (
            ""
            if source.owner_identities
            else " (no owner identities set: replies cannot be detected)"
        )
        out.print(
            Text(
                f"✓ {source.name} ({source.type}): {len(result.records)} records, "
                f"{mine} by the owner{note}"
            )
        )
        for warning in result.warnings:
            out.print(Text(f"  ! {warning}", style="yellow"))
    if failed:
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Bring the store's schema to this version's (every command and `run` also do it).

    Example: sameday -c sameday.yaml migrate
    """
    config = _config()
    store = _store(config)
    done = store.migration
    store.close()
    if not done.changed and not done.legacy:
        out.print(Text(f"✓ the store is already at {done.after} (the newest)"))
        return
    start = "a store from before migrations" if done.legacy else done.before or "nothing"
    out.print(Text(f"✓ migrated from {start} to {done.after}"))


@app.command()
def demo(
    hours: Annotated[
        int, typer.Option(help="How many simulated hours to replay.", min=1, max=24 * 14)
    ] = 24,
    db: Annotated[
        Path | None,
        typer.Option(help="The demo's own SQLite file (default: demo.db in the data directory)."),
    ] = None,
) -> None:
    """Watch the whole loop on a simulated blog and forum: no credentials, no network."""
    path = db or Path(user_data_dir("sameday", appauthor=False)) / "demo.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    end = utc_now().replace(second=0, microsecond=0)
    zone = demo_config(path).default_policy.timezone
    out.print(Text(f"Replaying the last {hours} hours of a demo blog and forum", style="bold"))
    out.print(Text(f"(times in {zone.key}; the owner's replies are detected, not clicked)\n"))

    def show(event: Event) -> None:
        if (line := _demo_line(event, zone)) is not None:
            out.print(line)

    run = run_demo(path, end=end, hours=hours, on_event=show)

    waiting = run.store.inbox(end)
    received = sum(1 for e in run.events if e.what == "new")
    answered = sum(1 for e in run.events if e.what == "answered")
    overdue = sum(1 for i in waiting if i.due_at < end)
    out.print()
    out.print(
        Text(
            f"{received} comments arrived, {answered} were answered by the owner, "
            f"{len(waiting)} still wait for an answer ({overdue} overdue); "
            f"the owner's chat got {len(run.chat.messages)} alerts.",
            style="bold",
        )
    )
    from monitor.report_render import render_text  # Jinja2 and the report: only here

    last_day = today(run.config, end)
    out.print()
    out.print(Text(render_text(build_report(run.store, run.config, last_day, end, days=3))))
    out.print()
    out.print(Text(f"The demo's store is {path}; to watch your own blog, see config.example.yaml."))


def _demo_line(event: Event, zone: ZoneInfo) -> Text | None:
    """One line of the demo's story; None for what another line already tells."""
    when = event.at.astimezone(zone).strftime("%a %H:%M")
    if event.what == "alert":
        if (event.alert or "").startswith("New "):
            return None  # every arrival gets one: its line above says enough
        return Text(f"{when}  \u2192 chat: {event.alert}", style="bold magenta")
    item = event.item
    assert item is not None
    if event.what == "new":
        due = item.due_at.astimezone(zone).strftime("%a %H:%M")
        return Text(
            f"{when}  new #{item.id} on {item.source}, {trim(item.author, 14)}: "
            f"\u201c{trim(item.text, 44)}\u201d due {due}"
        )
    late = item.answered_at is not None and item.answered_at > item.due_at
    latency = span((item.answered_at or event.at) - item.created_at)
    return Text(
        f"{when}  \u2713 #{item.id} answered after {latency}" + (", late" if late else ""),
        style="yellow" if late else "green",
    )


def main() -> None:
    """Console-script entry point."""
    app()
