"""A fake Reddit on 127.0.0.1 for the reddit connector's tests: praw talks to it over plain HTTP.

It replays praw's betamax recordings (``../shared/realdata/praw/*.json``), read in place with the
``<USERNAME>`` placeholder replaced by the owner name a test picks; answers the OAuth token POST
by checking the credentials like Reddit does (a wrong client secret is a 401, a wrong password or
refresh token a 200 with ``{"error": "invalid_grant"}``); requires the bearer token it issued;
and records every request. A request is matched by method, path (trailing slash and ``.json``
ignored) and the query parameters that choose the content (``after``, ``q``, ``children``).

Beyond replaying, a test can serve any JSON at a path, serve a listing that pages like Reddit's
(``limit`` and ``after``) and that the test changes between polls, and script answers (any status
and headers, or one that hangs until the client gives up).

    with FakeReddit(REALDATA / "praw", owner="dana_shop") as reddit:
        reddit.replay("TestInbox.test_mentions.json")
        reddit.listing("/user/dana_shop/comments", [])
        reddit.script("/message/comments", Answer(429, headers={"Retry-After": "120"}))
        settings = RedditSettings(**reddit.credentials(), api_base=reddit.url)
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.localserver import LocalServer

PLACEHOLDER = "<USERNAME>"
ACCESS_TOKEN = "fake-access-token-0123"
CLIENT_ID = "sameday-test-app"
CLIENT_SECRET = "client-secret-5f2a9c"
PASSWORD = "hunter2-password-77"
REFRESH_TOKEN = "refresh-token-8d41e0"
# The query parameters that choose what a listing holds; the rest (limit, sort…) are ignored.
RELEVANT = ("after", "q", "children")
# A budget that never makes prawcore wait (its spacing comes out at 0 s).
RELAXED = {"x-ratelimit-remaining": "599.0", "x-ratelimit-used": "1", "x-ratelimit-reset": "300"}
_MAX_HANG_S = 30.0


@dataclass
class Answer:
    """One answer: a status, headers and a JSON body (or raw bytes), or a hang."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept the request and never answer


@dataclass
class Seen:
    """One request as the server received it (header names lowercased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]  # a POST's url-encoded body


@dataclass
class _Route:
    query: dict[str, str]  # values of the RELEVANT parameters; a missing one must be missing
    answer: Answer


def normalize(path: str) -> str:
    """``/r/AskReddit/comments/`` and ``/r/askreddit/comments.json`` are the same resource
    (Reddit's names are case-insensitive)."""
    path = path.removesuffix(".json").rstrip("/").lower()
    return path or "/"


class FakeReddit(LocalServer):
    """Start with ``with FakeReddit(cassettes, owner="dana_shop") as reddit:``."""

    def __init__(
        self,
        cassettes: Path | None = None,
        *,
        owner: str = "dana_shop",
        fill: str | None = None,
        scope: str = "*",
        hang_s: float = 5.0,
    ) -> None:
        self.cassettes = cassettes
        self.owner = owner  # the account that signs in
        self.fill = fill or owner  # who wrote what the recordings call <USERNAME>
        self.scope = scope  # what a signed-in token is granted ("*" for script apps)
        self.hang_s = hang_s
        self.ratelimit = dict(RELAXED)  # x-ratelimit-* sent with every synthetic answer
        self.requests: list[Seen] = []
        self.unmatched: list[Seen] = []
        self._routes: dict[tuple[str, str], list[_Route]] = {}
        self._listings: dict[str, list[dict[str, Any]]] = {}
        self._scripts: dict[tuple[str, str], list[Answer]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    # -- what tests call ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The `api_base` of this server."""
        return f"http://127.0.0.1:{self.port}"

    def credentials(self, mode: str = "password") -> dict[str, str]:
        """Settings that sign in: ``password`` (a script app), ``refresh_token`` or
        ``read_only``."""
        base = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        if mode == "password":
            return {**base, "username": self.owner, "password": PASSWORD}
        if mode == "refresh_token":
            return {**base, "refresh_token": REFRESH_TOKEN}
        return base

    def interactions(self, cassette: str) -> list[dict[str, Any]]:
        """The recording's interactions, read in place, with `fill` for ``<USERNAME>``."""
        if self.cassettes is None:
            raise FileNotFoundError("no recordings folder")
        text = (self.cassettes / cassette).read_text(encoding="utf-8")
        return list(json.loads(text.replace(PLACEHOLDER, self.fill))["interactions"])

    def body(self, cassette: str, index: int) -> Any:
        """The JSON body of one recorded answer (0 is the token exchange)."""
        return json.loads(self.interactions(cassette)[index]["response"]["body"]["string"])

    def replay(self, cassette: str, *, at: str | None = None, only: int | None = None) -> None:
        """Serve the recorded API answers where they were recorded, or `at` another path.

        A recorded listing page whose ``after`` was never requested in the recording is followed
        by an empty page: the recording ends there, and so does the listing.
        """
        asked: dict[str, set[str | None]] = {}
        ends: list[tuple[str, str]] = []
        for index, interaction in enumerate(self.interactions(cassette)):
            request, response = interaction["request"], interaction["response"]
            uri = urlsplit(request["uri"])
            if uri.path.rstrip("/").endswith("/access_token"):
                continue  # the token exchange is answered by the credential check
            if only is not None and index != only:
                continue
            headers = {
                name: values[0]
                for name, values in response["headers"].items()
                if name.lower().startswith("x-ratelimit") or name.lower() == "content-type"
            }
            raw = response["body"].get("string", "")
            answer = Answer(response["status"]["code"], raw.encode(), headers)
            query = dict(parse_qsl(uri.query))
            path = at or uri.path
            self.serve(path, answer=answer, method=request["method"], query=query)
            asked.setdefault(path, set()).add(query.get("after"))
            body = json.loads(raw) if raw.startswith("{") else None
            if isinstance(body, dict) and body.get("kind") == "Listing" and body["data"]["after"]:
                ends.append((path, body["data"]["after"]))
        for path, after in ends:
            if after not in asked[path]:
                self.serve(path, listing_of([]), query={"after": after})

    def serve(
        self,
        path: str,
        body: Any = None,
        *,
        answer: Answer | None = None,
        method: str = "GET",
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer `method path` (with these RELEVANT query values) with `body` as JSON."""
        wanted = {k: v for k, v in (query or {}).items() if k in RELEVANT}
        route = _Route(wanted, answer or Answer(200, body))
        with self._lock:
            routes = self._routes.setdefault((method, normalize(path)), [])
            routes[:] = [r for r in routes if r.query != wanted] + [route]

    def listing(self, path: str, things: list[dict[str, Any]] | None) -> None:
        """Serve `things` (newest first) at `path` as a Listing paged by ``limit``/``after``;
        None stops serving it."""
        with self._lock:
            if things is None:
                self._listings.pop(normalize(path), None)
            else:
                self._listings[normalize(path)] = list(things)

    def script(self, path: str, *answers: Answer, method: str = "GET") -> None:
        """Answer `path` with `answers` in order (before any route); the last one repeats."""
        with self._lock:
            self._scripts[(method, normalize(path))] = list(answers)

    def seen(self, path: str, method: str = "GET") -> list[Seen]:
        """The requests for `path`, oldest first."""
        wanted = normalize(path)
        return [r for r in self.requests if r.path == wanted and r.method == method]

    @property
    def api_requests(self) -> list[Seen]:
        """Every request but the token exchanges."""
        return [r for r in self.requests if not r.path.endswith("/access_token")]

    @property
    def token_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path.endswith("/access_token")]

    # -- serving --------------------------------------------------------------------------------

    def _next_script(self, key: tuple[str, str]) -> Answer | None:
        with self._lock:
            answers = self._scripts.get(key)
            if not answers:
                return None
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def _route(self, key: tuple[str, str], query: dict[str, str]) -> Answer | None:
        with self._lock:
            for route in reversed(self._routes.get(key, [])):
                if all(query.get(k) == route.query.get(k) for k in RELEVANT):
                    return route.answer
        return None

    def _page(self, path: str, query: dict[str, str]) -> Answer | None:
        with self._lock:
            things = self._listings.get(path)
            if things is None:
                return None
            things = list(things)
        start = 0
        if after := query.get("after"):
            names = [t["data"]["name"] for t in things]
            # An `after` that is gone (deleted) ends the listing, as on Reddit.
            start = names.index(after) + 1 if after in names else len(things)
        limit = int(query.get("limit") or 25)
        page = things[start : start + limit]
        more = start + limit < len(things)
        body = {
            "kind": "Listing",
            "data": {
                "after": page[-1]["data"]["name"] if page and more else None,
                "dist": len(page),
                "children": page,
                "before": None,
            },
        }
        return Answer(200, body)

    def _token(self, headers: dict[str, str], form: dict[str, str]) -> Answer:
        """The credential check of ``POST /api/v1/access_token``, as Reddit answers it."""
        scripted = self._next_script(("POST", "/api/v1/access_token"))
        if scripted is not None:
            return scripted
        unauthorized = Answer(401, {"message": "Unauthorized", "error": 401})
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return unauthorized
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return unauthorized
        grant = form.get("grant_type")
        scope = self.scope
        if grant == "password":
            ok = (
                form.get("username", "").casefold() == self.owner.casefold()
                and form.get("password") == PASSWORD
            )
        elif grant == "refresh_token":
            ok = form.get("refresh_token") == REFRESH_TOKEN
        elif grant == "client_credentials":
            ok, scope = True, "*"
        else:
            return Answer(200, {"error": "unsupported_grant_type"})
        if not ok:
            return Answer(200, {"error": "invalid_grant"})
        token = {
            "access_token": ACCESS_TOKEN,
            "token_type": "bearer",
            "expires_in": 86400,
            "scope": scope,
        }
        return Answer(200, token)

    def _answer(self, seen: Seen) -> Answer:
        key = (seen.method, seen.path)
        if seen.path == "/api/v1/access_token" and seen.method == "POST":
            return self._token(seen.headers, seen.form)
        if seen.headers.get("authorization") != f"bearer {ACCESS_TOKEN}":
            return Answer(
                401,
                {"message": "Unauthorized", "error": 401},
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
            )
        for found in (
            self._next_script(key),
            self._page(seen.path, seen.query) if seen.method == "GET" else None,
            self._route(key, seen.query),
        ):
            if found is not None:
                return found
        if key == ("GET", "/api/v1/me"):
            return Answer(200, {"name": self.owner, "id": "owner1", "is_suspended": False})
        self.unmatched.append(seen)
        return Answer(404, {"message": "Not Found", "error": 404})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                seen = Seen(
                    method=method,
                    path=normalize(parts.path),
                    query=dict(parse_qsl(parts.query)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=dict(parse_qsl(raw)),
                )
                server.requests.append(seen)
                answer = server._answer(seen)
                if answer.hang:
                    server._stopping.wait(min(server.hang_s, _MAX_HANG_S))
                    self.close_connection = True
                    return
                # Reddit's token endpoint sends no x-ratelimit-* headers; its API does.
                self._send(answer, budget=not seen.path.endswith("/access_token"))

            def _send(self, answer: Answer, *, budget: bool) -> None:
                body = answer.body
                if not isinstance(body, bytes):
                    body = b"" if body is None else json.dumps(body).encode()
                headers = {"Content-Type": "application/json; charset=UTF-8"}
                if budget and "x-ratelimit-remaining" not in {k.lower() for k in answer.headers}:
                    headers.update(server.ratelimit)
                headers.update(answer.headers)
                self.send_response(answer.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def thing(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """A listing child as Reddit wraps it: ``{"kind": "t1", "data": {...}}``."""
    return {"kind": kind, "data": data}


def comment(
    n: int,
    created_utc: float,
    *,
    author: str | None = "a_customer",
    parent: str = "t3_post1",
    post: str = "post1",
    body: str | None = None,
    subreddit: str = "smallbusiness",
) -> dict[str, Any]:
    """A synthetic comment, shaped like the recorded ones (``t1_c<n>``)."""
    cid = f"c{n:05d}"
    return thing(
        "t1",
        {
            "id": cid,
            "name": f"t1_{cid}",
            "author": author,
            "body": f"comment {n}: do you ship to Canada?" if body is None else body,
            "created_utc": float(created_utc),
            "parent_id": parent,
            "link_id": f"t3_{post}",
            "subreddit": subreddit,
            "permalink": f"/r/{subreddit}/comments/{post}/a_post/{cid}/",
            "replies": "",
        },
    )


def inbox_item(n: int, created_utc: float, **kwargs: Any) -> dict[str, Any]:
    """A synthetic inbox comment reply: no permalink or link_id, a context link instead."""
    item = comment(n, created_utc, **kwargs)
    data = item["data"]
    post = data.pop("link_id").removeprefix("t3_")
    data.pop("permalink")
    data.update(
        {
            "context": f"/r/{data['subreddit']}/comments/{post}/a_post/{data['id']}/?context=3",
            "type": "comment_reply",
            "subject": "comment reply",
            "was_comment": True,
            "new": True,
        }
    )
    return item


def listing_of(things: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    """A one-page Listing body."""
    return {"kind": "Listing", "data": {"after": after, "children": things, "before": None}}


def iter_comments(tree: Any) -> Iterator[dict[str, Any]]:
    """Every comment (its ``data``) of a ``/comments/<id>`` answer, depth first."""
    if isinstance(tree, list):
        tree = tree[1]
    stack = list(reversed(tree["data"]["children"]))
    while stack:
        child = stack.pop()
        if child["kind"] != "t1":
            continue
        yield child["data"]
        replies = child["data"].get("replies")
        if isinstance(replies, dict):
            stack += reversed(replies["data"]["children"])
