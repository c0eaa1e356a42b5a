"""A fake X API v2 on 127.0.0.1 for the X connector's tests: a real HTTP server, not a mock.

It answers in two ways:

- **As X behaves**, over tweets the test posts: the user lookup, the mentions and own-tweets
  timelines and recent search, newest first, honouring ``since_id``, ``max_results``,
  ``pagination_token`` / ``next_token`` and ``exclude=retweets``; only the requested
  ``tweet.fields`` come back (as X does), with ``includes.users`` for ``expansions=author_id``;
  every answer carries ``x-rate-limit-*`` headers from a per-endpoint window on the test's
  clock, and a used-up window answers 429.
- **As recorded**: answers scripted for a path (optionally only when some query parameters
  match), served byte for byte with their recorded status and headers, gzip bodies included.
  The loaders read ../shared/realdata in place: vcrpy YAML cassettes (tweepy), plain JSON bodies
  (python-twitter) and JSONL pages (twarc-csv), mapping the recorded accounts to the ones the
  test picks.

Every request is kept (method, path, query parameters, headers) in `requests`.

    with FakeX(Account("42", "danashop"), clock=clock) as x:
        x.mentions.append(tweet(snowflake(at), ann, "@danashop open on Sunday?"))
        x.script("/2/tweets/search/recent", Answer(403, {"reason": "client-not-enrolled"}))
        settings = XSettings(bearer_token="t", user="danashop", api_base=x.url)
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.localserver import LocalServer

_SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
_DEFAULT_FIELDS = ("id", "text", "edit_history_tweet_ids")
# Not passed on from a recording: the server sets its own length and closes each connection.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_MAX_HANG_S = 30.0
_ROUTES = (
    ("lookup", re.compile(r"^/2/users/by/username/([^/]+)$")),
    ("mentions", re.compile(r"^/2/users/(\d+)/mentions$")),
    ("tweets", re.compile(r"^/2/users/(\d+)/tweets$")),
    ("search", re.compile(r"^/2/tweets/search/recent$")),
)


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    name: str = ""

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name or self.username, "username": self.username}


def snowflake(at: datetime, sequence: int = 0) -> str:
    """An X id made at `at`, as X makes them (ids grow with time; the time is inside)."""
    ms = int(at.timestamp() * 1000) - _SNOWFLAKE_EPOCH_MS
    return str((ms << 22) | (sequence & 0x3FFFFF))


def tweet(
    tweet_id: str,
    author: Account,
    text: str,
    *,
    at: datetime | None = None,
    replied_to: str | None = None,
    reply_to_user: Account | None = None,
    conversation: str | None = None,
    retweet_of: str | None = None,
) -> dict[str, Any]:
    """A v2 tweet object with every field the connector asks for."""
    if at is None:
        at = datetime.fromtimestamp(((int(tweet_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)
    data: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": [tweet_id],
        "author_id": author.id,
        "created_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conversation_id": conversation or tweet_id,
    }
    refs = []
    if replied_to:
        refs.append({"type": "replied_to", "id": replied_to})
    if retweet_of:
        refs.append({"type": "retweeted", "id": retweet_of})
    if refs:
        data["referenced_tweets"] = refs
    if reply_to_user:
        data["in_reply_to_user_id"] = reply_to_user.id
    return data


@dataclass
class Answer:
    """One scripted answer; `body` is sent as it is when bytes, as JSON otherwise."""

    status: int = 200
    body: Any = b""
    headers: list[tuple[str, str]] | dict[str, str] = field(default_factory=list)
    hang: bool = False  # accept the request and never answer
    when: dict[str, str] | None = None  # only for requests with these query parameters
    once: bool = False  # used up after one answer even when it is the last one

    def header_pairs(self) -> list[tuple[str, str]]:
        pairs = list(self.headers.items()) if isinstance(self.headers, dict) else self.headers
        return [(k, v) for k, v in pairs if k.lower() not in _HOP_BY_HOP]

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Seen:
    """One request as the server received it; header names lowercased."""

    method: str
    path: str
    endpoint: str  # lookup, mentions, tweets, search or other
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class RateLimit:
    limit: int = 450
    remaining: int | None = None  # None: the whole limit
    reset: int | None = None  # epoch seconds; None: 15 minutes after the window's first call


class FakeX(LocalServer):
    """Start with ``with FakeX(owner, clock=clock) as x:``; `x.url` is the `api_base`.

    Scripted answers come first, whatever the token; otherwise the request must carry
    `token` (else 401), then counts against its endpoint's rate-limit window.
    """

    def __init__(
        self,
        owner: Account,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        users: Iterable[Account] = (),
        token: str = "good-token",
    ) -> None:
        self.owner = owner
        self.token = token  # the only bearer token accepted; anything else is a 401
        self.clock = clock
        self.users: dict[str, Account] = {u.id: u for u in (owner, *users)}
        self.mentions: list[dict[str, Any]] = []  # tweets mentioning the owner
        self.own: list[dict[str, Any]] = []  # the owner's timeline
        self.found: list[dict[str, Any]] = []  # what recent search finds
        self.limits: dict[str, RateLimit] = {}
        self.requests: list[Seen] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    # -- what tests call --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_users(self, users: Iterable[Account]) -> None:
        for user in users:
            self.users[user.id] = user

    def script(self, path: str, *answers: Answer) -> None:
        """Answer `path` with `answers`: the first whose `when` matches is used, and dropped
        unless it is the last one (which repeats) and not `once`. With none left, the path
        behaves like X again."""
        with self._lock:
            self._scripts[path] = list(answers)

    @staticmethod
    def page_token(older_than: str) -> str:
        """The next_token this server gives for the page after the tweet `older_than`."""
        return base64.urlsafe_b64encode(older_than.encode()).decode()

    def seen(self, endpoint: str) -> list[Seen]:
        return [r for r in self.requests if r.endpoint == endpoint]

    # -- behaving like X --------------------------------------------------------------------------

    def _lookup(self, username: str) -> tuple[int, Any]:
        for user in self.users.values():
            if user.username.casefold() == username.casefold():
                return 200, {"data": user.as_json()}
        # X answers 200 with an `errors` array for a name nobody has.
        return 200, {
            "errors": [
                {
                    "value": username,
                    "detail": f"Could not find user with username: [{username}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": "username",
                    "resource_id": username,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ]
        }

    def _timeline(
        self, tweets: list[dict[str, Any]], params: dict[str, str], token_param: str, low: int
    ) -> tuple[int, Any]:
        size = int(params.get("max_results", "10"))
        if not low <= size <= 100:
            return 400, _problem(f"max_results must be between {low} and 100")
        since = int(params.get("since_id", "0") or 0)
        token = params.get(token_param)
        before = None
        if token:
            try:
                before = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                return 400, _problem(f"the {token_param} is not valid")
        pool = [
            t for t in tweets if int(t["id"]) > since and (before is None or int(t["id"]) < before)
        ]
        if params.get("exclude") == "retweets":
            pool = [
                t
                for t in pool
                if not any(r["type"] == "retweeted" for r in t.get("referenced_tweets", ()))
            ]
        pool.sort(key=lambda t: int(t["id"]), reverse=True)
        page = pool[:size]
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {}
        if page:
            fields = set(_DEFAULT_FIELDS) | set(
                filter(None, params.get("tweet.fields", "").split(","))
            )
            body["data"] = [{k: v for k, v in t.items() if k in fields} for t in page]
            if "author_id" in params.get("expansions", "").split(","):
                authors = dict.fromkeys(t["author_id"] for t in page)
                body["includes"] = {
                    "users": [self.users[a].as_json() for a in authors if a in self.users]
                }
            meta["newest_id"] = page[0]["id"]
            meta["oldest_id"] = page[-1]["id"]
        if len(pool) > size:
            meta["next_token"] = self.page_token(page[-1]["id"])
        body["meta"] = meta
        return 200, body

    def _behave(self, endpoint: str, match: re.Match[str] | None, params: dict[str, str]) -> Any:
        if endpoint == "lookup" and match:
            return self._lookup(match.group(1))
        if endpoint == "mentions":
            return self._timeline(self.mentions, params, "pagination_token", 5)
        if endpoint == "tweets":
            return self._timeline(self.own, params, "pagination_token", 5)
        if endpoint == "search":
            if not params.get("query"):
                return 400, _problem("query is required")
            return self._timeline(self.found, params, "next_token", 10)
        return 404, _problem("no such route on the fake X")

    def _rate(self, endpoint: str) -> tuple[bool, list[tuple[str, str]]]:
        """Count one call in the endpoint's window: (allowed, its x-rate-limit-* headers)."""
        now = int(self.clock().timestamp())
        with self._lock:
            window = self.limits.setdefault(endpoint, RateLimit())
            if window.reset is not None and now >= window.reset:
                window.remaining, window.reset = None, None  # a new window
            if window.reset is None:
                window.reset = now + 900
            if window.remaining is None:
                window.remaining = window.limit
            allowed = window.remaining > 0
            if allowed:
                window.remaining -= 1
            headers = [
                ("x-rate-limit-limit", str(window.limit)),
                ("x-rate-limit-remaining", str(window.remaining)),
                ("x-rate-limit-reset", str(window.reset)),
            ]
        return allowed, headers

    def _scripted(self, path: str, params: dict[str, str]) -> Answer | None:
        with self._lock:
            answers = self._scripts.get(path)
            if not answers:
                return None
            for index, answer in enumerate(answers):
                if answer.when is None or all(params.get(k) == v for k, v in answer.when.items()):
                    if len(answers) > 1 or answer.once:
                        answers.pop(index)
                    return answer
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                endpoint, match = "other", None
                for name, pattern in _ROUTES:
                    if found := pattern.match(parts.path):
                        endpoint, match = name, found
                        break
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Seen("GET", parts.path, endpoint, params, headers))

                scripted = server._scripted(parts.path, params)
                if scripted is not None:
                    if scripted.hang:
                        server._stopping.wait(_MAX_HANG_S)
                        return
                    self._send(scripted.status, scripted.header_pairs(), scripted.payload())
                    return
                if headers.get("authorization") != f"Bearer {server.token}":
                    self._send(401, [], json.dumps(_unauthorized()).encode())
                    return
                allowed, limits = server._rate(endpoint)
                if not allowed:
                    body = {"title": "Too Many Requests", "detail": "Too Many Requests",
                            "type": "about:blank", "status": 429}  # fmt: skip
                    self._send(429, limits, json.dumps(body).encode())
                    return
                status, body = server._behave(endpoint, match, params)
                self._send(status, limits, json.dumps(body).encode())

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                names = {k.lower() for k, _ in headers}
                if "content-type" not in names:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        return Handler


def _problem(detail: str) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {}, "message": detail}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _unauthorized() -> dict[str, Any]:
    return {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


# -- recorded answers -----------------------------------------------------------------------------

# What X answers to an app whose plan lacks an endpoint (the two shapes X has used).
CLIENT_NOT_ENROLLED = {
    "client_id": "12345678",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
    "and tokens from a Twitter developer App that is attached to a Project. You can create a "
    "project via the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
LIMITED_ACCESS_453 = {
    "errors": [
        {
            "message": "You currently have access to a subset of Twitter API v2 endpoints and "
            "limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this "
            "endpoint, you may need a different access level. You can learn more here: "
            "https://developer.twitter.com/en/portal/product",
            "code": 453,
        }
    ]
}


class Remap:
    """Maps a recording's accounts onto the test's: ids, usernames and @mentions in text."""

    def __init__(self, accounts: Mapping[Account, Account]) -> None:
        self.ids = {old.id: new.id for old, new in accounts.items()}
        self.names = {old.username.casefold(): new for old, new in accounts.items()}
        self._mention = (
            re.compile(
                r"@(" + "|".join(re.escape(o.username) for o in accounts) + r")\b", re.IGNORECASE
            )
            if accounts
            else None
        )

    def path(self, path: str) -> str:
        for old, new in self.ids.items():
            path = path.replace(f"/{old}/", f"/{new}/")
        return path

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            if value in self.ids:
                return self.ids[value]
            if value.casefold() in self.names:
                return self.names[value.casefold()].username
            if self._mention is not None:
                return self._mention.sub(
                    lambda m: "@" + self.names[m.group(1).casefold()].username, value
                )
        return value


NO_REMAP = Remap({})


@dataclass
class Recorded:
    """One recorded exchange: the request it answered and the answer, body as recorded."""

    method: str
    path: str
    params: dict[str, str]
    answer: Answer


def vcr_cassette(file: Path, remap: Remap = NO_REMAP) -> list[Recorded]:
    """The exchanges of a vcrpy YAML cassette, bodies byte for byte (gzip stays gzip).

    aiohttp cassettes hold the body already decoded but keep ``Content-Encoding: gzip``; that
    header is dropped there, or no client could read the body.
    """
    cassette = yaml.safe_load(file.read_text(encoding="utf-8"))  # !!binary loads as bytes
    found = []
    for interaction in cassette["interactions"]:
        request, response = interaction["request"], interaction["response"]
        body = response["body"]["string"]
        body = body if isinstance(body, bytes) else body.encode("utf-8")
        headers = [
            (name, str(value))
            for name, values in response["headers"].items()
            for value in (values if isinstance(values, list) else [values])
            if name.lower() != "set-cookie"  # guest cookies for .twitter.com: no use here
        ]
        if not body.startswith(b"\x1f\x8b"):
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
        parts = urlsplit(request["uri"])
        found.append(
            Recorded(
                method=request["method"],
                path=remap.path(parts.path),
                params=dict(parse_qsl(parts.query)),
                answer=Answer(response["status"]["code"], body, headers),
            )
        )
    return found


def json_body(file: Path, remap: Remap = NO_REMAP) -> dict[str, Any]:
    """A recorded response body (python-twitter), with its accounts mapped."""
    return remap(json.loads(file.read_text(encoding="utf-8")))  # type: ignore[no-any-return]


def jsonl_pages(file: Path, remap: Remap = NO_REMAP) -> list[dict[str, Any]]:
    """twarc's pages, one response per line; twarc's own ``__twarc`` note is taken off.

    A line that is not JSON (a stream cut short) ends the list, as it would end a reader.
    """
    pages = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            page = json.loads(line)
        except json.JSONDecodeError:
            break
        page.pop("__twarc", None)
        pages.append(remap(page))
    return pages


def gzipped(body: Any, headers: Mapping[str, str] | None = None) -> Answer:
    """A 200 JSON answer sent gzip-compressed, as X sends most."""
    raw = json.dumps(body).encode()
    return Answer(
        200,
        gzip.compress(raw),
        {"content-type": "application/json; charset=utf-8", "content-encoding": "gzip",
         **(headers or {})},
    )  # fmt: skip
