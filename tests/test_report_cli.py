"""`sameday report` on a temporary config and store: formats, options, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.report_chart import PNG_SIGNATURE
from monitor.store import Store
from monitor.triage import Status
from tests.test_report_store import add

runner = CliRunner()

CONFIG = """
owner: {{name: Dana, timezone: America/New_York, identities: {{demo: [Dana]}}}}
storage: {{url: "sqlite:///{db}"}}
sources:
  - {{name: blog, type: demo, platform: blog, every: 5m}}
  - {{name: forum, type: demo, platform: forum, every: 5m}}
report: {{at: "18:00"}}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sameday.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "s.db"))
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.ensure_sources([("blog", "demo"), ("forum", "demo")])
    add(store, "blog", "a", "2026-03-09 15:00", "2026-03-09 17:00",
        status=Status.ANSWERED, answered="2026-03-10 10:00")  # fmt: skip
    add(store, "blog", "b", "2026-03-10 09:30", "2026-03-10 17:00",
        status=Status.ANSWERED, answered="2026-03-10 10:30")  # fmt: skip
    add(store, "blog", "e", "2026-03-10 16:00", "2026-03-10 17:00")
    add(store, "forum", "j", "2026-03-10 10:00", "2026-03-10 14:00",
        status=Status.ANSWERED, answered="2026-03-10 13:00")  # fmt: skip
    store.close()
    return path


def run(config_file: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(config_file), "report", *args])
    return result.exit_code, result.output


def test_json_report_for_a_day(config_file: Path) -> None:
    code, output = run(config_file, "--date", "2026-03-10", "--format", "json")
    assert code == 0, output
    report = json.loads(output)
    assert list(report) == ["date", "timezone", "sources", "total"]
    total = report["total"]
    assert (total["received"], total["answered"], total["due"]) == (3, 3, 3)
    assert (total["answered_on_time"], total["on_time_rate"]) == (2, 0.6667)
    assert (total["open"], total["overdue"]) == (1, 1)
    assert total["oldest_open"]["external_id"] == "e"
    assert report["sources"]["forum"]["received"] == 1


def test_trend_and_one_source(config_file: Path) -> None:
    code, output = run(config_file, "--date", "2026-03-10", "--days", "3", "--format", "json",
                       "--source", "forum")  # fmt: skip
    assert code == 0, output
    report = json.loads(output)
    assert list(report["sources"]) == ["forum"]
    assert [t["date"] for t in report["trend"]] == ["2026-03-08", "2026-03-09", "2026-03-10"]


def test_text_markdown_and_an_empty_day(config_file: Path) -> None:
    code, output = run(config_file, "--date", "2026-03-10")
    assert code == 0, output
    assert output.startswith("Sameday report: Tue 10 Mar 2026 (America/New_York)")
    assert "3 received · 3 answered · 2 of 3 due answered on time (67%)" in output
    code, output = run(config_file, "--date", "2026-03-07", "--format", "md")
    assert code == 0, output
    assert "No comments on Sat 07 Mar 2026: nothing received, answered or due." in output
    code, output = run(config_file)  # today, as of now
    assert code == 0, output
    assert "Sameday report:" in output


def test_csv_has_one_row_per_item(config_file: Path) -> None:
    code, output = run(config_file, "--date", "2026-03-10", "--format", "csv")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [r["external_id"] for r in rows] == ["a", "b", "j", "e"]
    assert {r["external_id"]: r["on_time"] for r in rows} == {
        "a": "false", "b": "true", "j": "true", "e": "false",
    }  # fmt: skip


def test_html_embeds_the_chart_and_chart_writes_a_png(config_file: Path, tmp_path: Path) -> None:
    chart = tmp_path / "out" / "chart.png"
    chart.parent.mkdir()
    code, output = run(config_file, "--date", "2026-03-10", "--format", "html", "--chart",
                       str(chart))  # fmt: skip
    assert code == 0, output
    assert output.startswith("<!doctype html>")
    assert 'src="data:image/png;base64,' in output
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    code, output = run(config_file, "--date", "2026-03-10", "--format", "csv", "--chart",
                       str(chart))  # fmt: skip
    assert code == 0 and output.startswith("id,source,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nope"], "no source named 'nope' (configured: blog, forum)"),
        (["--date", "10/03/2026"], "--date must be a day like 2026-03-10, not '10/03/2026'"),
        (["--date", "2099-01-01"], "2099-01-01 has not begun yet in America/New_York"),
        (["--format", "pdf"], "--format must be one of text, md, html, json, csv, not 'pdf'"),
        (["--days", "0"], "--days"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(
    config_file: Path, args: list[str], message: str
) -> None:
    code, output = run(config_file, *args)
    assert code == 2
    assert message in " ".join(output.split())
