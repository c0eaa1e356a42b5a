"""The README's promises: its deadline examples are computed, not just written."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import sla
from monitor.durations import parse_duration

README = Path(__file__).resolve().parents[1] / "README.md"
ZONE = ZoneInfo("America/New_York")
WEEK_OF = date(2026, 3, 9)  # a Monday; rows that name only a weekday fall in this week
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ROW = re.compile(r"^\| (?P<created>[^|]+?) \| (?P<target>[^|]+?) \| (?P<due>[^|]+?) \|$")


def example_rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("| created (local) | target | due (local) |", 1)[1].split("\n\n", 1)[0]
    rows = [ROW.match(line) for line in table.strip().splitlines()[1:]]
    assert rows and all(rows), "the README's example table changed shape"
    return [(m["created"], m["target"], m["due"]) for m in rows if m]


def local_moment(text: str) -> datetime:
    """``Fri 15:00`` (this week) or ``Thu 24 Dec 16:00`` (2026), in New York."""
    parts = text.split(",")[0].split()
    clock = time.fromisoformat(parts[-1])
    if len(parts) == 4:
        day = datetime.strptime(f"{parts[1]} {parts[2]} 2026", "%d %b %Y").date()
        assert DAYS[day.weekday()] == parts[0], text
    else:
        day = WEEK_OF + timedelta(days=DAYS.index(parts[0]))
    return datetime.combine(day, clock, ZONE)


@pytest.mark.parametrize(("created", "target", "due"), example_rows())
def test_readme_deadline_examples(created: str, target: str, due: str) -> None:
    holidays = frozenset({date(2026, 12, 25)}) if "holiday" in created else frozenset()
    duration = target.split(",")[0].strip("`")
    policy = sla.Policy(
        timezone=ZONE,
        opens=time(9),
        closes=time(17),
        workdays=frozenset(range(5)),
        holidays=holidays,
        target=sla.SAME_DAY if duration == "same_day" else parse_duration(duration),
        business_time="business_time: true" in target,
    )
    start = local_moment(created)
    expected = local_moment(due)
    if expected < start:  # "Mon 17:00" after a Friday means the next week's Monday
        expected += timedelta(days=7)
    assert sla.due_at(start, policy).astimezone(ZONE) == expected


def test_the_commented_notify_example_is_valid_when_uncommented() -> None:
    from monitor.config import parse_config

    example = (Path(__file__).resolve().parents[1] / "config.example.yaml").read_text()
    lines = example.splitlines()
    start = lines.index("# notify:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:])
    quiet = next(line for line in lines if line.startswith("# quiet_hours:"))[2:]
    config = parse_config(
        example + "\n" + "\n".join(block) + "\n" + quiet + "\n",
        path="config.example.yaml (uncommented)",
        environ={"SMTP_PASSWORD": "s3cret", "NTFY_TOPIC": "shop-alerts"},
    )
    assert [(n.type, n.name, n.min_level, n.digest) for n in config.notify] == [
        ("apprise", "mail", "new", "hourly"),
        ("apprise", None, "overdue", None),
        ("console", None, "new", None),
    ]
    assert config.quiet_hours == "22:00-07:00"
