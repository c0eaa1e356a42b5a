"""Alert delivery: real channels (SMTP, a webhook), quiet hours, digests, retries, exactly once.

Every test runs on an injected clock and never sleeps; the only network is 127.0.0.1. Items are
stored the way a poll stores them (`triage.plan`, `Store.apply` with the channels) and the
reminder and overdue alerts are planned by `Store.plan_alerts` as the clock moves.
"""

from __future__ import annotations

import email
import email.policy
import html
import io
import logging
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from connectors.base import Record
from monitor import sla
from monitor.alerts import AlertRules, Level, Message
from monitor.config import ConfigFileError, parse_config
from monitor.notify import (
    AppriseNotifier,
    ConsoleNotifier,
    Deliverer,
    DeliveryError,
    Notifier,
    RecordingNotifier,
    build_notifiers,
    channels,
    deliverer_for,
    in_quiet_hours,
    parse_quiet_hours,
    retry_delay,
    window_start,
)
from monitor.store import Channel, PlannedItem, Store
from monitor.triage import plan
from tests.conftest import Clock, make_record
from tests.webhook import Webhook, closed_port, free_port

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+05:30: its hours start at :30 UTC
POLICY = sla.Policy(NY, time(9), time(17), frozenset(range(5)), frozenset(), sla.SAME_DAY)
RULES = {
    "blog": AlertRules(POLICY, remind_before=timedelta(hours=2), repeat_overdue=timedelta(hours=4))
}
NEW_TITLE = "New feed comment to answer"


def ny(day: int, hour: int, minute: int = 0, *, month: int = 3) -> datetime:
    """A New York wall time in 2026 as a UTC instant (9 March 2026 is a Monday, in EDT)."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def ingest(
    store: Store, notifiers: Sequence[Notifier], records: Sequence[Record], now: datetime
) -> None:
    """One poll's worth of records, stored as `monitor.poll` stores them."""
    store.ensure_sources([("blog", "feed")])
    result = plan(records, store.known("blog", records))
    items = [
        PlannedItem(
            n.record,
            n.status,
            due_at=sla.due_at(n.record.created_at, POLICY),
            answered_at=n.answered_at,
            answered_by=n.answered_by,
        )
        for n in result.new_items
    ]
    store.apply("blog", items, result, cursor=None, now=now, channels=channels(notifiers))


def comment(external_id: str, at: datetime, **kwargs: Any) -> Record:
    # Each comment in a thread of its own, so one owner reply answers exactly one of them.
    kwargs.setdefault("thread", f"post-{external_id}")
    return make_record(external_id, at, **kwargs)


def deliverer(
    store: Store,
    notifiers: Sequence[Notifier],
    clock: Clock,
    *,
    quiet_hours: str | None = None,
    zone: ZoneInfo = NY,
) -> Deliverer:
    return Deliverer(
        store,
        notifiers,
        zone=zone,
        quiet_hours=quiet_hours,
        daily_at=time(9),
        clock=clock,
        rng=random.Random(7),
    )


def item_ids(store: Store, now: datetime) -> list[int]:
    return [i.id or 0 for i in store.inbox(now, everything=True)]


def statuses(store: Store, now: datetime) -> list[tuple[str, str]]:
    return sorted(
        (row.channel, row.status) for i in item_ids(store, now) for row in store.alerts_for(i)
    )


# -- the channels ------------------------------------------------------------------------------


def test_console_writes_plain_safe_text_and_never_fails_for_content() -> None:
    stream = io.StringIO()
    console = ConsoleNotifier(stream=stream)
    console.send(Message("New \x1b[31mred\x1b[0m comment", "Ann: “hi”\n\x1b]8;;http://x\x07link"))
    text = stream.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert text.startswith("[sameday] New [31mred[0m comment\nAnn: “hi”\n")

    ascii_only = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    ConsoleNotifier(stream=ascii_only).send(Message("“quoted” ✓", "café"))
    ascii_only.flush()
    assert ascii_only.buffer.getvalue().decode() == "[sameday] ?quoted? ?\ncaf?\n\n"  # type: ignore[attr-defined]

    closed = io.StringIO()
    closed.close()
    with pytest.raises(DeliveryError, match="cannot write to the console"):
        ConsoleNotifier(stream=closed).send(Message("t", "b"))


def test_notifiers_are_built_from_the_config(tmp_path: Path, sqlite_store: Store) -> None:
    text = f"""
owner: {{name: Dana, timezone: America/New_York}}
sla: {{business_hours: "08:30-17:00"}}
storage: {{url: "sqlite:///{tmp_path}/s.db"}}
notify:
  - {{type: console}}
  - url: "json://dana:${{HOOK_PASSWORD}}@127.0.0.1:9/hook"
    name: team
    min_level: reminder
    digest: hourly
    give_up_after: 2h
  - {{url: "json://127.0.0.1:9/other"}}
quiet_hours: "22:00-07:00"
"""
    config = parse_config(text, path="sameday.yaml", environ={"HOOK_PASSWORD": "pw-Hunter22"})
    built = build_notifiers(config)
    assert [n.name for n in built] == ["console-0", "team", "apprise-2"]
    console, team, other = built
    assert isinstance(console, ConsoleNotifier) and isinstance(team, AppriseNotifier)
    assert (team.min_level, team.digest, team.give_up_after) == (
        Level.REMINDER,
        "hourly",
        timedelta(hours=2),
    )
    assert (other.min_level, other.digest, other.give_up_after) == (
        Level.NEW,
        None,
        timedelta(days=1),
    )
    assert team.describe() == "team (json://dana:****@127.0.0.1:9/hook)"
    assert channels(built) == [
        Channel("console-0", Level.NEW),
        Channel("team", Level.REMINDER),
        Channel("apprise-2", Level.NEW),
    ]

    owner = deliverer_for(config, sqlite_store, built, clock=Clock(ny(9, 10)))
    assert (owner.zone, owner.daily_at, owner.quiet) == (NY, time(8, 30), (time(22), time(7)))

    bare = parse_config(f'storage: {{url: "sqlite:///{tmp_path}/s.db"}}', path="x.yaml", environ={})
    [fallback] = build_notifiers(bare)
    assert isinstance(fallback, ConsoleNotifier) and fallback.name == "console"


def test_two_channels_may_not_share_a_name(sqlite_store: Store) -> None:
    text = "notify:\n  - {type: console, name: me}\n  - {url: 'json://127.0.0.1:9/x', name: me}\n"
    with pytest.raises(ConfigFileError, match=r"line 3: notify\[1\]\.name: the channel name 'me'"):
        parse_config(text, path="x.yaml", environ={})
    with pytest.raises(ValueError, match="unique"):
        Deliverer(
            sqlite_store,
            [RecordingNotifier("a"), RecordingNotifier("a")],
            zone=NY,
            quiet_hours=None,
            daily_at=time(9),
            clock=Clock(ny(9, 10)),
        )


# -- real services: SMTP and a webhook ---------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


HOSTILE = '<script>alert("x")</script> [free money](http://evil.example) @everyone <b>now</b>'


@pytest.mark.parametrize("mail_format", ["text", "html"])
def test_an_alert_arrives_by_email_with_hostile_text_inert(
    smtp: tuple[Mailbox, int], sqlite_store: Store, clock: Clock, mail_format: str
) -> None:
    mailbox, port = smtp
    url = (
        f"mailto://127.0.0.1:{port}?from=sameday@example.com&to=dana@example.com"
        f"&smtp=127.0.0.1&secure=no&format={mail_format}"
    )
    mail = AppriseNotifier(url, name="mail")
    ingest(sqlite_store, [mail], [comment("c1", clock.now, author="Eve", text=HOSTILE)], clock.now)

    report = deliverer(sqlite_store, [mail], clock).deliver_due()

    assert report.channels["mail"].sent == 1
    [message] = mailbox.messages
    assert message["Subject"] == NEW_TITLE
    assert message["To"] == "dana@example.com"
    [item_id] = item_ids(sqlite_store, clock.now)
    if mail_format == "text":
        # Plain text only: nothing in it is markup a mail reader would render.
        assert [p.get_content_type() for p in message.walk()] == ["text/plain"]
        body = message.get_content()
        assert HOSTILE.replace("@", "@\u200b") in body
    else:
        # Apprise escaped the plain-text body for HTML: the script is text, the link no link.
        markup = next(p for p in message.walk() if p.get_content_type() == "text/html")
        raw = markup.get_content()
        assert "&lt;script&gt;" in raw and "<script>" not in raw
        assert "<b>now" not in raw and "href" not in raw
        body = html.unescape(raw).replace("\xa0", " ")  # what the reader sees
        assert HOSTILE.replace("@", "@\u200b") in body
    assert "Eve on blog" in body
    assert "@everyone" not in body  # the zero-width space keeps the mention from pinging
    assert f"sameday done {item_id}" in body
    [row] = sqlite_store.alerts_for(item_id)
    assert (row.status, row.sent_at, row.attempts) == ("sent", clock.now, 0)


def test_a_webhook_failing_then_recovering_gets_the_alert_exactly_once(
    store: Store, clock: Clock
) -> None:
    failures = 3
    with Webhook(statuses=[500] * failures) as hook:
        channel = AppriseNotifier(hook.apprise_url("/alerts"), name="hook")
        ingest(store, [channel], [comment("c1", clock.now)], clock.now)
        [item_id] = item_ids(store, clock.now)
        deliver = deliverer(store, [channel], clock)
        delays = []
        for attempt in range(1, failures + 1):
            report = deliver.deliver_due()
            assert (report.channels["hook"].failed, report.channels["hook"].sent) == (1, 0)
            [row] = store.alerts_for(item_id)
            assert (row.status, row.attempts) == ("pending", attempt)
            assert "error=500" in (row.last_error or "")
            assert row.next_attempt_at is not None and row.next_attempt_at > clock.now
            deliver.deliver_due()  # before the retry time: the webhook hears nothing
            assert len(hook.requests) == attempt
            delays.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at

        report = deliver.deliver_due()
        assert (report.channels["hook"].sent, report.channels["hook"].failed) == (1, 0)
        clock.advance(hours=1)
        deliver.deliver_due()
        deliverer(store, [channel], clock).deliver_due()  # a restart sends nothing again

        [accepted] = hook.accepted()
        assert len(hook.requests) == failures + 1
    assert accepted.path == "/alerts"
    assert accepted.json()["title"] == NEW_TITLE
    assert "Hello, are you open on Sunday?" in accepted.json()["message"]
    # Every try was the same alert (rendered afresh: "waiting for 3m 30s" moves on).
    assert {r.json()["title"] for r in hook.requests} == {NEW_TITLE}
    [row] = store.alerts_for(item_id)
    assert (row.status, row.attempts) == ("sent", failures)
    # 30 s, 1 m, 2 m, each within the jitter.
    assert [round(d / 30) for d in delays] == [1, 2, 4]


def test_a_password_never_shows_in_logs_errors_or_descriptions(
    sqlite_store: Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "s3cr%40t-Hunter2"  # percent-encoded in the URL: s3cr@t-Hunter2
    with closed_port() as port:
        url = f"json://dana:{password}@127.0.0.1:{port}/hooks/alerts"
        channel = AppriseNotifier(url, name="hook", give_up_after=timedelta(minutes=1))
        ingest(sqlite_store, [channel], [comment("c1", clock.now)], clock.now)
        deliver = deliverer(sqlite_store, [channel], clock)
        first = deliver.deliver_due()
        clock.advance(minutes=2)
        second = deliver.deliver_due()

    assert (first.failed, second.given_up) == (1, 1)
    [item_id] = item_ids(sqlite_store, clock.now)
    [row] = sqlite_store.alerts_for(item_id)
    [health] = sqlite_store.outbox_health()
    assert row.status == "given_up"
    assert "Connection error" in (row.last_error or "")
    shown = [
        channel.describe(),
        row.last_error or "",
        health.last_error or "",
        first.channels["hook"].error or "",
        second.summary(),
        *(r.getMessage() for r in caplog.records),
        *(r.exc_text or "" for r in caplog.records),
        caplog.text,
    ]
    for secret in ("s3cr%40t-Hunter2", "s3cr@t-Hunter2", url):
        assert not [text for text in shown if secret in text]
    assert channel.describe() == f"hook (json://dana:****@127.0.0.1:{port}/hooks/alerts)"
    assert any(
        r.levelno == logging.ERROR and "gave up" in r.getMessage() and "hook" in r.getMessage()
        for r in caplog.records
    )


def test_private_parts_of_a_url_path_are_masked_too() -> None:
    # A Discord webhook's token is in the path, not the password; Apprise declares it private.
    chat = AppriseNotifier("discord://1234567890/ABCDEFtokenXYZ", name="chat")
    assert "ABCDEFtokenXYZ" not in chat.describe()
    assert "1234567890" not in chat.describe()
    leaked = "POST https://discord.com/api/webhooks/1234567890/ABCDEFtokenXYZ: HTTP 401"
    assert chat._error(leaked) == "POST https://discord.com/api/webhooks/***/***: HTTP 401"


def test_error_texts_are_masked_with_the_configs_secrets_too(
    sqlite_store: Store, clock: Clock
) -> None:
    # A secret the channel cannot know (say, one a bug put into an exception) is masked by the
    # config's redactor, given to the Deliverer.
    broken = RecordingNotifier("pager").fail(times=1, error=RuntimeError("token=abcd-SECRET"))
    ingest(sqlite_store, [broken], [comment("c1", clock.now)], clock.now)
    deliver = Deliverer(
        sqlite_store,
        [broken],
        zone=NY,
        quiet_hours=None,
        daily_at=time(9),
        clock=clock,
        redact=lambda text: text.replace("abcd-SECRET", "***"),
    )
    report = deliver.deliver_due()
    assert report.channels["pager"].error == "RuntimeError: token=***"
    [row] = sqlite_store.alerts_for(item_ids(sqlite_store, clock.now)[0])
    assert row.last_error == "RuntimeError: token=***"


# -- what goes out, and when ---------------------------------------------------------------------


def test_each_alert_goes_out_once_and_is_marked_sent(store: Store, clock: Clock) -> None:
    phone = RecordingNotifier("phone")
    ingest(store, [phone], [comment("c1", clock.now), comment("c2", clock.now)], clock.now)
    deliver = deliverer(store, [phone], clock)

    report = deliver.deliver_due()
    assert phone.titles == [NEW_TITLE, NEW_TITLE]
    assert (report.sent, report.channels["phone"].messages) == (2, 2)
    assert report.summary() == "phone: 2 sent"
    assert statuses(store, clock.now) == [("phone", "sent"), ("phone", "sent")]

    clock.advance(minutes=5)
    assert deliver.deliver_due().sent == 0
    assert deliverer(store, [phone], clock).deliver_due().sent == 0  # a restart
    assert len(phone.messages) == 2


@pytest.mark.parametrize("count", [5, 6])
def test_more_than_five_alerts_at_once_go_out_as_one_digest(
    sqlite_store: Store, clock: Clock, count: int
) -> None:
    phone = RecordingNotifier("phone").fail(times=1)  # the first message fails
    records = [comment(f"c{n}", clock.now, author=f"Author{n}") for n in range(count)]
    ingest(sqlite_store, [phone], records, clock.now)
    deliver = deliverer(sqlite_store, [phone], clock)

    first = deliver.deliver_due()
    retry_at = min(
        row.next_attempt_at or clock.now
        for i in item_ids(sqlite_store, clock.now)
        for row in sqlite_store.alerts_for(i)
    )
    clock.now = retry_at + timedelta(minutes=1)
    second = deliver.deliver_due()

    if count == 5:
        assert (first.failed, first.sent) == (1, 4)  # one message per alert
        assert (second.sent, len(phone.messages)) == (1, 5)
        assert phone.titles == [NEW_TITLE] * 5
    else:
        assert (first.failed, first.sent) == (6, 0)  # one message for all six
        assert second.sent == 6
        [digest] = phone.messages
        assert digest.title == "6 comments waiting for an answer"
        assert all(f"Author{n} on blog" in digest.body for n in range(count))
    assert statuses(sqlite_store, clock.now) == [("phone", "sent")] * count


@pytest.mark.parametrize(
    ("span", "local", "quiet"),
    [
        ("22:00-07:00", time(21, 59), False),
        ("22:00-07:00", time(22, 0), True),
        ("22:00-07:00", time(0, 0), True),
        ("22:00-07:00", time(6, 59), True),
        ("22:00-07:00", time(7, 0), False),
        ("12:00-13:00", time(11, 59), False),
        ("12:00-13:00", time(12, 0), True),
        ("12:00-13:00", time(12, 59), True),
        ("12:00-13:00", time(13, 0), False),
        ("22:00-24:00", time(23, 59), True),
        ("22:00-24:00", time(0, 0), False),
        ("07:00-07:00", time(7, 0), False),  # empty: never silences everything
    ],
)
def test_quiet_hours_are_local_wall_clock_spans(span: str, local: time, quiet: bool) -> None:
    moment = datetime.combine(datetime(2026, 3, 10).date(), local, tzinfo=NY)
    assert in_quiet_hours(moment, parse_quiet_hours(span), NY) is quiet


def test_quiet_hours_that_are_not_a_span_are_refused() -> None:
    with pytest.raises(ValueError, match="like 22:00-07:00"):
        parse_quiet_hours("22:00")
    with pytest.raises(ValueError, match="like 22:00-07:00"):
        parse_quiet_hours("late-early")


def test_quiet_hours_hold_alerts_and_release_them_when_they_end_across_dst(
    sqlite_store: Store,
) -> None:
    # Saturday 7 March 23:30 EST; clocks go forward at 2:00 on Sunday, so quiet hours end at
    # 07:00 EDT = 11:00 UTC (12:00 UTC on the day before).
    clock = Clock(datetime(2026, 3, 7, 23, 30, tzinfo=NY).astimezone(UTC))
    phone = RecordingNotifier("phone")
    ingest(sqlite_store, [phone], [comment("c1", clock.now)], clock.now)
    deliver = deliverer(sqlite_store, [phone], clock, quiet_hours="22:00-07:00")

    held = deliver.deliver_due()
    assert (held.quiet, held.held, held.sent) == (True, 1, 0)
    assert held.summary() == "phone: 1 held (quiet hours)"
    clock.now = datetime(2026, 3, 8, 10, 59, tzinfo=UTC)  # 06:59 EDT
    assert deliver.deliver_due().held == 1
    assert statuses(sqlite_store, clock.now) == [("phone", "pending")]
    assert phone.messages == []

    clock.now = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)  # 07:00 EDT
    released = deliver.deliver_due()
    assert (released.quiet, released.sent) == (False, 1)
    assert phone.titles == [NEW_TITLE]


@pytest.mark.parametrize(
    ("digest", "now", "zone", "start"),
    [
        ("30m", datetime(2026, 3, 9, 14, 29, tzinfo=UTC), NY, datetime(2026, 3, 9, 14, 0)),
        ("30m", datetime(2026, 3, 9, 14, 30, tzinfo=UTC), NY, datetime(2026, 3, 9, 14, 30)),
        ("30m", datetime(2026, 3, 9, 14, 45, tzinfo=UTC), KOLKATA, datetime(2026, 3, 9, 14, 30)),
        ("30m", datetime(2026, 3, 9, 14, 15, tzinfo=UTC), KOLKATA, datetime(2026, 3, 9, 14, 0)),
        ("hourly", datetime(2026, 3, 9, 14, 45, tzinfo=UTC), KOLKATA, datetime(2026, 3, 9, 14, 30)),
        ("hourly", datetime(2026, 3, 9, 14, 15, tzinfo=UTC), KOLKATA, datetime(2026, 3, 9, 13, 30)),
        # 1 November 2026, New York falls back: 01:00-02:00 happens twice, two windows.
        ("hourly", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NY, datetime(2026, 11, 1, 5, 0)),
        ("hourly", datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NY, datetime(2026, 11, 1, 6, 0)),
        # 8 March 2026, New York springs forward: 09:00 is 13:00 UTC that day, 14:00 the day before.
        ("daily", datetime(2026, 3, 8, 13, 30, tzinfo=UTC), NY, datetime(2026, 3, 8, 13, 0)),
        ("daily", datetime(2026, 3, 8, 12, 59, tzinfo=UTC), NY, datetime(2026, 3, 7, 14, 0)),
    ],
)
def test_digest_windows_start_on_the_owners_clock(
    digest: str, now: datetime, zone: ZoneInfo, start: datetime
) -> None:
    assert window_start(digest, now, zone, time(9)) == start.replace(tzinfo=UTC)


# Per window kind: the owner's zone, when a first comment arrives, the window boundary that
# sends it, and the next boundary.
WINDOWS = {
    "30m": (NY, ny(9, 10, 10), ny(9, 10, 30), ny(9, 11, 0)),
    "hourly": (
        KOLKATA,
        datetime(2026, 3, 9, 14, 10, tzinfo=UTC),  # 19:40 in Kolkata
        datetime(2026, 3, 9, 14, 30, tzinfo=UTC),  # 20:00
        datetime(2026, 3, 9, 15, 30, tzinfo=UTC),  # 21:00
    ),
    "daily": (NY, ny(9, 10, 10), ny(10, 9), ny(11, 9)),
}


@pytest.mark.parametrize("digest", sorted(WINDOWS))
def test_a_digest_goes_out_once_per_window_even_across_a_restart(store: Store, digest: str) -> None:
    zone, first_at, boundary, next_boundary = WINDOWS[digest]
    clock = Clock(first_at)
    team = RecordingNotifier("team", digest=digest)
    ingest(store, [team], [comment("c1", clock.now, author="Ann")], clock.now)
    deliver = deliverer(store, [team], clock, zone=zone)

    collecting = deliver.deliver_due()
    assert (collecting.sent, collecting.channels["team"].waiting) == (0, 1)
    assert collecting.summary() == "team: 1 waiting for the digest"
    clock.now = boundary - timedelta(seconds=1)
    assert deliver.deliver_due().sent == 0

    clock.now = boundary
    assert deliver.deliver_due().sent == 1
    [first] = team.messages
    assert first.title.startswith("1 comment waiting for an answer")
    assert "Ann on blog" in first.body

    clock.advance(minutes=1)
    ingest(store, [team], [comment("c2", clock.now, author="Ben")], clock.now)
    assert deliver.deliver_due().channels["team"].waiting == 1  # this window was sent
    clock.advance(minutes=5)
    restarted = deliverer(store, [team], clock, zone=zone)
    assert restarted.deliver_due().sent == 0  # the outbox remembers the window
    assert len(team.messages) == 1

    clock.now = next_boundary
    assert restarted.deliver_due().sent == 1
    assert restarted.deliver_due().sent == 0
    second = team.messages[1]
    assert "Ben on blog" in second.body and "Ann" not in second.body


def test_retry_delays_double_from_30s_to_at_most_30m_with_a_little_jitter() -> None:
    rng = random.Random(3)
    for attempt, base in enumerate([30, 60, 120, 240, 480, 960, 1800, 1800, 1800], start=1):
        delay = retry_delay(attempt, rng).total_seconds()
        assert base * 0.9 <= delay <= base * 1.1
    assert retry_delay(10_000, rng) <= timedelta(minutes=33)


def test_a_failing_channel_is_given_up_and_never_stops_the_others(
    sqlite_store: Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    pager = RecordingNotifier("pager", give_up_after=timedelta(hours=1)).fail()
    buggy = RecordingNotifier("buggy").fail(times=1, error=KeyError("a bug in a channel"))
    phone = RecordingNotifier("phone")
    ingest(sqlite_store, [pager, buggy, phone], [comment("c1", clock.now)], clock.now)
    created = clock.now
    deliver = deliverer(sqlite_store, [pager, buggy, phone], clock)
    [item_id] = item_ids(sqlite_store, clock.now)

    first = deliver.deliver_due()
    assert (first.channels["pager"].failed, first.channels["buggy"].failed) == (1, 1)
    assert first.channels["phone"].sent == 1
    assert any("KeyError: 'a bug in a channel'" in r.getMessage() for r in caplog.records)

    given_up = 0
    while given_up == 0:
        rows = {row.channel: row for row in sqlite_store.alerts_for(item_id)}
        retry_at = rows["pager"].next_attempt_at
        assert retry_at is not None
        clock.now = retry_at
        given_up = deliver.deliver_due().channels["pager"].given_up
    assert clock.now - created == timedelta(hours=1)  # the last retry is at the limit

    rows = {row.channel: row for row in sqlite_store.alerts_for(item_id)}
    assert {c: r.status for c, r in rows.items()} == {
        "pager": "given_up",
        "buggy": "sent",
        "phone": "sent",
    }
    assert rows["pager"].attempts == pager.attempts
    assert (buggy.titles, phone.titles) == ([NEW_TITLE], [NEW_TITLE])
    health = {h.channel: h for h in sqlite_store.outbox_health()}
    assert (health["pager"].pending, health["pager"].given_up) == (0, 1)
    assert (health["pager"].last_error or "").startswith(
        f"gave up after {pager.attempts} attempts in 1h:"
    )
    assert "channel unavailable" in (health["pager"].last_error or "")
    assert (health["phone"].pending, health["phone"].given_up) == (0, 0)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"channel pager (recording): gave up after {pager.attempts} attempts in 1h on 1 "
        "alert(s): channel unavailable"
    ]
    clock.advance(days=1)
    assert deliver.deliver_due().sent == 0  # given up is final
    assert len(pager.messages) == 0


def test_a_send_that_succeeded_is_never_repeated_if_recording_it_failed(
    sqlite_store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = RecordingNotifier("phone")
    ingest(sqlite_store, [phone], [comment("c1", clock.now)], clock.now)
    deliver = deliverer(sqlite_store, [phone], clock)
    real_mark_sent = sqlite_store.mark_sent
    broken = [True]

    def mark_sent(ids: Sequence[int], now: datetime) -> None:
        if broken.pop() if broken else False:
            raise RuntimeError("database is locked")
        real_mark_sent(ids, now)

    monkeypatch.setattr(sqlite_store, "mark_sent", mark_sent)
    sent_at = clock.now
    with pytest.raises(RuntimeError, match="locked"):
        deliver.deliver_due()
    assert len(phone.messages) == 1

    clock.advance(minutes=1)
    assert deliver.deliver_due().sent == 0
    assert len(phone.messages) == 1
    [row] = sqlite_store.alerts_for(item_ids(sqlite_store, clock.now)[0])
    assert (row.status, row.sent_at) == ("sent", sent_at)


# -- end to end: reminders, overdue repeats, snoozes, answers ----------------------------------


class Owner:
    """The daemon's loop for one test: plan what became due, deliver it, see what went out."""

    def __init__(
        self, store: Store, notifiers: Sequence[RecordingNotifier], clock: Clock, **kw: Any
    ) -> None:
        self.store, self.notifiers, self.clock = store, notifiers, clock
        self.deliver = deliverer(store, notifiers, clock, **kw)
        self.seen = {n.name: 0 for n in notifiers}

    def at(self, moment: datetime) -> dict[str, list[str]]:
        """The titles each channel got in the step to `moment` (channels that got none left out)."""
        self.clock.now = moment
        self.store.plan_alerts(moment, RULES, channels(self.notifiers))
        self.deliver.deliver_due()
        got = {}
        for n in self.notifiers:
            if new := n.titles[self.seen[n.name] :]:
                got[n.name] = new
            self.seen[n.name] = len(n.titles)
        return got


def test_reminders_and_overdue_repeats_go_out_when_due_and_never_at_night(
    store: Store, clock: Clock
) -> None:
    phone = RecordingNotifier("phone")
    pager = RecordingNotifier("pager", min_level=Level.OVERDUE)
    clock.now = ny(9, 10)  # Monday 10:00: due at 17:00, reminded at 15:00
    ingest(store, [phone, pager], [comment("c1", clock.now)], clock.now)
    owner = Owner(store, [phone, pager], clock)
    overdue = "Overdue: feed comment, {} late"

    assert owner.at(ny(9, 10)) == {"phone": [NEW_TITLE]}
    assert owner.at(ny(9, 14, 59)) == {}
    assert owner.at(ny(9, 15)) == {"phone": ["Reminder: feed comment due in 2h"]}
    assert owner.at(ny(9, 16, 59)) == {}
    assert owner.at(ny(9, 17)) == {"phone": [overdue.format("0s")], "pager": [overdue.format("0s")]}
    for night in (ny(9, 21), ny(10, 1), ny(10, 8, 59), ny(10, 12, 59)):
        assert owner.at(night) == {}  # 4 business hours after 17:00 is 13:00 on Tuesday
    repeat = [overdue.format("20h")]
    assert owner.at(ny(10, 13)) == {"phone": repeat, "pager": repeat}
    assert owner.at(ny(10, 16, 59)) == {}
    again = [overdue.format("1d")]
    assert owner.at(ny(10, 17)) == {"phone": again, "pager": again}

    [item_id] = item_ids(store, clock.now)
    store.mark_answered(item_id, ny(10, 17, 30))
    for later in (ny(11, 9), ny(11, 13), ny(12, 17)):
        assert owner.at(later) == {}


def test_a_reminder_waiting_for_its_retry_is_replaced_by_the_overdue_alert(
    store: Store, clock: Clock
) -> None:
    phone = RecordingNotifier("phone")
    clock.now = ny(9, 10)
    ingest(store, [phone], [comment("c1", clock.now)], clock.now)
    owner = Owner(store, [phone], clock)
    assert owner.at(ny(9, 10)) == {"phone": [NEW_TITLE]}
    # Late for the reminder (the daemon was busy), and the channel is down: it waits ~30 s.
    phone.fail(times=1)
    assert owner.at(ny(9, 16, 59) + timedelta(seconds=50)) == {}

    # The deadline passes during that wait: the owner hears where it stands, once.
    overdue = "Overdue: feed comment, 0s late"
    assert owner.at(ny(9, 17)) == {"phone": [overdue]}
    assert owner.at(ny(9, 17, 5)) == {}
    [item_id] = item_ids(store, clock.now)
    assert sorted((a.level, a.status) for a in store.alerts_for(item_id)) == [
        ("new", "sent"),
        ("overdue", "sent"),
        ("reminder", "cancelled"),
    ]


def test_a_snoozed_item_is_silent_until_the_snooze_ends(sqlite_store: Store, clock: Clock) -> None:
    phone = RecordingNotifier("phone")
    clock.now = ny(9, 10)
    ingest(sqlite_store, [phone], [comment("c1", clock.now)], clock.now)
    [item_id] = item_ids(sqlite_store, clock.now)
    sqlite_store.snooze(item_id, ny(9, 16))  # past the reminder at 15:00
    owner = Owner(sqlite_store, [phone], clock)

    for snoozed in (ny(9, 10), ny(9, 15), ny(9, 15, 59)):
        assert owner.at(snoozed) == {}
    # Awake again: where it stands now, in one message (the held "new" one is superseded).
    assert owner.at(ny(9, 16)) == {"phone": ["Reminder: feed comment due in 1h"]}
    assert owner.at(ny(9, 16, 30)) == {}


def test_answered_and_dismissed_items_are_never_alerted_again(
    sqlite_store: Store, clock: Clock
) -> None:
    phone = RecordingNotifier("phone")
    clock.now = ny(9, 23)  # Monday 23:00, in quiet hours: the alerts wait for the morning
    ingest(
        sqlite_store,
        [phone],
        [comment("c1", clock.now, author="Ann"), comment("c2", clock.now, author="Ben")],
        clock.now,
    )
    owner = Owner(sqlite_store, [phone], clock, quiet_hours="22:00-07:00")
    assert owner.at(ny(9, 23, 5)) == {}

    # Before the morning, the owner answers Ann on the blog and dismisses Ben.
    reply = make_record("o1", ny(10, 6), author="Dana", owner=True, thread="post-c1")
    ingest(sqlite_store, [phone], [reply], ny(10, 6, 30))
    ben = next(i for i in sqlite_store.inbox(ny(10, 6, 30)) if i.author == "Ben")
    sqlite_store.dismiss(ben.id or 0)

    for later in (ny(10, 7), ny(10, 15), ny(10, 17), ny(11, 13)):
        assert owner.at(later) == {}
    assert statuses(sqlite_store, clock.now) == [("phone", "cancelled"), ("phone", "cancelled")]
