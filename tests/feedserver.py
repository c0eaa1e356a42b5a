"""A real HTTP server on 127.0.0.1 for the feed connector's tests.

It serves recorded feeds in place from a folder (``/realdata/<sub>/<file>``) and documents a test
adds, both with ETag and Last-Modified and a 304 for a matching conditional request. It records
every request's path and headers, and a test can script the answers for a path: any status and
headers, a response that hangs (for timeouts), or a body cut short of its Content-Length.

    with FeedServer(realdata_dir) as server:
        server.add("/wp.xml", b"<rss>…</rss>")
        server.script("/busy.xml", Scripted(429, headers={"Retry-After": "120"}))
        url = server.url("/wp.xml")
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.localserver import LocalServer


def comment_item(
    n: int,
    when: datetime | str,
    *,
    author: str = "Ann",
    post: str = "hours",
    text: str | None = None,
) -> str:
    """One WordPress-style comment: "Comment on POST by AUTHOR", a ``#comment-N`` link and the
    guid ``https://blog.example.com/?c=N``. The default text names it (``comment-7: …``), so an
    alert can be matched to its item; `when` is a datetime or an RFC 822 date as written."""
    published = when if isinstance(when, str) else format_datetime(when)
    body = f"comment-{n}: are you open on Sunday?" if text is None else text
    return (
        f"<item><title>Comment on {post} by {author}</title>"
        f"<link>https://blog.example.com/{post}/#comment-{n}</link>"
        f"<dc:creator><![CDATA[{author}]]></dc:creator><pubDate>{published}</pubDate>"
        f'<guid isPermaLink="false">https://blog.example.com/?c={n}</guid>'
        f"<description><![CDATA[<p>{body}</p>]]></description></item>"
    )


def rss(*items: str) -> bytes:
    """An RSS 2.0 comment feed holding `items`."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Comments</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml"}
# A hanging answer gives up after this long even if the test forgets to stop the server.
_MAX_HANG_S = 30.0


@dataclass
class Scripted:
    """One scripted answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False  # accept the request and never answer
    short_by: int = 0  # announce len(body) + short_by bytes, send len(body), then hang up


@dataclass
class Seen:
    """One request as the server received it; header names lowercased."""

    path: str
    headers: dict[str, str]


@dataclass
class _Document:
    body: bytes
    content_type: str
    last_modified: float  # seconds since the epoch

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class FeedServer(LocalServer):
    """Start with ``with FeedServer(root) as server:``; `root` may be None (no recorded files)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root.resolve() if root is not None else None
        self.requests: list[Seen] = []
        self._documents: dict[str, _Document] = {}
        self._scripts: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    # -- what tests call ------------------------------------------------------------------------

    def url(self, path: str, *, userinfo: str = "") -> str:
        """The URL of `path` on this server, e.g. ``url("/wp.xml", userinfo="dana:secret")``."""
        at = f"{userinfo}@" if userinfo else ""
        return f"http://{at}127.0.0.1:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        last_modified: float = 1_710_000_000.0,
    ) -> None:
        """Serve `body` at `path` with validators (replaces what was there)."""
        with self._lock:
            self._documents[path] = _Document(body, content_type, last_modified)

    def script(self, path: str, *answers: Scripted) -> None:
        """Answer `path` with `answers` in order; the last one repeats."""
        with self._lock:
            self._scripts[path] = list(answers)

    def seen(self, path: str) -> list[dict[str, str]]:
        """The headers of every request for `path`, oldest first."""
        return [r.headers for r in self.requests if r.path == path]

    # -- serving --------------------------------------------------------------------------------

    def _next_script(self, path: str) -> Scripted | None:
        with self._lock:
            answers = self._scripts.get(path)
            if not answers:
                return None
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def _document(self, path: str) -> _Document | None:
        with self._lock:
            document = self._documents.get(path)
        if document is not None or self.root is None or not path.startswith("/realdata/"):
            return document
        file = (self.root / path.removeprefix("/realdata/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        content_type = _TYPES.get(file.suffix, "application/xml")
        return _Document(file.read_bytes(), content_type, file.stat().st_mtime)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Seen(self.path, headers))
                scripted = server._next_script(self.path)
                if scripted is not None:
                    self._answer_scripted(scripted)
                    return
                document = server._document(self.path)
                if document is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                validators = {
                    "ETag": document.etag,
                    "Last-Modified": formatdate(document.last_modified, usegmt=True),
                }
                if _not_modified(headers, document):
                    self._send(304, validators, b"")
                    return
                self._send(
                    200, {"Content-Type": document.content_type, **validators}, document.body
                )

            def _answer_scripted(self, scripted: Scripted) -> None:
                if scripted.hang:
                    server._stopping.wait(_MAX_HANG_S)
                    return
                headers = {"Content-Type": "application/rss+xml", **scripted.headers}
                self._send(scripted.status, headers, scripted.body, extra=scripted.short_by)

            def _send(
                self, status: int, headers: dict[str, str], body: bytes, *, extra: int = 0
            ) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body) + extra))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                self.close_connection = True

        return Handler


def _not_modified(headers: dict[str, str], document: _Document) -> bool:
    if "if-none-match" in headers:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return "*" in tags or document.etag in tags
    since = headers.get("if-modified-since")
    if not since:
        return False
    try:
        return parsedate_to_datetime(since).timestamp() >= int(document.last_modified)
    except (TypeError, ValueError):
        return False
