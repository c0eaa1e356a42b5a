"""A JSON API on 127.0.0.1: the base of the fake Discourse, Mastodon and Hacker News servers.

A subclass registers routes (a method and a path pattern, answered by a function of the request)
and keeps whatever state they read; a test can script answers for a path ahead of the routes (any
status, headers and body, raw bytes for a malformed body, or a request that hangs until the
client gives up), and reads back every request the server received.

    class FakeThing(JsonServer):
        def __init__(self) -> None:
            super().__init__()
            self.route("GET", r"/items/(\\d+)\\.json", self._item)

    with FakeThing() as server:
        server.script("/items/1.json", Answer(429, {"error": "slow down"}, {"Retry-After": "9"}))
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.localserver import LocalServer

# A hanging answer gives up after this long even if the test forgets to stop the server.
_MAX_HANG_S = 30.0


@dataclass
class Answer:
    """One answer: a status, a JSON body (or raw bytes, sent as they are), headers, or a hang."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept the request and never answer


@dataclass
class Seen:
    """One request as the server received it (header names lowercased)."""

    method: str
    path: str
    query: dict[str, list[str]]  # every value of every parameter, in order
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter `name`."""
        values = self.query.get(name)
        return values[-1] if values else default


Handler = Callable[[Seen, re.Match[str]], Answer]


class JsonServer(LocalServer):
    """Routes, scripts and a request log; start with ``with Server() as server:``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    # -- what tests call ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL of this server (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method` requests whose path fully matches `pattern` with `handler`."""
        self._routes.append((method, re.compile(pattern), handler))

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests for `path` with `answers`, in order, before any route."""
        with self._lock:
            self._scripts.setdefault(path, []).extend(answers)

    def seen(self, path: str) -> list[Seen]:
        """Every request for `path`, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- serving --------------------------------------------------------------------------------

    def _answer(self, request: Seen) -> Answer:
        with self._lock:
            self.requests.append(request)
            queued = self._scripts.get(request.path)
            if queued:
                return queued.pop(0)
        for method, pattern, handler in self._routes:
            if method == request.method and (match := pattern.fullmatch(request.path)):
                return handler(request, match)
        return Answer(404, {"error": "Record not found"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                request = Seen(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                answer = server._answer(request)
                if answer.hang:
                    server._stopping.wait(_MAX_HANG_S)
                    return
                if isinstance(answer.body, bytes):
                    body = answer.body
                else:
                    body = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_GET = do_POST = do_DELETE = _serve

        return Handler
