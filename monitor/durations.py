"""Durations as owners write them in the config: ``45s``, ``5m``, ``4h``, ``2d``, ``1h30m``, ``1w``.

Days are kept apart from the rest because they mean calendar days (or business days, when a
target counts business time), not a fixed 24 hours: see `monitor.sla`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[wdhms]\s*)+$")
_SECONDS = {"h": 3600, "m": 60, "s": 1}

DURATION_HINT = "a duration like 45s, 5m, 4h, 2d or 1h30m"


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration: whole days plus a clock part in seconds."""

    days: int
    seconds: int

    def as_timedelta(self) -> timedelta:
        """The duration as elapsed time, a day counting 24 hours."""
        return timedelta(days=self.days, seconds=self.seconds)

    def __str__(self) -> str:
        parts = [f"{self.days}d"] if self.days else []
        rest = self.seconds
        for unit, size in _SECONDS.items():
            if rest >= size:
                parts.append(f"{rest // size}{unit}")
                rest %= size
        return "".join(parts) or "0s"


def parse_duration(text: str) -> Duration:
    """Parse ``"1h30m"`` into a `Duration`; raise ValueError naming the expected form.

    >>> parse_duration("1d2h")
    Duration(days=1, seconds=7200)
    """
    if not isinstance(text, str) or not _WHOLE.match(text.lower()):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    days = seconds = 0
    for amount, unit in _PART.findall(text.lower()):
        if unit == "w":
            days += 7 * int(amount)
        elif unit == "d":
            days += int(amount)
        else:
            seconds += int(amount) * _SECONDS[unit]
    return Duration(days=days, seconds=seconds)
