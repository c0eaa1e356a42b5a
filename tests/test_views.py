"""How things are shown: the JSON time format, phrases for people, hostile text made inert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import SourceRow
from monitor.views import deadline_phrase, is_blind_spot, iso_z, printable, span, trim

NOW = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("plain words", "plain words", id="plain"),
        pytest.param("line one\nline two\r\n\tend", "line one line two end", id="breaks"),
        pytest.param("before\x1b[2Jafter", "before[2Jafter", id="ansi-clear-screen"),
        pytest.param("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "]8;;http://evil\\click]8;;\\",
                     id="osc8-hidden-link"),
        pytest.param("pay \u202eeulav\u202c now", "pay eulav now", id="bidi-override"),
        pytest.param("bell\x07 and \x9bcsi", "bell and csi", id="c1-controls"),
        pytest.param("[bold red]markup[/]", "[bold red]markup[/]", id="rich-markup-kept-literal"),
    ],
)  # fmt: skip
def test_printable_removes_what_could_steer_a_terminal(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_trim_keeps_width() -> None:
    assert trim("x" * 10, 5) == "xxxx…"
    assert trim("short", 5) == "short"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (125, "2m 5s"), (7500, "2h 5m"), (3 * 86400 + 4 * 3600 + 60, "3d 4h")],
)
def test_span(seconds: int, text: str) -> None:
    assert span(timedelta(seconds=seconds)) == text


def test_deadline_phrase_and_iso() -> None:
    assert deadline_phrase(NOW + timedelta(hours=2, minutes=5), NOW) == "due in 2h 5m"
    assert deadline_phrase(NOW - timedelta(days=1, hours=3), NOW) == "overdue by 1d 3h"
    assert iso_z(NOW.replace(microsecond=123)) == "2026-03-09T14:00:00Z"
    assert iso_z(None) is None


def test_blind_spot_after_three_intervals_without_success() -> None:
    every = timedelta(minutes=5)
    row = SourceRow(name="blog", type="feed", last_success_at=NOW - timedelta(minutes=15))
    assert not is_blind_spot(row, every, NOW)
    assert is_blind_spot(row, every, NOW + timedelta(seconds=1))
    assert is_blind_spot(SourceRow(name="new", type="feed"), every, NOW)
    assert is_blind_spot(None, every, NOW)
