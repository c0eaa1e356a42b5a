"""The daily report, delivered: at `report.at` (the owner's local time) the day's report goes to
every alert channel, once per day and channel, with its chart attached where the channel
takes files (Apprise services with attachment support; the console gets the text alone).

The delivery goes through an outbox, in the spirit of the alerts' (`Store.plan_report`): once
the report falls due, one row per (day, channel) is written, then the report is sent to each
channel whose row is still pending and the row is marked sent right after the channel took it.
A restart, even in the report's minute, re-sends nothing that was sent and still sends what
was not; the one window left is a crash between a channel accepting and the row being marked,
which sends that channel's report again (at least once, never lost). A channel that fails is
tried again every `RETRY` until the day ends; a day's report still pending the next day is
given up (yesterday's figures are not news).

Quiet hours do not hold the report back: the owner chose its hour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor import sla
from monitor.alerts import Attachment, Message
from monitor.config import Config
from monitor.notify import DeliveryError, Notifier, identity
from monitor.report_build import CHART_DAYS, build_report
from monitor.report_render import render_text, title
from monitor.store import Store

log = logging.getLogger("sameday.report")

RETRY = timedelta(minutes=5)
TREND_DAYS = CHART_DAYS  # the delivered report shows the last week, and charts it
CHART_NAME = "sameday-report.png"


class DailyReporter:
    """Decides when the day's report is due and delivers it to `notifiers` through the outbox.

    `run` does one pass and says when to call it next; the daemon calls it from a thread of
    its own, on its clock.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        notifiers: Sequence[Notifier],
        *,
        clock: Callable[[], datetime],
        at: time | None = None,
        chart: bool = True,
        redact: Callable[[str], str] = identity,
    ) -> None:
        report_at = at or config.report_time
        if report_at is None:
            raise ValueError("no report.at in the config: nothing says when to send the report")
        self.config = config
        self.store = store
        self.notifiers = list(notifiers)
        self.clock = clock
        self.at = report_at
        self.zone: ZoneInfo = config.default_policy.timezone
        self.chart = chart
        self.redact = redact

    def due_at(self, day: date) -> datetime:
        """When `day`'s report falls due (UTC): `report.at` local time that day."""
        return sla.local_instant(day, self.at, self.zone)

    def first_run(self, now: datetime) -> datetime:
        """Today's report time, even if past: the first pass sends what is still owed today."""
        return self.due_at(now.astimezone(self.zone).date())

    def run(self) -> datetime:
        """Send today's report to every channel that has not had it yet, if it is due; return
        when to call again (tomorrow's report time, or a retry for a failing channel)."""
        now = self.clock()
        today = now.astimezone(self.zone).date()
        if now < self.due_at(today):
            return self.due_at(today)
        tomorrow = self.due_at(today + timedelta(days=1))
        if given_up := self.store.give_up_reports(before=today):
            log.warning("gave up %d daily report(s) of earlier days that were never delivered",
                        given_up)  # fmt: skip
        self.store.plan_report(today, [n.name for n in self.notifiers], now)
        owed = self.store.report_deliveries(today)
        pending = [n for n in self.notifiers if owed.get(n.name) == "pending"]
        if not pending:
            return tomorrow
        message = self.message(today, now)
        failed = False
        for notifier in pending:
            try:
                notifier.send(message)
            except Exception as exc:  # one channel failing never stops the others
                failed = True
                error = self.redact(str(exc) if isinstance(exc, DeliveryError) else repr(exc))
                self.store.mark_report_failed(today, notifier.name, error)
                log.warning("channel %s: the daily report was not delivered, retrying in %s: %s",
                            notifier.describe(), RETRY, error)  # fmt: skip
                continue
            self.store.mark_report_sent(today, notifier.name, self.clock())
            log.info("channel %s: daily report for %s delivered", notifier.describe(), today)
        return min(now + RETRY, tomorrow) if failed else tomorrow

    def message(self, day: date, now: datetime) -> Message:
        """The report as a chat message: its text, and the chart as a PNG attachment."""
        report = build_report(
            self.store, self.config, day, now, days=TREND_DAYS, chart_days=TREND_DAYS
        )
        attachments: tuple[Attachment, ...] = ()
        if self.chart:
            try:
                from monitor.report_chart import render_chart

                png = render_chart(report.trend, title=f"Sameday, last {len(report.trend)} days")
                attachments = (Attachment(CHART_NAME, png, "image/png"),)
            except Exception:  # the figures matter more than their picture
                log.exception("drawing the report's chart failed; sending the text alone")
        return Message(title=title(report), body=render_text(report), attachments=attachments)
