"""The report's renderings: text and Markdown for chat, HTML, JSON, CSV and the chart PNG."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor import sla
from monitor.models import ItemRow
from monitor.report import (
    Answer,
    BlindSpot,
    DayData,
    Figures,
    OpenItem,
    Report,
    SourceTally,
    TrendDay,
    day_figures,
    day_window,
    item_times,
    trend_figures,
)
from monitor.report_build import ItemLine
from monitor.report_chart import PNG_SIGNATURE, render_chart
from monitor.report_render import (
    CHAT_LIMIT,
    CSP,
    CSV_COLUMNS,
    csv_cell,
    md_escape,
    percent,
    render_csv,
    render_html,
    render_json,
    render_markdown,
    render_text,
    report_json,
)

NEW_YORK = ZoneInfo("America/New_York")
POLICY = sla.Policy(NEW_YORK, time(9), time(17), frozenset(range(5)), frozenset(), sla.SAME_DAY)
D = date(2026, 3, 10)
START, END = day_window(D, NEW_YORK)
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
MENTIONS = "@everyone @here <@123456> <!channel> **bold** [click](javascript:alert(1))"
FIGURE_NAMES = [
    "received", "answered", "due", "answered_on_time", "on_time_rate", "median_latency_s",
    "p90_latency_s", "business_median_latency_s", "open", "overdue", "oldest_open", "streak",
    "blind_spots",
]  # fmt: skip


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(UTC)


def oldest(text: str = "Do you ship to Canada?", author: str = "Ann", url: str | None = None):
    return OpenItem(
        7, "blog", "c7", author, text, url, ny("2026-03-09 10:00"), ny("2026-03-09 17:00")
    )


def make_report(
    *,
    sources: int = 2,
    text: str = "Do you ship to Canada?",
    author: str = "Ann",
    url: str | None = "https://blog.example/c7",
    days: int = 1,
    quiet: bool = False,
    as_of: datetime = END,
) -> Report:
    names = ["blog", "forum", *(f"source-{n:02}" for n in range(sources - 2))][:sources]
    if quiet:
        data = DayData({"blog": SourceTally(open=1, overdue=1, open_by_age=(0, 0, 1, 0))}, [],
                       {"blog": oldest(text, author, url)})  # fmt: skip
    else:
        data = DayData(
            tallies={
                name: SourceTally(
                    received=3,
                    due=2,
                    answered_on_time=1,
                    open=1,
                    overdue=1,
                    open_by_age=(1, 0, 0, 0),
                )
                for name in names
            },
            answers=[
                Answer(name, ny("2026-03-10 09:00"), ny(f"2026-03-10 1{n % 8}:00"))
                for n, name in enumerate(names)
            ],
            oldest_open={"blog": oldest(text, author, url)},
        )
    spots = {"forum": BlindSpot("forum", True, "temporary: HTTP 503 @everyone", None)}
    per_source, total = day_figures(
        data, names=names, policies={}, default_policy=POLICY, streaks={"blog": 2},
        total_streak=2, blind_spots=spots if sources > 1 else {},
    )  # fmt: skip
    trend = tuple(
        TrendDay(D - timedelta(days=n), trend_figures(Figures() if n % 3 == 1 else total))
        for n in reversed(range(max(days, 1)))
    )
    return Report(D, "America/New_York", as_of, as_of, per_source, total, days=days, trend=trend)


# -- text and Markdown -----------------------------------------------------------------------------


def test_text_tells_the_day_in_a_few_lines() -> None:
    text = render_text(make_report())
    assert text.startswith("Sameday report: Tue 10 Mar 2026 (America/New_York)\n")
    assert "6 received · 2 answered · 2 of 4 due answered on time (50%)" in text
    assert "Time to answer: median 1h 30m, p90 1h 54m; in business hours: median 1h 30m" in text
    assert "Still open: 2, 2 overdue. Oldest: #7 by Ann on blog, waiting 1d 14h" in text
    assert "https://blog.example/c7" in text
    assert "Same-day streak: 2 days" in text
    assert "- forum: polls failed (temporary: HTTP 503 @\u200beveryone)" in text
    assert "- blog: 3 received, 1 answered, 1/2 on time, median 1h, 1 open (1 overdue)" in text
    assert "Last" not in text  # one day asked for: no trend
    assert "nan" not in text.lower() and "None" not in text


def test_an_empty_day_says_so_in_words() -> None:
    for render in (render_text, render_markdown):
        out = render(make_report(quiet=True, sources=1))
        assert "No comments on Tue 10 Mar 2026: nothing received, answered or due." in out
        assert "Still open from earlier: 1, 1 overdue." in out
        assert not re.search(r"\b(nan|None|0%)\b", out)
        assert "received ·" not in out  # no line of zeros


def test_a_day_in_progress_says_as_of_when() -> None:
    text = render_text(make_report(as_of=ny("2026-03-10 18:00")))
    assert "As of 18:00: the day is not over yet." in text


@pytest.mark.parametrize("render", [render_text, render_markdown])
def test_chat_reports_fit_one_discord_message(render) -> None:
    huge = make_report(sources=60, days=30, text="x" * 5000, author="y" * 500)
    out = render(huge)
    assert len(out) <= CHAT_LIMIT
    assert re.search(r"… and \d+ more", out)
    assert re.search(r"… and \d+ earlier\n", out) and "- Tue 10 Mar:" in out  # latest days kept
    assert "x" * 101 not in out and "y" * 31 not in out  # trimmed


def test_markdown_escapes_markup_and_makes_mentions_inert() -> None:
    out = render_markdown(make_report(text=MENTIONS + " " + HOSTILE, author="**Boss** @here",
                                      url="javascript:alert(1)"))  # fmt: skip
    assert "**Sameday report: Tue 10 Mar 2026**" in out
    line = next(line for line in out.splitlines() if line.startswith("Still open"))
    assert "@everyone" not in line and "@here" not in line and "<@123456>" not in line
    assert "<!channel>" not in line
    assert r"\*\*bold\*\*" in line and r"\[click\]\(javascript:alert\(1\)\)" in line
    assert r"\<script\>" in line and r"\*\*Boss\*\*" in line
    assert "javascript:alert(1)>" not in line  # not offered as a link
    assert md_escape("a_b") == r"a\_b"


def test_markdown_links_only_web_urls() -> None:
    out = render_markdown(make_report(url="https://blog.example/c7?a=1&b=<2>"))
    assert "<https://blog.example/c7?a=1&b=2>" in out


def test_text_is_one_line_per_item_without_control_characters() -> None:
    out = render_text(make_report(text="line one\nline two\x1b[2J\u202e"))
    assert "line one line two" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_percent_never_rounds_a_miss_up_to_a_hundred() -> None:
    assert [percent(r) for r in (1.0, 0.999, 0.5, 0.0, None)] == ["100%", "99.9%", "50%", "0%", "–"]


# -- JSON ------------------------------------------------------------------------------------------


def test_json_follows_the_contract() -> None:
    out = json.loads(render_json(make_report()))
    assert list(out) == ["date", "timezone", "sources", "total"]
    assert (out["date"], out["timezone"]) == ("2026-03-10", "America/New_York")
    assert list(out["sources"]) == ["blog", "forum"]
    for figures in [*out["sources"].values(), out["total"]]:
        assert list(figures) == FIGURE_NAMES
    total = out["total"]
    assert (total["received"], total["answered"], total["due"], total["on_time_rate"]) == (
        6, 2, 4, 0.5,
    )  # fmt: skip
    assert total["oldest_open"]["created_at"] == "2026-03-09T14:00:00Z"
    assert total["oldest_open"]["age_s"] == 38 * 3600
    assert total["blind_spots"] == [
        {"source": "forum", "failed": True, "last_error": "temporary: HTTP 503 @everyone",
         "longest_gap_s": None, "never_polled": False}
    ]  # fmt: skip
    assert out["sources"]["forum"]["oldest_open"] is None


def test_json_has_nulls_not_nans_and_a_trend_only_when_asked() -> None:
    quiet = report_json(make_report(quiet=True, sources=1))
    for name in ("on_time_rate", "median_latency_s", "p90_latency_s", "business_median_latency_s"):
        assert quiet["total"][name] is None
    assert "NaN" not in render_json(make_report(quiet=True, sources=1))
    week = report_json(make_report(days=7))
    assert [t["date"] for t in week["trend"]] == [f"2026-03-{n:02}" for n in range(4, 11)]
    assert week["trend"][-1]["received"] == 6 and week["trend"][-1]["blind_spots"] == ["forum"]
    assert week["trend"][-2]["on_time_rate"] is None  # a day with nothing due


# -- CSV -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Ann", "Ann"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (12.5, "12.5"),
    ],
)
def test_csv_cells_never_become_formulas(value: object, expected: str) -> None:
    assert csv_cell(value) == expected


def test_csv_has_one_row_per_item_with_its_times() -> None:
    answered = ItemRow(
        id=1, source="blog", external_id="c1", author="=cmd|' /C calc'!A0", text="hi",
        url="https://blog.example/c1", created_at=ny("2026-03-10 10:00"),
        fetched_at=ny("2026-03-10 10:00"), due_at=ny("2026-03-10 17:00"), status="answered",
        answered_at=ny("2026-03-10 11:30"),
    )  # fmt: skip
    waiting = ItemRow(
        id=2, source="forum", external_id="p2", author="Bo", text="?", url=None,
        created_at=ny("2026-03-10 12:00"), fetched_at=ny("2026-03-10 12:00"),
        due_at=ny("2026-03-10 16:00"), status="open",
    )  # fmt: skip
    lines = [
        ItemLine(i, item_times(i.created_at, i.due_at, i.answered_at, dismissed=False,
                               as_of=END, policy=POLICY))
        for i in (answered, waiting)
    ]  # fmt: skip
    rows = list(csv.reader(io.StringIO(render_csv(lines))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1] == [
        "1", "blog", "c1", "'=cmd|' /C calc'!A0", "https://blog.example/c1",
        "2026-03-10T14:00:00Z", "2026-03-10T21:00:00Z", "2026-03-10T15:30:00Z", "answered",
        "5400.0", "5400.0", "true",
    ]  # fmt: skip
    assert rows[2][7:] == ["", "open", "", "", "false"]
    assert render_csv([]).splitlines() == [",".join(CSV_COLUMNS)]


# -- HTML and the chart ----------------------------------------------------------------------------


def test_html_is_one_self_contained_escaped_page() -> None:
    png = render_chart(make_report(days=7).trend)
    page = render_html(
        make_report(text=HOSTILE, author="<b>Mallory</b>", url="javascript:alert(1)", days=7),
        chart_png=png,
    )
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert CSP == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&#34;", "")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page
    assert 'href="javascript' not in page
    assert re.search(r'<img alt="[^"]+" src="data:image/png;base64,[A-Za-z0-9+/=]+">', page)
    # Nothing is fetched: no http(s) resource, only the link to the comment.
    assert not re.search(r'(src|href)="(?!data:|https://blog\.example)', page)
    assert "Last 7 days" in page


def test_html_of_an_empty_day() -> None:
    page = render_html(make_report(quiet=True, sources=1))
    assert "<strong>No comments on Tue 10 Mar 2026</strong>" in page
    assert "nan" not in page.lower().replace("nanum", "")


def test_the_chart_is_a_real_png() -> None:
    from PIL import Image

    report = make_report(days=14)
    png = render_chart(report.trend, title="Sameday $report$")
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width >= 600 and image.height >= 600
    assert render_chart(report.trend, title="Sameday $report$") == png  # deterministic
    single = render_chart(make_report(quiet=True, sources=1).trend)  # all None: still a PNG
    assert single.startswith(PNG_SIGNATURE)
