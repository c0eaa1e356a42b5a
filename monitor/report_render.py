"""The daily report as text, Markdown, HTML, JSON and CSV. Pure: a `Report` in, a string out.

Comment text, author names, links and poll errors come from other people and are untrusted:

* text and Markdown are for chat: one line per item (`views.trim`), mentions made inert
  (`alerts.safe`), and in Markdown every markup character escaped; both stay under
  `CHAT_LIMIT` characters, lists ending in "… and N more";
* HTML is one self-contained file rendered by Jinja2 with autoescaping, under a
  Content-Security-Policy that allows no script, no request and no font or frame at all
  (the chart is an inline ``data:`` PNG); only http(s) links become links;
* JSON follows DESIGN.md's contract, ``null`` where a figure is undefined (never NaN);
* CSV cells that a spreadsheet would run as a formula (``= + - @``, tab, CR) get a leading
  apostrophe.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from monitor.alerts import safe
from monitor.report import BlindSpot, Figures, OpenItem, Report, TrendDay
from monitor.report_build import ItemLine
from monitor.views import iso_z, printable, span, trim

REPORT_FORMATS = ("text", "md", "html", "json", "csv")
CHAT_LIMIT = 1800  # Discord refuses messages over 2,000 characters; leave room for a title
MAX_SOURCES = 8
MAX_BLIND = 5
MAX_TREND = 14

CSV_COLUMNS = (
    "id", "source", "external_id", "author", "url", "created_at", "due_at", "answered_at",
    "status", "latency_s", "business_latency_s", "on_time",
)  # fmt: skip


# -- words and numbers ----------------------------------------------------------------------------


def long_day(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def short_day(day: date) -> str:
    return day.strftime("%a %d %b")


def percent(rate: float | None) -> str:
    """``89%``; never rounds a miss up to ``100%``."""
    if rate is None:
        return "–"
    value = rate * 100
    shown = f"{value:.0f}"
    if shown == "100" and rate < 1:
        shown = f"{math.floor(value * 10) / 10:.1f}"
    return f"{shown}%"


def duration(seconds: float | None) -> str:
    return "–" if seconds is None else span(timedelta(seconds=seconds))


def title(report: Report) -> str:
    """A one-line summary, for a message's title."""
    total = report.total
    where = f" ({next(iter(report.sources))})" if len(report.sources) == 1 else ""
    head = f"Sameday report {short_day(report.day)}{where}"
    if total.quiet:
        return f"{head}: no comments" + (f", {total.open} open" if total.open else "")
    due = f"{total.answered_on_time}/{total.due} on time" if total.due else "nothing due"
    return f"{head}: {due}, {total.open} open" + (
        f" ({total.overdue} overdue)" if total.overdue else ""
    )


# -- text and Markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def md_escape(text: str) -> str:
    """Untrusted text for Markdown chat: markup characters escaped, mentions made inert."""
    return _MD_SPECIAL.sub(r"\\\1", safe(text))


def _plain(text: str) -> str:
    return safe(text)


class _Style:
    """What differs between the text and the Markdown report."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.escape: Callable[[str], str] = md_escape if markdown else _plain

    def strong(self, text: str) -> str:
        return f"**{text}**" if self.markdown else text

    def link(self, url: str | None) -> str | None:
        if not url or not _is_web_link(url):
            return None
        clean = re.sub(r"[\s<>\\]", "", printable(url))
        return f"<{clean}>" if self.markdown else safe(clean)


def render_text(report: Report) -> str:
    """Plain text for a chat message or a terminal."""
    return _chat(report, _Style(markdown=False))


def render_markdown(report: Report) -> str:
    """Markdown for chats that render it (Discord, Slack, Matrix…)."""
    return _chat(report, _Style(markdown=True))


def _chat(report: Report, style: _Style) -> str:
    zone = ZoneInfo(report.timezone)
    total = report.total
    e = style.escape
    core = [style.strong(f"Sameday report: {long_day(report.day)}") + f" ({e(report.timezone)})"]
    if not report.complete:
        core.append(f"As of {report.as_of.astimezone(zone):%H:%M}: the day is not over yet.")
    if total.quiet:
        core.append(f"No comments on {long_day(report.day)}: nothing received, answered or due.")
    else:
        core.append(
            f"{total.received} received · {total.answered} answered · {_on_time_phrase(total)}"
        )
        if total.answered:
            core.append(_latency_phrase(total))
    core.append(_open_phrase(total, report, style, earlier=total.quiet))
    core.append(f"Same-day streak: {_days(total.streak)}")
    sections = [_Section(None, core)]
    if total.blind_spots:
        heading = "Blind spots" + (
            " (a quiet day there may only mean nobody was watching):" if total.quiet else ":"
        )
        spots = [f"- {e(_blind_phrase(b))}" for b in total.blind_spots]
        sections.append(_Section(style.strong(heading), spots[:MAX_BLIND], len(spots[MAX_BLIND:])))
    if len(report.sources) > 1:
        busy = [(n, f) for n, f in report.sources.items() if not f.quiet or f.open]
        quiet = [n for n, f in report.sources.items() if f.quiet and not f.open]
        lines = [f"- {e(name)}: {_source_phrase(f)}" for name, f in busy]
        if quiet:
            lines.append(f"- quiet: {e(', '.join(quiet))}")
        if lines:
            sections.append(
                _Section(style.strong("By source:"), lines[:MAX_SOURCES], len(lines[MAX_SOURCES:]))
            )
    trend = report.shown_trend
    if trend:
        shown = trend[-MAX_TREND:]
        heading = style.strong(f"Last {len(trend)} days (on time, median answer, open):")
        lines = [f"- {short_day(t.day)}: {e(_trend_phrase(t.figures))}" for t in shown]
        sections.append(_Section(heading, lines, len(trend) - len(shown), keep_last=True))
    return _fit(sections, CHAT_LIMIT)


@dataclass
class _Section:
    """Lines under a heading; `hidden` lines were left out already. With `keep_last`, lines
    that do not fit are dropped from the start (a trend keeps its latest days)."""

    heading: str | None
    lines: list[str]
    hidden: int = 0
    keep_last: bool = False


def _fit(sections: Sequence[_Section], limit: int) -> str:
    """Sections separated by blank lines, within `limit` characters. The first section always
    stays whole; lines of the others that do not fit are counted in an "… and N more"."""
    out: list[str] = []
    used = 0
    room = limit - 30  # for the "… and N more" lines
    for index, section in enumerate(sections):
        head = [section.heading] if section.heading else []
        used += sum(len(line) + 1 for line in head) + (1 if index else 0)
        order = list(reversed(section.lines)) if section.keep_last else section.lines
        kept: list[str] = []
        for line in order:
            if index and used + len(line) + 1 > room:
                break
            kept.append(line)
            used += len(line) + 1
        if index and not kept:  # a heading alone says nothing
            continue
        hidden = section.hidden + len(section.lines) - len(kept)
        if section.keep_last:
            kept.reverse()
        if hidden:
            more = f"… and {hidden} earlier" if section.keep_last else f"… and {hidden} more"
            kept = [more, *kept] if section.keep_last else [*kept, more]
            used += len(more) + 1
        out.append("\n".join([*head, *kept]))
    return "\n\n".join(out)[:limit] + "\n"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _on_time_phrase(figures: Figures) -> str:
    if not figures.due:
        return "nothing was due"
    return (
        f"{figures.answered_on_time} of {figures.due} due answered on time "
        f"({percent(figures.on_time_rate)})"
    )


def _latency_phrase(figures: Figures) -> str:
    return (
        f"Time to answer: median {duration(figures.median_latency_s)}, "
        f"p90 {duration(figures.p90_latency_s)}; in business hours: median "
        f"{duration(figures.business_median_latency_s)}"
    )


def _open_phrase(figures: Figures, report: Report, style: _Style, *, earlier: bool) -> str:
    if not figures.open:
        return "Nothing is waiting for an answer."
    overdue = f", {figures.overdue} overdue" if figures.overdue else ""
    head = "Still open from earlier" if earlier else "Still open"
    text = f"{head}: {figures.open}{overdue}."
    oldest = figures.oldest_open
    if oldest is not None:
        text += " Oldest: " + _item_phrase(oldest, report.as_of, style)
    return text


def _item_phrase(item: OpenItem, as_of: datetime, style: _Style) -> str:
    e = style.escape
    words = (
        f"#{item.id} by {e(trim(item.author, 30))} on {e(item.source)}, waiting "
        f"{span(as_of - item.created_at)}: “{e(trim(item.text, 100))}”"
    )
    link = style.link(item.url)
    return f"{words} {link}" if link else words


def _blind_phrase(spot: BlindSpot) -> str:
    if spot.never_polled:
        return f"{spot.source}: never polled"
    parts = []
    if spot.failed:
        error = f" ({trim(spot.last_error, 80)})" if spot.last_error else ""
        parts.append(f"polls failed{error}")
    if spot.longest_gap_s:
        parts.append(f"no successful poll for {duration(spot.longest_gap_s)}")
    return f"{spot.source}: " + "; ".join(parts)


def _source_phrase(figures: Figures) -> str:
    parts = [f"{figures.received} received", f"{figures.answered} answered"]
    if figures.due:
        parts.append(f"{figures.answered_on_time}/{figures.due} on time")
    if figures.answered:
        parts.append(f"median {duration(figures.median_latency_s)}")
    parts.append(
        f"{figures.open} open" + (f" ({figures.overdue} overdue)" if figures.overdue else "")
    )
    return ", ".join(parts)


def _trend_phrase(figures: Figures) -> str:
    blind = f", blind spots: {', '.join(b.source for b in figures.blind_spots)}"
    if figures.quiet:
        return f"no comments, {figures.open} open" + (blind if figures.blind_spots else "")
    on_time = percent(figures.on_time_rate) if figures.due else "nothing due"
    median = duration(figures.median_latency_s) if figures.answered else "no answers"
    return f"{on_time}, {median}, {figures.open} open" + (blind if figures.blind_spots else "")


# -- JSON --------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """DESIGN.md's contract: ``{date, timezone, sources: {NAME: figures}, total: figures}``, and
    ``trend`` (a list of days, oldest first) when more than one day was asked for."""
    out: dict[str, Any] = {
        "date": report.day.isoformat(),
        "timezone": report.timezone,
        "sources": {name: figures_json(f, report.as_of) for name, f in report.sources.items()},
        "total": figures_json(report.total, report.as_of),
    }
    if report.days > 1:
        out["trend"] = [_trend_json(t) for t in report.shown_trend]
    return out


def render_json(report: Report) -> str:
    # allow_nan=False: a NaN reaching here is a bug to see, not invalid JSON to ship.
    return json.dumps(report_json(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def figures_json(figures: Figures, as_of: datetime) -> dict[str, Any]:
    return {
        "received": figures.received,
        "answered": figures.answered,
        "due": figures.due,
        "answered_on_time": figures.answered_on_time,
        "on_time_rate": figures.on_time_rate,
        "median_latency_s": figures.median_latency_s,
        "p90_latency_s": figures.p90_latency_s,
        "business_median_latency_s": figures.business_median_latency_s,
        "open": figures.open,
        "overdue": figures.overdue,
        "oldest_open": _item_json(figures.oldest_open, as_of),
        "streak": figures.streak,
        "blind_spots": [_blind_json(b) for b in figures.blind_spots],
    }


def _item_json(item: OpenItem | None, as_of: datetime) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "id": item.id,
        "source": item.source,
        "external_id": item.external_id,
        "author": item.author,
        "text": item.text,
        "url": item.url,
        "created_at": iso_z(item.created_at),
        "due_at": iso_z(item.due_at),
        "age_s": round((as_of - item.created_at).total_seconds(), 1),
    }


def _blind_json(spot: BlindSpot) -> dict[str, Any]:
    return {
        "source": spot.source,
        "failed": spot.failed,
        "last_error": spot.last_error,
        "longest_gap_s": spot.longest_gap_s,
        "never_polled": spot.never_polled,
    }


def _trend_json(day: TrendDay) -> dict[str, Any]:
    f = day.figures
    return {
        "date": day.day.isoformat(),
        "received": f.received,
        "answered": f.answered,
        "due": f.due,
        "answered_on_time": f.answered_on_time,
        "on_time_rate": f.on_time_rate,
        "median_latency_s": f.median_latency_s,
        "p90_latency_s": f.p90_latency_s,
        "business_median_latency_s": f.business_median_latency_s,
        "open": f.open,
        "overdue": f.overdue,
        "blind_spots": [b.source for b in f.blind_spots],
    }


# -- CSV ---------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One cell: None is empty, booleans are true/false, and text a spreadsheet would run as a
    formula starts with an apostrophe (OWASP's advice against CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(lines: Iterable[ItemLine]) -> str:
    """One row per item, for a spreadsheet; times in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        item, times = line.item, line.times
        writer.writerow(
            csv_cell(value)
            for value in (
                item.id,
                item.source,
                item.external_id,
                item.author,
                item.url,
                iso_z(item.created_at),
                iso_z(item.due_at),
                iso_z(item.answered_at),
                item.status,
                times.latency_s,
                times.business_latency_s,
                times.on_time,
            )
        )
    return out.getvalue()


# -- HTML --------------------------------------------------------------------------------------

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ heading }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
h2 { font-size: 1.1em; margin-top: 1.6em; }
.note { color: #666; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .7em; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child, .words { text-align: left; }
.comment { text-align: left; max-width: 30em; overflow-wrap: anywhere; white-space: pre-wrap; }
.bad { color: #b00020; font-weight: 600; }
img { max-width: 100%; }
</style>
</head>
<body>
<h1>{{ heading }}</h1>
<p class="note">Times in {{ timezone }}.{% if not complete %} As of {{ as_of }}: the day is
not over yet.{% endif %}</p>
{% if quiet %}
<p><strong>No comments on {{ long_day }}</strong>: nothing received, answered or due.</p>
{% endif %}
<table>
<tr><th>figure</th>{% for name in columns %}<th>{{ name }}</th>{% endfor %}</tr>
{% for label, cells in rows %}
<tr><td>{{ label }}</td>{% for cell in cells %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% if blind_spots %}
<h2 class="bad">Blind spots</h2>
<p class="note">{% if quiet %}A quiet day there may only mean nobody was watching.{% else %}
Sources that failed or went unpolled for more than 3x their interval.{% endif %}</p>
<ul>{% for spot in blind_spots %}<li>{{ spot }}</li>{% endfor %}</ul>
{% endif %}
<h2>Oldest open items</h2>
{% if oldest %}
<table>
<tr><th>source</th><th>#</th><th class="words">author</th><th>waiting</th><th>due</th>
<th class="comment">comment</th></tr>
{% for item in oldest %}
<tr><td>{{ item.source }}</td><td>{{ item.id }}</td><td class="words">{{ item.author }}</td>
<td>{{ item.waiting }}</td><td{% if item.overdue %} class="bad"{% endif %}>{{ item.due }}</td>
<td class="comment">{% if item.link %}<a href="{{ item.link }}" rel="noopener noreferrer nofollow">
{{- item.text }}</a>{% else %}{{ item.text }}{% endif %}</td></tr>
{% endfor %}
</table>
{% else %}
<p>Nothing is waiting for an answer.</p>
{% endif %}
{% if trend %}
<h2>Last {{ trend|length }} days</h2>
<table>
<tr><th>day</th><th>received</th><th>answered</th><th>due</th><th>on time</th>
<th>median answer</th><th>p90</th><th>open</th><th>overdue</th><th>blind spots</th></tr>
{% for day in trend %}
<tr>{% for cell in day %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
{% if chart %}
<h2>Chart</h2>
<img alt="On-time rate, median time to answer and open items by age, per day" src="{{ chart }}">
{% endif %}
<p class="note">Made by Sameday at {{ generated }}.</p>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_TEMPLATE = _ENV.from_string(_HTML)


def render_html(report: Report, *, chart_png: bytes | None = None) -> str:
    """One self-contained page: figures per source, blind spots, the oldest open items, the
    trend and the chart. Every value goes through Jinja2's autoescaping."""
    zone = ZoneInfo(report.timezone)
    columns = list(report.sources) if len(report.sources) > 1 else []
    figures = [*(report.sources[c] for c in columns), report.total]
    headers = [*columns, "total"] if columns else [*report.sources] or ["total"]
    rows = [
        (label, [cell(f) for f in figures])
        for label, cell in (
            ("received", lambda f: f.received),
            ("answered", lambda f: f.answered),
            ("due", lambda f: f.due),
            ("answered on time", lambda f: f.answered_on_time),
            ("on-time rate", lambda f: percent(f.on_time_rate) if f.due else "–"),
            ("median time to answer", lambda f: duration(f.median_latency_s)),
            ("p90 time to answer", lambda f: duration(f.p90_latency_s)),
            ("median, business hours", lambda f: duration(f.business_median_latency_s)),
            ("open", lambda f: f.open),
            ("overdue", lambda f: f.overdue),
            ("same-day streak", lambda f: _days(f.streak)),
        )
    ]
    oldest = sorted(
        (f.oldest_open for f in report.sources.values() if f.oldest_open is not None),
        key=lambda item: (item.created_at, item.id),
    )
    context = {
        "csp": Markup(CSP),  # our own constant: its quotes stay quotes
        "heading": f"Sameday report: {long_day(report.day)}",
        "long_day": long_day(report.day),
        "timezone": report.timezone,
        "complete": report.complete,
        "as_of": f"{report.as_of.astimezone(zone):%H:%M}",
        "quiet": report.total.quiet,
        "columns": headers,
        "rows": rows,
        "blind_spots": [printable(_blind_phrase(b)) for b in report.total.blind_spots],
        "oldest": [
            {
                "source": item.source,
                "id": item.id,
                "author": printable(item.author),
                "waiting": span(report.as_of - item.created_at),
                "due": item.due_at.astimezone(zone).strftime("%a %d %b %H:%M"),
                "overdue": item.due_at < report.as_of,
                "text": item.text,
                "link": item.url if item.url and _is_web_link(item.url) else None,
            }
            for item in oldest
        ],
        "trend": [
            [
                short_day(t.day),
                t.figures.received,
                t.figures.answered,
                t.figures.due,
                percent(t.figures.on_time_rate) if t.figures.due else "–",
                duration(t.figures.median_latency_s),
                duration(t.figures.p90_latency_s),
                t.figures.open,
                t.figures.overdue,
                ", ".join(b.source for b in t.figures.blind_spots) or "–",
            ]
            for t in report.shown_trend
        ],
        "chart": _data_uri(chart_png) if chart_png else None,
        "generated": iso_z(report.generated_at),
    }
    return _TEMPLATE.render(context)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _is_web_link(url: str) -> bool:
    # javascript:, data: and friends are shown as text, never as a link.
    return url.lower().startswith(("https://", "http://"))
