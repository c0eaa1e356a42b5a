"""Alert channels and the delivery loop: step 6 of a poll cycle (DESIGN.md, "One poll cycle").

A channel is a `Notifier`: Apprise for every real service (e-mail, chat, webhooks), the console the
daemon runs in, the owner's Discord bot (`monitor.discordbot`: DMs with buttons, a `SendsAlerts`
and `LiveNotifier`), or a `RecordingNotifier` that keeps what it was given (tests, `sameday demo`).

`Deliverer.deliver_due` makes one pass over the outbox for every channel:

* Nothing goes out during the owner's quiet hours (local time in the owner's zone); the rows stay
  pending and go out on the first pass after the quiet hours end.
* A plain channel gets one message per alert, except that more than `FLOOD_LIMIT` alerts due at
  once (after quiet hours, downtime, a first poll) go out as one digest.
* A digest channel (``30m``, ``hourly``, ``daily``) gets one digest per window. A window's digest
  carries the alerts that were pending when the window began and goes out on the first pass at or
  after that boundary. Whether a window was sent is read back from the outbox (the channel's
  latest ``sent_at`` falls inside it), so a restart never sends a second digest in one window.
* Exactly once: an alert is marked sent right after its channel accepted it, one send at a time,
  and a send that succeeded is never repeated by this process even if recording it failed. A
  crash between the channel accepting and ``mark_sent`` can repeat that one alert on restart:
  the at-least-once window the outbox cannot close for services without idempotency keys.
* A failed send is retried with exponential backoff (30 s, 1 m, 2 m … at most 30 m, with jitter);
  an alert still failing `give_up_after` after it was written is given up, logged at ERROR and
  shown by ``sameday status``. One channel failing never stops the others.

Every error text that leaves a channel (log lines, the outbox's ``last_error``) is masked: Apprise
URLs are only ever shown as ``url(privacy=True)``, and their passwords and private tokens, like
the config's secrets, come out as ``***``.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TextIO, runtime_checkable
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from monitor.alerts import AlertView, Level, Message, render_alert, render_digest
from monitor.config import Config, channel_name
from monitor.durations import parse_duration
from monitor.redact import Redactor
from monitor.store import Channel, PendingAlert, Store
from monitor.views import iso_z, printable, span

if TYPE_CHECKING:
    from apprise import Apprise


log = logging.getLogger("sameday.notify")

DIGESTS = ("30m", "hourly", "daily")
FLOOD_LIMIT = 5  # more alerts than this due at once for a plain channel go out as one digest
RETRY_FIRST = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
RETRY_JITTER = 0.1  # ± this fraction, so channels failing together do not retry in lockstep
DEFAULT_GIVE_UP = timedelta(days=1)
_ERROR_WIDTH = 500  # a stored error is for a person reading `sameday status`, not a log dump


def identity(text: str) -> str:
    return text


class DeliveryError(Exception):
    """A channel could not deliver a message. The text is safe to log and store: no secrets."""


@runtime_checkable
class Notifier(Protocol):
    """One alert channel. `name` is stable: the outbox remembers what each name was sent."""

    name: str
    min_level: Level
    digest: str | None  # None, "30m", "hourly" or "daily"
    give_up_after: timedelta

    def send(self, message: Message) -> None:
        """Deliver one message or raise `DeliveryError`."""
        ...

    def describe(self) -> str:
        """The channel for logs and status, with every secret masked."""
        ...


@runtime_checkable
class SendsAlerts(Protocol):
    """A channel that shows a single alert its own way (the Discord bot: an embed and buttons
    that act on the item) instead of as `render_alert`'s plain text. Digests still go through
    `Notifier.send`."""

    def send_alert(self, alert: AlertView, now: datetime, zone: ZoneInfo) -> None:
        """Deliver one alert or raise `DeliveryError`."""
        ...


@runtime_checkable
class LiveNotifier(Protocol):
    """A channel with a connection of its own that hears the owner between alerts (button
    presses, commands): the daemon opens it at start and closes it when it stops."""

    def open(self) -> None: ...

    def close(self, timeout: float) -> None: ...


class _ChannelSettings:
    """What every notifier shares: its name, the lowest level it wants, its digest, its patience."""

    def __init__(
        self,
        name: str,
        *,
        min_level: Level | str = Level.NEW,
        digest: str | None = None,
        give_up_after: timedelta = DEFAULT_GIVE_UP,
    ) -> None:
        if not name:
            raise ValueError("a channel needs a name")
        if digest is not None and digest not in DIGESTS:
            raise ValueError(f"digest must be one of {', '.join(DIGESTS)} or none, got {digest!r}")
        self.name = name
        self.min_level = Level(min_level)
        self.digest = digest
        self.give_up_after = give_up_after


class ConsoleNotifier(_ChannelSettings):
    """Alerts as plain text on a stream: the daemon's terminal or journal (stdout by default)."""

    def __init__(
        self,
        name: str = "console",
        *,
        stream: TextIO | None = None,
        min_level: Level | str = Level.NEW,
        digest: str | None = None,
        give_up_after: timedelta = DEFAULT_GIVE_UP,
    ) -> None:
        super().__init__(name, min_level=min_level, digest=digest, give_up_after=give_up_after)
        # None: whatever sys.stdout is when sending, so a redirected stdout is followed.
        self.stream = stream

    def send(self, message: Message) -> None:
        text = plain_text(message)
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                # A terminal that cannot show “ or an emoji still gets the alert, with ? for them.
                encoding = getattr(stream, "encoding", None) or "ascii"
                stream.write(text.encode(encoding, "replace").decode(encoding))
            stream.flush()
        except (OSError, ValueError) as exc:  # closed stream, broken pipe, full disk
            raise DeliveryError(f"cannot write to the console: {exc}") from None

    def describe(self) -> str:
        return f"{self.name} (console)"


def plain_text(message: Message) -> str:
    """A message as terminal-safe text: no control characters or direction overrides."""
    lines = [printable(line) for line in message.body.split("\n")]
    return f"[sameday] {printable(message.title)}\n" + "\n".join(lines) + "\n\n"


class RecordingNotifier(_ChannelSettings):
    """Keeps every message it accepts; can be told to fail. Real code: tests and demo runs.

    >>> channel = RecordingNotifier("test").fail(times=1)
    >>> channel.send(Message("t", "b"))
    Traceback (most recent call last):
    ...
    monitor.notify.DeliveryError: channel unavailable
    >>> channel.send(Message("t", "b")); [m.title for m in channel.messages]
    ['t']
    """

    def __init__(
        self,
        name: str = "recording",
        *,
        min_level: Level | str = Level.NEW,
        digest: str | None = None,
        give_up_after: timedelta = DEFAULT_GIVE_UP,
    ) -> None:
        super().__init__(name, min_level=min_level, digest=digest, give_up_after=give_up_after)
        self.messages: list[Message] = []
        self.attempts = 0
        self._failures_left: float = 0
        self._error: Exception = DeliveryError("channel unavailable")

    def fail(
        self, times: int | None = None, error: Exception | str = "channel unavailable"
    ) -> RecordingNotifier:
        """Refuse the next `times` messages (every one until `recover`, when None)."""
        self._failures_left = math.inf if times is None else times
        self._error = DeliveryError(error) if isinstance(error, str) else error
        return self

    def recover(self) -> RecordingNotifier:
        self._failures_left = 0
        return self

    def send(self, message: Message) -> None:
        self.attempts += 1
        if self._failures_left > 0:
            self._failures_left -= 1
            # A fresh traceback each time: re-raising one instance would keep growing it.
            raise self._error.with_traceback(None)
        self.messages.append(message)

    @property
    def titles(self) -> list[str]:
        return [m.title for m in self.messages]

    def describe(self) -> str:
        return f"{self.name} (recording)"


class AppriseNotifier(_ChannelSettings):
    """Any Apprise URL: e-mail, chat services, webhooks (``json://``), SMS…

    The body goes to Apprise as plain text, so Apprise escapes it for each service's markup
    (HTML e-mail, Markdown chats): a comment's ``<script>`` or ``[link](…)`` arrives as text.
    Errors carry Apprise's own warnings for that call, masked; the URL is only ever shown as
    Apprise prints it with ``privacy=True``.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        min_level: Level | str = Level.NEW,
        digest: str | None = None,
        give_up_after: timedelta = DEFAULT_GIVE_UP,
        redact: Callable[[str], str] = identity,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(name, min_level=min_level, digest=digest, give_up_after=give_up_after)
        import apprise  # here: loading every Apprise plugin takes a moment the CLI need not pay

        with _apprise_masked(Redactor(_url_secrets(url))):
            plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin is None:
            # Not even a masked URL: a URL Apprise cannot parse cannot be masked reliably.
            raise ValueError(f"notify channel {name!r}: not a notification URL Apprise understands")
        own = Redactor([*_url_secrets(url), *_private_values(plugin)])
        self._redact: Callable[[str], str] = lambda text: redact(own(text))
        self._apprise: Apprise = apprise.Apprise()
        self._apprise.add(plugin)
        # The query holds Apprise's defaults (retry=0&wait=0.5…): noise in a log line.
        self._shown = self._redact(str(plugin.url(privacy=True)).split("?", 1)[0])
        self.timeout = timeout  # a service that hangs must not stall every other channel

    def send(self, message: Message) -> None:
        from apprise import NotifyFormat

        with _apprise_masked(self._redact):
            try:
                result = self._apprise.notify(
                    title=message.title,
                    body=message.body,
                    body_format=NotifyFormat.TEXT,
                    attach=_attachments(message) or None,
                    timeout=self.timeout,
                )
            except Exception as exc:  # Apprise reports service errors itself; this is a bug
                # `from None`: the original's text may hold what `_error` just masked.
                raise DeliveryError(
                    self._error(f"Apprise failed: {type(exc).__name__}: {exc}")
                ) from None
        if not result:
            raise DeliveryError(self._error(_apprise_warnings(result)))

    def describe(self) -> str:
        return f"{self.name} ({self._shown})"

    def _error(self, text: str) -> str:
        return _trim(self._redact(text))


def _attachments(message: Message) -> list[Any]:
    """The message's files as Apprise in-memory attachments (services without attachment
    support get the text alone)."""
    if not message.attachments:
        return []
    from apprise.attachment.memory import AttachMemory

    return [
        AttachMemory(content=a.content, name=a.name, mimetype=a.mimetype)
        for a in message.attachments
    ]


def _apprise_warnings(result: Any) -> str:
    """What Apprise logged while making this call, WARNING and above.

    Apprise 2.3 hands back the log lines of each call with its result (``result.logs()``), which
    unlike `apprise.LogCapture` (a handler on the shared logger) never picks up lines that
    another thread's notification wrote meanwhile.
    """
    lines: list[str] = []
    try:
        lines = [str(entry.message) for entry in result.logs()]
    except Exception:  # an older result shape: say what little we know
        log.debug("Apprise returned no call logs", exc_info=False)
    status = getattr(getattr(result, "status", None), "name", "FAILURE")
    unique = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not unique:
        return f"the service did not accept the notification (Apprise: {status})"
    return " ".join(unique)


class _MaskingFilter(logging.Filter):
    """Masks a channel's secrets in what Apprise logs, before any handler formats it."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self.redact(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


@contextmanager
def _apprise_masked(redact: Callable[[str], str]) -> Iterator[None]:
    """While open, every record of the ``apprise`` logger passes through `redact`.

    A filter on the logger itself, so it acts before the record reaches any handler: ours, the
    daemon's, or a test's. Removed afterwards, so notifiers do not pile filters up.
    """
    masking = _MaskingFilter(redact)
    apprise_log = logging.getLogger("apprise")
    apprise_log.addFilter(masking)
    try:
        yield
    finally:
        apprise_log.removeFilter(masking)


def _url_secrets(url: str) -> list[str]:
    """The URL's password, as written and decoded: never shown anywhere.

    Not the whole URL: most of it (scheme, host, path) is what a person needs to see which
    channel failed; private path parts such as webhook tokens come from `_private_values`.
    """
    secrets: list[str] = []
    try:
        password = urlsplit(url).password
    except ValueError:  # Apprise URLs are not all RFC 3986 URLs
        password = None
    if password:
        secrets += [password, unquote(password)]
    return secrets


def _private_values(plugin: Any) -> list[str]:
    """The values the plugin declares private (passwords, tokens, webhook ids), as Apprise's
    own masking knows them: a Discord webhook token sits in the URL's path, not its password."""
    found: list[str] = []
    declared = {**getattr(plugin, "template_tokens", {}), **getattr(plugin, "template_args", {})}
    for key, spec in declared.items():
        if not isinstance(spec, dict) or not spec.get("private"):
            continue
        value = getattr(plugin, spec.get("map_to", key), None)
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        found += [v for v in values if isinstance(v, str)]
    password = getattr(plugin, "password", None)
    if isinstance(password, str):
        found.append(password)
    return found


def _trim(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _ERROR_WIDTH else flat[: _ERROR_WIDTH - 1] + "…"


def build_notifiers(
    config: Config,
    *,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[Notifier]:
    """The configured channels, in config order; the console alone when none is configured.

    Names are unique: the config refuses two channels with one name. `store` and `clock` are
    for the channels that act on items themselves (the Discord bot's buttons).
    """
    if not config.notify:
        return [ConsoleNotifier("console")]
    notifiers: list[Notifier] = []
    for index, entry in enumerate(config.notify):
        name = channel_name(entry, index)
        common: dict[str, Any] = {
            "min_level": Level(entry.min_level),
            "digest": entry.digest,
            "give_up_after": parse_duration(entry.give_up_after).as_timedelta(),
        }
        if entry.type == "console":
            notifiers.append(ConsoleNotifier(name, **common))
        elif entry.type == "discord":
            from monitor.discordbot import DiscordNotifier  # discord.py only when configured

            # The config filled in the token and user id a channel may leave out.
            assert entry.token is not None and entry.user_id is not None
            notifiers.append(
                DiscordNotifier(
                    name,
                    token=entry.token,
                    user_id=entry.user_id,
                    config=config,
                    store=store,
                    api_base=entry.api_base,
                    clock=clock or (lambda: datetime.now(UTC)),
                    redact=config.redact,
                    **common,
                )
            )
        else:
            assert entry.url is not None  # the config refuses an apprise channel without one
            notifiers.append(AppriseNotifier(entry.url, name=name, redact=config.redact, **common))
    return notifiers


def channels(notifiers: Iterable[Notifier]) -> list[Channel]:
    """The outbox's view of the channels, for `Store.apply` and `Store.plan_alerts`."""
    return [Channel(n.name, n.min_level) for n in notifiers]


# -- time: quiet hours, digest windows, backoff ----------------------------------------------


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``"22:00-07:00"`` → (22:00, 07:00). A span may cross midnight; ``24:00`` ends a day."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(_QUIET_HINT.format(text=text))
    return _clock(start, text), _clock(end, text)


_QUIET_HINT = "quiet hours must be a span of local times like 22:00-07:00, got {text!r}"


def _clock(part: str, text: str) -> time:
    try:
        hours, minutes = (int(p) for p in part.strip().split(":"))
        return time(0) if (hours, minutes) == (24, 0) else time(hours, minutes)
    except ValueError:
        raise ValueError(_QUIET_HINT.format(text=text)) from None


def in_quiet_hours(now: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> bool:
    """Whether `now` falls in the quiet span ``[start, end)`` of local wall-clock time.

    Compared on the local clock, so the span means the same hours on both sides of a DST
    change. An empty span (start == end) is never quiet: a typo must not silence every alert.

    >>> from zoneinfo import ZoneInfo
    >>> ny = ZoneInfo("America/New_York")
    >>> in_quiet_hours(datetime(2026, 3, 9, 3, tzinfo=UTC), (time(22), time(7)), ny)  # 23:00
    True
    """
    if quiet is None:
        return False
    start, end = quiet
    local = now.astimezone(zone).time()
    if start < end:
        return start <= local < end
    if start > end:  # across midnight
        return local >= start or local < end
    return False


def window_start(digest: str, now: datetime, zone: ZoneInfo, daily_at: time) -> datetime:
    """The latest digest boundary at or before `now`, in UTC, counted in the owner's zone.

    ``30m``: :00 and :30 local; ``hourly``: the top of each local hour; ``daily``: `daily_at`
    local time. In a DST fold each of the two local hours is a window of its own.

    >>> from zoneinfo import ZoneInfo
    >>> kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: a local hour starts at :30 UTC
    >>> window_start("hourly", datetime(2026, 3, 9, 14, 45, tzinfo=UTC), kolkata, time(9))
    datetime.datetime(2026, 3, 9, 14, 30, tzinfo=datetime.timezone.utc)
    """
    local = now.astimezone(zone)
    if digest == "30m":
        start = local.replace(minute=30 if local.minute >= 30 else 0, second=0, microsecond=0)
    elif digest == "hourly":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif digest == "daily":
        start = _local_instant(local.date(), daily_at, zone)
        if start > now:
            start = _local_instant(local.date() - timedelta(days=1), daily_at, zone)
    else:
        raise ValueError(f"unknown digest {digest!r}; expected one of {', '.join(DIGESTS)}")
    # `replace` keeps the fold, so the instant is right in a DST fold; a zone whose clocks
    # jump at a half hour could still put it a gap's length ahead: never past `now`.
    return min(start.astimezone(UTC), now.astimezone(UTC))


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time in a DST gap moves forward by the gap; in a fold it is the first one.
    return datetime.combine(day, wall.replace(fold=0), tzinfo=zone).astimezone(UTC)


def retry_delay(attempt: int, rng: random.Random) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1 for the first failure).

    >>> [round(retry_delay(n, random.Random(0)).total_seconds() / 60, 1) for n in (1, 2, 3, 9)]
    [0.5, 1.1, 2.1, 32.1]
    """
    base = RETRY_FIRST.total_seconds() * 2 ** min(max(attempt, 1) - 1, 30)
    capped = min(base, RETRY_CAP.total_seconds())
    return timedelta(seconds=capped * (1 + rng.uniform(-RETRY_JITTER, RETRY_JITTER)))


# -- delivery ---------------------------------------------------------------------------------


@dataclass
class ChannelReport:
    """What one pass did for one channel. Counts are alerts, not messages."""

    channel: str
    sent: int = 0  # alerts the channel accepted (a digest counts each alert it carried)
    messages: int = 0  # messages the channel accepted
    failed: int = 0  # alerts whose delivery failed and will be retried
    given_up: int = 0  # alerts failing for longer than the channel's give_up_after
    held: int = 0  # alerts kept back by quiet hours
    waiting: int = 0  # alerts a digest channel keeps for its next window
    error: str | None = None  # the last failure, masked

    @property
    def busy(self) -> bool:
        return any((self.sent, self.failed, self.given_up, self.held, self.waiting))

    def summary(self) -> str:
        parts = [
            f"{count} {label}"
            for count, label in (
                (self.sent, "sent"),
                (self.failed, "failed"),
                (self.given_up, "given up"),
                (self.held, "held (quiet hours)"),
                (self.waiting, "waiting for the digest"),
            )
            if count
        ]
        return f"{self.channel}: " + (", ".join(parts) or "nothing due")


@dataclass
class DeliveryReport:
    """One `Deliverer.deliver_due` pass, per channel, for logs and the daemon."""

    at: datetime
    quiet: bool = False
    channels: dict[str, ChannelReport] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.channels.values())

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.channels.values())

    @property
    def given_up(self) -> int:
        return sum(c.given_up for c in self.channels.values())

    @property
    def held(self) -> int:
        return sum(c.held for c in self.channels.values())

    def summary(self) -> str:
        busy = [c.summary() for c in self.channels.values() if c.busy]
        return "; ".join(busy) or "no alerts due"


class Deliverer:
    """Delivers the outbox's due alerts to every channel, one pass per `deliver_due` call.

    `zone`, `quiet_hours` and `daily_at` are the owner's (`deliverer_for` takes them from the
    config). `redact` masks the config's secrets in every error logged or stored. `rng` makes
    the retry jitter reproducible in tests.
    """

    def __init__(
        self,
        store: Store,
        notifiers: Sequence[Notifier],
        *,
        zone: ZoneInfo,
        quiet_hours: str | None,
        daily_at: time,
        clock: Callable[[], datetime],
        redact: Callable[[str], str] = identity,
        rng: random.Random | None = None,
    ) -> None:
        names = [n.name for n in notifiers]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")
        for notifier in notifiers:
            if notifier.digest is not None and notifier.digest not in DIGESTS:
                raise ValueError(f"{notifier.name}: unknown digest {notifier.digest!r}")
        self.store = store
        self.notifiers = list(notifiers)
        self.zone = zone
        self.quiet = parse_quiet_hours(quiet_hours) if quiet_hours else None
        self.daily_at = daily_at
        self.clock = clock
        self.redact = redact
        self.rng = rng or random.Random()
        # Alerts a channel accepted whose `mark_sent` failed (the database was unavailable):
        # recorded first thing on the next pass, and never sent again meanwhile.
        self._unrecorded: dict[int, datetime] = {}

    def deliver_due(self) -> DeliveryReport:
        """One pass over every channel. A channel's failure is recorded, logged and retried
        later; it never raises here. Store errors do raise: nothing can be recorded then."""
        now = self.clock()
        self._record_unrecorded()
        report = DeliveryReport(at=now, quiet=in_quiet_hours(now, self.quiet, self.zone))
        for notifier in self.notifiers:
            entry = report.channels[notifier.name] = ChannelReport(notifier.name)
            pending = [
                alert
                for alert in self.store.pending_alerts(notifier.name, now)
                if alert.id not in self._unrecorded
            ]
            if not pending:
                continue
            if report.quiet:
                entry.held = len(pending)
            elif notifier.digest is not None:
                self._deliver_digest(notifier, pending, now, entry)
            elif len(pending) > FLOOD_LIMIT:
                self._attempt(notifier, pending, now, entry)
            else:
                for alert in pending:
                    self._attempt(notifier, [alert], now, entry)
        if any(c.busy for c in report.channels.values()):
            log.info("alerts: %s", report.summary())
        return report

    def _deliver_digest(
        self, notifier: Notifier, pending: list[PendingAlert], now: datetime, entry: ChannelReport
    ) -> None:
        assert notifier.digest is not None
        boundary = window_start(notifier.digest, now, self.zone, self.daily_at)
        last_sent = self.store.last_sent_at(notifier.name)
        window_sent = last_sent is not None and last_sent >= boundary
        # An alert written after the boundary belongs to the next window's digest.
        if window_sent or not any(alert.created_at <= boundary for alert in pending):
            entry.waiting = len(pending)
            return
        self._attempt(notifier, pending, now, entry)

    def _attempt(
        self, notifier: Notifier, batch: list[PendingAlert], now: datetime, entry: ChannelReport
    ) -> None:
        """Render and send one message for `batch` (a digest when it holds more than one, or
        always on a digest channel), then record the outcome at once."""
        try:
            if len(batch) == 1 and notifier.digest is None:
                if isinstance(notifier, SendsAlerts):
                    notifier.send_alert(batch[0].view, now, self.zone)
                else:
                    notifier.send(render_alert(batch[0].view, now, self.zone))
            else:
                notifier.send(render_digest([alert.view for alert in batch], now, self.zone))
        except Exception as exc:  # any failure of the channel, or of rendering for it
            self._failed(notifier, batch, exc, now, entry)
            return
        self._sent(batch, now)
        entry.sent += len(batch)
        entry.messages += 1

    def _sent(self, batch: list[PendingAlert], now: datetime) -> None:
        ids = [alert.id for alert in batch]
        try:
            self.store.mark_sent(ids, now)
        except Exception:
            self._unrecorded.update(dict.fromkeys(ids, now))
            log.error("could not record %d delivered alert(s) as sent; will retry", len(ids))
            raise

    def _record_unrecorded(self) -> None:
        by_time: dict[datetime, list[int]] = {}
        for alert_id, at in self._unrecorded.items():
            by_time.setdefault(at, []).append(alert_id)
        for at, ids in by_time.items():
            self.store.mark_sent(ids, at)
            for alert_id in ids:
                del self._unrecorded[alert_id]

    def _failed(
        self,
        notifier: Notifier,
        batch: list[PendingAlert],
        exc: Exception,
        now: datetime,
        entry: ChannelReport,
    ) -> None:
        error = self._describe_error(exc)
        entry.error = error
        attempt = max(alert.attempts for alert in batch) + 1
        expired = [a for a in batch if now - a.created_at >= notifier.give_up_after]
        retry = [a for a in batch if now - a.created_at < notifier.give_up_after]
        if retry:
            # Never later than the give-up deadline: the last try is on time, and so is the
            # ERROR that tells the owner a channel is broken.
            deadline = min(a.created_at for a in retry) + notifier.give_up_after
            retry_at = min(now + retry_delay(attempt, self.rng), deadline)
            self.store.mark_failed([a.id for a in retry], error, now, retry_at)
            entry.failed += len(retry)
            log.warning(
                "channel %s: could not deliver %d alert(s) (attempt %d), retrying at %s: %s",
                notifier.describe(),
                len(retry),
                attempt,
                iso_z(retry_at),
                error,
            )
        if expired:
            ids = [a.id for a in expired]
            tries = max(a.attempts for a in expired) + 1
            waited = span(now - min(a.created_at for a in expired))
            gave_up = f"gave up after {tries} attempt{'s' if tries > 1 else ''} in {waited}"
            # Counted as an attempt first, so `attempts` says how often it was really tried.
            self.store.mark_failed(ids, error, now, now)
            self.store.give_up(ids, f"{gave_up}: {error}", now)
            entry.given_up += len(expired)
            log.error(
                "channel %s: %s on %d alert(s): %s",
                notifier.describe(),
                gave_up,
                len(expired),
                error,
            )
        if not isinstance(exc, DeliveryError):
            # Not a delivery problem the channel reported but a bug: keep its traceback, masked.
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            log.warning("channel %s raised:\n%s", notifier.describe(), self.redact(trace))

    def _describe_error(self, exc: Exception) -> str:
        text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        return _trim(self.redact(text or type(exc).__name__))


def deliverer_for(
    config: Config,
    store: Store,
    notifiers: Sequence[Notifier],
    *,
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
) -> Deliverer:
    """A `Deliverer` with the owner's zone, quiet hours and opening time from the config."""
    return Deliverer(
        store,
        notifiers,
        zone=config.default_policy.timezone,
        quiet_hours=config.quiet_hours,
        daily_at=config.default_policy.opens,
        clock=clock,
        redact=config.redact,
        rng=rng,
    )
