"""`sameday demo`: the whole loop on simulated sources, with no credentials and no network.

It replays the last N hours on a simulated clock: every step polls the demo blog and forum through
the real poll cycle and store (a SQLite file of its own, never the owner's database), and tells
what happened: new comments with their deadlines, owner replies detected as answers, and the
alerts the owner's chat received (delivered through the real outbox, to a recording channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import Config, parse_config
from monitor.models import ItemRow
from monitor.notify import RecordingNotifier, channels, deliverer_for
from monitor.poll import build_connector, poll_all, suggester_for
from monitor.store import Store
from monitor.triage import Status

DEMO_CONFIG = """\
owner:
  name: Dana
  timezone: America/New_York
  identities: {demo: [Dana]}
sla:
  target: same_day
  business_hours: "09:00-17:00"
storage:
  url: "sqlite:///{db}"
sources:
  - {name: shop-blog, type: demo, platform: blog, seed: 7, per_hour: 1, backfill: 6h, every: 30m}
  - {name: forum, type: demo, platform: forum, seed: 3, per_hour: 1, backfill: 6h, every: 30m,
     sla: {target: 4h, business_time: true}}
"""


@dataclass(frozen=True)
class Event:
    at: datetime
    item: ItemRow | None
    what: str  # "new" | "answered" | "alert"
    alert: str | None = None  # the alert's title, for "alert"


@dataclass(frozen=True)
class DemoRun:
    config: Config
    store: Store
    events: list[Event]
    end: datetime
    chat: RecordingNotifier  # the owner's chat: every alert the demo delivered


def demo_config(db: Path) -> Config:
    return parse_config(
        DEMO_CONFIG.replace("{db}", str(db)), path="<built-in demo config>", environ={}
    )


def run_demo(
    db: Path,
    *,
    end: datetime,
    hours: int = 30,
    step: timedelta = timedelta(minutes=30),  # the demo sources' `every`: no blind spots
    on_event: Callable[[Event], None] = lambda event: None,
) -> DemoRun:
    """Simulate `hours` up to `end` in steps, reporting each new or answered item."""
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)  # a demo starts from nothing, every time
    config = demo_config(db)
    store = Store(config.storage_url)
    moment = end - timedelta(hours=hours)

    def clock() -> datetime:
        return moment

    connectors = {s.name: build_connector(s, clock) for s in config.sources}
    chat = RecordingNotifier("owner-chat")
    deliver = deliverer_for(config, store, [chat], clock=clock)
    suggester = suggester_for(config)  # once: every step polls with it
    seen: dict[int, str] = {}
    events: list[Event] = []
    while True:
        poll_all(
            config,
            store,
            clock=clock,
            connectors=connectors,
            channels=channels([chat]),
            suggester=suggester,
        )
        store.plan_alerts(moment, config.alert_rules, channels([chat]))
        delivered = len(chat.messages)
        deliver.deliver_due()
        for item in reversed(store.inbox(moment, everything=True)):
            before = seen.get(item.id or 0)
            if item.status == before or item.status == Status.BASELINE:
                continue
            seen[item.id or 0] = item.status
            if before is None:
                events.append(Event(moment, item, "new"))
                on_event(events[-1])
            if item.status == Status.ANSWERED:
                events.append(Event(item.answered_at or moment, item, "answered"))
                on_event(events[-1])
        for message in chat.messages[delivered:]:
            events.append(Event(moment, None, "alert", message.title))
            on_event(events[-1])
        if moment >= end:
            break
        moment = min(moment + step, end)
    return DemoRun(config=config, store=store, events=events, end=end, chat=chat)
