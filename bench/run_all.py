"""Every performance figure the project promises, measured in one run and shown in one table.

    python bench/run_all.py [--quick] [--postgres URL] [--only NAME ...] [--out DIR]

Runs each bench script as a process of its own (so no figure shares memory, caches or a warm
interpreter with another), one after the other, each with ``--json FILE`` (bench/_results.py),
and prints one table: figure, value, target, baseline, ratio, ok or OVER. The figures:

  - ingest.py: a 10,000-entry comment feed end to end, against feedparser alone (<= 1.5x);
  - report.py: one day's report over 1,000,000 items, on SQLite and on PostgreSQL (< 1 s each),
    against a read of every row;
  - poll_round.py: a round of 200 feed sources answering after 200 ms (< 5 s), against bare
    GETs on as many threads, and the daemon's memory after it;
  - delivery.py: alert delivery throughput through the outbox to a recording channel and to
    Apprise's json:// webhook, against the same loop without the outbox;
  - memory.py: the daemon's memory idle, after taking in 100,000 items, and at its peak, against
    a bare ``python -c "import monitor.cli"``;
  - suggest_eval.py: 10,000 comments classified and drafted (< 2 s).

Under the table come the checks measured along the way (a re-ingest writes nothing, every alert
is delivered exactly once, crash.py's exactly-once under SIGKILL, intent accuracy, clean exits),
then the machine (CPUs, Python, load average) and the total time. Each script's own output and
JSON are kept in --out (default bench/out/<time>/).

--quick runs every script at smaller sizes (a smoke test of the benches, a few minutes): its
table is labelled as such and its figures are not the promised ones. --postgres URL is the
PostgreSQL for report.py (default postgresql+psycopg://postgres@127.0.0.1:5432/test); when it
cannot be reached, that row says "not measured" and why, and the rest runs. --only runs some
of the benches (names as in the progress lines).

Exit status 1 when a figure misses its target, a check fails, or a bench failed to produce its
figures; a PostgreSQL that cannot be reached alone does not fail the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _results import Figure, read_json, show, show_target

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
QUICK_LABEL = "QUICK RUN: smaller sizes for a smoke test; these are not the promised figures"


@dataclass(frozen=True)
class Bench:
    """One bench script run: its arguments at full and at quick size, and the table rows it
    gives (key, name), shown as "not measured" when it produced nothing (the script names its
    rows itself, with the sizes it measured, when it runs)."""

    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]
    postgres: bool = False


BENCHES = (
    Bench("ingest", "ingest.py", (), ("--entries", "1000", "--repeat", "1"),
          (("ingest.end_to_end", "ingest: a comment feed, end to end"),)),
    Bench("report-sqlite", "report.py", (), ("--items", "100000", "--repeat", "1"),
          (("report.sqlite", "one day's report (SQLite)"),)),
    Bench("report-postgresql", "report.py", (), ("--items", "100000", "--repeat", "1"),
          (("report.postgresql", "one day's report (PostgreSQL)"),),
          postgres=True),
    Bench("poll_round", "poll_round.py", (), ("--sources", "40", "--settle", "1"),
          (("poll_round.round", "poll round at 200 ms a request"),
           ("poll_round.idle_rss", "daemon memory, idle after that round"))),
    Bench("delivery", "delivery.py", (), ("--alerts", "500"),
          (("delivery.recording", "alert delivery, outbox to a recording channel"),
           ("delivery.apprise", "alert delivery, outbox to Apprise json:// webhook"))),
    Bench("memory", "memory.py", (), ("--sources", "20", "--comments", "100", "--settle", "11"),
          (("memory.idle", "daemon memory idle, no items yet"),
           ("memory.after", "daemon memory idle after the load"),
           ("memory.peak", "daemon memory peak (VmHWM)"))),
    Bench("suggest", "suggest_eval.py", (), ("--count", "1000", "--repeat", "1"),
          (("suggest.speed", "suggest: comments classified and drafted"),)),
    Bench("crash", "crash.py", (), ("--comments", "200", "--kills", "5"), ()),
)  # fmt: skip


@dataclass
class Outcome:
    """What one bench gave: its figures, or why it gave none."""

    bench: Bench
    figures: list[Figure]
    seconds: float = 0.0
    exit_code: int | None = None
    problem: str | None = None  # why nothing was measured
    skipped: bool = False  # not run on purpose (PostgreSQL unreachable), not a failure


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL at `url` cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(plain, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL unreachable: {first[:100]}"
    return None


def run_bench(bench: Bench, args: argparse.Namespace, out: Path, postgres: str | None) -> Outcome:
    """Run one bench script in its own process and read its figures back."""
    extra = ("--url", args.postgres) if bench.postgres else ()
    command = [
        sys.executable,
        str(BENCH / bench.script),
        *(bench.quick if args.quick else bench.full),
        *extra,
        "--json",
        str(out / f"{bench.name}.json"),
    ]
    shown = " ".join([bench.script, *command[2:-2]])
    if bench.postgres and postgres is not None:
        print(f"  {bench.name:<18} {shown}: not run: {postgres}", flush=True)
        return Outcome(bench, [], problem=postgres, skipped=True)
    print(f"  {bench.name:<18} {shown} …", end=" ", flush=True)
    began = time.monotonic()
    log = out / f"{bench.name}.txt"
    with log.open("w", encoding="utf-8") as output:
        # A session of its own: on a timeout, the daemons a bench started go with it.
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = process.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            code = None
            stop_group(process)
    seconds = time.monotonic() - began
    result = out / f"{bench.name}.json"
    figures = read_json(result) if result.exists() else []
    problem = None
    if not figures:
        problem = (
            f"timed out after {args.timeout:g} s"
            if code is None
            else f"{bench.script} exited {code}: {last_line(log)}"
        )
    print(f"{seconds:.1f} s, exit {code}", flush=True)
    return Outcome(bench, figures, seconds, code, problem)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a bench that ran out of time, and the daemons it started (its process group):
    SIGTERM, up to 15 s for the bench to exit, then SIGKILL to whatever of the group is left.
    The bench is reaped last, so its group id cannot be reused meanwhile."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # WNOWAIT: see that it exited without reaping it.
        if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    text = lines[-1] if lines else "no output"
    return text if len(text) <= 120 else text[:119] + "…"


def table(outcomes: list[Outcome]) -> list[str]:
    """The Markdown table of every figure that is not a check, in bench order."""
    rows = [("figure", "value", "target", "baseline", "ratio", "ok")]
    for outcome in outcomes:
        figures = [f for f in outcome.figures if not f.check]
        if not figures:
            reason = f"not measured: {outcome.problem}"
            rows += [(name, reason, "-", "-", "-", "-") for _, name in outcome.bench.rows]
            continue
        for f in figures:
            baseline = f"{f.baseline_name}: {show(f.baseline, f.unit)}" if f.baseline_name else "-"
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
            verdict = {True: "ok", False: "OVER", None: "-"}[f.ok]
            value = show(f.value, f.unit) if f.value is not None else f"not measured: {f.note}"
            rows.append((f.name, value, show_target(f), baseline, ratio, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in rows]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def machine() -> list[str]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"machine: {os.cpu_count()} CPUs ({usable} usable), {model}{memory}",
        f"python: {platform.python_implementation()} {platform.python_version()} "
        f"on {platform.platform()}",
    ]


def code_version() -> str:
    """The commit measured, and whether the working tree differs from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        changed = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "code: not a git checkout"
    dirty = f", {len(changed)} paths changed or new in the working tree" if changed else ""
    return f"code: commit {head}{dirty}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke test")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[b.name for b in BENCHES])
    parser.add_argument("--out", type=Path, help="where each bench's output and JSON are kept")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per bench, s")
    args = parser.parse_args()

    started = datetime.now(UTC)
    out = args.out or BENCH / "out" / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    benches = [b for b in BENCHES if not args.only or b.name in args.only]
    head = [f"bench/run_all.py{' --quick' if args.quick else ''}, {started:%Y-%m-%d %H:%M} UTC"]
    head += [*machine(), code_version()]
    head.append(f"load average at start: {load()} (1, 5, 15 min)")
    print("\n".join(head))
    if args.quick:
        print(QUICK_LABEL)
    postgres = postgres_problem(args.postgres) if any(b.postgres for b in benches) else None
    print(f"running {len(benches)} benches, one process each; output in {out}")
    began = time.monotonic()
    outcomes = [run_bench(b, args, out, postgres) for b in benches]
    total = time.monotonic() - began

    lines = [""]
    if args.quick:
        lines += [QUICK_LABEL, ""]
    lines += table(outcomes)
    figures = [f for o in outcomes for f in o.figures if not f.check]
    checks = [f for o in outcomes for f in o.figures if f.check]
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note and f.value is not None]
    if notes:
        lines += ["", "Notes:", *notes]
    if checks:
        lines += ["", "Checks measured along the way:"]
        for f in checks:
            verdict = {True: "ok  ", False: "FAIL", None: "-   "}[f.ok]
            note = f"; {f.note}" if f.note and f.ok is False else ""
            lines.append(f"  {verdict} {f.name}: {show(f.value, f.unit)} ({show_target(f)}{note})")
    missed = [f for f in figures + checks if f.ok is False]
    failed = [o for o in outcomes if o.problem and not o.skipped]
    skipped = [o for o in outcomes if o.skipped]
    on_target = sum(1 for f in figures if f.ok)
    lines += [
        "",
        f"{on_target} of {len(figures)} figures on target, "
        f"{sum(1 for f in figures if f.ok is False)} over; "
        f"{sum(1 for f in checks if f.ok)} of {len(checks)} checks hold"
        + (f"; {len(failed)} bench(es) failed" if failed else "")
        + (f"; {len(skipped)} not run" if skipped else ""),
        *machine(),
        f"load average at the end: {load()} (1, 5, 15 min)",
        f"total time: {total:.0f} s ({total / 60:.1f} min)",
    ]
    if args.quick:
        lines.append(QUICK_LABEL)
    print("\n".join(lines))
    (out / "summary.txt").write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
