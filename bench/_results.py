"""Bench figures for machines: every bench script's results in one JSON shape (``--json FILE``).

Each script in bench/ prints its figures for people; given ``--json FILE`` it also writes them
as below, for `bench/run_all.py` to gather into one table:

    {"script": "report.py", "argv": ["--items", "1000000"], "figures": [
      {"key": "report.sqlite", "name": "one day's report, 1,000,000 items (SQLite)",
       "value": 0.41, "unit": "s", "target": 1.0, "op": "<", "target_of": "value",
       "baseline_name": "SELECT SUM(LENGTH(text)) FROM items", "baseline": 0.2,
       "ratio": 2.05, "ok": true, "check": false, "note": ""}]}

- `value` and `baseline` share `unit`; `ratio` is always value / baseline, the baseline being
  measured in the same run (the project's rule: speed is measured against a baseline, never
  timed in tests). None where a figure has no baseline.
- `target` with `op` says what the figure promises; `target_of` says whether the promise is on
  the value itself (``< 1 s``) or on the ratio (``<= 1.5x`` feedparser alone). `ok` is None when
  nothing was measured or nothing was promised.
- `check` marks a correctness condition measured along the way (every alert delivered exactly
  once, a re-ingest writes no row): run_all lists those under the table, not in it.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Op = Literal["<", "<=", ">", ">=", "=="]
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, its promise and its baseline.

    >>> f = Figure("x", "ingest", 1.2, "s", target=1.5, op="<=", target_of="ratio",
    ...            baseline_name="parse alone", baseline=1.0)
    >>> round(f.ratio, 2), f.ok
    (1.2, True)
    """

    key: str  # stable id, e.g. "report.postgresql"
    name: str  # for people, with the sizes that were measured
    value: float | None  # None: not measured (`note` says why)
    unit: str  # "s", "x", "MB", "alerts/s", "%", "" for plain counts
    target: float | None = None
    op: Op = "<"
    target_of: Literal["value", "ratio"] = "value"
    baseline_name: str | None = None
    baseline: float | None = None
    check: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def ok(self) -> bool | None:
        measured = self.ratio if self.target_of == "ratio" else self.value
        if measured is None or self.target is None:
            return None
        return OPS[self.op](measured, self.target)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "ok": self.ok}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        """The figure back from `to_json` (`ratio` and `ok` are computed again)."""
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """The ``--json FILE`` option every bench script takes."""
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write the figures as JSON to FILE (what bench/run_all.py reads)",
    )


def write_json(path: Path | None, figures: Iterable[Figure]) -> None:
    """Write `figures` to `path` (nothing when None), whole or not at all."""
    if path is None:
        return
    document = {
        "script": Path(sys.argv[0]).name,
        "argv": sys.argv[1:],
        "figures": [f.to_json() for f in figures],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path) -> list[Figure]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [Figure.from_json(item) for item in document["figures"]]


def show(value: float | None, unit: str) -> str:
    """A value for a table cell.

    >>> show(0.41234, "s"), show(1234.5, "alerts/s"), show(93.31, "%"), show(0, "")
    ('0.412 s', '1,234 alerts/s', '93.3%', '0')
    """
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "alerts/s":
        return f"{value:,.0f} alerts/s"
    number = f"{value:,}" if float(value).is_integer() else f"{value:.4g}"
    return f"{number} {unit}".strip()


def show_target(figure: Figure) -> str:
    """The promise: ``< 1.000 s``, or ``<= 1.5x baseline`` when it is on the ratio."""
    if figure.target is None:
        return "-"
    if figure.target_of == "ratio":
        return f"{figure.op} {figure.target:g}x baseline"
    shown = show(figure.target, figure.unit)
    if figure.unit in ("s", "MB", "%") and float(figure.target).is_integer():
        shown = f"{figure.target:g}{'' if figure.unit == '%' else ' '}{figure.unit}"
    return f"{figure.op} {shown}"
