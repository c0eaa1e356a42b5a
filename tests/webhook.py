"""A webhook receiver on 127.0.0.1 for tests: records every request, answers as scripted.

    with Webhook(statuses=[500, 500]) as hook:   # two failures, then 200 for good
        notifier = AppriseNotifier(hook.apprise_url("/alerts"), name="hook")
        ...
        hook.bodies()  # the JSON body of every request, in order

Also `closed_port()`: a port where nothing listens (a bound socket that never listens), for a
channel that must fail to connect without reaching anything else.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.localserver import LocalServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the webhook answered

    def json(self) -> Any:
        return json.loads(self.body)


class Webhook(LocalServer):
    """An HTTP server in a thread. The first responses follow `statuses`, then 200."""

    def __init__(self, statuses: Iterable[int] = ()) -> None:
        self.statuses = list(statuses)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def apprise_url(self, path: str = "/hook", *, auth: str = "") -> str:
        """The Apprise ``json://`` URL that posts to this webhook (`auth` is ``user:pass@``)."""
        return f"json://{auth}127.0.0.1:{self.port}{path}"

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.requests]

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def _answer(self, received: dict[str, Any]) -> int:
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append(Received(status=status, **received))
            return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = hook._answer(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body,
                    }
                )
                reply = b"ok" if status < 300 else b"server error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads `requests`; stderr stays quiet

        return Handler


@contextmanager
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound (so nobody else takes it), never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def free_port() -> int:
    """A port that was free a moment ago, for servers that must be told their port up front."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
