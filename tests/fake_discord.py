"""A fake Discord for the tests: its REST API on 127.0.0.1, and a gateway without a websocket.

`FakeDiscord` answers the REST routes discord.py uses (sign-in, application info, servers,
channel history, sending and editing messages, DMs, interaction callbacks, slash command
registration), always with ``Content-Type: application/json`` exactly (discord.py parses
nothing else), and records every request. discord.py is pointed at it through the source's
``api_base`` (which sets `discord.http.Route.BASE`).

The gateway is `connectors.discord_chat.GATEWAY_CONNECT`, replaced here by `FakeDiscord.connect`:
instead of opening a websocket it feeds READY and GUILD_CREATE payloads to the client's own
parsers (``client._connection.parsers``), exactly where discord.py's websocket would, and then
waits. `FakeDiscord.dispatch` injects further gateway events (MESSAGE_CREATE, INTERACTION_CREATE)
the same way; `FakeDiscord.close_gateway(4014)` ends the session as Discord would.

Payloads are built from the real recorded ones in ``../shared/realdata`` (serenity's READY and
MESSAGE_CREATE, Remora's full MESSAGE_CREATE envelope for replies), read in place.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from connectors import discord_chat
from tests.conftest import REALDATA
from tests.localserver import LocalServer

TOKEN = "fake-bot-token.abc.123456"
BOT_ID = 272502210401665025  # the bot of serenity's READY ("Ein")
APP_ID = 272502210401665025
OWNER_ID = 114941315417899012  # zeyla, the author of serenity's MESSAGE_CREATE
CUSTOMER_ID = 100000000000000001
STRANGER_ID = 100000000000000002
GUILD_ID = 244567637332328449  # the guild of serenity's READY
GENERAL = 244567637332328449  # serenity's channel: its #general shares the guild's id
ORDERS = 300000000000000001
THREAD = 300000000000000002  # a thread under #orders
OFFTOPIC = 300000000000000003  # in the server, not watched when `channels` is set
STAFF_ROLE = 400000000000000001
DM_CHANNEL = 284553953918582785  # serenity's READY private channel with zeyla
CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT (+ _LIMITED)

API_PATH = "/api/v10"
RECORDED = (
    "serenity/ready_1.json",
    "serenity/message_create_1.json",
    "remora-discord/MESSAGE_CREATE.json",
)


def realdata(relative: str) -> Any:
    """A recorded payload from ../shared/realdata, read in place; skips when it is absent."""
    path = REALDATA / relative
    if not path.is_file():
        pytest.skip(f"recorded Discord payloads not found at {path} (../shared/realdata)")
    return json.loads(path.read_text(encoding="utf-8"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_sequence = itertools.count(1)


def snowflake(at: datetime) -> int:
    """A unique Discord id for a moment: the real layout (ms since 2015 << 22), a counter below."""
    return discord.utils.time_snowflake(at) + next(_sequence) % (1 << 22)


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


USERS = {
    OWNER_ID: user(OWNER_ID, "zeyla"),
    CUSTOMER_ID: user(CUSTOMER_ID, "ann"),
    STRANGER_ID: user(STRANGER_ID, "mallory"),
}


def message(
    content: str,
    *,
    at: datetime,
    author: int = CUSTOMER_ID,
    channel: int = GENERAL,
    guild: int | None = GUILD_ID,
    mentions: tuple[int, ...] = (),
    roles: tuple[int, ...] = (),
    reply_to: dict[str, Any] | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A MESSAGE_CREATE ``d`` payload: serenity's recorded one, with this message's values.

    `reply_to` (another payload) makes it a reply, shaped as in Remora's full envelope:
    ``type`` 19, ``message_reference`` and ``referenced_message``.
    """
    data = copy.deepcopy(realdata("serenity/message_create_1.json"))
    data.update(
        id=str(message_id or snowflake(at)),
        channel_id=str(channel),
        content=content,
        timestamp=iso(at),
        author=USERS.get(author) or user(author, f"user{author}"),
        mentions=[USERS.get(m) or user(m, f"user{m}") for m in mentions],
        mention_roles=[str(r) for r in roles],
        nonce=None,
    )
    if guild is not None:
        data["guild_id"] = str(guild)
        data["member"] = {
            "roles": [], "joined_at": iso(at), "deaf": False, "mute": False, "flags": 0,
        }  # fmt: skip
    if reply_to is not None:
        envelope = realdata("remora-discord/MESSAGE_CREATE.json")["d"]
        assert "message_reference" in envelope and "referenced_message" in envelope
        data["type"] = 19  # REPLY
        data["message_reference"] = {
            "message_id": reply_to["id"],
            "channel_id": reply_to["channel_id"],
            "guild_id": reply_to.get("guild_id"),
        }
        data["referenced_message"] = copy.deepcopy(reply_to)
    return data


def ready(guilds: tuple[int, ...] = (GUILD_ID,)) -> dict[str, Any]:
    """serenity's recorded READY (v6), brought to v10: our servers, and the application."""
    data = copy.deepcopy(realdata("serenity/ready_1.json"))
    data.update(
        v=10,
        guilds=[{"id": str(g), "unavailable": True} for g in guilds],
        application={"id": str(APP_ID), "flags": CONTENT_FLAGS},
        resume_gateway_url="wss://gateway.invalid",
        shard=[0, 1],
    )
    data.pop("user_settings", None)
    data.pop("relationships", None)
    return data


def _channel(channel_id: int, name: str, *, kind: int = 0, parent: int | None = None) -> dict:
    data: dict[str, Any] = {
        "id": str(channel_id),
        "type": kind,
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "guild_id": str(GUILD_ID),
    }
    if parent is not None:
        data.update(
            parent_id=str(parent),
            owner_id=str(CUSTOMER_ID),
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-03-01T00:00:00+00:00",
                "locked": False,
            },
            message_count=1,
            member_count=2,
        )
    return data


def guild_create(guild_id: int = GUILD_ID) -> dict[str, Any]:
    """A GUILD_CREATE: #general, #orders with a thread, #off-topic, a Staff role, the bot."""
    # Discord records no public GUILD_CREATE sample that fits; this follows its documented shape.
    role = {"color": 0, "hoist": False, "managed": False, "mentionable": True, "position": 0}
    return {
        "id": str(guild_id),
        "name": "Dana's Shop",
        "icon": None,
        "owner_id": str(OWNER_ID),
        "unavailable": False,
        "large": False,
        "member_count": 3,
        "features": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "joined_at": "2026-01-01T00:00:00+00:00",
        "roles": [
            {**role, "id": str(guild_id), "name": "@everyone", "permissions": "68608"},
            {**role, "id": str(STAFF_ROLE), "name": "Staff", "permissions": "0", "position": 1},
        ],
        "channels": [
            _channel(GENERAL, "general"),
            _channel(ORDERS, "orders"),
            _channel(OFFTOPIC, "off-topic"),
        ],
        "threads": [_channel(THREAD, "order-42", kind=11, parent=ORDERS)],
        "members": [
            {
                "user": user(BOT_ID, "ein", bot=True),
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        ],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    }


def interaction(
    data: dict[str, Any],
    *,
    kind: int,
    by: int = OWNER_ID,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE ``d`` payload in the bot's DM channel (documented shape)."""
    interaction_id = snowflake(datetime.now(UTC))
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken-{interaction_id}",
        "version": 1,
        "data": data,
        "channel_id": str(DM_CHANNEL),
        "channel": {"id": str(DM_CHANNEL), "type": 1, "recipients": [USERS[OWNER_ID]]},
        "user": USERS.get(by) or user(by, f"user{by}"),
        "locale": "en-US",
        "app_permissions": "0",
        "attachment_size_limit": 26214400,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(by)},
        "context": 1,
    }
    if message is not None:
        payload["message"] = message
    return payload


def button_press(custom_id: str, message: dict[str, Any], *, by: int = OWNER_ID) -> dict:
    data = {"custom_id": custom_id, "component_type": 2}
    return interaction(data, kind=3, by=by, message=message)


def slash_command(name: str, *, by: int = OWNER_ID, **options: Any) -> dict[str, Any]:
    kinds = {int: 4, str: 3}
    data = {
        "id": "500000000000000001",
        "name": name,
        "type": 1,
        "options": [{"name": k, "type": kinds[type(v)], "value": v} for k, v in options.items()],
    }
    return interaction(data, kind=2, by=by)


# ---------------------------------------------------------------------------------------------
# REST


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str  # without /api/v10
    query: dict[str, str]
    body: Any  # the JSON body (or a multipart request's payload_json); None without one
    files: list[str] = field(default_factory=list)  # names of uploaded files
    authorization: str | None = None


class FakeDiscord(LocalServer):
    """Discord's REST API and gateway for one bot, in this process. Use as a context manager."""

    def __init__(self, *, token: str = TOKEN, guild_ready_timeout: float = 0.05) -> None:
        # Here, in the test's thread, so that a missing ../shared/realdata skips the test
        # instead of failing inside the client's or the server's thread.
        for recorded in RECORDED:
            realdata(recorded)
        self.token = token
        self.app_flags = CONTENT_FLAGS
        self.calls: list[Call] = []
        self.histories: dict[int, list[dict[str, Any]]] = {}  # channel → payloads, oldest first
        self.failures: dict[str, tuple[int, dict[str, Any]]] = {}  # "METHOD path" → answer
        self.guilds = (GUILD_ID,)
        self.gateway_error: BaseException | None = None  # raised by the gateway once ready
        self.client: discord.Client | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sessions = 0
        self._lock = threading.Lock()
        self._closed: asyncio.Event | None = None
        self._close_with: BaseException | None = None
        self._ready_timeout = guild_ready_timeout
        self._saved: list[tuple[Any, str, Any]] = []
        super().__init__(self._handler_class())

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    def __enter__(self) -> Self:
        super().__enter__()
        # Only the gateway and discord.py's wait for late servers are replaced; REST is real
        # HTTP to this server (the source's api_base sets Route.BASE).
        for owner, name, value in (
            (discord_chat, "GATEWAY_CONNECT", self.connect),
            (discord_chat, "GUILD_READY_TIMEOUT", self._ready_timeout),
            (discord_chat, "HISTORY_RETRY_FIRST", 0.2),
            (discord_chat, "LOGIN_RETRY_FIRST", 0.1),
            (discord.http.Route, "BASE", self.api_base),
        ):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        return self

    def __exit__(self, *exc: object) -> None:
        discord_chat.stop_all(timeout=5)
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        super().__exit__(*exc)

    # -- what the tests look at -------------------------------------------------------------

    def seen(self, method: str, pattern: str) -> list[Call]:
        """Requests whose method is `method` and whose path matches the regex `pattern`."""
        with self._lock:
            return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    def wait_for(self, method: str, pattern: str, count: int = 1, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.seen(method, pattern)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {count}x {method} {pattern}: {self.calls}")

    def sent_messages(self) -> list[dict[str, Any]]:
        """Bodies of the messages the bot sent to its DM channel, in order."""
        return [c.body for c in self.seen("POST", rf"/channels/{DM_CHANNEL}/messages")]

    def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first `count` DMs the bot sent, waiting for them."""
        self.wait_for("POST", rf"/channels/{DM_CHANNEL}/messages", count, timeout)
        return self.sent_messages()[:count]

    # -- setting the scene ------------------------------------------------------------------

    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Put a message into its channel's history (what the history route returns)."""
        with self._lock:
            self.histories.setdefault(int(payload["channel_id"]), []).append(payload)
        return payload

    def fail(self, method: str, path: str, status: int, body: dict[str, Any] | None = None) -> None:
        """Answer `method path` (exact, without /api/v10) with `status` from now on."""
        self.failures[f"{method} {path}"] = (status, body or {"message": "nope", "code": 0})

    # -- the gateway --------------------------------------------------------------------------

    async def connect(self, client: discord.Client) -> None:
        """The gateway coroutine: READY and GUILD_CREATE into the parsers, then wait."""
        parsers = client._connection.parsers
        self.loop = asyncio.get_running_loop()
        self._closed = asyncio.Event()
        self.client = client
        self.sessions += 1
        parsers["READY"](ready(self.guilds))
        for guild in self.guilds:
            parsers["GUILD_CREATE"](guild_create(guild))
        if self.gateway_error is not None:
            raise self.gateway_error
        await self._closed.wait()
        if self._close_with is not None:
            error, self._close_with = self._close_with, None
            raise error

    def wait_ready(self, timeout: float = 5.0) -> discord.Client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client = self.client
            if client is not None and client.is_ready():
                return client
            time.sleep(0.01)
        raise AssertionError("the Discord client never became ready")

    def dispatch(self, event: str, payload: dict[str, Any]) -> None:
        """Hand a gateway event to the client, on its loop, as its websocket would."""
        client = self.wait_ready()
        assert self.loop is not None
        self.loop.call_soon_threadsafe(client._connection.parsers[event], payload)

    def close_gateway(self, error: BaseException) -> None:
        """End the gateway session with `error` (e.g. PrivilegedIntentsRequired)."""
        assert self.loop is not None and self._closed is not None
        self._close_with = error
        self.loop.call_soon_threadsafe(self._closed.set)

    # -- HTTP -----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # keep the test output quiet
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path.removeprefix(API_PATH)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body, files = _decode(self.headers.get("Content-Type", ""), raw)
                call = Call(
                    self.command, path, query, body, files, self.headers.get("Authorization")
                )
                with fake._lock:
                    fake.calls.append(call)
                status, answer = fake._route(call)
                data = json.dumps(answer).encode()
                self.send_response(status)
                # Exactly this, no charset: discord.py only parses an exact match.
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        return Handler

    def _route(self, call: Call) -> tuple[int, Any]:
        failure = self.failures.get(f"{call.method} {call.path}")
        if failure is not None:
            return failure
        public = call.path.startswith(("/interactions/", "/webhooks/"))  # the token is the key
        if not public and call.authorization != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}
        for (method, pattern), handler in self._routes().items():
            if method == call.method and (match := re.fullmatch(pattern, call.path)):
                return handler(call, *match.groups())
        return 404, {"message": f"no fake route for {call.method} {call.path}", "code": 0}

    def _routes(self) -> dict[tuple[str, str], Callable[..., tuple[int, Any]]]:
        return {
            ("GET", r"/users/@me"): lambda c: (200, user(BOT_ID, "ein", bot=True)),
            ("GET", r"/oauth2/applications/@me"): lambda c: (200, self._application()),
            ("GET", r"/users/@me/guilds"): lambda c: (200, self._guild_list(c)),
            ("GET", r"/gateway/bot"): lambda c: (200, {"url": "wss://gateway.invalid"}),
            ("GET", r"/channels/(\d+)/messages"): self._history,
            ("POST", r"/channels/(\d+)/messages"): self._create,
            ("PATCH", r"/channels/(\d+)/messages/(\d+)"): self._edit,
            ("POST", r"/users/@me/channels"): lambda c: (200, self._dm()),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback"): self._callback,
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original"): self._edit_original,
            ("PUT", r"/applications/(\d+)/commands"): self._commands,
        }

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(APP_ID),
            "name": "Sameday",
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.app_flags,
            "owner": USERS[OWNER_ID],
            "team": None,
            "summary": "",
            "interactions_endpoint_url": None,
        }

    def _guild_list(self, call: Call) -> list[dict[str, Any]]:
        if call.query.get("after") not in (None, "0"):
            return []  # one page
        return [
            {"id": str(g), "name": "Dana's Shop", "icon": None, "owner": False,
             "permissions": "68608", "features": []}
            for g in self.guilds
        ]  # fmt: skip

    def _history(self, call: Call, channel: str) -> tuple[int, Any]:
        with self._lock:
            kept = sorted(self.histories.get(int(channel), []), key=lambda m: int(m["id"]))
        limit = int(call.query.get("limit", 50))
        if "after" in call.query:
            after = int(call.query["after"])
            page = [m for m in kept if int(m["id"]) > after][:limit]  # the ones right after
        elif "before" in call.query:
            before = int(call.query["before"])
            page = [m for m in kept if int(m["id"]) < before][-limit:]
        else:
            page = kept[-limit:]
        return 200, list(reversed(page))  # Discord answers newest first, whatever the query

    def _message_from(self, body: dict[str, Any], channel: int, message_id: int) -> dict:
        now = datetime.now(UTC)
        data = copy.deepcopy(realdata("serenity/message_create_1.json"))
        data.update(
            id=str(message_id),
            channel_id=str(channel),
            author=user(BOT_ID, "ein", bot=True),
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            timestamp=iso(now),
            nonce=None,
            mentions=[],
        )
        return data

    def _create(self, call: Call, channel: str) -> tuple[int, Any]:
        data = self._message_from(call.body or {}, int(channel), snowflake(datetime.now(UTC)))
        return 200, self.post(data)

    def _edit(self, call: Call, channel: str, message_id: str) -> tuple[int, Any]:
        return 200, self._message_from(call.body or {}, int(channel), int(message_id))

    def _dm(self) -> dict[str, Any]:
        return {"id": str(DM_CHANNEL), "type": 1, "recipients": [USERS[OWNER_ID]]}

    def _callback(self, call: Call, interaction_id: str, _token: str) -> tuple[int, Any]:
        kind = (call.body or {}).get("type")
        return 200, {"interaction": {"id": interaction_id, "type": kind}}

    def _edit_original(self, call: Call, _app: str, _token: str) -> tuple[int, Any]:
        return 200, self._message_from(call.body or {}, DM_CHANNEL, snowflake(datetime.now(UTC)))

    def _commands(self, call: Call, _app: str) -> tuple[int, Any]:
        commands = call.body or []
        return 200, [
            {**c, "id": str(600000000000000000 + i), "application_id": str(APP_ID), "version": "1"}
            for i, c in enumerate(commands)
        ]


def _decode(content_type: str, raw: bytes) -> tuple[Any, list[str]]:
    """A request body: JSON, or multipart with ``payload_json`` and files."""
    if not raw:
        return None, []
    if content_type.startswith("multipart/"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parsed = BytesParser(policy=HTTP).parsebytes(head + raw)
        body, files = None, []
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "payload_json":
                body = json.loads(part.get_content())
            elif part.get_filename():
                files.append(part.get_filename())
        return body, files
    return json.loads(raw), []
