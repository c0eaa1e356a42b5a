"""Crash safety at size: tests/test_crash.py's run with 2,000 comments and many SIGKILLs.

    python bench/crash.py [--comments 2000] [--kills 30] [--seed 1] [--life 0.4] [--json FILE]

A local feed publishes the comments over the run while `sameday run` (a real process) is killed
with SIGKILL at a seeded random moment up to --life seconds after each start, and restarted; a
last run catches up and is stopped with SIGTERM. Prints how many comments were stored once,
twice or not at all (from the SQLite file), how many got no `new` alert and how many alerts the
webhook received twice. The targets are 0 for each; duplicates can only come from the outbox's
known at-least-once window (killed after the webhook accepted, before the row was marked sent).
--json FILE also writes these as checks (bench/_results.py) for bench/run_all.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

# The harness and its local servers live with the tests; run from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import Figure, add_json_option, write_json

from tests.test_crash import crash_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--life", type=float, default=0.4, help="latest kill, s after start")
    add_json_option(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sameday-crash-") as tmp:
        run = crash_run(
            Path(tmp),
            comments=args.comments,
            kills=args.kills,
            seed=args.seed,
            life=(0.0, args.life),
        )
        log = Path(tmp) / "daemon.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    # A life killed before its first poll commits stores nothing: when a poll takes longer
    # than --life on this machine, comments scroll out of the feed's window unseen.
    polls = sum(1 for line in lines if "sameday.poll:" in line and " new items" in line)
    figures = [
        ("comments published", run.published),
        ("SIGKILLs", run.kills),
        ("stored exactly once", sum(1 for n in run.stored.values() if n == 1)),
        ("stored twice or more", len(run.stored_twice)),
        ("not stored", len(run.missing)),
        ("comments with no new alert", len(run.unalerted)),
        ("new alerts received twice", run.duplicate_alerts),
        ("webhook requests (digests carry several)", run.messages),
        ("requests cut short by a kill (not delivered)", run.cut_off),
        ("last run's exit code after SIGTERM", run.final_exit),
        ("last run's stop time, s", round(run.stop_seconds, 2)),
        ("wall time, s", round(run.seconds, 1)),
        ("polls that committed, over all lives", polls),
    ]
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"{label:<{width}}  {value}")
    exact = run.published and sum(1 for n in run.stored.values() if n == 1) / run.published
    print(f"exactly-once ratio (stored): {exact:.4f} (target 1.0000)")
    alerted = (run.published - len(run.unalerted)) / run.published if run.published else 0
    print(f"alerted ratio: {alerted:.4f} (target 1.0000); duplicate alerts: "
          f"{run.duplicate_alerts} (target 0)")  # fmt: skip
    size = f"crash: {run.published:,} comments, {run.kills} SIGKILLs"
    write_json(
        args.json,
        [
            Figure(
                f"crash.{key}",
                f"{size}: {label}",
                value,
                "",
                target=0,
                op="==",
                check=True,
                note=f"polls committed: {polls} in {run.kills + 1} lives",
            )
            for key, label, value in (
                ("stored_twice", "stored twice or more", len(run.stored_twice)),
                ("missing", "not stored", len(run.missing)),
                ("unalerted", "with no new alert", len(run.unalerted)),
                ("duplicate_alerts", "new alerts received twice", run.duplicate_alerts),
                ("exit", "last run's exit code after SIGTERM", run.final_exit),
            )
        ],
    )
    ok = (
        not run.missing
        and not run.stored_twice
        and not run.unalerted
        and run.duplicate_alerts == 0
        and run.final_exit == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
