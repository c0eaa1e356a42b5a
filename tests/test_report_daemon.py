"""The daily report delivered by the daemon at `report.at`: once per day and channel, also across
a restart in that very minute, with the chart attached where the channel takes files.

The daemon runs on a hand-moved clock; only the report thread's work takes real time.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.config import Config, parse_config
from monitor.daemon import Daemon, default_delivery
from monitor.notify import AppriseNotifier, Deliverer, RecordingNotifier
from monitor.report_chart import PNG_SIGNATURE
from monitor.report_send import CHART_NAME, DailyReporter
from monitor.store import Channel, Store
from monitor.triage import Status
from tests.conftest import Clock
from tests.test_daemon import wait_for
from tests.test_report_store import add
from tests.webhook import Webhook

NEW_YORK = ZoneInfo("America/New_York")
TUESDAY = date(2026, 3, 10)


def ny(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=NEW_YORK).astimezone(
        UTC
    )


def make_config(tmp_path: Path, report_at: str | None = "18:00") -> Config:
    report = f"report: {{at: '{report_at}'}}\n" if report_at else ""
    return parse_config(
        "owner: {name: Dana, timezone: America/New_York}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
        "sources:\n  - {name: blog, type: demo, enabled: false}\n" + report,
        path=tmp_path / "sameday.yaml",
        environ={},
    )


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Config, Store]]:
    config = make_config(tmp_path)
    store = Store(config.storage_url)
    store.ensure_sources([("blog", "demo")])
    add(store, "blog", "b", "2026-03-10 09:30", "2026-03-10 17:00",
        status=Status.ANSWERED, answered="2026-03-10 10:30")  # fmt: skip
    add(store, "blog", "e", "2026-03-10 16:00", "2026-03-10 17:00")
    yield config, store
    store.close()


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(config: Config, store: Store, clock: Clock, notifiers: list[Any]) -> Daemon:
        deliverer = Deliverer(store, [], zone=NEW_YORK, quiet_hours=None, daily_at=dt_time(9),
                              clock=clock)  # fmt: skip
        daemon = Daemon(
            config,
            store,
            deliverer=deliverer,
            channels=[Channel(n.name) for n in notifiers],
            clock=clock,
            rng=random.Random(1),
            reporter=DailyReporter(config, store, notifiers, clock=clock),
        )
        started.append(daemon)
        daemon.start()
        return daemon

    yield start
    for daemon in started:
        daemon.shutdown(timeout=10)


def settle_report(daemon: Daemon, until: datetime) -> None:
    """Tick (without moving the clock) until the report pass came back and set `until`."""
    wait_for(lambda: daemon.tick() is not None and daemon.next_report() == until, 30,
             f"the report job to be scheduled at {until}")  # fmt: skip


def test_sent_once_at_report_time_and_not_again_after_a_restart_in_that_minute(
    setup: tuple[Config, Store], start_daemon: Callable[..., Daemon]
) -> None:
    config, store = setup
    clock = Clock(ny(TUESDAY, 17, 59, 30))
    chat, mail = RecordingNotifier("chat"), RecordingNotifier("mail")
    daemon = start_daemon(config, store, clock, [chat, mail])
    daemon.tick()
    assert daemon.next_report() == ny(TUESDAY, 18)
    assert chat.messages == [] and mail.messages == []

    clock.now = ny(TUESDAY, 18)
    daemon.tick()
    settle_report(daemon, ny(TUESDAY + timedelta(days=1), 18))
    assert len(chat.messages) == len(mail.messages) == 1
    message = chat.messages[0]
    assert message.title == "Sameday report Tue 10 Mar (blog): 1/2 on time, 1 open (1 overdue)"
    assert message.body.startswith("Sameday report: Tue 10 Mar 2026 (America/New_York)")
    assert "As of 18:00" in message.body and "Last 7 days" in message.body
    (chart,) = message.attachments
    assert (chart.name, chart.mimetype) == (CHART_NAME, "image/png")
    assert chart.content.startswith(PNG_SIGNATURE)
    assert store.report_deliveries(TUESDAY) == {"chat": "sent", "mail": "sent"}

    # Restarted within the same minute: today's report went out already, nothing more is sent.
    daemon.shutdown(timeout=10)
    clock.now = ny(TUESDAY, 18, 0, 40)
    again = start_daemon(config, store, clock, [chat, mail])
    again.tick()
    settle_report(again, ny(TUESDAY + timedelta(days=1), 18))
    assert len(chat.messages) == len(mail.messages) == 1

    # The next day at 18:00: the next report, once.
    clock.now = ny(TUESDAY + timedelta(days=1), 18)
    again.tick()
    settle_report(again, ny(TUESDAY + timedelta(days=2), 18))
    assert len(chat.messages) == len(mail.messages) == 2
    assert chat.messages[1].body.startswith("Sameday report: Wed 11 Mar 2026")


def test_a_restart_sends_what_was_owed_and_nothing_twice(
    setup: tuple[Config, Store], start_daemon: Callable[..., Daemon]
) -> None:
    config, store = setup
    clock = Clock(ny(TUESDAY, 18))
    chat, mail = RecordingNotifier("chat"), RecordingNotifier("mail").fail(times=1)
    daemon = start_daemon(config, store, clock, [chat, mail])
    daemon.tick()
    settle_report(daemon, ny(TUESDAY, 18, 5))  # mail failed: retried in 5 minutes
    assert (len(chat.messages), len(mail.messages)) == (1, 0)
    assert store.report_deliveries(TUESDAY) == {"chat": "sent", "mail": "pending"}

    # A restart at 18:00:30: mail gets its report at once, chat is not sent it again.
    daemon.shutdown(timeout=10)
    clock.now = ny(TUESDAY, 18, 0, 30)
    again = start_daemon(config, store, clock, [chat, mail])
    again.tick()
    settle_report(again, ny(TUESDAY + timedelta(days=1), 18))
    assert (len(chat.messages), len(mail.messages)) == (1, 1)
    assert store.report_deliveries(TUESDAY) == {"chat": "sent", "mail": "sent"}


def test_rows_written_before_a_crash_are_delivered_once(
    setup: tuple[Config, Store], start_daemon: Callable[..., Daemon]
) -> None:
    config, store = setup
    # A daemon died after writing the day's rows, before sending: the next one sends them.
    store.plan_report(TUESDAY, ["chat"], ny(TUESDAY, 18))
    clock = Clock(ny(TUESDAY, 18, 0, 20))
    chat = RecordingNotifier("chat")
    daemon = start_daemon(config, store, clock, [chat])
    daemon.tick()
    settle_report(daemon, ny(TUESDAY + timedelta(days=1), 18))
    assert len(chat.messages) == 1


def test_a_daemon_started_later_catches_up_today_and_gives_up_yesterday(
    setup: tuple[Config, Store], start_daemon: Callable[..., Daemon]
) -> None:
    config, store = setup
    store.plan_report(TUESDAY - timedelta(days=1), ["chat"], ny(TUESDAY - timedelta(days=1), 18))
    clock = Clock(ny(TUESDAY, 21))  # down at 18:00: today's report is still owed
    chat = RecordingNotifier("chat")
    daemon = start_daemon(config, store, clock, [chat])
    daemon.tick()
    settle_report(daemon, ny(TUESDAY + timedelta(days=1), 18))
    assert len(chat.messages) == 1 and "Tue 10 Mar 2026" in chat.messages[0].body
    assert store.report_deliveries(TUESDAY - timedelta(days=1)) == {"chat": "given_up"}


def test_before_report_time_nothing_is_sent(setup: tuple[Config, Store]) -> None:
    config, store = setup
    clock = Clock(ny(TUESDAY, 0, 30))
    chat = RecordingNotifier("chat")
    reporter = DailyReporter(config, store, [chat], clock=clock, chart=False)
    assert reporter.run() == ny(TUESDAY, 18)
    assert chat.messages == [] and store.report_deliveries(TUESDAY) == {}


def test_the_chart_reaches_an_apprise_channel_as_an_attachment(setup: tuple[Config, Store]) -> None:
    config, store = setup
    clock = Clock(ny(TUESDAY, 18))
    with Webhook() as hook:
        channel = AppriseNotifier(hook.apprise_url("/report"), name="hook")
        reporter = DailyReporter(config, store, [channel], clock=clock)
        assert reporter.run() == ny(TUESDAY + timedelta(days=1), 18)
        (body,) = hook.bodies()
    assert body["title"].startswith("Sameday report Tue 10 Mar")
    assert "1 of 2 due answered on time" in body["message"]
    (attachment,) = body["attachments"]
    assert attachment["filename"] == CHART_NAME and attachment["mimetype"] == "image/png"
    assert base64.b64decode(attachment["base64"]).startswith(PNG_SIGNATURE)


def test_the_daemon_sends_reports_only_with_report_at(tmp_path: Path) -> None:
    clock = Clock(ny(TUESDAY, 12))
    with_report = make_config(tmp_path)
    store = Store(with_report.storage_url)
    assert default_delivery(with_report, store, clock).reporter is not None
    assert default_delivery(make_config(tmp_path, None), store, clock).reporter is None
    store.close()
