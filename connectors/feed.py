"""The feed connector: blog and forum comment feeds (RSS 2.0, Atom, RDF) as `Record`s.

It watches a WordPress ``/comments/feed/``, a Blogger comment feed, a Discourse ``/posts.rss`` or
any other feed, over HTTP(S) or from a local file (``file://`` URL or a plain path). One fetch is
one conditional GET (ETag / Last-Modified kept in the cursor, a 304 costs nothing) or one stat of
the file; feedparser only ever sees bytes, never a URL, so all I/O, timeouts and errors are ours.

Feeds are flat: each entry becomes a record in the thread of the post it comments on, and the
answered rule falls back to "a later owner record in the same thread". Where a feed says which
entry a comment replies to (``thr:in-reply-to`` naming another entry of the same document), that
becomes `parent_id`.

Example::

    connector = FeedConnector(
        FeedSettings(url="https://blog.example.com/comments/feed/"),
        ConnectorContext(source="shop-blog", owner_identities=("Dana",)),
    )
    result = connector.fetch(None)           # all entries, and a cursor with the validators
    later = connector.fetch(result.cursor)   # not_modified=True while the feed is unchanged
"""

from __future__ import annotations

import builtins
import calendar
import hashlib
import html
import io
import logging
import os
import re
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import SplitResult, urlsplit, urlunsplit
from urllib.request import url2pathname

import feedparser
import httpx
from pydantic import BaseModel, field_validator

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from connectors.html_text import html_to_text, tidy_text
from connectors.http import parse_retry_after, server_problem, tls_context

log = logging.getLogger(__name__)

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# The only response headers feedparser may see: the charset, the base for relative links and
# the language. Never Content-Encoding: httpx has already decoded the body.
_PASSED_HEADERS = frozenset({"content-type", "content-location", "content-language"})
# Query parameters that private feeds use to carry a secret; masked in messages and cursors.
_SECRET_PARAMS = frozenset(
    {"token", "key", "apikey", "api_key", "secret", "password", "pass", "auth", "sig",
     "signature", "access_token", "api_token", "private_token"}
)  # fmt: skip
# Discourse post permalinks are /t/<slug>/<topic id>/<post number>; the topic is the thread.
_DISCOURSE_POST = re.compile(r"^(.*/t/[^/]+/\d+)(?:/\d+)?/?$")
# WordPress paginates long comment threads as <post>/comment-page-N/#comment-M.
_WP_COMMENT_PAGE = re.compile(r"^(.*/)comment-page-\d+/?$")
# "dana@example.com (Dana)" is handled by feedparser; "Dana (dana@example.com)" is not.
_TRAILING_EMAIL = re.compile(r"\s*\([^()]*@[^()]*\)\s*$")
_dict_get = dict.get  # FeedParserDict.get goes through key aliasing and deprecation shims
_Entry = dict[str, Any]  # a feedparser.FeedParserDict


class FeedSettings(ConnectorSettings):
    """Settings of a ``type: feed`` source."""

    # ConnectorSettings hides inputs in errors: a password in the URL is never echoed.

    url: str  # http(s):// URL (user:password@ for Basic auth), file:// URL, or a local path

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the feed URL is empty; give an http(s):// or file:// URL or a path")
        scheme = urlsplit(value).scheme.lower()
        # A one-letter "scheme" is a Windows drive (C:\feeds\x.xml).
        if scheme and len(scheme) > 1 and scheme not in ("http", "https", "file"):
            raise ValueError(
                f"unsupported URL scheme {scheme!r}: use http://, https://, file:// or a local path"
            )
        if scheme == "file" and urlsplit(value).netloc not in ("", "localhost"):
            raise ValueError("a file:// URL must name a local file (file:///path/to/feed.xml)")
        return value


def _strip_userinfo(parts: SplitResult) -> SplitResult:
    if "@" not in parts.netloc:
        return parts
    return parts._replace(netloc=parts.netloc.rpartition("@")[2])


def _redact(url: str) -> str:
    """The URL as it may appear in messages, logs and cursors: no user:password, no tokens."""
    parts = _strip_userinfo(urlsplit(url))
    if parts.query:
        masked = []
        for pair in parts.query.split("&"):
            name, eq, _ = pair.partition("=")
            masked.append(f"{name}=***" if eq and name.lower() in _SECRET_PARAMS else pair)
        parts = parts._replace(query="&".join(masked))
    return urlunsplit(parts)


def _secrets_in(url: str) -> list[str]:
    """The substrings of `url` that must never reach a message (for scrubbing library errors)."""
    parts = urlsplit(url)
    found = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        found += [userinfo, *(s for s in userinfo.split(":")[1:] if s)]
    for pair in parts.query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and value and name.lower() in _SECRET_PARAMS:
            found.append(value)
    return sorted(found, key=len, reverse=True)  # longest first: "user:pw" before "pw"


def _thread_url(link: str) -> str:
    """The post or topic a comment permalink belongs to.

    >>> _thread_url("https://blog.example.com/2024/05/hello/comment-page-2/#comment-5")
    'https://blog.example.com/2024/05/hello/'
    >>> _thread_url("http://x.blogspot.com/2009/10/post.html?showComment=126#c47")
    'http://x.blogspot.com/2009/10/post.html'
    >>> _thread_url("https://forum.example.com/t/opening-hours/123/4")
    'https://forum.example.com/t/opening-hours/123'
    """
    # A fragment names a place on the page, never another page.
    url = link.partition("#")[0]
    base, _, query = url.partition("?")
    if "/t/" in base and (match := _DISCOURSE_POST.match(base)):
        return match.group(1)  # the topic; a query (?u=dana share links) names no other topic
    if query and ("showComment=" in query or "cpage=" in query):
        # Blogger's post.html?showComment=<ms>#c<id>, WordPress's ?p=41&cpage=2#comment-9
        kept = "&".join(p for p in query.split("&") if not p.startswith(("showComment=", "cpage=")))
        query = kept
    if "/comment-page-" in base and (match := _WP_COMMENT_PAGE.match(base)):
        base = match.group(1)
    return f"{base}?{query}" if query else base


def _author(entry: _Entry) -> str:
    detail = _dict_get(entry, "author_detail")
    name = (detail and _dict_get(detail, "name")) or _dict_get(entry, "author") or ""
    if not name:
        name = _dict_get(entry, "dc_creator") or ""
    if "&" in name:
        # WordPress escapes names inside CDATA ("Ann &#38; Co"), which no parser undoes.
        name = html.unescape(name)
    name = name.strip()
    if name.endswith(")"):
        name = _TRAILING_EMAIL.sub("", name)
    return name or "anonymous"


def _to_text(value: str, content_type: str | None) -> str:
    # Feeds label titles and some content text/plain, where "<" and "&" are meant literally.
    if content_type and "html" not in content_type:
        return tidy_text(value)
    return html_to_text(value)


def _text(entry: _Entry) -> str:
    """Plain text of the entry: its content, else its summary, else its title.

    A candidate that reduces to nothing (FeedBurner's tracking-pixel-only descriptions) does
    not count.
    """
    for detail in _dict_get(entry, "content") or ():
        value = _dict_get(detail, "value")
        if value and (text := _to_text(value, _dict_get(detail, "type"))):
            return text
    for key, detail_key in (("summary", "summary_detail"), ("title", "title_detail")):
        value = _dict_get(entry, key)
        if value:
            detail = _dict_get(entry, detail_key)
            if text := _to_text(value, detail and _dict_get(detail, "type")):
                return text
    return ""


def _created_at(entry: _Entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = _dict_get(entry, key)
        if struct:
            try:
                # feedparser's *_parsed are UTC struct_times.
                return datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
    return None


def _content_id(entry: _Entry) -> str:
    """A stable id for an entry that has neither id nor link."""
    fields = (
        _dict_get(entry, "title") or "",
        _dict_get(entry, "author") or "",
        _dict_get(entry, "published") or _dict_get(entry, "updated") or "",
        _dict_get(entry, "summary") or "",
    )
    digest = hashlib.sha1(
        "\x1f".join(fields).encode("utf-8", "surrogatepass"), usedforsecurity=False
    )
    return "sha1:" + digest.hexdigest()


def _describe_problem(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown problem"
    get_message = getattr(exc, "getMessage", None)  # SAXParseException
    if callable(get_message):
        return f"{get_message()} at line {exc.getLineNumber()}"  # type: ignore[attr-defined]
    return str(exc) or type(exc).__name__


def _describe_body(content: bytes, content_type: str | None) -> str:
    head = content[:1024].lstrip().lower()
    if not head:
        return "an empty response"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page"
    if content_type:
        return f"a {content_type.split(';')[0].strip()} document"
    return "a document"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class FeedConnector:
    """Reads one RSS/Atom/RDF feed over HTTP(S) or from a local file."""

    type: ClassVar[str] = "feed"
    Settings: ClassVar[builtins.type[BaseModel]] = FeedSettings  # `type` is taken just above

    def __init__(
        self,
        settings: FeedSettings,
        context: ConnectorContext,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._client = client
        url = settings.url
        scheme = urlsplit(url).scheme.lower()
        self._path: Path | None = None
        if scheme in ("http", "https"):
            self._url = url
            self._display = _redact(url)
            self._secrets = _secrets_in(url)
        else:
            if scheme == "file":
                self._path = Path(url2pathname(urlsplit(url).path))
            else:
                self._path = Path(os.path.expanduser(url))
            self._url = self._display = str(self._path)
            self._secrets = []

    # -- fetching -------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Fetch the feed; unchanged since `cursor` gives ``not_modified=True`` and no records.

        Raises TransientError (timeouts, 5xx, 429, not a feed), AuthError (401/403) or
        ConfigError (404/410, a missing file).
        """
        if self._path is not None:
            return self._fetch_file(cursor)
        return self._fetch_http(cursor)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _fetch_http(self, cursor: dict[str, Any] | None) -> FetchResult:
        ctx = self.context
        headers = {"User-Agent": ctx.user_agent, "Accept": _ACCEPT}
        # Validators belong to the URL they came from: after a URL change, an old
        # If-Modified-Since could make the new feed look unchanged.
        if cursor and cursor.get("url") == self._display:
            if cursor.get("etag"):
                headers["If-None-Match"] = cursor["etag"]
            if cursor.get("last_modified"):
                headers["If-Modified-Since"] = cursor["last_modified"]
        where = self._display
        try:
            if self._client is not None:
                response = self._get(self._client, headers)
            else:
                # A client per poll holds no sockets between polls (200 sources, 200 idle
                # pools otherwise); the TLS context, costly to build, is shared.
                with httpx.Client(verify=tls_context()) as client:
                    response = self._get(client, headers)
        except httpx.TimeoutException:
            raise TransientError(
                f"the feed at {where} did not answer within {ctx.timeout:g} s; will retry"
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ConfigError(
                f"cannot request the feed at {where}: {self._scrub(str(exc))} — check sources[].url"
            ) from None
        except httpx.HTTPError as exc:  # connection refused, DNS, reset, broken body, redirects…
            problem = self._scrub(str(exc)) or type(exc).__name__
            raise TransientError(f"cannot reach the feed at {where}: {problem}") from None

        status = response.status_code
        if status == 304:
            return FetchResult(records=[], cursor=cursor, not_modified=True)
        if 200 <= status < 300:
            body_headers = {
                k: v for k, v in response.headers.items() if k.lower() in _PASSED_HEADERS
            }
            # Relative links in the feed resolve against where it really came from.
            body_headers["content-location"] = urlunsplit(
                _strip_userinfo(urlsplit(str(response.url)))
            )
            result = self._parse(
                response.content, body_headers, ctx.clock(), where=f"the feed at {where}"
            )
            new_cursor: dict[str, Any] = {"url": self._display}
            if etag := response.headers.get("etag"):
                new_cursor["etag"] = etag
            if last_modified := response.headers.get("last-modified"):
                new_cursor["last_modified"] = last_modified
            result.cursor = new_cursor
            return result
        raise self._status_error(response)

    def _get(self, client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        # Per-request options, so an injected client behaves exactly like our own.
        return client.get(
            self._url,
            headers=headers,
            timeout=self.context.timeout,
            follow_redirects=True,
        )

    def _status_error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        where = self._display
        reason = f"{status} {response.reason_phrase}".strip()
        if status in (401, 403):
            return AuthError(
                f"the feed at {where} refused access ({reason}): it needs a login, or the login "
                "in sources[].url (https://user:password@…) is wrong, or the site blocks bots"
            )
        if status in (404, 410):
            return ConfigError(f"the feed URL returned {status} — check sources[].url ({where})")
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.context.clock())
        if status == 429:
            return TransientError(
                f"the feed at {where} is rate limiting us ({reason}); will retry later",
                retry_after=retry_after,
            )
        if down := server_problem(f"the feed at {where}", status, reason, retry_after):
            return down
        if 400 <= status < 500:
            return ConfigError(f"the feed at {where} rejected the request ({reason})")
        return TransientError(f"the feed at {where} gave an unexpected answer ({reason})")

    def _fetch_file(self, cursor: dict[str, Any] | None) -> FetchResult:
        path = self._path
        assert path is not None
        try:
            st = path.stat()
            if stat.S_ISDIR(st.st_mode):
                raise ConfigError(f"{path} is a directory, not a feed file — check sources[].url")
            state = {"path": str(path), "mtime_ns": st.st_mtime_ns, "size": st.st_size}
            if cursor and all(cursor.get(k) == v for k, v in state.items()):
                return FetchResult(records=[], cursor=cursor, not_modified=True)
            # Stat before read: if the file changes in between, the next poll sees a new stat.
            content = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"the feed file {path} does not exist — check sources[].url"
            ) from None
        except PermissionError:
            raise ConfigError(f"cannot read the feed file {path}: permission denied") from None
        except OSError as exc:
            raise TransientError(
                f"cannot read the feed file {path}: {exc.strerror or exc}"
            ) from None
        result = self._parse(content, None, self.context.clock(), where=f"the feed file {path}")
        result.cursor = state
        return result

    # -- parsing --------------------------------------------------------------------------------

    def parse(
        self,
        content: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        fetched_at: datetime,
    ) -> FetchResult:
        """Turn a feed document into records and warnings; no I/O. The cursor is left None.

        `headers` are the HTTP response headers (Content-Type gives the charset); `fetched_at`
        stands in for entries without a usable date. Raises TransientError("not a feed: …")
        when the bytes are not a feed at all.
        """
        passed = None
        if headers:
            passed = {k.lower(): v for k, v in headers.items() if k.lower() in _PASSED_HEADERS}
        return self._parse(content, passed, fetched_at, where="the document")

    def _parse(
        self,
        content: bytes,
        headers: dict[str, str] | None,
        fetched_at: datetime,
        *,
        where: str,
    ) -> FetchResult:
        fetched_at = (
            fetched_at.replace(tzinfo=UTC) if fetched_at.tzinfo is None else fetched_at
        ).astimezone(UTC)
        if content[:1].isspace():
            # Blank lines before <?xml (a classic WordPress plugin slip) make the strict XML
            # parser give up on an otherwise fine feed; only ASCII-compatible bodies are touched.
            stripped = content.lstrip()
            if stripped.startswith(b"<?xml"):
                content = stripped
        try:
            parsed = feedparser.parse(
                io.BytesIO(content),  # a stream: feedparser must never open a URL or a path
                response_headers=headers or {},
                # Records carry plain text only (html_to_text drops scripts and every tag), so
                # sanitizing and rewriting links inside the HTML would be wasted; it is about
                # half of feedparser's time.
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except Exception as exc:  # feedparser is meant not to raise; if it does, retry later
            log.exception("source %s: feedparser failed on %s", self.context.source, where)
            raise TransientError(f"cannot parse {where}: {type(exc).__name__}: {exc}") from None

        entries = parsed.entries
        if not entries and not parsed.get("version") and not parsed.feed.get("title"):
            content_type = (headers or {}).get("content-type")
            raise TransientError(
                f"not a feed: {where} is {_describe_body(content, content_type)}, with no RSS, "
                "Atom or RDF in it — check that sources[].url is the feed itself (WordPress: "
                "…/comments/feed/, Discourse: …/posts.rss)"
            )

        warnings: list[str] = []
        if parsed.get("bozo"):
            problem = _describe_problem(parsed.get("bozo_exception"))
            warnings.append(
                f"feed is malformed ({problem}): parsed "
                f"{_plural(len(entries), 'entry', 'entries')} as far as it goes"
            )
        records, more = self._records(entries, fetched_at)
        warnings += more
        for warning in warnings:
            log.warning("source %s: %s: %s", self.context.source, where, warning)
        return FetchResult(records=records, cursor=None, warnings=warnings)

    def _records(
        self, entries: list[_Entry], fetched_at: datetime
    ) -> tuple[list[Record], list[str]]:
        is_owner = self.context.is_owner
        owner_of: dict[str, bool] = {}
        # First pass: everything an entry says about itself.
        rows: list[dict[str, Any]] = []
        position: dict[str, int] = {}
        duplicates = undated = empty = 0
        for entry in entries:
            raw_id = (_dict_get(entry, "id") or "").strip()
            raw_link = (_dict_get(entry, "link") or "").strip()
            # Only a web address is a permalink someone can open; a relative link (a local file
            # has no base) still names the page, but an id feedparser copied into `link` does not.
            link = raw_link if raw_link.startswith(("http://", "https://")) else None
            page = link or (None if _dict_get(entry, "guidislink") else raw_link or None)
            text = _text(entry)
            created_at = _created_at(entry)
            if not (raw_id or raw_link or text or created_at):
                # What a truncated document leaves of its last <item>: nothing to show or answer,
                # and its content id would not survive the next, complete fetch.
                empty += 1
                continue
            external_id = raw_id or raw_link or _content_id(entry)
            if external_id in position:
                duplicates += 1
                continue
            reply_to = _dict_get(entry, "thr_in-reply-to")
            ref = None
            thread = None
            if reply_to:
                ref = (_dict_get(reply_to, "ref") or "").strip() or None
                href = (_dict_get(reply_to, "href") or "").strip()
                thread = _thread_url(href) if href else ref
            if not thread:
                thread = (_dict_get(entry, "wfw_commentrss") or "").strip() or None
            if not thread and page:
                thread = _thread_url(page)
            author = _author(entry)
            owner = owner_of.get(author)
            if owner is None:
                owner = owner_of[author] = is_owner(author)
            if created_at is None:
                undated += 1
            position[external_id] = len(rows)
            rows.append(
                {
                    "external_id": external_id,
                    "thread_id": thread,
                    "parent_id": ref,  # kept only if it names an entry of this document
                    "author": author,
                    "is_owner": owner,
                    "text": text,
                    "url": link,
                    "created_at": created_at or fetched_at,
                    "created_at_estimated": created_at is None,
                }
            )

        # Second pass: a reply to another entry of this document joins that entry's thread.
        for row in rows:
            ref = row["parent_id"]
            if ref is None:
                continue
            if ref not in position or ref == row["external_id"]:
                row["parent_id"] = None
                continue
            root, seen = row, {row["external_id"]}
            while (up := root["parent_id"]) in position and up not in seen:
                seen.add(up)
                root = rows[position[up]]
            row["thread_id"] = root["thread_id"]

        records = [Record(kind="comment", **row) for row in rows]
        warnings = []
        if undated:
            warnings.append(
                f"{_plural(undated, 'entry', 'entries')} had no usable date; kept with the "
                "fetch time"
            )
        if empty:
            warnings.append(
                f"skipped {_plural(empty, 'empty entry', 'empty entries')} (no id, link, text or "
                "date), probably cut off"
            )
        if duplicates:
            warnings.append(
                f"{_plural(duplicates, 'entry', 'entries')} repeated the id of an earlier entry; "
                "kept the first"
            )
        return records, warnings
