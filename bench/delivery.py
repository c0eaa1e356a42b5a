"""Alert delivery throughput: the outbox and the real `Deliverer`, against a bare send loop.

    python bench/delivery.py [--alerts 10000] [--json FILE]

Stores --alerts new open items in a temporary SQLite store through the real `Store.apply` (with
drafts from the real `Suggester`), a few at a time as a running daemon's polls do: each apply
stores `FLOOD_LIMIT` (5) items, the most a plain channel gets as separate messages in one pass,
one second after the one before. Every item gets one ``new`` outbox row per channel. Then the
real `Deliverer` makes one pass per batch, its clock moved a second each time (the delivery lane
runs once after each poll that stored items), to two channels in turn:

  - a `RecordingNotifier`: the outbox's own cost per alert (rows read with their items,
    rendered, handed over, marked sent), with nothing on the wire;
  - an `AppriseNotifier` on ``json://127.0.0.1:PORT/alerts``, posting to a local webhook
    (tests/webhook.py): what a real channel costs, Apprise included.

Baselines, measured in the same run on the same alerts (their views read from the outbox once):
  - for the recording channel, `render_alert` alone in a loop: no outbox;
  - for Apprise, `render_alert` and an httpx POST of the same JSON body Apprise sends, straight
    to the same webhook: no outbox, no Apprise.
So each ratio (throughput / baseline throughput) says what the outbox, and Apprise, cost.

Correctness is checked while measuring: every alert reached each channel exactly once (each
item's text carries a unique key, found once in the recording and once in the webhook's
bodies) and every outbox row ends ``sent``.

Targets, and why:
  - Apprise: at least 100 alerts/s. The delivery lane is one thread for every channel, so what
    it spends per alert delays every alert behind it; at 100/s its own share is at most 10 ms,
    far below a chat service's round trip, and a busy day's alerts (a few hundred) cost a few
    seconds of lane time in all.
  - Recording: at least 1,000 alerts/s, i.e. the outbox's bookkeeping takes at most a tenth of
    that 10 ms, so the service, not the outbox, decides how fast alerts go out.
A larger backlog (after downtime or quiet hours) goes out as one digest per pass; that path
sends one message for many alerts and is not what is measured here.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

# The webhook server lives with the tests; run from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import Figure, add_json_option, write_json

from connectors.base import Record
from monitor import sla, triage
from monitor.alerts import AlertView, render_alert
from monitor.config import Config, parse_config
from monitor.notify import (
    FLOOD_LIMIT,
    AppriseNotifier,
    Notifier,
    RecordingNotifier,
    channels,
    deliverer_for,
)
from monitor.poll import suggester_for
from monitor.store import ALERTS, PlannedItem, Store
from tests.webhook import Webhook

RECORDING_TARGET = 1000.0  # alerts/s
APPRISE_TARGET = 100.0  # alerts/s
START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # a Tuesday, 10:00 in New York
AGE = timedelta(minutes=2)  # how old a comment is when its poll stores it
KEY = re.compile(r"\[bench-(\d+)\]")
TEXTS = (
    "Do you ship to Canada, and how long does it take?",
    "The kit arrived broken, the lid was cracked. What can I do?",
    "Love the new sourdough, best bread in town!",
    "Is the workshop on Saturday still open for booking?",
    "Any chance of a gluten-free version of the rye?",
    "I ordered twice and never got a confirmation e-mail.",
    "Great post, thanks for the recipe.",
    "What are your opening hours on bank holidays?",
)


def config_for(url: str) -> Config:
    return parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {feed: [Dana]}}\n"
        f"storage: {{url: '{url}'}}\n"
        "sources: [{name: blog, type: feed, url: 'https://blog.example.com/comments/feed/'}]\n",
        path="bench.yaml",
        environ={},
    )


def fill(store: Store, config: Config, alerts: int, notifiers: list[Notifier]) -> int:
    """Store `alerts` open items, FLOOD_LIMIT per apply a second apart; returns the batches."""
    source = config.source("blog")
    suggester = suggester_for(config)
    drafts = {
        text: suggester.suggest(text=text, author="Reader", platform="feed") for text in TEXTS
    }
    store.ensure_sources([("blog", "feed")])
    wanted = channels(notifiers)
    batches = 0
    for first in range(0, alerts, FLOOD_LIMIT):
        now = START + timedelta(seconds=batches)
        planned = []
        for n in range(first, min(first + FLOOD_LIMIT, alerts)):
            text = TEXTS[n % len(TEXTS)]
            created = now - AGE
            record = Record(
                external_id=f"c{n}",
                thread_id=f"https://blog.example.com/post-{n // 10}/",
                parent_id=None,
                author=f"Reader {n % 997}",
                is_owner=False,
                text=f"[bench-{n}] {text}",
                url=f"https://blog.example.com/post-{n // 10}/#comment-{n}",
                created_at=created,
            )
            planned.append(
                PlannedItem(
                    record=record,
                    status=triage.Status.OPEN,
                    due_at=sla.due_at(created, source.policy),
                    suggestion=drafts[text],
                )
            )
        plan = triage.Plan(new_items=[triage.NewItem(p.record, p.status) for p in planned])
        store.apply("blog", planned, plan, cursor=None, now=now, channels=wanted)
        batches += 1
    return batches


def deliver(store: Store, config: Config, notifier: Notifier, batches: int) -> float:
    """Seconds for the real Deliverer to send `notifier`'s alerts, one pass per batch."""
    moment = [START]
    deliverer = deliverer_for(config, store, [notifier], clock=lambda: moment[0])
    began = time.perf_counter()
    for batch in range(batches):
        moment[0] = START + timedelta(seconds=batch)
        report = deliverer.deliver_due()
        if report.failed or report.given_up:
            raise RuntimeError(f"{notifier.name}: {report.summary()}")
    return time.perf_counter() - began


def bare_loop(views: list[AlertView], zone: ZoneInfo, send: Callable[[str, str], None]) -> float:
    """Seconds to render every view and hand it to `send`: the loop without the outbox."""
    began = time.perf_counter()
    for view in views:
        # When its pass would render it: the item was stored AGE after it was written.
        message = render_alert(view, view.created_at + AGE, zone)
        send(message.title, message.body)
    return time.perf_counter() - began


def once(keys: list[int], alerts: int) -> int:
    """How many of the alerts 0..alerts-1 were not seen exactly once in `keys`."""
    seen = Counter(keys)
    return sum(1 for n in range(alerts) if seen[n] != 1) + sum(
        1 for n in seen if not 0 <= n < alerts
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    add_json_option(parser)
    args = parser.parse_args()
    n = args.alerts

    with tempfile.TemporaryDirectory(prefix="sameday-delivery-") as tmp, Webhook() as hook:
        url = f"sqlite:///{tmp}/sameday.db"
        config = config_for(url)
        zone = config.default_policy.timezone
        store = Store(url)
        recording = RecordingNotifier("recording")
        apprise = AppriseNotifier(hook.apprise_url("/alerts"), name="apprise", timeout=30)
        began = time.perf_counter()
        batches = fill(store, config, n, [recording, apprise])
        filled_s = time.perf_counter() - began
        print(f"outbox: {n:,} new items, {2 * n:,} alert rows (2 channels), stored in "
              f"{batches:,} applies of up to {FLOOD_LIMIT} in {filled_s:.1f} s")  # fmt: skip

        end = START + timedelta(seconds=batches)
        views = [alert.view for alert in store.pending_alerts("apprise", end)]
        assert len(views) == n, len(views)

        # The recording channel, and its baseline: rendering alone.
        rendered: list[str] = []
        render_s = bare_loop(views, zone, lambda title, body: rendered.append(body))
        recording_s = deliver(store, config, recording, batches)

        # Apprise to the webhook, and its baseline: render + POST with httpx, same body shape.
        with httpx.Client(timeout=30) as client:

            def post(title: str, body: str) -> None:
                document = {"version": "1.0", "title": title, "message": body,
                            "attachments": [], "type": "info"}  # fmt: skip
                client.post(f"http://127.0.0.1:{hook.port}/bare", json=document).raise_for_status()

            post_s = bare_loop(views, zone, post)
        apprise_s = deliver(store, config, apprise, batches)

        with store.engine.connect() as conn:
            statuses = Counter(
                (channel, status)
                for channel, status in conn.execute(ALERTS.select().with_only_columns(
                    ALERTS.c.channel, ALERTS.c.status))
            )  # fmt: skip
        store.close()
        bodies = [(r.path, r.json()) for r in hook.accepted()]

    recorded = [int(m) for msg in recording.messages for m in KEY.findall(msg.body)]
    webhook = [int(m) for path, b in bodies if path == "/alerts" for m in KEY.findall(b["message"])]
    bare = [int(m) for path, b in bodies if path == "/bare" for m in KEY.findall(b["message"])]
    not_once = {
        "recording": once(recorded, n),
        "apprise": once(webhook, n),
        "bare POST": once(bare, n),
    }
    not_sent = sum(count for (_, status), count in statuses.items() if status != "sent")

    rates = {
        "render": n / render_s,
        "recording": n / recording_s,
        "post": n / post_s,
        "apprise": n / apprise_s,
    }
    print(f"render_alert alone (baseline):             {rates['render']:9,.0f} alerts/s")
    print(f"outbox -> recording channel:               {rates['recording']:9,.0f} alerts/s "
          f"({recording_s / n * 1000:.2f} ms each; {rates['recording'] / rates['render']:.3f}x "
          f"render alone; target >= {RECORDING_TARGET:,.0f}/s)")  # fmt: skip
    print(f"render + httpx POST to the webhook (baseline): {rates['post']:5,.0f} alerts/s")
    print(f"outbox -> Apprise json:// -> webhook:      {rates['apprise']:9,.0f} alerts/s "
          f"({apprise_s / n * 1000:.2f} ms each; {rates['apprise'] / rates['post']:.2f}x "
          f"bare POST; target >= {APPRISE_TARGET:,.0f}/s)")  # fmt: skip
    for channel, missed in not_once.items():
        print(f"{channel}: {n - missed:,} of {n:,} alerts received exactly once")
    print(f"outbox rows not 'sent' at the end: {not_sent} of {sum(statuses.values()):,}")

    size = f"{n:,} alerts"
    figures = [
        Figure(
            "delivery.recording",
            f"alert delivery, outbox to a recording channel ({size})",
            rates["recording"],
            "alerts/s",
            target=RECORDING_TARGET,
            op=">=",
            baseline_name="render_alert alone",
            baseline=rates["render"],
        ),
        Figure(
            "delivery.apprise",
            f"alert delivery, outbox to Apprise json:// webhook ({size})",
            rates["apprise"],
            "alerts/s",
            target=APPRISE_TARGET,
            op=">=",
            baseline_name="render + httpx POST, no outbox",
            baseline=rates["post"],
        ),
        *(
            Figure(
                f"delivery.once_{channel.split()[0]}",
                f"alert delivery: {channel}, alerts not received exactly once",
                missed,
                "",
                target=0,
                op="==",
                check=True,
            )
            for channel, missed in not_once.items()
        ),
        Figure(
            "delivery.not_sent",
            "alert delivery: outbox rows not marked sent",
            not_sent,
            "",
            target=0,
            op="==",
            check=True,
        ),
    ]
    write_json(args.json, figures)
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
