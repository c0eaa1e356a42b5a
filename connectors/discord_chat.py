"""The Discord connector: servers and channels where customers mention, reply to or name the owner.

One ``type: discord`` source watches the servers (``guilds``) and channels (``channels``) a bot
token can see. A message becomes an item when it mentions the owner (their user id, or one of
``owner_roles``), replies to one of the owner's messages, or contains one of ``keywords``; every
message the owner writes becomes an owner record, with ``parent_id`` the message it replies to.
The answered rule then does the rest: a reply answers the message it references; an owner message
that replies to nothing answers the earlier open items of its channel or thread (a Discord channel
is a flat thread: ``thread_id`` is the channel's or the thread's id).

**Threading.** Discord pushes messages through a websocket (the gateway) instead of being polled,
and discord.py is asyncio. So one `DiscordGateway` per bot token runs a `discord.Client` in a
thread of its own, with its own event loop, for the whole process: every source on that token
and the owner's bot (`monitor.discordbot`, the DM alert channel) share it (`acquire_gateway`,
reference-counted). Each source registers a `_Watch` with it: the loop thread classifies each
message as it arrives and appends the record under the watch's lock; the daemon's poll thread
drains the watch in `DiscordConnector.fetch`. So `fetch` does no network I/O of its own while the
daemon runs, and the core's cycle (triage, one transaction per poll, the outbox) is unchanged.
To get items into the store within 2 s, the watch calls the daemon's ``wake`` callback (given to
`DiscordConnector.listen`) for every record: the daemon polls that source on its next turn
(at most a second away) instead of at its ``every``, which stays as a safety net and for status.

**Nothing missed.** The cursor is ``{"channels": {channel id: last message id}}``, kept for every
message seen in a watched channel (items or not). Each time the gateway gets a fresh session
(start, or a reconnect that could not resume), the watch reads each watched channel's history
after that id (REST ``GET /channels/{id}/messages?after=``): nothing said while the daemon was
down, or the connection was, is lost. A channel with no id yet starts after the newest message
seen anywhere; on the very first start (no cursor) the newest ``history`` messages of each
channel are read, and the core marks those older than the source's ``backfill`` as baseline. The
first `fetch` waits (up to the context's timeout) until that catch-up is done, so the first poll
holds it whole. While a channel is being caught up, the live messages it gets do not move its id
(a crash then re-reads them; the store keeps each once).

**Failures.** A wrong or revoked token (HTTP 401 at login, or gateway close 4004) is an
`AuthError`, a Message Content intent that is not enabled (gateway close 4014) a `ConfigError`
with the steps to enable it; both are raised by `fetch`, so `sameday status` shows them, and they
stop nothing but this source. Discord being unreachable is a `TransientError` while the gateway
thread retries with backoff. A channel whose history could not be read (a 5xx, a reset, an
answer cut off or unreadable, a 429) keeps its id and is read again with backoff (after the
wait a 429 asked for); until then `fetch` raises a `TransientError` (``retry_after`` for a 429),
or adds a warning when it has records. The token never appears in a message.

Outside the daemon (`sameday poll`, `sameday check`), `fetch` starts the gateway itself, waits
for the catch-up, drains and stops it again.

Example::

    connector = DiscordConnector(
        DiscordSettings(token="…", guilds=["1234"], keywords=["danashop"]),
        ConnectorContext(source="discord", owner_identities=("123456789012345678",)),
    )
    print(connector.check())        # signed in as Sameday#0420; Message Content intent on; …
    result = connector.fetch(None)  # the newest messages of each channel, classified
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

import aiohttp
import discord
from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    ConnectorError,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PORTAL = "https://discord.com/developers/applications"
MESSAGE_CONTENT_HINT = (
    "the bot may not read message text: the Message Content intent is not enabled. Open "
    f"{PORTAL} → your app → Bot → Privileged Gateway Intents → enable Message Content Intent → "
    "Save Changes, then restart sameday (a bot in 100 or more servers also needs Discord's "
    "approval for it)"
)
TOKEN_HINT = (
    f"copy a new one from {PORTAL} → your app → Bot → Reset Token into the config (token:, "
    "usually $DISCORD_TOKEN)"
)
# View Channels + Read Message History: what watching needs (no Send Messages: the bot never
# posts in a server).
WATCH_PERMISSIONS = 1024 | 65536
GUILD_READY_TIMEOUT = 2.0  # discord.py's wait for the last GUILD_CREATE after READY; tests lower it
LOGIN_RETRY_FIRST = 5.0  # seconds; doubled after each failed attempt up to LOGIN_RETRY_CAP
LOGIN_RETRY_CAP = 300.0
HISTORY_RETRY_FIRST = 30.0  # a channel whose history could not be read is tried again after this
HISTORY_RETRY_CAP = 600.0  # … doubled after each failed try up to this
# A 429 asking for longer than this is raised (discord.RateLimited) instead of slept through
# inside discord.py; 30 s is the least discord.py allows.
RATELIMIT_WAIT_MAX = 30.0
_MAX_CHANNELS = 2000  # channels (and threads) kept in the cursor, most recently active first
_MAX_REMEMBERED = 5000  # recent message ids kept to drop a message heard twice (live + history)
_TEXTUAL = (discord.MessageType.default, discord.MessageType.reply)


def unauthorized(detail: str = "") -> AuthError:
    """The error for a token Discord refuses; never includes the token itself."""
    suffix = f" ({detail})" if detail else ""
    return AuthError(f"the bot token is wrong or was reset: {TOKEN_HINT}{suffix}")


def invite_url(application_id: int | None) -> str:
    """The link that adds the bot to a server with the permissions watching needs."""
    client = application_id if application_id is not None else "YOUR_APPLICATION_ID"
    return (
        "https://discord.com/oauth2/authorize?client_id="
        f"{client}&scope=bot+applications.commands&permissions={WATCH_PERMISSIONS}"
    )


def set_api_base(api_base: str | None) -> None:
    """Point discord.py's REST calls at `api_base` (a proxy, or a test server on 127.0.0.1).

    `discord.http.Route.BASE` is process-wide: every client in the process uses the last one
    set, so one process should talk to one Discord. None leaves it as it is.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")


def _snowflakes(value: Any) -> Any:
    # `guilds: [1234]` in YAML is a number; Discord ids are text everywhere else.
    if isinstance(value, str | int):
        value = [value]
    if isinstance(value, list):
        out = []
        for v in value:
            text = str(v).strip()
            if not text.isdigit():
                raise ValueError(
                    f"{v!r} is not a Discord id: enable Developer Mode (User Settings → Advanced) "
                    "and use Copy ID on the server, channel or role"
                )
            out.append(text)
        return out
    return value


class DiscordSettings(ConnectorSettings):
    """Settings of a ``type: discord`` source."""

    token: SecretStr  # the bot's token (Developer Portal → your app → Bot); never shown
    guilds: list[str] = Field(default_factory=list)  # server ids; empty: every server it is in
    channels: list[str] = Field(default_factory=list)  # channel ids; empty: every text channel
    keywords: list[str] = Field(default_factory=list)  # case-insensitive, anywhere in the text
    owner_roles: list[str] = Field(default_factory=list)  # a mention of these roles is for you
    history: int = Field(default=100, ge=1, le=1000)  # messages per channel read on first start
    api_base: str | None = None  # default: Discord's own REST API

    @field_validator("guilds", "channels", "owner_roles", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _snowflakes(value)

    @field_validator("token")
    @classmethod
    def _bare_token(cls, value: SecretStr) -> SecretStr:
        # "Bot xyz" is how the token travels in a header; discord.py adds the prefix itself.
        token = value.get_secret_value().strip()
        token = token[4:].strip() if token[:4].lower() == "bot " else token
        if not token:
            raise ValueError("the bot token is empty: copy it from the Developer Portal (Bot)")
        return SecretStr(token)

    @field_validator("keywords")
    @classmethod
    def _no_blank_keywords(cls, value: list[str]) -> list[str]:
        if any(not k.strip() for k in value):
            raise ValueError("a keyword is empty: it would match every message")
        return [k.strip() for k in value]


# ---------------------------------------------------------------------------------------------
# What the gateway hands its listeners


class GatewayListener(Protocol):
    """Something the shared client reports to, on its own loop thread (never blocking it)."""

    def on_connect(self) -> None:
        """A new gateway session began: events of the old one may have been lost."""

    async def on_ready(self, client: discord.Client) -> None:
        """The session's servers and channels are known (after every fresh session)."""

    def on_message(self, message: discord.Message) -> None:
        """A message was created somewhere the bot can see."""

    def on_failure(self, error: ConnectorError) -> None:
        """The gateway stopped for good (a refused token or intent) or is retrying."""


class InteractionHandler(Protocol):
    """The owner's bot: button presses and slash commands (`monitor.discordbot`)."""

    async def on_ready(self, client: discord.Client) -> None: ...

    async def on_interaction(self, interaction: discord.Interaction) -> None: ...


Connect = Callable[[discord.Client], Awaitable[None]]


async def connect_gateway(client: discord.Client) -> None:
    """The real gateway: discord.py's websocket loop, which reconnects and resumes by itself."""
    await client.connect(reconnect=True)


# discord.py warns at every client it makes that voice needs PyNaCl and davey; Sameday never
# speaks.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

# The coroutine that keeps a logged-in client connected. Tests replace it with a fake gateway
# that feeds recorded payloads to the client's parsers instead of opening a websocket.
GATEWAY_CONNECT: Connect = connect_gateway


class _Client(discord.Client):
    """discord.Client that forwards its events to the gateway that owns it."""

    def __init__(self, owner: DiscordGateway, **options: Any) -> None:
        super().__init__(**options)
        self._owner = owner

    async def on_connect(self) -> None:
        self._owner._on_connect()

    async def on_ready(self) -> None:
        await self._owner._on_ready(self)

    async def on_message(self, message: discord.Message) -> None:
        self._owner._on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._owner._on_interaction(interaction)


# ---------------------------------------------------------------------------------------------
# The shared client, one per token


class DiscordGateway:
    """One bot token's `discord.Client`, logged in and connected in a thread of its own.

    Made and shared by `acquire_gateway`. Listeners (`_Watch`es, one per source) and one
    interaction handler (the owner's bot) are called on the loop thread; other threads reach
    the client only through `call`, which runs a coroutine on the loop and waits for it.
    """

    def __init__(
        self,
        token: str,
        *,
        api_base: str | None = None,
        connect: Connect | None = None,
        guild_ready_timeout: float | None = None,
    ) -> None:
        self._token = token
        self.api_base = api_base
        self._connect = connect
        self._ready_timeout = guild_ready_timeout
        self.content = False  # request the Message Content intent (a source needs it)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: discord.Client | None = None
        self.failure: ConnectorError | None = None  # why watching does not work, if it does not
        self.users = 0  # acquire_gateway's count
        self._listeners: list[GatewayListener] = []
        self._handler: InteractionHandler | None = None
        self._changed = threading.Condition()
        self._logged_in = False
        self._ready = False
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._thread = threading.Thread(target=self._run, name="sameday-discord", daemon=True)

    # -- for other threads ------------------------------------------------------------------

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop_requested:
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Close the connection and end the thread; True if it ended within `timeout`."""
        with self._changed:
            self._stop_requested = True
            loop, stop = self.loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def add_listener(self, listener: GatewayListener) -> None:
        with self._changed:
            self._listeners.append(listener)
            client, ready, failure = self.client, self._ready, self.failure
        if failure is not None:
            listener.on_failure(failure)
        elif ready and client is not None:
            # Joining a session that is up already: catch up now, not at the next READY.
            self._soon(client, listener)

    def remove_listener(self, listener: GatewayListener) -> None:
        with self._changed:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def set_handler(self, handler: InteractionHandler | None) -> None:
        """The owner's bot that answers button presses and slash commands (one per token)."""
        with self._changed:
            if handler is not None and self._handler not in (None, handler):
                raise ValueError("two Discord alert channels use one bot token; keep one")
            self._handler = handler
            client, ready = self.client, self._ready
        if handler is not None and ready and client is not None:
            self._soon(client, handler)

    def wait_logged_in(self, timeout: float) -> discord.Client:
        """The logged-in client, waiting up to `timeout` s; raises the failure if there is one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                client = self.client
                if self._logged_in and client is not None and not client.is_closed():
                    return client
                if self.failure is not None:
                    # Refused, or unreachable and retrying in the background: the caller's
                    # own retry (the outbox's) is better than holding its thread here.
                    raise _again(self.failure)
                if self._stop_requested:
                    raise TransientError("the Discord connection is stopping")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransientError(f"not signed in to Discord after {timeout:g} s")
                self._changed.wait(min(left, 0.5))

    def call(self, make: Callable[[discord.Client], Awaitable[T]], timeout: float) -> T:
        """Run ``make(client)`` on the gateway's loop and return its result (any thread but
        the loop's own). Raises the login failure, TimeoutError, or what the coroutine raised."""
        client = self.wait_logged_in(timeout)
        loop = self.loop
        assert loop is not None
        future = asyncio.run_coroutine_threadsafe(_awaited(make(client)), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"Discord did not answer within {timeout:g} s") from None
        except discord.RateLimited as exc:  # not an HTTPException: callers know ConnectorError
            raise _rate_limited(exc.retry_after) from None

    # -- the loop thread ----------------------------------------------------------------------

    def _soon(self, client: discord.Client, listener: GatewayListener | InteractionHandler) -> None:
        """Run ``listener.on_ready(client)`` on the loop (from any thread)."""
        loop = self.loop
        if loop is None:
            return

        def begin() -> None:
            spawn(self._guarded(listener.on_ready(client), "catching up"))

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(begin)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop))
        except Exception:  # a bug: say so, and let the listeners know watching stopped
            log.exception("the Discord client thread crashed")
            self._fail(TransientError("the Discord connection crashed; restart sameday"))
        finally:
            # discord.py leaves tasks behind (its wait for late servers, our catch-ups): end
            # them here, or closing the loop complains about each.
            with contextlib.suppress(Exception):
                left = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            with self._changed:
                self._logged_in = False
                self.loop = None
                self._changed.notify_all()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        stop = asyncio.Event()
        with self._changed:
            self.loop, self._stop = loop, stop
            if self._stop_requested:
                return
        set_api_base(self.api_base)
        delay = LOGIN_RETRY_FIRST
        while not stop.is_set():
            retry = await self._session(stop)
            if not retry:
                break
            # Discord unreachable or the gateway dropped us: back off, then a fresh client.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, LOGIN_RETRY_CAP)

    async def _session(self, stop: asyncio.Event) -> bool:
        """Log in and stay connected until `stop`; True when worth trying again later."""
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = self.content
        options: dict[str, Any] = {
            "intents": intents,
            # Every message the bot sends is inert: no @everyone, no role or user pings.
            "allowed_mentions": discord.AllowedMentions.none(),
            "guild_ready_timeout": (
                GUILD_READY_TIMEOUT if self._ready_timeout is None else self._ready_timeout
            ),
            "chunk_guilds_at_startup": False,
            # A long 429 becomes discord.RateLimited: the catch-up retries after the wait Discord
            # asked for, and `fetch` reports it, instead of the loop sleeping minutes in a read.
            "max_ratelimit_timeout": RATELIMIT_WAIT_MAX,
        }
        client = _Client(self, **options)
        async with client:
            try:
                await client.login(self._token)
            except discord.LoginFailure:
                self._fail(unauthorized())
                await stop.wait()
                return False
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                self._fail(TransientError(f"cannot reach Discord to sign in: {_describe(exc)}"))
                return True
            with self._changed:
                self.client, self._logged_in, self.failure = client, True, None
                self._changed.notify_all()
            log.info("signed in to Discord as %s", client.user)
            connect = self._connect or GATEWAY_CONNECT
            gateway = asyncio.ensure_future(connect(client))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({gateway, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                gateway.cancel()
                with contextlib.suppress(BaseException):
                    await gateway
                return False
            stopping.cancel()
            error, retry = _gateway_error(gateway)
            self._fail(error)
            if retry:
                return True
            # The refusal stands until the owner changes something; REST may still work (the
            # owner's DMs), so the client stays signed in until the daemon stops.
            await stop.wait()
            return False

    def _fail(self, error: ConnectorError) -> None:
        log.warning("Discord: %s", error)
        with self._changed:
            self.failure = error
            self._ready = False
            listeners = list(self._listeners)
            self._changed.notify_all()
        for listener in listeners:
            listener.on_failure(error)

    def _on_connect(self) -> None:
        with self._changed:
            self._ready = False
            listeners = list(self._listeners)
        for listener in listeners:
            listener.on_connect()

    async def _on_ready(self, client: discord.Client) -> None:
        with self._changed:
            self._ready = True
            self.failure = None
            listeners: list[GatewayListener | InteractionHandler] = list(self._listeners)
            if self._handler is not None:
                listeners.append(self._handler)
        log.info("Discord gateway ready: %d servers", len(client.guilds))
        for listener in listeners:
            spawn(self._guarded(listener.on_ready(client), "catching up"))

    def _on_message(self, message: discord.Message) -> None:
        with self._changed:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener.on_message(message)
            except Exception:  # one bad message must not stop the others being heard
                log.exception("Discord: could not handle message %s", message.id)

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        handler = self._handler
        if handler is not None:
            await self._guarded(handler.on_interaction(interaction), "an interaction")

    @staticmethod
    async def _guarded(step: Awaitable[None], what: str) -> None:
        try:
            await step
        except Exception:
            log.exception("Discord: %s failed", what)


_background: set[asyncio.Task[None]] = set()


def spawn(step: Coroutine[Any, Any, None]) -> None:
    """Run `step` as a task of the running loop, kept referenced until it ends (an unreferenced
    task may be garbage-collected half way)."""
    task = asyncio.get_running_loop().create_task(step)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _awaited(step: Awaitable[T]) -> T:
    return await step


def _describe(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"{exc.status} {exc.text or exc.response.reason}".strip()
    return str(exc) or type(exc).__name__


def _rate_limited(retry_after: float | None, what: str = "") -> TransientError:
    wait = f"; try again in {retry_after:.0f} s" if retry_after is not None else ""
    return TransientError(f"Discord is rate limiting{what}{wait}", retry_after=retry_after)


def _retry_after(exc: BaseException) -> float | None:
    """The wait a 429 asks for (discord.RateLimited, or an HTTPException with Retry-After)."""
    if isinstance(exc, discord.RateLimited):
        return float(exc.retry_after)
    if isinstance(exc, discord.HTTPException) and exc.status == 429:
        headers = getattr(exc.response, "headers", None) or {}
        with contextlib.suppress(TypeError, ValueError):
            return max(float(headers.get("Retry-After") or ""), 0.0)
        return None
    return None


def _one_line(text: str, secret: str, most: int = 200) -> str:
    """`text` shown to the owner: on one line, short, and never with the token in it."""
    if secret:
        text = text.replace(secret, "[token]")
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _history_problem(exc: BaseException) -> str:
    """Why reading a channel's history failed, in words (no traceback, no body dump)."""
    if isinstance(exc, discord.HTTPException):
        detail = exc.text if exc.text and not exc.text.lstrip().startswith("<") else ""
        reason = detail or getattr(exc.response, "reason", "") or ""
        return f"Discord answered {exc.status} {reason}".strip()
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "Discord's answer was cut off"
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return f"cannot reach Discord ({str(exc) or type(exc).__name__})"
    # JSONDecodeError, UnicodeDecodeError, a KeyError from an unexpected shape, …
    return f"Discord sent an answer that could not be read ({type(exc).__name__})"


def _gateway_error(task: asyncio.Future[None]) -> tuple[ConnectorError, bool]:
    """Why the gateway coroutine ended, and whether trying again later could help."""
    exc = task.exception() if not task.cancelled() else None
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ConfigError(MESSAGE_CONTENT_HINT), False
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4014:
            return ConfigError(MESSAGE_CONTENT_HINT), False
        if exc.code == 4004:
            return unauthorized("the gateway refused it"), False
        if exc.code in (4010, 4011, 4012, 4013):
            refused = f"Discord refused the gateway settings (close code {exc.code})"
            return ConfigError(refused), False
        return TransientError(f"Discord closed the gateway (code {exc.code}); reconnecting"), True
    if exc is None:
        return TransientError("the Discord gateway connection ended; reconnecting"), True
    return TransientError(f"lost the Discord gateway: {_describe(exc)}; reconnecting"), True


_gateways: dict[tuple[str, str | None], DiscordGateway] = {}
_gateways_lock = threading.Lock()


def acquire_gateway(
    token: str, api_base: str | None = None, *, content: bool = False
) -> DiscordGateway:
    """The running gateway of `token` in this process, started on first use.

    `content`: a source needs the Message Content intent. The intents are fixed when the
    gateway connects, so the daemon starts its sources before its alert channels. Each call
    must be paired with `release_gateway`.
    """
    key = (token, api_base)
    with _gateways_lock:
        gateway = _gateways.get(key)
        if gateway is None or (gateway._stop_requested and gateway.users == 0):
            gateway = _gateways[key] = DiscordGateway(token, api_base=api_base)
        gateway.users += 1
        gateway.content = gateway.content or content
    gateway.start()
    return gateway


def release_gateway(gateway: DiscordGateway, timeout: float = 5.0) -> None:
    """Drop one use of `gateway`; the last one stops it."""
    with _gateways_lock:
        gateway.users = max(gateway.users - 1, 0)
        last = gateway.users == 0
        if last:
            for key, known in list(_gateways.items()):
                if known is gateway:
                    del _gateways[key]
    if last:
        gateway.stop(timeout)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every gateway of this process (tests, and a last resort at exit)."""
    with _gateways_lock:
        running = list(_gateways.values())
        _gateways.clear()
        for gateway in running:
            gateway.users = 0
    for gateway in running:
        gateway.stop(timeout)


def running_gateways() -> list[DiscordGateway]:
    with _gateways_lock:
        return list(_gateways.values())


# ---------------------------------------------------------------------------------------------
# One source's view of the gateway


@dataclass(frozen=True, slots=True)
class _Rules:
    """What makes a message an item, and whose messages are the owner's."""

    owner_ids: frozenset[int]
    owner_names: frozenset[str]  # identities that are not ids: matched to user names
    owner_roles: frozenset[int]
    keywords: tuple[str, ...]  # casefolded
    guilds: frozenset[int]
    channels: frozenset[int]

    @classmethod
    def of(cls, settings: DiscordSettings, context: ConnectorContext) -> _Rules:
        ids = {int(i) for i in context.owner_identities if i.strip().isdigit()}
        names = {i.strip().casefold() for i in context.owner_identities if not i.strip().isdigit()}
        return cls(
            owner_ids=frozenset(ids),
            owner_names=frozenset(names),
            owner_roles=frozenset(int(r) for r in settings.owner_roles),
            keywords=tuple(k.casefold() for k in settings.keywords),
            guilds=frozenset(int(g) for g in settings.guilds),
            channels=frozenset(int(c) for c in settings.channels),
        )

    def is_owner(self, user: discord.abc.User) -> bool:
        return user.id in self.owner_ids or (
            bool(self.owner_names) and user.name.casefold() in self.owner_names
        )

    def watches(self, guild_id: int | None, channel: Any) -> bool:
        """Whether messages in `channel` (of server `guild_id`) belong to this source."""
        if guild_id is None:
            return False  # direct messages are the owner's bot's, never a watched place
        if self.guilds and guild_id not in self.guilds:
            return False
        if not self.channels:
            return True
        parent = getattr(channel, "parent_id", None)  # a thread counts as its channel
        return channel.id in self.channels or (parent is not None and parent in self.channels)


def message_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def _message_text(message: discord.Message) -> str:
    # clean_content shows mentions as the client does (@Dana, #general) and makes @everyone
    # inert; markup is left as written: each alert channel escapes it for its own display.
    lines = [message.clean_content.strip()]
    lines += [f"[attachment: {a.filename}]" for a in message.attachments]
    lines += [f"[sticker: {s.name}]" for s in message.stickers]
    return "\n".join(line for line in lines if line) or "(no text)"


class _Watch:
    """One source's share of a gateway: turns messages into records and buffers them.

    The loop thread fills it (`on_message`, `on_ready`'s catch-up); the poll thread drains it
    (`drain`). Everything both touch is under `_lock`.
    """

    def __init__(
        self,
        settings: DiscordSettings,
        context: ConnectorContext,
        wake: Callable[[], None],
    ) -> None:
        self.source = context.source
        self.settings = settings
        self.rules = _Rules.of(settings, context)
        self.wake = wake
        self._lock = threading.Lock()
        self._pending: list[Record] = []
        # Problems that last (a channel the bot may not read), by channel: shown at every
        # poll until that channel is read.
        self._warnings: dict[int, str] = {}
        self._seen: dict[int, int] = {}  # channel id → last message id handed out or passed
        self._held: dict[int, int] = {}  # live ids of channels still being caught up
        self._catching_up: set[int] = set()
        self._started = False  # a catch-up has begun in this session
        self._resumed = False  # the cursor is known
        self._had_cursor = False
        self._ready_client: discord.Client | None = None
        self._caught_up = threading.Event()  # the first catch-up finished
        self._settled = threading.Event()  # caught up, or the gateway failed
        self.failure: ConnectorError | None = None
        # Why the last catch-up could not read some channel's history (a 5xx, a reset, an
        # answer cut off or unreadable, a 429): shown at every fetch until a retry reads it.
        self._history_failure: TransientError | None = None
        self._history_retry_at: float | None = None  # time.monotonic() of the planned retry
        # Loop thread only:
        self._history_tries = 0  # failed catch-ups in a row: the retry backs off
        self._session = 0  # counts on_ready: a retry of an older session reports nothing
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._owner_messages: OrderedDict[int, None] = OrderedDict()
        self._bot_id: int | None = None
        self._retry: asyncio.TimerHandle | None = None

    # -- poll thread ----------------------------------------------------------------------------

    def resume(self, cursor: dict[str, Any] | None, gateway: DiscordGateway) -> None:
        """Take the stored cursor (first fetch only): where each channel's catch-up starts."""
        with self._lock:
            if self._resumed:
                return
            self._resumed = True
            self._had_cursor = cursor is not None
            for channel, last in ((cursor or {}).get("channels") or {}).items():
                with contextlib.suppress(TypeError, ValueError):
                    self._seen[int(channel)] = max(int(last), self._seen.get(int(channel), 0))
            client = self._ready_client
        if client is not None:
            gateway._soon(client, self)  # the session was ready first: catch up now

    def wait_settled(self, timeout: float) -> bool:
        return self._settled.wait(timeout)

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def drain(self) -> tuple[list[Record], dict[str, Any], list[str]]:
        """The records heard since the last drain, the cursor that covers them, and warnings."""
        with self._lock:
            records, self._pending = self._pending, []
            warnings = list(self._warnings.values())
            kept = sorted(self._seen.items(), key=lambda kv: kv[1], reverse=True)[:_MAX_CHANNELS]
        cursor = {"channels": {str(c): str(m) for c, m in sorted(kept)}}
        return records, cursor, warnings

    def history_failure(self) -> TransientError | None:
        """A fresh error saying why some channel's history is not read yet (None: all read);
        a 429's retry_after is the time left until the planned retry."""
        with self._lock:
            problem, retry_at = self._history_failure, self._history_retry_at
        if problem is None:
            return None
        wait = problem.retry_after
        if wait is not None and retry_at is not None:
            wait = max(retry_at - time.monotonic(), 0.0)
        return TransientError(str(problem), retry_after=wait)

    # -- loop thread ----------------------------------------------------------------------------

    def on_connect(self) -> None:
        # A new session: until its catch-up begins, no live message may move a channel's id
        # past messages the catch-up has yet to read.
        with self._lock:
            self._started = False
            self.failure = None
            if not self._caught_up.is_set():
                self._settled.clear()  # a first fetch waits for this session's catch-up

    def on_failure(self, error: ConnectorError) -> None:
        with self._lock:
            self.failure = error
        self._settled.set()
        self.wake()

    async def on_ready(self, client: discord.Client) -> None:
        self.cancel_retry()  # a new session catches every channel up anyway
        self._session += 1
        with self._lock:
            self.failure = None
            if not self._resumed:
                self._ready_client = client  # `resume` starts the catch-up
                return
            self._ready_client = None
        if client.user is not None:
            self._bot_id = client.user.id
        channels = self._watched_channels(client)
        with self._lock:
            self._started = True
            self._catching_up = {c.id for c in channels}
            # Live messages of channels that are not being caught up count at once.
            for channel_id, last in list(self._held.items()):
                if channel_id not in self._catching_up:
                    self._seen[channel_id] = max(self._seen.get(channel_id, 0), last)
                    del self._held[channel_id]
            newest = max(self._seen.values(), default=0)
        await self._catch_up(channels, newest or None, first=not self._had_cursor, session=None)

    def _watched_channels(self, client: discord.Client) -> list[Any]:
        found = []
        for guild in client.guilds:
            for channel in [*guild.text_channels, *guild.threads]:
                if self.rules.watches(guild.id, channel):
                    found.append(channel)
        return found

    async def _catch_up(
        self, channels: list[Any], newest: int | None, *, first: bool, session: int | None
    ) -> None:
        """Read each channel's history after its id; `session`: None for a session's own
        catch-up, else the session a retry was planned in."""
        session = self._session if session is None else session
        failed: list[Any] = []
        problem: TransientError | None = None
        for index, channel in enumerate(channels):
            with self._lock:
                after = self._seen.get(channel.id) or (None if first else newest)
            try:
                await self._read_history(channel, after)
                with self._lock:
                    self._warnings.pop(channel.id, None)
            except (discord.Forbidden, discord.NotFound) as exc:
                self._warn(
                    channel.id,
                    f"cannot read the history of #{channel.name} ({channel.id}): "
                    f"{_describe(exc)}; give the bot View Channel and Read Message History there",
                )
            except Exception as exc:  # anything else: the channel is read again later
                # The channel stays "catching up": its id moves past what was read, no further.
                failed.append(channel)
                wait = _retry_after(exc)
                token = self.settings.token.get_secret_value()
                reason = _one_line(_history_problem(exc), token)
                log.warning(
                    "[%s] reading #%s failed: %s", self.source, channel.name, reason,
                    exc_info=not isinstance(
                        exc, discord.HTTPException | discord.RateLimited | aiohttp.ClientError
                        | OSError | TimeoutError
                    ),
                )  # fmt: skip
                if problem is None or (wait or 0) > (problem.retry_after or 0):
                    text = f"could not read the history of #{channel.name}: {reason}"
                    if wait is not None:
                        problem = _rate_limited(wait, f" the history reads of #{channel.name}")
                    else:
                        problem = TransientError(f"{text}; it is read again shortly")
                if wait is not None:
                    failed.extend(channels[index + 1 :])  # rate limited: the rest waits too
                    break
                continue
            self._done_with(channel.id)
        if session != self._session:
            return  # a new session began meanwhile: its own catch-up reads every channel
        with self._lock:
            # From now on a channel without an id (a new one) starts after the newest message
            # seen: its old history would otherwise come in as new items.
            self._had_cursor = True
            self._history_failure = problem
            self._history_retry_at = None
        if failed:
            # The failed channels stay "catching up" (their ids do not move) until read; a
            # fetch meanwhile reports the failure. Tried again with backoff, or after the
            # wait a 429 asked for.
            delay = min(HISTORY_RETRY_FIRST * 2**self._history_tries, HISTORY_RETRY_CAP)
            if problem is not None and problem.retry_after is not None:
                delay = max(delay, problem.retry_after)
            self._history_tries += 1
            with self._lock:
                self._history_retry_at = time.monotonic() + delay
            loop = asyncio.get_running_loop()

            def again() -> None:
                self._retry = None
                retry = self._catch_up(failed, newest, first=first, session=session)
                spawn(DiscordGateway._guarded(retry, "catching up again"))

            self.cancel_retry()
            self._retry = loop.call_later(delay, again)
        else:
            self._history_tries = 0
        self._caught_up.set()
        self._settled.set()
        self.wake()

    async def _read_history(self, channel: Any, after: int | None) -> None:
        if after is None:
            newest_first = [m async for m in channel.history(limit=self.settings.history)]
            for message in reversed(newest_first):
                self._take(message, live=False)
            return
        async for message in channel.history(
            limit=None, after=discord.Object(id=after), oldest_first=True
        ):
            self._take(message, live=False)

    def _done_with(self, channel_id: int) -> None:
        with self._lock:
            self._done_with_locked(channel_id)

    def _done_with_locked(self, channel_id: int) -> None:
        self._catching_up.discard(channel_id)
        held = self._held.pop(channel_id, None)
        if held is not None:
            self._seen[channel_id] = max(self._seen.get(channel_id, 0), held)

    def _warn(self, channel_id: int, text: str) -> None:
        log.warning("[%s] %s", self.source, text)
        with self._lock:
            self._warnings[channel_id] = text

    def on_message(self, message: discord.Message) -> None:
        if self._take(message, live=True):
            self.wake()

    def _take(self, message: discord.Message, *, live: bool) -> bool:
        """Classify one message and note its channel's progress; True if it made a record."""
        if message.id in self._recent:
            return False  # heard live and read again from the history
        self._recent[message.id] = None
        if len(self._recent) > _MAX_REMEMBERED:
            self._recent.popitem(last=False)
        guild_id = message.guild.id if message.guild is not None else None
        if not self.rules.watches(guild_id, message.channel):
            return False
        record = self.record(message)
        channel_id = message.channel.id
        with self._lock:
            if live and (not self._started or channel_id in self._catching_up):
                self._held[channel_id] = max(self._held.get(channel_id, 0), message.id)
            else:
                self._seen[channel_id] = max(self._seen.get(channel_id, 0), message.id)
            if record is not None:
                self._pending.append(record)
        return record is not None

    def record(self, message: discord.Message) -> Record | None:
        """The record a message of a watched channel makes, if any (loop thread)."""
        author = message.author
        if message.type not in _TEXTUAL or message.webhook_id is not None:
            return None  # joins, pins, boosts, webhook relays: nothing anyone answers
        if author.bot or (self._bot_id is not None and author.id == self._bot_id):
            return None
        assert message.guild is not None  # `watches` let no direct message through
        rules = self.rules
        reference = message.reference
        replied_to = None
        if message.type is discord.MessageType.reply and reference is not None:
            replied_to = reference.message_id
        if rules.is_owner(author):
            self._remember_owner(message.id)
            owner, kind = True, ("reply" if replied_to is not None else "message")
        else:
            owner, why = False, self._why(message, replied_to)
            if why is None:
                return None
            kind = why
        return Record(
            external_id=str(message.id),
            thread_id=str(message.channel.id),
            parent_id=None if replied_to is None else str(replied_to),
            author=author.display_name,
            is_owner=owner,
            text=_message_text(message),
            url=message_url(message.guild.id, message.channel.id, message.id),
            created_at=message.created_at,
            kind=kind,
        )

    def _why(self, message: discord.Message, replied_to: int | None) -> str | None:
        """Why a customer's message needs the owner: "reply", "mention", "message" or None."""
        rules = self.rules
        if replied_to is not None:
            resolved = message.reference.resolved if message.reference else None
            if isinstance(resolved, discord.Message):
                if rules.is_owner(resolved.author):
                    return "reply"
            elif replied_to in self._owner_messages:
                return "reply"
        mentioned = {u.id for u in message.mentions} | set(message.raw_mentions)
        if mentioned & rules.owner_ids or any(rules.is_owner(u) for u in message.mentions):
            return "mention"
        if rules.owner_roles & set(message.raw_role_mentions):
            return "mention"
        text = message.content.casefold()
        if any(keyword in text for keyword in rules.keywords):
            return "message"
        return None

    def _remember_owner(self, message_id: int) -> None:
        self._owner_messages[message_id] = None
        if len(self._owner_messages) > _MAX_REMEMBERED:
            self._owner_messages.popitem(last=False)

    def stop(self) -> None:
        """No more listening (any thread): a fetch waiting for the catch-up gives up now."""
        with self._lock:
            if not self._caught_up.is_set():
                self.failure = TransientError("stopped listening to Discord before catching up")
        self._settled.set()

    def cancel_retry(self) -> None:
        """Drop a planned history retry (loop thread)."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None


# ---------------------------------------------------------------------------------------------
# The connector


class DiscordConnector:
    """Watches Discord servers through the process's shared gateway for one bot token."""

    type: ClassVar[str] = "discord"
    Settings: ClassVar[builtins.type[BaseModel]] = DiscordSettings  # `type` is taken just above

    def __init__(self, settings: DiscordSettings, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._gateway: DiscordGateway | None = None
        self._watch: _Watch | None = None
        self._lock = threading.Lock()

    # -- the daemon's hooks ---------------------------------------------------------------------

    def listen(self, wake: Callable[[], None]) -> None:
        """Start hearing messages (the shared gateway, started if needed); `wake` is called,
        from another thread, whenever records are waiting for `fetch`. Never blocks."""
        with self._lock:
            if self._watch is not None:
                return
            token = self.settings.token.get_secret_value()
            gateway = acquire_gateway(token, self.settings.api_base, content=True)
            watch = _Watch(self.settings, self.context, wake)
            self._gateway, self._watch = gateway, watch
        gateway.add_listener(watch)

    def stop_listening(self, timeout: float = 5.0) -> None:
        """Stop hearing messages; what was heard and not fetched is read again from the
        history at the next start, since the cursor never covered it."""
        with self._lock:
            gateway, watch = self._gateway, self._watch
            self._gateway = self._watch = None
        if gateway is None or watch is None:
            return
        gateway.remove_listener(watch)
        watch.stop()
        loop = gateway.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(watch.cancel_retry)
        release_gateway(gateway, timeout)

    # -- fetching -------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Records heard since the last fetch, and the cursor that covers them.

        Not listening (a one-off `sameday poll` or `check`): connects, catches up from
        `cursor`, and disconnects. Raises AuthError (a refused token), ConfigError (the
        Message Content intent is off) or TransientError (Discord unreachable, or still
        catching up after the context's timeout).
        """
        if self._watch is None:
            self.listen(lambda: None)
            try:
                return self._drain(cursor)
            finally:
                self.stop_listening()
        return self._drain(cursor)

    def _drain(self, cursor: dict[str, Any] | None) -> FetchResult:
        watch, gateway = self._watch, self._gateway
        assert watch is not None and gateway is not None
        watch.resume(cursor, gateway)
        if not watch.caught_up:
            # The first poll waits for the catch-up, so it holds the whole backlog (and the
            # core can tell the old messages, baseline, from the new).
            watch.wait_settled(self.context.timeout)
            if not watch.caught_up:
                failure = watch.failure or gateway.failure
                if failure is not None:
                    raise _again(failure)
                raise TransientError(
                    f"still connecting to Discord or reading channel history after "
                    f"{self.context.timeout:g} s; the next poll goes on from there"
                )
        records, new_cursor, warnings = watch.drain()
        failure = watch.failure
        if failure is not None and not records:
            raise _again(failure)
        history = watch.history_failure()
        if history is not None:
            # Some channel's history could not be read: its id has not moved, and it is read
            # again with backoff. Said as an error when nothing came, else as a warning.
            if not records:
                raise history
            warnings.append(str(history))
        # Nothing heard since the stored cursor: only the source's health is written.
        unchanged = not records and new_cursor == cursor
        return FetchResult(
            records=records, cursor=new_cursor, warnings=warnings, not_modified=unchanged
        )

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> str:
        """Sign in over REST and read the application's settings; nothing is stored.

        Returns e.g. "signed in as Sameday#0420; Message Content intent on; watching 1 of 2
        servers (Dana's Shop)". Raises AuthError (a wrong or reset token), ConfigError (the
        Message Content intent is off, the bot is not in a configured server) or
        TransientError (Discord unreachable).
        """
        try:
            return asyncio.run(asyncio.wait_for(self._check(), self.context.timeout))
        except TimeoutError:
            raise TransientError(
                f"Discord did not answer within {self.context.timeout:g} s"
            ) from None

    async def _check(self) -> str:
        set_api_base(self.settings.api_base)
        async with discord.Client(intents=discord.Intents(guilds=True)) as client:
            try:
                await client.login(self.settings.token.get_secret_value())
                guilds = [g async for g in client.fetch_guilds(limit=None)]
            except discord.LoginFailure:
                raise unauthorized() from None
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                raise TransientError(f"cannot reach Discord: {_describe(exc)}") from None
            flags = client.application_flags
            if not (flags.gateway_message_content or flags.gateway_message_content_limited):
                raise ConfigError(MESSAGE_CONTENT_HINT)
            ids = {g.id: g.name for g in guilds}
            missing = [g for g in self.settings.guilds if int(g) not in ids]
            if missing:
                raise ConfigError(
                    f"the bot is not in server(s) {', '.join(missing)}: add it with "
                    f"{invite_url(client.application_id)} (or fix sources[].guilds)"
                )
            watched = [ids[int(g)] for g in self.settings.guilds] or list(ids.values())
            if not watched:
                raise ConfigError(
                    f"the bot is in no server yet: add it with {invite_url(client.application_id)}"
                )
            scope = (
                f"{len(watched)} of {len(ids)} servers" if self.settings.guilds else
                f"all {len(ids)} servers"
            )  # fmt: skip
            owner = (
                "" if any(i.isdigit() for i in self.context.owner_identities) else
                "; no owner user id set (owner.identities.discord): mentions of you and your "
                "replies cannot be recognised"
            )  # fmt: skip
            return (
                f"signed in as {client.user}; Message Content intent on; watching {scope} "
                f"({', '.join(_trimmed(watched))}){owner}"
            )


def _trimmed(names: Iterable[str], most: int = 5) -> list[str]:
    names = list(names)
    return names[:most] + ([f"… {len(names) - most} more"] if len(names) > most else [])


def _again(error: ConnectorError) -> ConnectorError:
    """A fresh exception of the same kind: one instance raised from many polls would keep
    growing its traceback."""
    return type(error)(str(error))
