"""The Discourse connector: every post of a forum, and the owner's mentions, replies and quotes.

One ``type: discourse`` source watches one forum through its JSON API, with or without a key:

- **latest posts** (``GET /posts.json``, newest first, older pages with ``before=<post id>``):
  every regular post of the forum. Posts by the owner (``api_username`` or an `identities` match)
  are owner records; the others are items. This is the whole forum of a business that runs its
  own, and works without a key (public mode) wherever the forum is readable without a login.
- **notifications** (``GET /notifications.json``, only with ``api_key``): the owner's mentions,
  replies, quotes, links and first posts of watched topics. Their posts are fetched (``GET
  /t/<topic>/posts.json?post_ids[]=…``) when they are not among the latest posts, so a mention in
  a category the latest list leaves out is not missed, and the ones that are get the kind
  ``mention`` or ``reply``. Private messages are not watched: the owner's answers there cannot
  be seen, so each would stay open for ever.

**Threads.** `thread_id` is the topic id. A post written with the reply button of another post
has ``reply_to_post_number``; its `parent_id` is that post's id, looked up in the same fetch or
else in the topic (``GET /t/<topic>.json``, and ``/t/<topic>/<number>.json`` for a post beyond the
first ones), cached per (topic, number). A post written with the topic's own reply button has no
parent: the answered rule treats the topic as a flat thread, so the owner's next post there
answers every earlier open post of the topic. A parent that no longer exists (deleted) becomes
``"<topic>#<number>"``, which names no item, so an owner reply to it answers nothing.

**Text.** The ``cooked`` HTML reduced to plain text (quotes of other posts left out), not the
``raw`` Markdown: raw may hold inline HTML and BBCode, and the topic JSON does not carry it, so
a post's text would depend on the way it was fetched. ``raw`` is used only without ``cooked``.
Small actions ("closed this topic"), moderator notices, whispers, deleted and hidden posts and
the forum's own bots (``system``, ``discobot``: negative user ids) are left out.

**Cursor.** ``{"url", "posts": {"last", "resume"?}, "notifications": {"last", "last_at"}}``.
``posts.last`` is the newest post id read to the end: a fetch pages back with ``before`` until it
reaches it, then moves it to the newest id seen. A backlog longer than the page bound is not cut
short: the cursor keeps where the walk stopped (``resume``: the ``before`` to go on from and the
newest id of that walk), the next fetch finishes it before reading newer pages, and only then
moves ``last``. The first fetch reads at most the page bound (older posts would be baseline).
``notifications.last`` is the newest notification id read (``last_at`` its time, for forums that
send no ids). A cursor for another forum URL starts afresh.

Example::

    connector = DiscourseConnector(
        DiscourseSettings(url="https://forum.example.com", api_username="dana", api_key="…"),
        ConnectorContext(source="forum", owner_identities=("dana",)),
    )
    print(connector.check())   # signed in to forum.example.com as dana with the API key; …
    result = connector.fetch(None)
"""

from __future__ import annotations

import builtins
import json
import logging
import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, SecretStr, field_validator, model_validator

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
from connectors.html_text import html_to_text, tidy_text
from connectors.http import parse_retry_after, server_problem, tls_context

log = logging.getLogger(__name__)

# Pages of one listing read in one fetch: 10 pages of 50 posts, 10 of 60 notifications.
MAX_PAGES = 10
# Discourse's page of latest posts: 50 (older versions: a window of 50 ids, gaps included).
POSTS_PAGE = 50
# Notification types worth an answer, and the kind of record each makes. Left out: edits, likes,
# badges, invitations… and private messages (6, 7), whose answers the connector cannot see.
NOTIFICATION_KINDS = {
    1: "mention",  # mentioned
    2: "reply",  # replied
    3: "mention",  # quoted
    9: "comment",  # posted (in a watched topic)
    11: "mention",  # linked
    15: "mention",  # group_mentioned
    17: "comment",  # watching_first_post
}
# A topic that was deleted or made private: its posts are skipped, not the whole fetch.
_GONE = (403, 404, 410)
_REGULAR_POST = 1  # post_type; 2 moderator notices, 3 small actions, 4 whispers
# The cooked HTML of a quote: <aside class="quote" …>…</aside>. Nested quotes leave a remnant.
_QUOTE = re.compile(r"<aside\b[^>]*\bclass=\"[^\"]*\bquote\b[^\"]*\"[^>]*>.*?</aside>", re.S)
_USERNAME = re.compile(r"^[\w.\-]{1,60}$")
# Post numbers remembered at most; beyond, the cache starts again.
_MAX_REMEMBERED = 50_000


class DiscourseSettings(ConnectorSettings):
    """Settings of a ``type: discourse`` source."""

    url: str  # the forum's address, https://forum.example.com (a subfolder install works too)
    api_username: str | None = None  # the owner's account; with api_key, the key acts as it
    api_key: SecretStr | None = None  # never shown, logged or put in a message

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "expected the forum's http(s):// address, like https://forum.example.com"
            )
        if "@" in parts.netloc:
            raise ValueError("put the credentials in api_username and api_key, not in the URL")
        return value

    @field_validator("api_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().removeprefix("@")
        if not _USERNAME.match(name):
            raise ValueError("expected a Discourse username, like dana (without @)")
        return name

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("the API key is empty; create one under Admin → Advanced → API keys")
        return SecretStr(key)

    @model_validator(mode="after")
    def _key_needs_user(self) -> DiscourseSettings:
        if self.api_key is not None and self.api_username is None:
            raise ValueError("api_key needs api_username: the account the key acts as (the owner)")
        return self


def _int(value: Any) -> int | None:
    """An id as an int, or None for anything that is not one (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time from the API ("2020-01-25T00:58:35.475Z", "…-05:00") in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when).astimezone(UTC)


def post_text(post: Mapping[str, Any]) -> str:
    """The plain text of a post: its cooked HTML without quoted posts, else its raw Markdown.

    >>> post_text({"cooked": '<aside class="quote"><blockquote>old</blockquote></aside><p>New</p>'})
    'New'
    """
    cooked = post.get("cooked")
    if isinstance(cooked, str) and cooked.strip():
        text = html_to_text(_QUOTE.sub("", cooked)) if "<aside" in cooked else html_to_text(cooked)
        return text or html_to_text(cooked)  # a post that is only a quote keeps the quote
    raw = post.get("raw")
    return tidy_text(raw) if isinstance(raw, str) else ""


class DiscourseConnector:
    """Reads one Discourse forum: latest posts, and the owner's notifications with a key."""

    type: ClassVar[str] = "discourse"
    Settings: ClassVar[builtins.type[BaseModel]] = DiscourseSettings

    def __init__(
        self,
        settings: DiscourseSettings,
        context: ConnectorContext,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._client = client
        self._base = settings.url
        self._host = urlsplit(settings.url).netloc
        self._headers = {"User-Agent": context.user_agent, "Accept": "application/json"}
        if settings.api_key is not None:
            self._headers["Api-Key"] = settings.api_key.get_secret_value()
            self._headers["Api-Username"] = settings.api_username or ""
        # (topic id, post number) → post id: numbers never move, so the cache outlives a fetch.
        self._numbers: dict[tuple[int, int], int] = {}
        self._topics_read: set[int] = set()  # topics whose first page is in _numbers
        self._gone: set[int] = set()

    @property
    def _keyed(self) -> bool:
        return self.settings.api_key is not None

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> str:
        """Verify the key (or, in public mode, that the forum is readable): one or two requests.

        Returns e.g. "signed in to forum.example.com as dana with the API key; watching the
        latest posts and dana's mentions, replies and quotes". Raises AuthError (wrong key, a
        forum that needs a login) or ConfigError (wrong URL, no such user).
        """
        with self._session() as client:
            if self._keyed:
                body = self._get(
                    client, "/session/current.json", what="the signed-in user", allow=(404,)
                )
                user = body.get("current_user") if isinstance(body, dict) else None
                if not isinstance(user, dict) or not user.get("username"):
                    # Nobody signed in: a wrong URL fails here with its own message.
                    self._get(client, "/posts.json", what="the latest posts")
                    raise AuthError(
                        f"the forum at {self._host} did not sign in {self.settings.api_username} "
                        "with the API key: check api_username and api_key"
                    )
                name = user["username"]
                return (
                    f"signed in to {self._host} as {name} with the API key; watching the latest "
                    f"posts and {name}'s mentions, replies and quotes"
                )
            self._get(client, "/posts.json", what="the latest posts")
            owner = self.settings.api_username
            if owner:
                self._get(client, f"/u/{quote(owner)}.json", what=f"the user {owner}")
                return (
                    f"{self._host} answers without a login and has a user {owner}; watching the "
                    "latest posts (public mode: add api_key for mentions and replies)"
                )
            return (
                f"{self._host} answers without a login; watching the latest posts (public mode: "
                "add api_username and api_key for mentions and replies)"
            )

    # -- fetching -------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Posts and notifications newer than `cursor` (see the module doc).

        Raises TransientError (timeouts, 5xx, 429 with its wait, a body that is not JSON),
        AuthError (403: a wrong key, or a forum that needs one) or ConfigError (404: not a
        Discourse forum at that URL).
        """
        cursor = cursor if cursor and cursor.get("url") == self._base else {}
        posts_state = _dict(cursor.get("posts"))
        notes_state = _dict(cursor.get("notifications"))
        warnings: list[str] = []
        kinds: dict[int, str] = {}
        self._gone = set()  # topics found deleted or private, during this fetch only
        with self._session() as client:
            posts, posts_state = self._latest(client, posts_state, warnings)
            if self._keyed:
                notes_state = self._notifications(client, notes_state, posts, kinds, warnings)
            kept = [p for p in posts.values() if _worth_reading(p)]
            parents = self._parents(client, kept, warnings)
        records, skipped = self._records(kept, parents, kinds)
        if skipped:
            warnings.append(f"skipped {skipped} post(s) without an id, topic or date")
        for warning in warnings:
            log.warning("source %s: %s", self.context.source, warning)
        new_cursor: dict[str, Any] = {"url": self._base, "posts": posts_state}
        if self._keyed:
            new_cursor["notifications"] = notes_state
        return FetchResult(records=records, cursor=new_cursor, warnings=warnings)

    def _latest(
        self, client: httpx.Client, state: dict[str, Any], warnings: list[str]
    ) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
        """Walk /posts.json back to the cursor; returns the posts by id and the new state."""
        floor = _int(state.get("last"))  # None: the first fetch
        resume = _dict(state.get("resume"))
        before = _int(resume.get("before"))
        top = _int(resume.get("top"))  # the newest id of a walk that an earlier fetch began
        posts: dict[int, dict[str, Any]] = {}
        newest: int | None = None
        done = False
        for _ in range(MAX_PAGES):
            params = {"before": before} if before is not None else None
            body = self._get(client, "/posts.json", params=params, what="the latest posts")
            page = body.get("latest_posts") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise TransientError(
                    f"the forum at {self._host} answered /posts.json without a latest_posts list; "
                    "is sources[].url a Discourse forum?"
                )
            ids = []
            for post in page:
                post_id = _int(post.get("id")) if isinstance(post, dict) else None
                if post_id is None:
                    continue
                ids.append(post_id)
                if (floor is not None and post_id <= floor) or (
                    before is not None and post_id >= before  # a forum ignoring `before`
                ):
                    continue
                posts[post_id] = post
                self._remember(post)
            if ids:
                newest = max(newest or 0, *ids)
                next_before = min(ids)
            elif floor is None or before is None:
                done = True  # an empty page ends the listing
                break
            else:
                # Older forums answer with windows of 50 ids, where a run of private messages
                # leaves an empty page with older posts below it.
                next_before = before - POSTS_PAGE
            if (floor is not None and next_before <= floor + 1) or (
                before is not None and next_before >= before
            ):
                done = True
                break
            before = next_before
        if floor is None and not done:
            done = True  # first fetch: what lies beyond the bound would be baseline anyway
            warnings.append(
                f"first fetch: read the newest {MAX_PAGES} pages of posts; older ones are skipped"
            )
        if done:
            reached = top if top is not None else newest
            if reached is None and floor is None:
                # Nothing seen yet (an empty forum): no floor, so the next fetch reads from the
                # newest post down, instead of walking down from id 0's window of old forums.
                return posts, {"last": None}
            return posts, {"last": max(floor or 0, reached or 0)}
        # The bound came before the cursor: go on from here next time, newer pages after that.
        warnings.append(
            f"more than {MAX_PAGES} pages of new posts: the rest are read at the next poll"
        )
        walk_top = top if top is not None else newest
        return posts, {"last": floor, "resume": {"before": before, "top": walk_top}}

    def _notifications(
        self,
        client: httpx.Client,
        state: dict[str, Any],
        posts: dict[int, dict[str, Any]],
        kinds: dict[int, str],
        warnings: list[str],
    ) -> dict[str, Any]:
        """Read new notifications; add their posts to `posts` and their kinds to `kinds`."""
        last = _int(state.get("last"))
        last_at = _time(state.get("last_at"))
        first = last is None and last_at is None
        wanted: list[dict[str, Any]] = []
        newest_id, newest_at = last, last_at
        seen_ids: set[int] = set()
        offset = 0
        for page_number in range(MAX_PAGES):
            params: dict[str, Any] = {"username": self.settings.api_username}
            if offset:
                params["offset"] = offset
            body = self._get(client, "/notifications.json", params=params, what="notifications")
            # Current forums wrap the list ({"notifications": […]}); old ones sent it bare.
            page = body.get("notifications") if isinstance(body, dict) else body
            if not isinstance(page, list):
                raise TransientError(
                    f"the forum at {self._host} answered /notifications.json without a list"
                )
            reached = not page
            for note in page:
                if not isinstance(note, dict):
                    continue
                note_id, note_at = _int(note.get("id")), _time(note.get("created_at"))
                if note_id is not None:
                    if note_id in seen_ids:
                        continue  # offset paging repeats what newer notifications pushed down
                    seen_ids.add(note_id)
                    old = last is not None and note_id <= last
                else:
                    old = last_at is not None and (note_at is None or note_at <= last_at)
                if old:
                    reached = True
                    continue
                if note_id is not None:
                    newest_id = max(newest_id or 0, note_id)
                if note_at is not None:
                    newest_at = note_at if newest_at is None else max(newest_at, note_at)
                if _int(note.get("notification_type")) in NOTIFICATION_KINDS:
                    wanted.append(note)
            total = _int(body.get("total_rows_notifications")) if isinstance(body, dict) else None
            offset += len(page)
            # The first fetch reads one page: older notifications are about old posts.
            if reached or first or (total is not None and offset >= total):
                break
            if page_number == MAX_PAGES - 1:
                warnings.append(
                    f"more than {MAX_PAGES} pages of new notifications: older ones were skipped "
                    "(their posts are still read from the latest posts)"
                )
        self._add_notified(client, wanted, posts, kinds, warnings)
        new_state: dict[str, Any] = {"last": newest_id}
        if newest_at is not None:
            new_state["last_at"] = newest_at.isoformat()
        return new_state

    def _add_notified(
        self,
        client: httpx.Client,
        notes: list[dict[str, Any]],
        posts: dict[int, dict[str, Any]],
        kinds: dict[int, str],
        warnings: list[str],
    ) -> None:
        """Fetch the posts of `notes` that this fetch has not read, one request per topic."""
        missing: dict[int, set[int]] = {}
        for note in notes:
            kind = NOTIFICATION_KINDS[_int(note.get("notification_type")) or 0]
            topic, number = _int(note.get("topic_id")), _int(note.get("post_number"))
            post_id = _int(_dict(note.get("data")).get("original_post_id"))
            if post_id is None and topic is not None and number is not None:
                post_id = self._post_id(client, topic, number, warnings)
            if post_id is None or topic is None:
                continue
            kinds.setdefault(post_id, kind)
            if post_id not in posts:
                missing.setdefault(topic, set()).add(post_id)
        for topic, ids in missing.items():
            body = self._get(
                client,
                f"/t/{topic}/posts.json",
                params={"post_ids[]": sorted(ids)},
                what=f"the posts of topic {topic}",
                allow=_GONE,
            )
            if body is None:
                warnings.append(f"topic {topic} of a notification is gone or private; skipped")
                continue
            for post in _stream_posts(body):
                post_id = _int(post.get("id"))
                if post_id in ids:
                    posts[post_id] = post
                    self._remember(post)

    # -- threads --------------------------------------------------------------------------------

    def _remember(self, post: Mapping[str, Any]) -> None:
        """Note which post id a (topic, post number) is: numbers never move."""
        topic, number = _int(post.get("topic_id")), _int(post.get("post_number"))
        post_id = _int(post.get("id"))
        if topic is None or number is None or post_id is None:
            return
        if len(self._numbers) >= _MAX_REMEMBERED:
            self._numbers.clear()  # a long-running daemon must not grow for ever
            self._topics_read.clear()
        self._numbers[(topic, number)] = post_id

    def _parents(
        self, client: httpx.Client, posts: Iterable[Mapping[str, Any]], warnings: list[str]
    ) -> dict[int, str]:
        """Post id → the id of the post it replies to (``reply_to_post_number``)."""
        parents: dict[int, str] = {}
        for post in posts:
            post_id, topic = _int(post.get("id")), _int(post.get("topic_id"))
            number = _int(post.get("reply_to_post_number"))
            if post_id is None or topic is None or number is None:
                continue
            parent = self._post_id(client, topic, number, warnings)
            # A parent that is gone names no item, so an owner reply to it answers nothing.
            parents[post_id] = str(parent) if parent is not None else f"{topic}#{number}"
        return parents

    def _post_id(
        self, client: httpx.Client, topic: int, number: int, warnings: list[str]
    ) -> int | None:
        """The id of post `number` of `topic`: remembered, else read from the topic's JSON."""
        if (topic, number) in self._numbers:
            return self._numbers[(topic, number)]
        if topic in self._gone:
            return None
        # The topic's first page holds most parents; a later post needs the page around it.
        paths = [f"/t/{topic}/{number}.json"]
        if topic not in self._topics_read:
            paths.insert(0, f"/t/{topic}.json")
        for path in paths:
            body = self._get(client, path, what=f"topic {topic}", allow=_GONE)
            if body is None:
                warnings.append(f"topic {topic} is gone or private: replies in it have no parent")
                self._gone.add(topic)
                return None
            self._topics_read.add(topic)
            for post in _stream_posts(body):
                self._remember(post)
            if (topic, number) in self._numbers:
                return self._numbers[(topic, number)]
        return None

    # -- records --------------------------------------------------------------------------------

    def _is_owner(self, author: str) -> bool:
        """The key's user (api_username) or one of the owner's identities."""
        owner = self.settings.api_username
        if owner and author.casefold() == owner.casefold():
            return True
        return self.context.is_owner(author)

    def _records(
        self,
        posts: Iterable[dict[str, Any]],
        parents: Mapping[int, str],
        kinds: Mapping[int, str],
    ) -> tuple[list[Record], int]:
        records: list[Record] = []
        skipped = 0
        for post in posts:
            post_id, topic = _int(post.get("id")), _int(post.get("topic_id"))
            created_at = _time(post.get("created_at"))
            if post_id is None or topic is None or created_at is None:
                skipped += 1
                continue
            if not _worth_reading(post):
                continue
            author = str(post.get("username") or "")
            is_owner = self._is_owner(author)
            parent = parents.get(post_id)
            # An item is what its notification called it, when there was one.
            kind = kinds.get(post_id, "comment")
            if is_owner:
                kind = "reply" if parent else "comment"
            number = _int(post.get("post_number"))
            slug = post.get("topic_slug") or post.get("slug")
            path = f"/t/{slug}/{topic}" if isinstance(slug, str) and slug else f"/t/{topic}"
            records.append(
                Record(
                    external_id=str(post_id),
                    thread_id=str(topic),
                    parent_id=parent,
                    author=author or "anonymous",
                    is_owner=is_owner,
                    text=post_text(post),
                    url=f"{self._base}{path}/{number}" if number else f"{self._base}{path}",
                    created_at=created_at,
                    kind=kind,
                )
            )
        return records, skipped

    # -- HTTP -----------------------------------------------------------------------------------

    def _session(self) -> AbstractContextManager[httpx.Client]:
        if self._client is not None:
            return nullcontext(self._client)  # an injected client is the caller's to close
        # A client per fetch holds no sockets between polls; the TLS context is shared.
        return httpx.Client(verify=tls_context())

    def _scrub(self, text: str) -> str:
        if self.settings.api_key is not None:
            text = text.replace(self.settings.api_key.get_secret_value(), "***")
        return text

    def _get(
        self,
        client: httpx.Client,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        allow: tuple[int, ...] = (),
    ) -> Any:
        """GET `path` as JSON; None when the status is one of `allow` (a deleted topic…)."""
        host, timeout = self._host, self.context.timeout
        response = http.get(
            client,
            self._base + path,
            place=f"the forum at {host} ({what})",
            fix="sources[].url",
            timeout=timeout,
            scrub=self._scrub,
            params=params,
            headers=self._headers,
        )
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise TransientError(
                    f"the forum at {host} answered {path} with something that is not JSON "
                    f"({_describe(response)}); will retry"
                ) from None
        if status in allow:
            return None
        raise self._status_error(response, what)

    def _status_error(self, response: httpx.Response, what: str) -> Exception:
        status = response.status_code
        host = self._host
        reason = f"{status} {response.reason_phrase}".strip()
        detail = _error_detail(response)
        said = f": {self._scrub(detail)}" if detail else ""
        if status in (401, 403):
            if self._keyed:
                return AuthError(
                    f"the forum at {host} refused the API key for {self.settings.api_username} "
                    f"({reason}{said}) while reading {what}: the API key is wrong, was revoked, or "
                    "lacks scope for it; create one under Admin → Advanced → API keys (user: the "
                    "owner, or all users; scopes: read)"
                )
            return AuthError(
                f"the forum at {host} refused access ({reason}{said}) while reading {what}: it "
                "needs a login — set api_username and api_key"
            )
        if status in (404, 410):
            return ConfigError(
                f"{what} not found at {host} ({reason}) — check that sources[].url is the "
                "forum's address, like https://forum.example.com"
            )
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.context.clock())
        if status == 429:
            if retry_after is None:
                retry_after = _wait_seconds(response)
            wait = f" for {retry_after:g} s" if retry_after is not None else ""
            return TransientError(
                f"the forum at {host} is rate limiting us ({reason}{said}); waiting{wait}",
                retry_after=retry_after,
            )
        if down := server_problem(f"the forum at {host}", status, reason, retry_after):
            return down
        return ConfigError(f"the forum at {host} rejected the request for {what} ({reason}{said})")


def _worth_reading(post: Mapping[str, Any]) -> bool:
    """A post someone wrote and others can read: not a bot's, a notice, a whisper or deleted."""
    post_type = _int(post.get("post_type"))
    if post_type is not None and post_type != _REGULAR_POST:
        return False
    user_id = _int(post.get("user_id"))
    if user_id is not None and user_id < 0:
        return False  # system, discobot: the forum's own bots
    return not (post.get("deleted_at") or post.get("user_deleted") or post.get("hidden"))


def _stream_posts(body: Any) -> list[dict[str, Any]]:
    """The posts of a topic answer (``{"post_stream": {"posts": […]}}``)."""
    stream = body.get("post_stream") if isinstance(body, dict) else None
    found = stream.get("posts") if isinstance(stream, dict) else None
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


def _error_detail(response: httpx.Response) -> str:
    """What Discourse said about an error (``{"errors": ["…"]}``), shortened."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], str):
        return errors[0][:200]
    return ""


def _wait_seconds(response: httpx.Response) -> float | None:
    """Discourse's own wait on a 429: ``{"extras": {"wait_seconds": 12}}``."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    extras = body.get("extras") if isinstance(body, dict) else None
    wait = extras.get("wait_seconds") if isinstance(extras, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
        return float(wait)
    return None


def _describe(response: httpx.Response) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    size = len(response.content)
    return f"{size} bytes of {content_type}" if size else "an empty body"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
