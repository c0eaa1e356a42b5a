"""The Hacker News connector: stories and comments that name the business, and replies to the
owner's HN account, through the HN Search API by Algolia (``api_base``, no key).

A fetch runs these searches (``GET /search_by_date``, newest first):

- **keywords**: one search per keyword over stories and comments (``tags=(story,comment)``).
  Algolia searches titles, URLs and texts, so a domain keyword (``danashop.com``) finds the
  stories that link to the shop as well as the comments that name it. The keyword is sent as a
  quoted phrase, and a hit is kept only when its own title, URL or text names it: Algolia also
  matches prefixes and typos (the recorded search for "apple" returns a comment that only says
  "applauded") and a comment by the title of its story. Items, ``kind="mention"``.
- **the owner's items** (``tags=(story,comment),author_<username>``), with ``username``: owner
  records. A comment's `parent_id` is what it replies to, so the owner's answer marks that item
  answered; a story replies to nothing and starts its own thread.

**Replies to the owner.** HN has no notifications and Algolia cannot search by parent, so the
owner's stories and comments of the last ``watch_days`` (at most ``MAX_WATCHED``, newest first)
are watched: each fetch reads each of them once (``GET /items/<id>``, the item with its replies)
and every direct reply by someone else is an item, ``kind="reply"``. That is one request per
watched item per poll, bounded by ``MAX_WATCHED``; replies to replies are covered because the
owner's answer is itself a watched item.

**Threads.** `thread_id` is the story (``story_id``; a story's own id); `parent_id` is
``parent_id``. Permalinks are ``https://news.ycombinator.com/item?id=<id>``.

**Cursor.** ``{"api_base", "searches": {"kw:<keyword>" | "author:<name>": {"since", "seen",
"resume"?}}, "watch": [{"id", "t", "kids"}]}``. ``since`` is the newest ``created_at_i`` read
to the end. Algolia indexes an item a little after it is written, so a search starts
``OVERLAP_S`` seconds before ``since`` and ``seen`` keeps the ids read within that overlap (the
ids at the newest second among them): nothing is returned twice, and a late-indexed item is not
missed. A backlog beyond the page bound is finished at the next fetch: ``resume`` keeps the
oldest second read (``upto``) and the newest of that walk (``top``). The first search of a
keyword reads at most the page bound. Each watched item keeps the ids of the replies already
returned (``kids``). A keyword removed from the settings is forgotten; a new one starts afresh.

Example::

    connector = HackerNewsConnector(
        HackerNewsSettings(keywords=["danashop.com"], username="dana"),
        ConnectorContext(source="hn", owner_identities=("dana",)),
    )
    print(connector.check())   # HN user dana found (karma 12); watching "danashop.com" …
    result = connector.fetch(None)
"""

from __future__ import annotations

import builtins
import json
import logging
import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, Field, field_validator, model_validator

from connectors import http
from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from connectors.html_text import html_to_text
from connectors.http import parse_retry_after, server_problem, tls_context

log = logging.getLogger(__name__)

API_BASE = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
PAGE = 100  # hits per search page
MAX_PAGES = 5  # pages of one search read in one fetch (Algolia stops at 1,000 hits anyway)
OVERLAP_S = 600  # how late Algolia may index an item, in seconds
MAX_WATCHED = 30  # owner items whose replies are read at each fetch
MAX_SEEN = 2000  # ids kept per search for the overlap
MAX_KIDS = 500  # reply ids kept per watched item
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{2,15}$")
_WORDS = re.compile(r"[^\w]+")


class HackerNewsSettings(ConnectorSettings):
    """Settings of a ``type: hackernews`` source."""

    keywords: list[str] = Field(default_factory=list)  # names, domains: danashop.com
    username: str | None = None  # the owner's HN account: their answers, and replies to them
    watch_days: int = Field(default=14, ge=1, le=365)  # how long replies to an item are read
    api_base: str = API_BASE  # a proxy or a test server stands in for hn.algolia.com

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        kept = []
        for keyword in value:
            keyword = " ".join(keyword.split())
            if keyword and not _normalized(keyword):
                raise ValueError(f"the keyword {keyword!r} has no letters or digits")
            if keyword and keyword not in kept:
                kept.append(keyword)
        return kept

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        if not _USERNAME.match(name):
            raise ValueError("expected a Hacker News username: 2 to 15 letters, digits, - or _")
        return name

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s):// URL such as {API_BASE}")
        return value

    @model_validator(mode="after")
    def _something(self) -> HackerNewsSettings:
        if not self.keywords and self.username is None:
            raise ValueError("give keywords to search for, a username to watch, or both")
        return self


def _normalized(text: str) -> str:
    """Lowercase words separated by single spaces: ``"Dana's Shop!"`` → ``"dana s shop"``."""
    return " ".join(_WORDS.sub(" ", text.casefold()).split())


def names(keyword: str, *texts: str | None) -> bool:
    """Whether any of `texts` names `keyword` as whole words, case and punctuation aside.

    >>> names("danashop.com", "Ordered from https://www.danashop.com/cakes")
    True
    >>> names("apple", "shouldn't be applauded")
    False
    """
    needle = f" {_normalized(keyword)} "
    return any(needle in f" {_normalized(text)} " for text in texts if text)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _hit_text(hit: Mapping[str, Any]) -> str:
    """A comment's text, or a story's title, link and text, as plain text."""
    comment = hit.get("comment_text") or (hit.get("text") if hit.get("type") == "comment" else "")
    if comment:
        return html_to_text(str(comment))
    parts = [str(hit.get("title") or "").strip(), str(hit.get("url") or "").strip()]
    body = hit.get("story_text") or hit.get("text")
    if body:
        parts.append(html_to_text(str(body)))
    return "\n\n".join(p for p in parts if p)


def _is_story(hit: Mapping[str, Any]) -> bool:
    tags = hit.get("_tags")
    if isinstance(tags, list):
        return "comment" not in tags
    return hit.get("type") != "comment"


class HackerNewsConnector:
    """Searches Hacker News for the business and for replies to the owner."""

    type: ClassVar[str] = "hackernews"
    Settings: ClassVar[builtins.type[BaseModel]] = HackerNewsSettings

    def __init__(
        self,
        settings: HackerNewsSettings,
        context: ConnectorContext,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._client = client
        self._host = urlsplit(settings.api_base).netloc
        self._headers = {"User-Agent": context.user_agent, "Accept": "application/json"}

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> str:
        """Look the owner up (or run one search): "HN user dana found (karma 12); watching …".

        Raises ConfigError (no such user, a wrong api_base) or TransientError.
        """
        settings = self.settings
        watching = ", ".join(f'"{k}"' for k in settings.keywords)
        with self._session() as client:
            if settings.username:
                user = self._get(
                    client, f"/users/{quote(settings.username)}", what="the user", allow=(404,)
                )
                if not isinstance(user, dict) or not user.get("username"):
                    raise ConfigError(
                        f"there is no Hacker News user {settings.username} — check username "
                        "(it is case-sensitive)"
                    )
                karma = user.get("karma")
                found = f"HN user {user['username']} found" + (
                    f" (karma {karma})" if karma is not None else ""
                )
                also = f"watching {watching} and" if watching else "watching"
                return (
                    f"{found}; {also} replies to {user['username']}'s items of the last "
                    f"{settings.watch_days} days"
                )
            self._get(
                client,
                "/search_by_date",
                params={"query": settings.keywords[0], "hitsPerPage": 1},
                what="a search",
            )
            return f"the HN search at {self._host} answers; watching {watching}"

    # -- fetching -------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Keyword hits, the owner's items and replies to them, newer than `cursor`.

        Raises TransientError (timeouts, 5xx, 429 with its Retry-After, a body that is not
        JSON), AuthError (401/403 from a proxy in api_base) or ConfigError (404, a bad query).
        """
        settings = self.settings
        cursor = cursor if cursor and cursor.get("api_base") == settings.api_base else {}
        old_searches = _dict(cursor.get("searches"))
        searches: dict[str, Any] = {}
        warnings: list[str] = []
        records: dict[str, Record] = {}
        now = self.context.clock()
        with self._session() as client:
            for keyword in settings.keywords:
                key = f"kw:{keyword}"
                hits, searches[key] = self._search(
                    client, key, {"query": f'"{keyword}"', "tags": "(story,comment)"},
                    _dict(old_searches.get(key)), warnings,
                )  # fmt: skip
                for hit in hits:
                    text = _hit_text(hit)
                    if not names(keyword, text, hit.get("title"), hit.get("url")):
                        continue  # a prefix, a typo, or only its story's title
                    self._add(records, self._hit_record(hit, text, kind="mention"))
            old_watch = cursor.get("watch")
            watch = (
                [w for w in old_watch if isinstance(w, dict)] if isinstance(old_watch, list) else []
            )
            if settings.username:
                key = f"author:{settings.username}"
                tags = f"(story,comment),author_{settings.username}"
                hits, searches[key] = self._search(
                    client, key, {"tags": tags}, _dict(old_searches.get(key)), warnings
                )
                for hit in hits:
                    record = self._hit_record(hit, _hit_text(hit), kind="comment")
                    self._add(records, record, owner=True)
                watch = _watched(watch, hits, now - timedelta(days=settings.watch_days))
                watch = self._replies(client, watch, records)
            else:
                watch = []
        for warning in warnings:
            log.warning("source %s: %s", self.context.source, warning)
        new_cursor = {"api_base": settings.api_base, "searches": searches, "watch": watch}
        return FetchResult(records=list(records.values()), cursor=new_cursor, warnings=warnings)

    def _search(
        self,
        client: httpx.Client,
        key: str,
        params: dict[str, Any],
        state: dict[str, Any],
        warnings: list[str],
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Read one search back to its cursor; returns the new hits and the new state."""
        since = _int(state.get("since"))  # None: the first search
        seen: dict[str, int] = {
            str(k): t for k, v in _dict(state.get("seen")).items() if (t := _int(v)) is not None
        }
        resume = _dict(state.get("resume"))
        upto, top = _int(resume.get("upto")), _int(resume.get("top"))
        filters = []
        if since is not None:
            filters.append(f"created_at_i>{since - OVERLAP_S}")
        if upto is not None:
            filters.append(f"created_at_i<={upto}")
        new: list[dict[str, Any]] = []
        newest = oldest = None
        done = False
        for page in range(MAX_PAGES):
            query = {**params, "hitsPerPage": PAGE, "page": page}
            if filters:
                query["numericFilters"] = ",".join(filters)
            body = self._get(client, "/search_by_date", params=query, what=f"the search {key}")
            hits = body.get("hits") if isinstance(body, dict) else None
            if not isinstance(hits, list):
                raise TransientError(
                    f"the HN search at {self._host} answered without a hits list ({key}); "
                    "will retry"
                )
            for hit in hits:
                hit_id = str(hit.get("objectID") or "") if isinstance(hit, dict) else ""
                when = _int(hit.get("created_at_i")) if hit_id else None
                if when is None:
                    continue
                newest = when if newest is None else max(newest, when)
                oldest = when if oldest is None else min(oldest, when)
                if hit_id in seen:
                    continue  # read by an earlier fetch, within the overlap
                seen[hit_id] = when
                new.append(hit)
            pages = _int(body.get("nbPages"))
            if not hits or pages is None or page + 1 >= pages:
                done = True
                break
        if since is None and not done:
            done = True  # the first search: older hits would be baseline anyway
        if done:
            reached = max(x for x in (since, top, newest, 0) if x is not None)
            return new, {"since": reached or None, "seen": _recent(seen, reached - OVERLAP_S)}
        warnings.append(
            f"more than {MAX_PAGES} pages of new hits for {key}: the rest are read at the next poll"
        )
        walk_top = top if top is not None else newest
        assert walk_top is not None and oldest is not None  # a page of hits was read
        # Keep what this walk read (its oldest second is read again) and what the next walk's
        # lower bound, still since - OVERLAP_S, would bring back.
        floor = oldest - 1 if since is None else min(oldest - 1, since - OVERLAP_S)
        return new, {
            "since": since,
            "seen": _recent(seen, floor),
            "resume": {"upto": oldest, "top": walk_top},
        }

    def _replies(
        self, client: httpx.Client, watch: list[dict[str, Any]], records: dict[str, Record]
    ) -> list[dict[str, Any]]:
        """Read each watched owner item; its new direct replies become items."""
        kept = []
        for entry in watch:
            item_id = str(entry.get("id"))
            body = self._get(client, f"/items/{item_id}", what=f"item {item_id}", allow=(404,))
            if not isinstance(body, dict):
                continue  # deleted: nothing to watch any more
            kids = [str(k) for k in entry.get("kids", [])]
            known = set(kids)
            children = body.get("children")
            for child in children if isinstance(children, list) else ():
                if not isinstance(child, dict) or child.get("id") is None:
                    continue
                child_id = str(child["id"])
                if child_id in known or not child.get("author"):
                    continue  # returned before, or deleted
                known.add(child_id)
                kids.append(child_id)
                if self._is_owner(str(child["author"])):
                    continue  # the owner's own answers come from the author search
                record = self._hit_record(child, _hit_text(child), kind="reply")
                self._add(records, record)
            kept.append({**entry, "id": item_id, "kids": kids[-MAX_KIDS:]})
        return kept

    # -- records --------------------------------------------------------------------------------

    def _is_owner(self, author: str) -> bool:
        username = self.settings.username
        if username and author == username:
            return True
        return self.context.is_owner(author)

    def _hit_record(self, hit: Mapping[str, Any], text: str, *, kind: str) -> Record | None:
        """A search hit (``objectID``) or an item of /items (``id``) as a record."""
        item_id = hit.get("objectID") or hit.get("id")
        when = _int(hit.get("created_at_i"))
        author = hit.get("author")
        if item_id is None or when is None or not author:
            return None
        item_id = str(item_id)
        is_owner = self._is_owner(str(author))
        story = _is_story(hit)
        parent = None if story else hit.get("parent_id")
        thread = item_id if story else hit.get("story_id")
        if is_owner:
            kind = "reply" if parent is not None else "comment"
        return Record(
            external_id=item_id,
            thread_id=str(thread) if thread is not None else None,
            parent_id=str(parent) if parent is not None else None,
            author=str(author),
            is_owner=is_owner,
            text=text,
            url=ITEM_URL.format(item_id),
            created_at=datetime.fromtimestamp(when, UTC),
            kind=kind,
        )

    def _add(self, records: dict[str, Record], record: Record | None, owner: bool = False) -> None:
        if record is not None and (owner or record.external_id not in records):
            records[record.external_id] = record

    # -- HTTP -----------------------------------------------------------------------------------

    def _session(self) -> AbstractContextManager[httpx.Client]:
        if self._client is not None:
            return nullcontext(self._client)  # an injected client is the caller's to close
        return httpx.Client(verify=tls_context())

    def _get(
        self,
        client: httpx.Client,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        allow: tuple[int, ...] = (),
    ) -> Any:
        """GET `path` as JSON; None when the status is one of `allow`."""
        host, timeout = self._host, self.context.timeout
        response = http.get(
            client,
            self.settings.api_base + path,
            place=f"the HN search at {host} ({what})",
            fix="api_base",
            timeout=timeout,
            params=params,
            headers=self._headers,
        )
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise TransientError(
                    f"the HN search at {host} answered {what} with something that is not JSON; "
                    "will retry"
                ) from None
        if status in allow:
            return None
        raise self._status_error(response, what)

    def _status_error(self, response: httpx.Response, what: str) -> Exception:
        status, host = response.status_code, self._host
        reason = f"{status} {response.reason_phrase}".strip()
        detail = _error_detail(response)
        said = f": {detail}" if detail else ""
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.context.clock())
        if status in (401, 403):
            return AuthError(
                f"the HN search at {host} refused access ({reason}{said}) for {what}: a proxy in "
                "api_base may need credentials, or it blocks this address"
            )
        if status == 429:
            wait = f"; waiting {retry_after:g} s" if retry_after is not None else ""
            return TransientError(
                f"the HN search at {host} is rate limiting us ({reason}){wait}",
                retry_after=retry_after,
            )
        if down := server_problem(f"the HN search at {host}", status, reason, retry_after):
            return down
        if status in (404, 410):
            return ConfigError(
                f"{what} not found at {host} ({reason}) — check that api_base is {API_BASE} or "
                "a proxy of it"
            )
        return ConfigError(
            f"the HN search at {host} rejected {what} ({reason}{said}) — check keywords"
        )


def _watched(
    watch: list[dict[str, Any]], hits: Iterable[Mapping[str, Any]], since: datetime
) -> list[dict[str, Any]]:
    """The owner items to read replies of: the known ones and new hits, recent, newest first."""
    by_id = {str(w.get("id")): w for w in watch if w.get("id") is not None}
    for hit in hits:
        item_id, when = hit.get("objectID"), _int(hit.get("created_at_i"))
        if item_id is not None and when is not None and str(item_id) not in by_id:
            by_id[str(item_id)] = {"id": str(item_id), "t": when, "kids": []}
    cutoff = since.timestamp()
    recent = [w for w in by_id.values() if (_int(w.get("t")) or 0) >= cutoff]
    recent.sort(key=lambda w: _int(w.get("t")) or 0, reverse=True)
    return recent[:MAX_WATCHED]


def _recent(seen: dict[str, int], after: int) -> dict[str, int]:
    """The ids of `seen` newer than `after`, at most MAX_SEEN (the newest)."""
    kept = sorted(((t, i) for i, t in seen.items() if t > after), reverse=True)[:MAX_SEEN]
    return {i: t for t, i in kept}


def _error_detail(response: httpx.Response) -> str:
    """What Algolia said about an error (``{"message": "…"}``), shortened."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    message = (body.get("message") or body.get("error")) if isinstance(body, dict) else None
    return message[:200] if isinstance(message, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
