"""A process's memory as Linux reports it, and the baseline every daemon figure is set against.

`status_kb` reads ``/proc/PID/status``: VmRSS (resident now) and VmHWM (the peak resident size
since the process started). `bare_import_kb` measures, in the same run, a plain
``python -c "import monitor.cli"`` process: what any ``sameday`` command costs before it does
anything, so a daemon's figure divided by it says what running the daemon adds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status_kb(pid: int) -> dict[str, int]:
    """``{"VmRSS": kB, "VmHWM": kB}`` of a running process."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures


def bare_import_kb(module: str = "monitor.cli") -> dict[str, int]:
    """The memory of a fresh interpreter that imported `module` and waits, measured now."""
    code = f"import sys, {module}; print('ready', flush=True); sys.stdin.read()"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"python -c 'import {module}' did not start")
        return status_kb(process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=30)
