"""The command line on a temporary store: JSON contract, manual changes, exit codes, demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()

CONFIG = """
owner: {{name: Dana, timezone: America/New_York, identities: {{demo: [Dana]}}}}
storage: {{url: "sqlite:///{db}"}}
sources:
  - {{name: blog, type: demo, platform: blog, seed: 7, per_hour: 3, backfill: 6h}}
  - {{name: forum, type: demo, platform: forum, seed: 3, per_hour: 3, answer_rate: 0.2}}
"""
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sameday.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "s.db"))
    return path


def run(config_file: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(config_file), *args])
    return result.exit_code, result.output


def inbox(config_file: Path, *extra: str) -> list[dict]:
    code, output = run(config_file, "inbox", "--json", *extra)
    assert code == 0, output
    return json.loads(output)


def test_poll_then_inbox_json_follows_the_contract(config_file: Path) -> None:
    code, output = run(config_file, "poll")
    assert code == 0, output
    assert re.search(r"✓ blog: \d+ new", output) and re.search(r"✓ forum: \d+ new", output)

    items = inbox(config_file)
    assert items, "the demo sources produce open items"
    required = {"id", "source", "external_id", "author", "text", "url", "created_at", "due_at",
                "status", "answered_at", "intent", "suggestion"}  # fmt: skip
    for item in items:
        assert required <= item.keys()
        assert item["status"] in ("open", "snoozed")
        assert ISO_Z.match(item["created_at"]) and ISO_Z.match(item["due_at"])
        assert item["answered_at"] is None
    dues = [i["due_at"] for i in items]
    assert dues == sorted(dues)

    everything = inbox(config_file, "--all")
    assert len(everything) > len(items)
    statuses = {i["status"] for i in everything}
    assert {"answered", "baseline"} <= statuses
    for item in everything:
        if item["status"] == "answered":
            assert ISO_Z.match(item["answered_at"]) and item["answered_via"] == "detected"


def test_second_poll_of_the_same_moment_adds_nothing(config_file: Path) -> None:
    run(config_file, "poll")
    before = inbox(config_file, "--all")
    code, output = run(config_file, "poll", "--json")
    assert code == 0
    assert all(o["new_items"] == 0 and o["ok"] for o in json.loads(output))
    assert inbox(config_file, "--all") == before


def test_done_dismiss_snooze_and_unknown_ids(config_file: Path) -> None:
    run(config_file, "poll")
    first, second, third = (i["id"] for i in inbox(config_file)[:3])

    code, output = run(config_file, "done", str(first))
    assert code == 0 and f"item {first} marked answered" in output
    code, _ = run(config_file, "dismiss", str(second))
    assert code == 0
    code, _ = run(config_file, "snooze", str(third), "2h")
    assert code == 0

    by_id = {i["id"]: i for i in inbox(config_file, "--all")}
    assert by_id[first]["status"] == "answered" and by_id[first]["answered_via"] == "manual"
    assert by_id[second]["status"] == "dismissed"
    assert by_id[third]["status"] == "snoozed" and ISO_Z.match(by_id[third]["snoozed_until"])
    assert {first, second, third}.isdisjoint(i["id"] for i in inbox(config_file))

    code, output = run(config_file, "done", str(first))
    assert code == 0 and "already answered" in output

    code, output = run(config_file, "done", "999999")
    assert code == 2 and "no item with id 999999" in output
    code, output = run(config_file, "snooze", str(third), "a while")
    assert code == 2 and "expected a duration" in output


def test_snooze_until_tomorrows_opening(config_file: Path) -> None:
    run(config_file, "poll")
    item_id = inbox(config_file)[0]["id"]
    code, _ = run(config_file, "snooze", str(item_id), "tomorrow")
    assert code == 0
    until = next(i for i in inbox(config_file, "--all") if i["id"] == item_id)["snoozed_until"]
    # 09:00 in New York is 13:00 or 14:00 UTC depending on DST
    assert until.endswith(("T13:00:00Z", "T14:00:00Z"))


def test_status_shows_health_and_blind_spots(config_file: Path) -> None:
    code, output = run(config_file, "status", "--json")
    assert code == 0
    assert {s["name"]: s["blind_spot"] for s in json.loads(output)["sources"]} == {
        "blog": True,
        "forum": True,
    }  # never polled: nobody is watching yet
    run(config_file, "poll")
    code, output = run(config_file, "status", "--json")
    sources = {s["name"]: s for s in json.loads(output)["sources"]}
    assert not sources["blog"]["blind_spot"] and sources["blog"]["last_error"] is None
    assert sources["forum"]["open"] > 0
    code, output = run(config_file, "status")
    assert code == 0 and "blog" in output and "ok" in output


def test_check_fetches_without_storing(config_file: Path, tmp_path: Path) -> None:
    code, output = run(config_file, "check")
    assert code == 0, output
    assert "valid, 2 sources" in output and "✓ blog (demo):" in output
    assert not (tmp_path / "s.db").exists()


def test_check_config_only_contacts_no_source(tmp_path: Path) -> None:
    path = tmp_path / "sameday.yaml"
    path.write_text(
        CONFIG.format(db=tmp_path / "s.db")
        + "  - {name: gone, type: feed, url: 'http://127.0.0.1:9/feed'}\n"  # nothing listens
    )
    code, output = run(path, "check", "--config-only")
    assert code == 0 and "valid, 3 sources" in output and "gone" not in output
    code, output = run(path, "check")
    assert code == 1 and "✗ gone (feed)" in output
    path.write_text(CONFIG.format(db=tmp_path / "s.db") + "  - {name: bad, type: feed}\n")
    code, output = run(path, "check", "--config-only")
    assert code == 2 and "url" in output
    assert not (tmp_path / "s.db").exists()


def test_unknown_source_is_a_usage_error(config_file: Path) -> None:
    code, output = run(config_file, "poll", "--source", "nope")
    assert code == 2 and "no source named 'nope'" in output


def test_demo_runs_the_whole_loop_on_its_own_store(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--hours", "10", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert re.search(r"new #\d+ on (shop-blog|forum)", result.output)
    assert re.search(r"✓ #\d+ answered after", result.output)
    assert re.search(r"\d+ comments arrived, \d+ were answered", result.output)
    alerts = re.search(r"the owner's chat got (\d+) alerts", result.output)
    assert alerts and int(alerts.group(1)) > 0  # delivered through the real outbox
    # It ends with the day's report, as the daemon would send it: the demo polls at its
    # sources' interval, so the report finds no blind spot.
    assert "Sameday report:" in result.output and "Last 3 days" in result.output
    assert "Blind spots" not in result.output
    assert db.exists()


def test_python_dash_m_monitor_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("sameday ")


def test_hostile_comment_text_is_shown_inert(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from rich.console import Console

    from monitor.store import PlannedItem, Store
    from monitor.triage import Known, Status, plan
    from tests.conftest import make_record

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.ensure_sources([("blog", "demo")])
    hostile = make_record(
        "evil",
        datetime.now(UTC),
        author="[link=http://evil]Support[/link]",
        text="[bold red]URGENT[/] \x1b[2J\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ @everyone",
    )
    result = plan([hostile], Known())
    store.apply(
        "blog",
        [PlannedItem(hostile, Status.OPEN, datetime.now(UTC))],
        result,
        cursor=None,
        now=datetime.now(UTC),
    )
    # A wide colour terminal, so nothing is folded and markup would show as styles.
    monkeypatch.setattr("monitor.cli.out", Console(width=300, force_terminal=True))
    result = CliRunner().invoke(app, ["-c", str(config_file), "inbox"])
    assert result.exit_code == 0, result.output
    assert "[bold red]URGENT[/]" in result.output  # shown as written, not as markup
    assert "\x1b[2J" not in result.output and "\x1b]8" not in result.output
    assert "[link=http://evil]" in result.output  # (the author column is trimmed)
