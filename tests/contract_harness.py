"""The shared harness of the connector contract (tests/test_contract.py) and the fault tests
(tests/test_faults.py): one adapter per registered connector type, and one fault proxy.

**The fault proxy.** `FaultProxy` is an HTTP proxy on 127.0.0.1 that stands in front of a fake
platform (or a webhook) and, when told to, answers in its place the way a broken network or a
struggling service does: any status with any headers and body, a body cut short of its
Content-Length, a connection reset in the middle of an answer or dropped before one, an answer
that never comes, or the platform's own answer with its bytes re-encoded on the way. Otherwise it
forwards each request to the fake unchanged (for Discord, faults touch its REST history route
only: sign-in and the gateway stay healthy). Faults are injected here, in one place,
the same way for every connector and channel (the idea of apprise's test harness), so a case in
the table means the same thing whatever the platform; an adapter only says how its platform
speaks (its content type, what "wait 120 s" looks like in its headers, a malformed body).

**Adapters.** An `Adapter` starts its platform's fake (the existing ones: tests/feedserver.py,
tests/fake_*.py, the fake WordPress of tests/test_wordpress.py) behind a proxy, builds the
connector's settings pointing at the proxy (``url``/``api_base``), and arranges the cases: an
empty platform, one new item written by a customer, and the owner's reply to it. Every connector
type in `connectors.base.registry()` must have one in `ADAPTERS`: a new connector joins the
contract by adding its adapter here.

``demo`` is `NETWORKLESS`: it simulates a blog from (seed, time) and does no I/O, so no malformed
answer, 429 or timeout can ever reach it. It takes part in the cases that mean something for it
(empty, one new record, owner reply: arranged by moving the clock, its own behaviour), and for the
network cases the tests prove instead that it opens no socket at all.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import http.client
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Literal, Self

import prawcore
import pytest
from pydantic import BaseModel

from connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from tests.conftest import Clock
from tests.localserver import LocalServer

# The moment every contract case happens at (a Monday, 10:00 in New York), whole seconds.
NOW = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
# The kinds DESIGN.md's Record contract allows.
KINDS = frozenset({"comment", "reply", "mention", "message"})
# How long a hanging answer holds its connection at most, if nobody stops the proxy.
_MAX_HANG_S = 30.0
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")


# -- the fault proxy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way an answer goes wrong, as `FaultProxy` plays it instead of the platform.

    `headers` is called when the answer is sent, so a header can name "120 s from now".
    """

    name: str
    kind: Literal["answer", "truncate", "reset", "drop", "hang", "transcode"]
    status: int = 200
    body: bytes = b""
    headers: Callable[[], dict[str, str]] = dict
    # "transcode": the platform's own answer, its body passed through this on the way back.
    transform: Callable[[bytes], bytes] | None = None


def answer(
    name: str,
    status: int,
    body: bytes,
    content_type: str,
    headers: Callable[[], dict[str, str]] | None = None,
) -> Fault:
    """A complete HTTP answer: any status, headers and body."""
    extra = headers or dict

    def all_headers() -> dict[str, str]:
        return {"Content-Type": content_type, **extra()}

    return Fault(name, "answer", status, body, all_headers)


def server_error(status: int) -> Fault:
    """A 5xx as a proxy or a crashed application server sends it: a short HTML page."""
    reason = http.client.responses.get(status, "Error")
    page = f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
    return answer(f"{status}", status, page, "text/html; charset=utf-8")


def truncated(content_type: str, prefix: bytes) -> Fault:
    """A 200 whose Content-Length promises more than is sent: the connection ends early."""
    return Fault("truncated-body", "truncate", 200, prefix, lambda: {"Content-Type": content_type})


def reset(content_type: str, prefix: bytes) -> Fault:
    """A 200 whose connection is reset (TCP RST) in the middle of its body."""
    return Fault("connection-reset", "reset", 200, prefix, lambda: {"Content-Type": content_type})


def transcoded(name: str, transform: Callable[[bytes], bytes]) -> Fault:
    """The platform's own answer, with its body changed on the way (headers kept)."""
    return Fault(name, "transcode", transform=transform)


def json_as_latin1(body: bytes) -> bytes:
    """A JSON answer written out in Latin-1, its header still saying UTF-8 (a misconfigured
    proxy or PHP layer): "Café" arrives as the byte 0xE9, which is not UTF-8."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(value, ensure_ascii=False).encode("latin-1", "replace")


HANG = Fault("timeout", "hang")
# The connection reset before any answer: the request never reached the service.
DROP = Fault("connection-dropped", "drop")


@dataclass
class Passed:
    """One request the proxy saw, and the fault it played (None: forwarded)."""

    method: str
    path: str
    fault: str | None


class FaultProxy(LocalServer):
    """``with FaultProxy(upstream_port) as proxy:``; `proxy.url` replaces the fake's address.

    `fault` (persistent until changed) applies to every request; `script` queues faults for the
    next requests, one each, ahead of `fault`. None forwards to the upstream server.
    """

    def __init__(self, upstream_port: int, *, only: str | None = None) -> None:
        self.upstream_port = upstream_port
        # Faults apply to requests whose path (without the query) fully matches this; None: all.
        self.only = re.compile(only) if only else None
        self.fault: Fault | None = None
        self.passed: list[Passed] = []
        self._queue: list[Fault | None] = []
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *faults: Fault | None) -> None:
        """The next requests meet `faults`, in order (None: that one is forwarded)."""
        with self._lock:
            self._queue.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.fault = None
            self._queue.clear()

    def faulted(self) -> list[Passed]:
        with self._lock:
            return [p for p in self.passed if p.fault is not None]

    def _next(self, method: str, path: str) -> Fault | None:
        with self._lock:
            if self.only is not None and not self.only.fullmatch(path.partition("?")[0]):
                self.passed.append(Passed(method, path, None))
                return None
            fault = self._queue.pop(0) if self._queue else self.fault
            self.passed.append(Passed(method, path, fault.name if fault else None))
            return fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                self.close_connection = True  # one request per connection, always
                fault = proxy._next(self.command, self.path)
                if fault is None or fault.kind == "transcode":
                    self._forward(body, fault.transform if fault else None)
                elif fault.kind == "hang":
                    proxy._stopping.wait(_MAX_HANG_S)
                elif fault.kind == "answer":
                    self._raw(fault.status, fault.headers(), fault.body, len(fault.body))
                elif fault.kind == "truncate":
                    self._raw(fault.status, fault.headers(), fault.body, len(fault.body) + 2048)
                else:  # reset (half an answer first) or drop: an RST instead of the rest
                    if fault.kind == "reset":
                        self._raw(fault.status, fault.headers(), fault.body, len(fault.body) + 2048)
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def _raw(self, status: int, headers: dict[str, str], body: bytes, length: int) -> None:
                reason = http.client.responses.get(status, "Unknown")
                lines = [f"HTTP/1.1 {status} {reason}"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                lines += [f"Content-Length: {length}", "Connection: close", "", ""]
                try:
                    self.wfile.write("\r\n".join(lines).encode("latin-1") + body)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up first

            def _forward(self, body: bytes, transform: Callable[[bytes], bytes] | None) -> None:
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    headers["Connection"] = "close"
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    content = response.read()
                    if transform is not None:
                        content = transform(content)
                    hop = ("content-length", "transfer-encoding", "connection", "keep-alive")
                    lines = [f"HTTP/1.1 {response.status} {response.reason}"]
                    # Headers may repeat (Link, Set-Cookie): every one is passed on.
                    lines += [f"{k}: {v}" for k, v in response.getheaders() if k.lower() not in hop]
                    lines += [f"Content-Length: {len(content)}", "Connection: close", "", ""]
                    self.wfile.write("\r\n".join(lines).encode("latin-1") + content)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up (its own timeout): nothing to answer
                finally:
                    upstream.close()

        return Handler


# -- what the cases assert ------------------------------------------------------------------------


def attempt(fetch: Callable[[dict[str, Any] | None], FetchResult], cursor: Any) -> Any:
    """The fetch's result, or the exception it raised (any exception: a crash is an outcome)."""
    try:
        return fetch(cursor)
    except Exception as exc:
        return exc


def primed(connector: Any, what: str) -> dict[str, Any] | None:
    """The cursor of a first, healthy fetch: the state a source is in when a fault hits it.
    Not what the case is about, so a slow start (a loaded machine, Discord's sign-in within a
    0.3 s timeout) is given three tries."""
    outcome: Any = None
    for _ in range(3):
        outcome = attempt(connector.fetch, None)
        if isinstance(outcome, FetchResult):
            return round_trip(outcome.cursor)
    raise AssertionError(f"{what}: the first, healthy fetch failed: {outcome!r}")


def round_trip(cursor: dict[str, Any] | None) -> dict[str, Any] | None:
    """The cursor as the store hands it back: through JSON, which it must survive unchanged."""
    text = json.dumps(cursor)
    back = json.loads(text)
    assert back == cursor, f"the cursor does not survive JSON: {cursor!r} became {back!r}"
    return back  # type: ignore[no-any-return]


def assert_plain(message: str, secrets: tuple[str, ...], what: str) -> None:
    """A message a person reads as it is: one line, no traceback, no secret."""
    assert message.strip(), f"{what}: an empty message"
    assert "\n" not in message, f"{what}: a message of several lines: {message!r}"
    assert "Traceback" not in message, f"{what}: a traceback in the message: {message!r}"
    assert len(message) <= 600, f"{what}: a message of {len(message)} characters: {message!r}"
    for secret in secrets:
        assert secret not in message, f"{what}: the message shows a secret: {message!r}"


def assert_transient(outcome: Any, secrets: tuple[str, ...], what: str) -> TransientError:
    """The outcome is a TransientError with a plain message (not a crash, not an AuthError)."""
    assert isinstance(outcome, TransientError), (
        f"{what}: expected a TransientError, got {type(outcome).__name__}: {outcome!r}"
    )
    assert_plain(str(outcome), secrets, what)
    return outcome


def assert_record(record: Record, *, http_bases: tuple[str, ...] = (), what: str) -> None:
    """The Record contract of DESIGN.md, field by field."""
    assert isinstance(record.external_id, str) and record.external_id, f"{what}: external_id"
    when = record.created_at
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0), (
        f"{what}: created_at must be aware UTC, got {when!r}"
    )
    assert isinstance(record.text, str), f"{what}: text is {type(record.text).__name__}"
    assert not _HTML_TAG.search(record.text), f"{what}: HTML left in the text {record.text!r}"
    url = record.url
    # A permalink is https on every real platform; a fake served over plain http on 127.0.0.1
    # may only give http links under its own address (or the proxy's).
    assert (
        url is None
        or url.startswith("https://")
        or any(url.startswith(base + "/") for base in http_bases)
    ), f"{what}: url {url!r} is neither https nor None"
    assert record.kind in KINDS, f"{what}: kind {record.kind!r} is not one of {sorted(KINDS)}"
    for name in ("thread_id", "parent_id"):
        value = getattr(record, name)
        assert value is None or (isinstance(value, str) and value), f"{what}: {name} {value!r}"
    assert isinstance(record.author, str) and record.author, f"{what}: author {record.author!r}"


def answers(reply: Record, item: Record, *, flat: bool) -> bool:
    """Whether `reply` answers `item` under DESIGN.md's answered rule."""
    if not reply.is_owner or reply.created_at <= item.created_at:
        return False
    if reply.parent_id is not None:
        return reply.parent_id == item.external_id
    return flat and reply.thread_id is not None and reply.thread_id == item.thread_id


@contextlib.contextmanager
def praw_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """prawcore sleeps between its retries and to space requests; here it only records."""

    class NoSleep:
        def __init__(self) -> None:
            self.calls: list[float] = []

        def sleep(self, seconds: float) -> None:
            self.calls.append(seconds)

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

    fake = NoSleep()
    monkeypatch.setattr(prawcore.sessions, "time", fake)
    monkeypatch.setattr(prawcore.rate_limit, "time", fake)
    yield fake.calls


# -- adapters -------------------------------------------------------------------------------------

JSON = "application/json; charset=utf-8"
# What any JSON platform's answer looks like cut short, and one that is not JSON at all.
JSON_PREFIX = b'{"data": [{"id": "1001", "text": "Are you open on Sun'
NOT_JSON = b'{"data": [{"id": "1001", "text": "Are you open on Sunday?"}, {"id": '
# What the customer writes (the keyword of the Hacker News watch included).
ITEM_TEXT = "Ordered from danashop.com last week: are you open on Sunday?"
ACCENTED_TEXT = "Café crème from danashop.com: ouvert dimanche?"


class Adapter:
    """One platform's side of the contract: its fake behind a `FaultProxy`, and the cases.

    Subclasses set the class attributes and implement `_start`, `settings`, `add_item` and
    `add_owner_reply`. `flat` says whether the platform has no reply structure (the owner's
    answer is the next owner record in the thread, not a `parent_id`).
    """

    type: ClassVar[str]
    flat: ClassVar[bool] = False
    content_type: ClassVar[str] = JSON
    owner: ClassVar[tuple[str, ...]] = ()  # the owner's identities on the platform
    # Substring of the warning a connector documents for a document it parses only in part
    # (the feed connector); None: a malformed answer must be a TransientError.
    partial_warning: ClassVar[str | None] = None
    networkless: ClassVar[str | None] = None  # why the network cases cannot apply, if so
    timeout: ClassVar[float] = 5.0  # the context timeout of the connector under test

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.proxy: FaultProxy | None = None
        self._stack = ExitStack()
        self._n = 0

    def __enter__(self) -> Self:
        self._start(self._stack)
        return self

    def __exit__(self, *_: object) -> None:
        self._stack.close()

    # -- what subclasses provide --------------------------------------------------------------

    def _start(self, stack: ExitStack) -> None:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """The source's settings as they would be written in the config (secrets included)."""
        raise NotImplementedError

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential the settings hold, in the forms a library might echo."""
        return ()

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        """A customer writes `text` (as a plain sentence), which needs an answer, at `at`."""
        raise NotImplementedError

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        """The owner answers `item` on the platform, at `at`."""
        raise NotImplementedError

    def rate_limited(self, seconds: int) -> Fault:
        """A 429 saying "wait `seconds`", as the platform says it (Retry-After by default)."""
        return answer(
            "429",
            429,
            b'{"error": "Too Many Requests"}',
            self.content_type,
            lambda: {"Retry-After": str(seconds)},
        )

    def malformed(self) -> Fault:
        """A 200 whose body is not what the platform speaks (invalid JSON or XML)."""
        return answer("malformed", 200, NOT_JSON, self.content_type)

    def wrong_encoding(self) -> Fault:
        """The platform's own answer in Latin-1 bytes, although the header says UTF-8."""
        return transcoded("wrong-encoding", json_as_latin1)

    def unexpected(self) -> Fault:
        """A 200 with well-formed JSON of the wrong shape: a maintenance notice."""
        body = b'{"error": "Down for maintenance, back soon"}'
        return answer("unexpected-json", 200, body, self.content_type)

    def body_prefix(self) -> bytes:
        """The start of an answer, for the faults that cut one short."""
        return JSON_PREFIX

    # -- shared --------------------------------------------------------------------------------

    def _proxy(self, stack: ExitStack, upstream_port: int, only: str | None = None) -> FaultProxy:
        self.proxy = stack.enter_context(FaultProxy(upstream_port, only=only))
        return self.proxy

    @property
    def http_bases(self) -> tuple[str, ...]:
        """The plain-http addresses permalinks may use in a test: the proxy's and the fake's."""
        bases = [self.proxy.url] if self.proxy else []
        server = getattr(self, "server", None)
        if server is not None and hasattr(server, "port"):
            bases.append(f"http://127.0.0.1:{server.port}")
        return tuple(bases)

    def connector(self, *, name: str | None = None, timeout: float | None = None) -> Connector:
        """The connector under test, through the proxy, on the adapter's clock."""
        from connectors.base import registry

        cls = registry()[self.type]
        settings = cls.Settings(**self.settings())
        context = ConnectorContext(
            source=name or self.type,
            owner_identities=self.owner,
            clock=self.clock,
            timeout=self.timeout if timeout is None else timeout,
        )
        return cls(settings, context)

    def initial_cursor(self, connector: Connector) -> dict[str, Any] | None:
        """The cursor the cases start from: None, an empty platform's first fetch."""
        return None

    def arrange_item(self) -> datetime:
        """Arrange one new item; returns the `created_at` the platform gives it."""
        at = self.clock() - timedelta(minutes=10)
        self.add_item(at)
        return at

    def arrange_owner_reply(self, item: Record) -> datetime:
        """Arrange the owner's answer to `item`; returns its `created_at`."""
        at = item.created_at + timedelta(minutes=5)
        self.add_owner_reply(item, at)
        return at

    def next_id(self) -> int:
        self._n += 1
        return self._n


# -- feed -----------------------------------------------------------------------------------------

FEED_USER, FEED_PASSWORD = "dana", "feedpass-S3CRET-71"
FEED_PATH = "/comments/feed/"


class FeedAdapter(Adapter):
    type = "feed"
    flat = True  # blog comment feeds are flat: the next owner comment on the post answers
    content_type = "application/rss+xml; charset=utf-8"
    owner = ("Dana",)
    partial_warning = "feed is malformed"

    def _start(self, stack: ExitStack) -> None:
        from tests.feedserver import FeedServer

        self.server = stack.enter_context(FeedServer())
        self._items: list[str] = []
        self._publish()
        self._proxy(stack, self.server.port)

    def _publish(self) -> None:
        from tests.feedserver import rss

        # A new Last-Modified with every change, as a real blog's feed has.
        self.server.add(FEED_PATH, rss(*self._items), last_modified=1_770_000_000.0 + self._n)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        # A private feed: the login rides in the URL, where it must never reach a message.
        return {"url": f"http://{FEED_USER}:{FEED_PASSWORD}@127.0.0.1:{self.proxy.port}{FEED_PATH}"}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (FEED_PASSWORD, base64.b64encode(f"{FEED_USER}:{FEED_PASSWORD}".encode()).decode())

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        from tests.feedserver import comment_item

        n = self.next_id()
        self._items.append(comment_item(n, at, author="Ann", post="hours", text=text))
        self._publish()

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        from tests.feedserver import comment_item

        text = "Yes, 10 to 4 on Sundays!"
        self._items.append(comment_item(self.next_id(), at, author="Dana", post="hours", text=text))
        self._publish()

    def malformed(self) -> Fault:
        # A comment feed cut off inside an entry: invalid XML, parsed as far as it goes.
        cut = self.body_prefix() + (
            b"<item><title>Comment on hours by Ben</title>"
            b"<link>https://blog.example.com/hours/#comment-90</link>"
            b'<guid isPermaLink="false">https://blog.example.com/?c=90</guid>'
            b"<pubDate>Mon, 09 Mar 2026 13:30:00 +0000</pubDate><description>Open la"
        )
        return answer("malformed", 200, cut, self.content_type)

    def unexpected(self) -> Fault:
        # A captive portal or a maintenance page where the feed should be.
        page = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>"
        return answer("unexpected-page", 200, page, "text/html; charset=utf-8")

    def wrong_encoding(self) -> Fault:
        # Declared UTF-8 in the XML and the header, written in Latin-1 (an old CMS plugin).
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Comments</title>'
            "<item><title>Comment on hours by Zoé</title>"
            "<link>https://blog.example.com/hours/#comment-91</link>"
            '<guid isPermaLink="false">https://blog.example.com/?c=91</guid>'
            "<pubDate>Mon, 09 Mar 2026 13:30:00 +0000</pubDate>"
            "<description>Café crème ouvert dimanche?</description></item></channel></rss>"
        ).encode("latin-1")
        return answer("wrong-encoding", 200, body, self.content_type)

    def body_prefix(self) -> bytes:
        return (
            b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Comments</title>'
        )


# -- wordpress ------------------------------------------------------------------------------------

WP_USER, WP_PASSWORD = "dana", "wpSe CRET 0042 abcd EFGH ijkl"
WP_POST = 7


class WordPressAdapter(Adapter):
    type = "wordpress"
    owner = ("Dana",)

    def _start(self, stack: ExitStack) -> None:
        from tests.test_wordpress import FakeWordPress, User

        self.server = stack.enter_context(FakeWordPress())
        self.server.users = {WP_USER: User(1, WP_USER, WP_PASSWORD)}
        self._proxy(stack, self.server.port)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {"url": self.proxy.url, "username": WP_USER, "app_password": WP_PASSWORD}

    @property
    def secrets(self) -> tuple[str, ...]:
        basic = base64.b64encode(f"{WP_USER}:{WP_PASSWORD}".encode()).decode()
        return (WP_PASSWORD, WP_PASSWORD.replace(" ", ""), basic)

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        self.server.add(at, "Ann", text, post=WP_POST)

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        self.server.add(
            at, "Dana", "Yes, 10 to 4!", post=WP_POST, parent=int(item.external_id), author=1
        )


# -- discourse ------------------------------------------------------------------------------------

DISCOURSE_KEY = "discourse-key-S3CRET-9f8e7d6c5b4a"
DISCOURSE_USER = "dana"
DISCOURSE_TOPIC = 57


class DiscourseAdapter(Adapter):
    type = "discourse"
    owner = ("dana",)

    def _start(self, stack: ExitStack) -> None:
        from tests.fake_discourse import FakeDiscourse

        self.server = stack.enter_context(
            FakeDiscourse(api_key=DISCOURSE_KEY, username=DISCOURSE_USER)
        )
        self._numbers: dict[str, int] = {}  # post id -> its number in the topic
        self._proxy(stack, self.server.port)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {"url": self.proxy.url, "api_username": DISCOURSE_USER, "api_key": DISCOURSE_KEY}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (DISCOURSE_KEY,)

    def _post(self, at: datetime, username: str, **extra: Any) -> None:
        from tests.fake_discourse import post

        n = self.next_id()
        post_id, number = 1000 + n, n
        self._numbers[str(post_id)] = number
        self.server.add(
            post(
                post_id,
                topic=DISCOURSE_TOPIC,
                number=number,
                username=username,
                created_at=at,
                **extra,
            )
        )

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        self._post(at, "ann", cooked=f"<p>{text}</p>")

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        self._post(
            at,
            DISCOURSE_USER,
            reply_to=self._numbers[item.external_id],
            cooked="<p>Yes, we deliver on Sundays.</p>",
        )

    def rate_limited(self, seconds: int) -> Fault:
        body = json.dumps(
            {
                "errors": ["You’ve performed this action too many times. Please wait."],
                "error_type": "rate_limit",
                "extras": {"wait_seconds": seconds},
            }
        ).encode()
        return answer("429", 429, body, JSON, lambda: {"Retry-After": str(seconds)})


# -- x --------------------------------------------------------------------------------------------

X_TOKEN = "AAAAx-bearer-S3CRET-0a1b2c3d4e5f"


class XAdapter(Adapter):
    type = "x"
    owner = ("danashop",)

    def _start(self, stack: ExitStack) -> None:
        from tests.fake_x import Account, FakeX

        self.me = Account("4200", "danashop")
        self.ann = Account("7100", "ann_customer")
        self.server = stack.enter_context(
            FakeX(self.me, clock=self.clock, users=[self.ann], token=X_TOKEN)
        )
        self._proxy(stack, self.server.port)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {"bearer_token": X_TOKEN, "user": "danashop", "api_base": self.proxy.url}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (X_TOKEN,)

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        from tests.fake_x import snowflake, tweet

        self.server.mentions.append(
            tweet(snowflake(at, self.next_id()), self.ann, f"@danashop {text}")
        )

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        from tests.fake_x import snowflake, tweet

        self.server.own.append(
            tweet(
                snowflake(at, self.next_id()),
                self.me,
                "@ann_customer yes, 10 to 4!",
                replied_to=item.external_id,
                reply_to_user=self.ann,
                conversation=item.thread_id,
            )
        )

    def rate_limited(self, seconds: int) -> Fault:
        # X says when its window resets (epoch seconds), on its clock: here the test's clock.
        body = b'{"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}'

        def headers() -> dict[str, str]:
            reset_at = int(self.clock().timestamp()) + seconds
            return {
                "Retry-After": str(seconds),
                "x-rate-limit-limit": "10",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset_at),
            }

        return answer("429", 429, body, JSON, headers)


# -- reddit ---------------------------------------------------------------------------------------

REDDIT_OWNER = "dana_shop"


class RedditAdapter(Adapter):
    type = "reddit"
    owner = (REDDIT_OWNER,)

    def _start(self, stack: ExitStack) -> None:
        from tests.fake_reddit import FakeReddit

        self.server = stack.enter_context(FakeReddit(None, owner=REDDIT_OWNER))
        self._inbox: list[dict[str, Any]] = []
        self._history: list[dict[str, Any]] = []
        self._serve()
        self._proxy(stack, self.server.port)

    def _serve(self) -> None:
        self.server.listing("/message/comments", self._inbox)
        self.server.listing("/message/selfreply", [])
        self.server.listing("/message/mentions", [])
        self.server.listing(f"/user/{REDDIT_OWNER}/comments", self._history)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {**self.server.credentials(), "api_base": self.proxy.url, "watch": ["inbox"]}

    @property
    def secrets(self) -> tuple[str, ...]:
        from tests.fake_reddit import ACCESS_TOKEN, CLIENT_SECRET, PASSWORD

        return (CLIENT_SECRET, PASSWORD, ACCESS_TOKEN)

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        from tests.fake_reddit import inbox_item

        item = inbox_item(self.next_id(), at.timestamp(), author="a_customer", body=text)
        self._inbox.insert(0, item)
        self._serve()

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        from tests.fake_reddit import comment

        post = (item.thread_id or "t3_post1").removeprefix("t3_")
        reply = comment(
            self.next_id(),
            at.timestamp(),
            author=REDDIT_OWNER,
            parent=item.external_id,
            post=post,
            body="Yes, we ship to Canada!",
        )
        self._history.insert(0, reply)
        self._serve()

    def rate_limited(self, seconds: int) -> Fault:
        # Reddit sends Retry-After with its 429, and its window's headers say it is used up.
        body = b'{"message": "Too Many Requests", "error": 429}'
        return answer(
            "429",
            429,
            body,
            JSON,
            lambda: {
                "Retry-After": str(seconds),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "600",
                "x-ratelimit-reset": str(seconds),
            },
        )


# -- mastodon -------------------------------------------------------------------------------------

MASTODON_TOKEN = "mastodon-token-S3CRET-5e6f7a8b"


class MastodonAdapter(Adapter):
    type = "mastodon"
    owner = ("@dana@mastodon.example",)

    def _start(self, stack: ExitStack) -> None:
        from tests.fake_mastodon import FakeMastodon, account

        self.me = account("110000000000000001", "dana")
        self.ann = account("110000000000000002", "ann")
        self.server = stack.enter_context(FakeMastodon({MASTODON_TOKEN: self.me}))
        self._statuses: dict[str, dict[str, Any]] = {}
        self._proxy(stack, self.server.port)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {"api_base": self.proxy.url, "access_token": MASTODON_TOKEN}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (MASTODON_TOKEN,)

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        from tests.fake_mastodon import mention, status

        n = self.next_id()
        found = status(
            112000000000000000 + n, self.ann, created_at=at, content=f"<p>@dana {text}</p>"
        )
        self._statuses[found["id"]] = found
        self.server.statuses.append(found)
        self.server.notifications.append(mention(113000000000000000 + n, found))

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        from tests.fake_mastodon import status

        n = self.next_id()
        self.server.statuses.append(
            status(
                112000000000000000 + n,
                self.me,
                created_at=at,
                content="<p>@ann yes, 10 to 4!</p>",
                in_reply_to=self._statuses[item.external_id],
            )
        )

    def rate_limited(self, seconds: int) -> Fault:
        # Mastodon says when its window resets as a time on its own clock; Mastodon.py moves it
        # onto the local clock with the Date header. Both are written from one instant here.
        body = b'{"error": "Too many requests"}'

        def headers() -> dict[str, str]:
            now = int(time.time())
            reset_at = datetime.fromtimestamp(now + seconds, UTC)
            return {
                "Date": formatdate(now, usegmt=True),
                "Retry-After": str(seconds),
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_at.isoformat().replace("+00:00", "Z"),
            }

        return answer("429", 429, body, JSON, headers)


# -- hackernews -----------------------------------------------------------------------------------


class HackerNewsAdapter(Adapter):
    type = "hackernews"
    owner = ("dana",)

    def _start(self, stack: ExitStack) -> None:
        from tests.fake_hn import FakeHN

        self.server = stack.enter_context(FakeHN())
        self._proxy(stack, self.server.port)

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        # The HN Search API takes no credential: there is no secret to leak.
        return {
            "keywords": ["danashop.com"],
            "username": "dana",
            "api_base": f"{self.proxy.url}/api/v1",
        }

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        from tests.fake_hn import comment

        self.server.add(
            comment(
                30_000_000 + self.next_id(),
                author="ann",
                parent=29_999_999,
                story=29_999_999,
                at=int(at.timestamp()),
                text=text,
            )
        )

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        from tests.fake_hn import comment

        self.server.add(
            comment(
                30_000_000 + self.next_id(),
                author="dana",
                parent=int(item.external_id),
                story=29_999_999,
                at=int(at.timestamp()),
                text="Sorry about that! I have e-mailed you the tracking number.",
            )
        )


# -- discord --------------------------------------------------------------------------------------

DISCORD_TOKEN = "MTA5-discord-bot-S3CRET.Gx1a2b.c3d4e5f6"


class DiscordAdapter(Adapter):
    """Discord pushes messages through its gateway; a fetch outside the daemon (`sameday poll`)
    signs in, reads each watched channel's history after the cursor over REST, and drains. So
    the cases are arranged in the REST history (what a catch-up reads), and the faults are
    injected on that route only: sign-in and the (fake) gateway stay healthy."""

    type = "discord"
    owner = ("114941315417899012",)  # tests.fake_discord.OWNER_ID: the owner's user id
    content_type = "application/json"  # exactly: discord.py parses nothing else as JSON
    timeout = 0.8  # a fetch waits this long for the catch-up before it gives up

    def _start(self, stack: ExitStack) -> None:
        from tests import fake_discord as fd

        self.fd = fd
        self.server = stack.enter_context(fd.FakeDiscord(token=DISCORD_TOKEN))
        self._payloads: dict[str, dict[str, Any]] = {}
        self._proxy(stack, self.server.port, only=r"/api/v10/channels/\d+/messages")

    def settings(self) -> dict[str, Any]:
        assert self.proxy is not None
        return {
            "token": DISCORD_TOKEN,
            "guilds": [str(self.fd.GUILD_ID)],
            "channels": [str(self.fd.GENERAL)],
            "keywords": ["danashop"],
            "api_base": f"{self.proxy.url}{self.fd.API_PATH}",
        }

    @property
    def secrets(self) -> tuple[str, ...]:
        return (DISCORD_TOKEN,)

    def add_item(self, at: datetime, text: str = ITEM_TEXT) -> None:
        payload = self.server.post(self.fd.message(text, at=at))
        self._payloads[payload["id"]] = payload

    def add_owner_reply(self, item: Record, at: datetime) -> None:
        self.server.post(
            self.fd.message(
                "Yes, 10 to 4 on Sundays!",
                at=at,
                author=self.fd.OWNER_ID,
                reply_to=self._payloads[item.external_id],
            )
        )

    def rate_limited(self, seconds: int) -> Fault:
        # As Discord sends it: the wait in the JSON body and the headers, through its edge.
        body = json.dumps(
            {"message": "You are being rate limited.", "retry_after": seconds, "global": False}
        ).encode()
        return answer(
            "429",
            429,
            body,
            self.content_type,
            lambda: {
                "Retry-After": str(seconds),
                "X-RateLimit-Scope": "user",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": str(seconds),
                "Via": "1.1 google",
            },
        )


# -- demo -----------------------------------------------------------------------------------------


class DemoAdapter(Adapter):
    """The demo connector's own behaviour stands for the platform: the clock is moved to the
    moments its seeded timeline holds a comment and the owner's answer to it."""

    type = "demo"
    flat = True  # platform: blog (flat comment threads)
    owner = ("Dana",)
    networkless = "simulated stream, no I/O: no malformed answer, 429 or timeout can reach it"

    def _start(self, stack: ExitStack) -> None:
        from connectors.demo import DemoConnector, DemoSettings

        timeline = DemoConnector(
            DemoSettings(),
            ConnectorContext(source=self.type, owner_identities=self.owner, clock=self.clock),
        )
        records = sorted(
            timeline.records_between(NOW, NOW + timedelta(days=3)), key=lambda r: r.created_at
        )
        replies = {r.external_id: r for r in records if r.is_owner}
        earlier = NOW
        for record in records:
            reply = replies.get(f"{record.external_id}-reply")
            quiet = record.created_at - timedelta(seconds=1) > earlier
            if record.created_at > NOW and not record.is_owner and reply and quiet:
                self.comment, self.reply = record, reply
                break
            earlier = record.created_at
        else:  # pragma: no cover - the seeded timeline has many
            raise AssertionError("no answered comment in the demo's next three days")
        # Just before the comment: the last moment nothing new is there.
        self.clock.now = self.comment.created_at - timedelta(seconds=1)

    def settings(self) -> dict[str, Any]:
        return {}

    def initial_cursor(self, connector: Connector) -> dict[str, Any] | None:
        # The demo is never empty on a first fetch (three days of comments): its empty page is
        # the next fetch while the clock stands still.
        return round_trip(connector.fetch(None).cursor)

    def arrange_item(self) -> datetime:
        self.clock.now = self.comment.created_at
        return self.comment.created_at

    def arrange_owner_reply(self, item: Record) -> datetime:
        assert item.external_id == self.comment.external_id
        self.clock.now = self.reply.created_at
        return self.reply.created_at


# The adapter of every connector type; a registered type without one fails the contract.
ADAPTERS: dict[str, type[Adapter]] = {
    adapter.type: adapter
    for adapter in (
        FeedAdapter,
        WordPressAdapter,
        DiscourseAdapter,
        XAdapter,
        RedditAdapter,
        MastodonAdapter,
        HackerNewsAdapter,
        DiscordAdapter,
        DemoAdapter,
    )
}
# Connector types that do no I/O, and why the network cases cannot reach them.
NETWORKLESS: dict[str, str] = {
    name: adapter.networkless for name, adapter in ADAPTERS.items() if adapter.networkless
}


def adapter_for(type_: str, clock: Clock) -> Adapter:
    """The adapter of `type_`; fails the test, naming this file, when there is none."""
    adapter = ADAPTERS.get(type_)
    if adapter is None:
        pytest.fail(f"connector {type_} has no contract adapter in tests/contract_harness.py")
    return adapter(clock)


class Spy:
    """A connector that passes every fetch on and keeps what came back (real code, no mock)."""

    type: ClassVar[str] = "spy"
    Settings: ClassVar[builtins.type[BaseModel]] = ConnectorSettings  # `type` is taken above

    def __init__(self, inner: Connector, cursor: dict[str, Any] | None = None) -> None:
        self.inner = inner
        self.results: list[FetchResult] = []
        # Given: the next fetch uses this cursor instead of the one it is handed (once).
        self._cursor = cursor

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
        result = self.inner.fetch(cursor)
        self.results.append(result)
        return result


def source_yaml(name: str, adapter: Adapter, **common: Any) -> str:
    """One ``sources:`` entry for `adapter` (JSON is YAML), with `common` keys (every, backfill)."""
    return (
        "  - "
        + json.dumps({"name": name, "type": adapter.type, **common, **adapter.settings()})
        + "\n"
    )
