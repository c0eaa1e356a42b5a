"""The Reddit connector: the owner's inbox, the comment trees of their recent posts and keyword
watches in chosen subreddits, through praw, as `Record`s.

What it reads, per `watch`:

- ``inbox``: comment replies, post replies and username mentions (``/message/comments``,
  ``/message/selfreply``, ``/message/mentions``). Private messages (t4) are not items. Reading
  these listings marks nothing read: the owner's inbox looks the same in the Reddit app.
- ``own_posts``: every comment in the trees of the owner's ``own_posts_limit`` newest posts,
  because Reddit notifies only top-level comments and direct replies, not a customer answering
  another customer under the owner's post. A tree is fetched again only when the post's
  ``num_comments`` changed, so a quiet post costs nothing.
- ``keywords``: posts found by Reddit search and comments of the subreddits' comment streams
  that contain a keyword (Reddit has no comment search: comments are matched here).

Whenever the account is known (a signed-in account, or ``username`` in read-only mode), the
owner's comment history (``/user/NAME/comments``) is read too, so a reply the owner writes
anywhere becomes an ``is_owner`` record whose ``parent_id`` marks its parent answered.

Cursor design. Every listing (each inbox kind, the history, each keyword search and comment
stream, each post's tree) keeps a small state in the opaque cursor::

    {"v": 1, "account": "dana_shop", "polled_at": 1750350000.0, "listings": {
        "inbox:comments": {
            "seen": {"t1_abc": 1750348671.0, …},   # fullname → created_utc, at most 100
            "horizon": 1750346871.0,                # created at or before it: old
        },
        "tree:t3_xyz": {"seen": {…}, "horizon": …, "num_comments": 12}}}

Listings come newest first. A later fetch pages with ``after`` until an item is at or below the
horizon; an item above it is new unless its fullname was seen. The horizon trails the newest item
seen by 30 minutes (higher when more than 100 items fall in those 30 minutes: the ones that are
forgotten must stay old), so an item that shows up late with an older ``created_utc`` (held by
the spam filter, listing cache lag) is still returned, while nothing old comes back after a
restart. A deleted cursor item cannot make paging run forever: paging stops at the horizon by
time, and after ``max_pages`` pages in any case, with a warning. The first fetch (no cursor)
reads one page per listing; the core's backfill marks the older items baseline. A listing new to
an existing cursor (keywords added, a post come back among the newest) starts at the previous
fetch, less the look-back. A listing that could not be read to its end (the rate budget ran out,
a misspelt subreddit) keeps its old state, so the next fetch reads those items again rather than
skipping them; the store ignores what it already holds.

Listings are read as raw JSON with `praw.Reddit.request`, which brings praw's sign-in, token
refresh, rate limiting, retries and typed errors, rather than through ListingGenerator and praw's
models: the connector decides between pages whether to go on (horizon, budget), and a lazy model
would quietly fetch on its own when a field is missing (inbox items carry no permalink).

Rate limits: prawcore spaces requests by Reddit's ``x-ratelimit-*`` headers. Before each request
the connector looks at the same headers: when the budget is spent it stops instead of letting
prawcore sleep until the window resets, and says how long to wait (`FetchResult.wait_at_least`).
429 and 5xx become `TransientError`s (with Retry-After when Reddit gives one).

Example::

    connector = RedditConnector(
        RedditSettings(client_id="…", client_secret="…", username="dana_shop", password="…"),
        ConnectorContext(source="reddit", owner_identities=("dana_shop",)),
    )
    print(connector.check())               # "signed in as u/dana_shop (scopes: *) …"
    result = connector.fetch(None)         # recent items, and the cursor to save with them
    later = connector.fetch(result.cursor) # only what is new since
"""

from __future__ import annotations

import builtins
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import praw
import prawcore
import requests
from praw.exceptions import PRAWException
from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator, model_validator

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    ConnectorError,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from connectors.http import strict_session

log = logging.getLogger(__name__)

Watch = Literal["inbox", "own_posts", "keywords"]

OAUTH_URL = "https://oauth.reddit.com"
REDDIT_URL = "https://www.reddit.com"
PERMALINK_BASE = "https://www.reddit.com"  # links are for a person, whatever api_base says
_TOKEN_PATH = "/api/v1/access_token"

PAGE_SIZE = 100  # Reddit's largest listing page
LOOKBACK_S = 1800.0  # how far behind the newest item the horizon trails (late arrivals)
SEEN_CAP = 100  # fullnames remembered per listing: bounds the cursor and the re-read
_TREE_LIMIT = 500  # comments asked for per tree
_MORE_CALLS = 3  # /api/morechildren calls per tree per fetch…
_MORE_BATCH = 100  # …of at most this many ids each
_CURSOR_VERSION = 1

# The listings of the inbox, the cursor key of each, and the kind of record it yields.
_INBOX: tuple[tuple[str, str, str, str], ...] = (
    ("inbox:comments", "/message/comments", "reply", "the inbox (comment replies)"),
    ("inbox:selfreply", "/message/selfreply", "reply", "the inbox (post replies)"),
    ("inbox:mentions", "/message/mentions", "mention", "the inbox (username mentions)"),
)
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{3,20}$")
# /r/<sub>/comments/<post id>/<slug>/<comment id>/: the post a context link belongs to.
_POST_IN_PATH = re.compile(r"/comments/([a-z0-9]+)(?:/|$)")


class RedditSettings(ConnectorSettings):
    """Settings of a ``type: reddit`` source.

    Three ways to sign in: a script app (``client_id``, ``client_secret``, ``username``,
    ``password``), a refresh token (``client_id``, ``client_secret`` unless the app is an
    installed one, ``refresh_token``), or none at all: ``client_id`` and ``client_secret`` alone
    are read-only mode, which can watch keywords only.
    """

    # ConnectorSettings hides inputs in errors; the SecretStr fields hide them in reprs too.

    client_id: str
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    refresh_token: SecretStr | None = None
    # Declared after the credentials and before keywords: each validator sees what it needs.
    watch: list[Watch] | None = None  # default: inbox and own_posts signed in, + keywords if any
    keywords: list[str] = Field(default_factory=list)
    subreddits: list[str] = Field(default_factory=list)
    own_posts_limit: int = Field(10, ge=1, le=100)  # how many of the owner's newest posts to scan
    # Pages per listing per fetch, at most: Reddit lists no more than 1000 items (10 pages) anyway.
    max_pages: int = Field(10, ge=1, le=10)
    api_base: str | None = None  # stands in for both oauth.reddit.com and www.reddit.com
    user_agent: str | None = None

    @field_validator("client_id")
    @classmethod
    def _check_client_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("client_id is empty: copy it from https://www.reddit.com/prefs/apps")
        return value

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().removeprefix("/").removeprefix("u/").removeprefix("user/")
        if not _USERNAME.match(value):
            raise ValueError("not a Reddit username (3 to 20 letters, digits, _ or -)")
        return value

    @field_validator("client_secret")
    @classmethod
    def _check_client_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # An installed app has no secret; an empty one (an unset variable) means the same.
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("password", "refresh_token", mode="before")
    @classmethod
    def _not_empty(cls, value: Any, info: ValidationInfo) -> Any:
        # praw would quietly fall back to read-only mode on an empty one.
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"{info.field_name} is empty (is its environment variable set?)")
        return value

    @field_validator("password")
    @classmethod
    def _check_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        if not info.data.get("username"):
            raise ValueError("a password needs the username of the account it belongs to")
        if info.data.get("client_secret") is None:
            raise ValueError("signing in with a password needs a script app: add its client_secret")
        return value

    @field_validator("refresh_token")
    @classmethod
    def _check_refresh_token(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is not None and info.data.get("password") is not None:
            raise ValueError(
                "give either password (a script app) or refresh_token, not both: remove one"
            )
        return value

    @field_validator("watch")
    @classmethod
    def _check_watch(cls, value: list[Watch] | None, info: ValidationInfo) -> list[Watch] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("watch is empty: list inbox, own_posts and/or keywords")
        signed_in = info.data.get("password") is not None or info.data.get("refresh_token")
        needs_account = [w for w in ("inbox", "own_posts") if w in value]
        if needs_account and not signed_in:
            raise ValueError(
                f"watching {' and '.join(needs_account)} needs a signed-in account: add username "
                "and password (a script app) or refresh_token; without them (read-only mode) "
                "only keywords can be watched"
            )
        return list(dict.fromkeys(value))  # each once, in the order given

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value if k.strip()]
        if len(cleaned) != len(value):
            raise ValueError("a keyword is empty")
        if any('"' in k for k in cleaned):
            raise ValueError('keywords cannot contain a double quote (")')
        return list(dict.fromkeys(cleaned))

    @field_validator("subreddits")
    @classmethod
    def _check_subreddits(cls, value: list[str]) -> list[str]:
        cleaned = []
        for name in value:
            bare = name.strip().removeprefix("/").removeprefix("r/").strip("/")
            if not _SUBREDDIT.match(bare):
                raise ValueError(
                    f"{name!r} is not a subreddit name (write smallbusiness or r/smallbusiness)"
                )
            cleaned.append(bare)
        return list(dict.fromkeys(cleaned))

    @field_validator("api_base")
    @classmethod
    def _check_api_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("api_base must be an http:// or https:// URL")
        if parts.username or parts.password or parts.query or parts.path not in ("", "/"):
            # prawcore joins API paths to the host, dropping any path of its own.
            raise ValueError("api_base is a scheme and host only, like http://127.0.0.1:8080")
        return value

    @model_validator(mode="after")
    def _check_keywords_watched(self) -> RedditSettings:
        if not self.signed_in and not self.keywords:
            raise ValueError(
                "without password or refresh_token (read-only mode) only keywords can be "
                "watched: add keywords, or sign in with username and password or refresh_token"
            )
        if self.watch is not None and "keywords" in self.watch and not self.keywords:
            raise ValueError("watch has keywords but keywords is empty: add keywords: [yourshop]")
        if self.watch is not None and self.keywords and "keywords" not in self.watch:
            raise ValueError(
                "keywords are set but watch does not list keywords: add it to watch, or remove "
                "keywords"
            )
        return self

    @property
    def signed_in(self) -> bool:
        """Whether an account signs in (password or refresh token); else read-only mode."""
        return self.password is not None or self.refresh_token is not None

    @property
    def watches(self) -> tuple[Watch, ...]:
        """What is watched: `watch` as given, or the default for the sign-in mode."""
        if self.watch is not None:
            return tuple(self.watch)
        default: list[Watch] = ["inbox", "own_posts"] if self.signed_in else []
        if self.keywords:  # read-only mode has keywords: the validator sees to it
            default.append("keywords")
        return tuple(default)


# -- the cursor -------------------------------------------------------------------------------


@dataclass
class _Seen:
    """One listing's state: recently seen fullnames with their times, and the horizon."""

    seen: dict[str, float] = field(default_factory=dict)
    horizon: float | None = None  # created at or before it: old. None: no bound yet
    num_comments: int | None = None  # trees only: the post's count when it was read

    def is_old(self, name: str, created: float) -> bool:
        return name in self.seen or (self.horizon is not None and created <= self.horizon)

    def below(self, created: float) -> bool:
        """Whether paging can stop: this and everything after it in the listing is old."""
        return self.horizon is not None and created <= self.horizon

    def merged(self, found: dict[str, float]) -> _Seen:
        """This state after reading `found` (fullname → created_utc), trimmed and bounded."""
        seen = {**self.seen, **found}
        horizon = self.horizon
        if seen:
            trail = max(seen.values()) - LOOKBACK_S
            horizon = trail if horizon is None else max(horizon, trail)
        if len(seen) > SEEN_CAP:
            # The fullnames that do not fit are forgotten: the horizon rises above them so they
            # stay old. Whole seconds go together, so no forgotten item shares the horizon's.
            cut = sorted(seen.values(), reverse=True)[SEEN_CAP]
            horizon = cut if horizon is None else max(horizon, cut)
        if horizon is not None:
            seen = {name: t for name, t in seen.items() if t > horizon}
        return _Seen(seen, horizon, self.num_comments)

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seen": self.seen, "horizon": self.horizon}
        if self.num_comments is not None:
            out["num_comments"] = self.num_comments
        return out

    @classmethod
    def load(cls, raw: Any) -> _Seen | None:
        """A state from the cursor; None when it is not one (a hand-edited or older cursor)."""
        if not isinstance(raw, dict):
            return None
        seen_raw = raw.get("seen")
        horizon = raw.get("horizon")
        count = raw.get("num_comments")
        if not isinstance(seen_raw, dict) or not isinstance(horizon, int | float | None):
            return None
        seen = {
            str(name): float(t)
            for name, t in seen_raw.items()
            if isinstance(t, int | float) and not isinstance(t, bool)
        }
        return cls(
            seen,
            None if horizon is None else float(horizon),
            count if isinstance(count, int) else None,
        )


@dataclass
class _Cursor:
    account: str | None
    polled_at: float | None  # the previous fetch's time (our clock)
    listings: dict[str, _Seen]


def _load_cursor(cursor: dict[str, Any] | None) -> _Cursor | None:
    """A saved cursor's parts; None when there is none (or it is not one of ours)."""
    if not cursor or cursor.get("v") != _CURSOR_VERSION:
        return None
    raw = cursor.get("listings")
    listings = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if (state := _Seen.load(value)) is not None:
                listings[str(key)] = state
    account = cursor.get("account")
    polled_at = cursor.get("polled_at")
    return _Cursor(
        account if isinstance(account, str) else None,
        float(polled_at) if isinstance(polled_at, int | float) else None,
        listings,
    )


# -- rate budget and HTTP -----------------------------------------------------------------------


class _Budget:
    """What Reddit's ``x-ratelimit-*`` headers last said about the request budget."""

    def __init__(self) -> None:
        self.remaining: float | None = None
        self.reset_at: float | None = None  # time.monotonic() when the window resets

    def update(self, headers: Any) -> None:
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            self.remaining = float(remaining)
            self.reset_at = time.monotonic() + float(reset)
        except ValueError:
            return

    def seconds_to_reset(self) -> float:
        if self.reset_at is None:
            return 0.0
        return max(0.0, self.reset_at - time.monotonic())

    def spent(self) -> bool:
        """True when the next request would have prawcore sleep until the window resets."""
        return self.remaining is not None and self.remaining < 1 and self.seconds_to_reset() > 0


class _Requestor(prawcore.Requestor):
    """prawcore's requestor, with our timeout on every call and the budget read off each answer.

    praw 8 accepts a ``timeout`` setting but never passes it on, and prawcore's token request
    uses the requestor's own: setting it here is the one place that covers both.
    """

    def __init__(self, *args: Any, budget: _Budget, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._budget = budget

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        response = super().request(*args, timeout=self.timeout, **kwargs)
        self._budget.update(response.headers)
        return response


class _OutOfBudget(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


@dataclass
class _Where:
    """What a request was for, so that an error can say it plainly."""

    what: str  # "the inbox (comment replies)", "r/smallbusiness"…
    scope: str  # the OAuth scope the endpoint needs
    subreddit: bool = False  # a 403/404 means the subreddit, not the credentials
    user: bool = False  # a 404 means the account does not exist (or is suspended)


# -- one fetch -----------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one fetch gathers: records (each once), warnings and the new listing states."""

    old: dict[str, _Seen]
    # A listing new to an existing cursor (keywords added, a new post) starts at the previous
    # fetch, less the look-back, like the others: its older items are history, not news.
    since: float | None = None
    records: list[Record] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    new: dict[str, _Seen] = field(default_factory=dict)
    posts: set[str] | None = None  # the owner's newest posts, once listed

    def state(self, key: str) -> _Seen | None:
        """The listing's saved state; for a listing new to an existing cursor, one that starts
        at the previous fetch; None on a first fetch."""
        old = self.old.get(key)
        if old is None and self.since is not None:
            return _Seen(horizon=self.since)
        return old

    def add(self, record: Record) -> None:
        # The same comment can come from the inbox, a tree and the history: the first wins
        # (the inbox is read first, and knows it is a reply or a mention).
        if record.external_id not in self.ids:
            self.ids.add(record.external_id)
            self.records.append(record)


class RedditConnector:
    """Reads one Reddit account's inbox, post trees and keyword watches (see the module doc)."""

    type: ClassVar[str] = "reddit"
    Settings: ClassVar[builtins.type[BaseModel]] = RedditSettings  # `type` is taken just above

    def __init__(self, settings: RedditSettings, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._budget = _Budget()
        self._session = strict_session()  # Latin-1 sent as UTF-8 is an error
        self._reddit: praw.Reddit | None = None
        self._account: str | None = settings.username  # learnt from /api/v1/me if not given
        self._requests = 0  # requests this fetch made: the next one will cost about the same
        self._secrets = [
            s.get_secret_value()
            for s in (settings.client_secret, settings.password, settings.refresh_token)
            if s is not None and s.get_secret_value()
        ]

    # -- fetching ---------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Everything new since `cursor` (recent items when it is None).

        Raises TransientError (429, 5xx, timeouts), AuthError (a refused sign-in, a missing
        scope) or ConfigError (a subreddit or user that does not exist), each saying what to do.
        A part that fails on its own (one misspelt subreddit) becomes a warning while the other
        parts still return their records.
        """
        loaded = _load_cursor(cursor)
        self._requests = 0
        run = _Run(old={})
        if loaded is not None:
            run.old = loaded.listings
            if loaded.polled_at is not None:
                run.since = loaded.polled_at - LOOKBACK_S
        fetched_at = self.context.clock().timestamp()
        parts = self._parts()
        failures: list[ConnectorError] = []
        stopped: float | None = None
        try:
            if self.settings.signed_in:
                name = self._account_name()
                if loaded and loaded.account and loaded.account.casefold() != name.casefold():
                    # Another account's cursors would skip this one's items: start over.
                    run.old = {k: v for k, v in run.old.items() if not _per_account(k)}
                    run.since = None
            for part in parts:
                try:
                    part(run)
                except ConfigError as exc:  # this part only: the others still count
                    failures.append(exc)
                    run.warnings.append(str(exc))
                    log.warning("source %s: %s", self.context.source, exc)
        except _OutOfBudget as budget:
            stopped = budget.wait
            run.warnings.append(
                f"Reddit's request budget ran out; the rest is read in {budget.wait:.0f} s"
            )
        if failures and len(failures) == len(parts):
            raise failures[0]
        # A listing read this time has its new state; one that was not (a failed part, the
        # budget ran out) keeps its old one, unless the settings no longer ask for it.
        listings = {
            key: state
            for key, state in {**run.old, **run.new}.items()
            if key in run.new or self._still_wanted(key, run)
        }
        new_cursor: dict[str, Any] = {
            "v": _CURSOR_VERSION,
            "account": self._account,
            # Listings new to the cursor start at the last fetch that read everything: after a
            # first fetch cut short by the budget, the unread ones still get a first read.
            "polled_at": fetched_at if stopped is None else (loaded.polled_at if loaded else None),
            "listings": {key: state.dump() for key, state in sorted(listings.items())},
        }
        return FetchResult(
            records=run.records,
            cursor=new_cursor,
            warnings=run.warnings,
            wait_at_least=stopped if stopped is not None else self._wait_hint(),
        )

    def _still_wanted(self, key: str, run: _Run) -> bool:
        """Whether the state of a listing this fetch did not read is worth keeping."""
        watches = self.settings.watches
        kind, _, rest = key.partition(":")
        if kind == "inbox":
            return "inbox" in watches
        if kind == "history":
            return self._account is not None and rest == self._account.casefold()
        if kind == "tree":
            # Once the owner's posts were listed, only the newest ones' trees count.
            return "own_posts" in watches and (run.posts is None or rest in run.posts)
        return key in self._keyword_keys()

    def _parts(self) -> list[Callable[[_Run], None]]:
        watches = self.settings.watches
        parts: list[Callable[[_Run], None]] = []
        if "inbox" in watches:
            parts.append(self._read_inbox)
        if "own_posts" in watches:
            parts.append(self._read_own_posts)
        if self._account is not None or self.settings.signed_in:
            parts.append(self._read_history)
        if "keywords" in watches:
            parts.append(self._read_keywords)
        return parts

    def _wait_hint(self) -> float | None:
        """Seconds to wait when the budget left cannot pay for another fetch like this one."""
        budget = self._budget
        if budget.remaining is None or budget.remaining >= max(1, self._requests):
            return None
        wait = budget.seconds_to_reset()
        return wait or None

    def _read_inbox(self, run: _Run) -> None:
        for key, path, kind, what in _INBOX:
            self._read_listing(run, key, path, {}, kind=kind, where=_Where(what, "privatemessages"))

    def _read_history(self, run: _Run) -> None:
        name = self._account_name() if self.settings.signed_in else self._account
        if name is None:
            return
        self._read_listing(
            run,
            f"history:{name.casefold()}",
            f"/user/{name}/comments",
            {"sort": "new"},
            kind="reply",
            where=_Where(f"u/{name}'s comments", "history", user=True),
        )

    def _keyword_listings(self) -> list[tuple[str, str, dict[str, str], str, _Where]]:
        """(cursor key, path, params, record kind, where) of each keyword listing."""
        settings = self.settings
        if "keywords" not in settings.watches:
            return []
        query = " OR ".join(f'"{k}"' if " " in k else k for k in settings.keywords)
        search = {"q": query, "sort": "new", "t": "all", "type": "link"}
        if not settings.subreddits:
            # Reddit has no comment search: without subreddits, only posts can be found.
            where = _Where("Reddit search", "read")
            return [(f"search:all:{query}", "/search", search, "mention", where)]
        # One multireddit (r/a+b) costs one request per listing, however many subreddits.
        multi = "+".join(settings.subreddits)
        label = ", ".join(f"r/{s}" for s in settings.subreddits)
        return [
            (
                f"search:{multi.casefold()}:{query}",
                f"/r/{multi}/search",
                {**search, "restrict_sr": "1"},
                "mention",
                _Where(f"the search in {label}", "read", subreddit=True),
            ),
            (
                f"comments:{multi.casefold()}",
                f"/r/{multi}/comments",
                {},
                "comment",
                _Where(f"the comments of {label}", "read", subreddit=True),
            ),
        ]

    def _keyword_keys(self) -> set[str]:
        return {key for key, *_ in self._keyword_listings()}

    def _read_keywords(self, run: _Run) -> None:
        for key, path, params, kind, where in self._keyword_listings():
            self._read_listing(
                run, key, path, params, kind=kind, where=where, keep=self._wanted_keyword_hit
            )

    def _wanted_keyword_hit(self, data: dict[str, Any], record: Record) -> bool:
        # The owner's comments are kept whatever they say: they may answer keyword items.
        return record.is_owner or self._mentions_keyword(data, record)

    def _mentions_keyword(self, data: dict[str, Any], record: Record) -> bool:
        haystack = " ".join(
            str(data.get(k) or "") for k in ("title", "selftext", "body", "url")
        ).casefold()
        return any(k.casefold() in haystack for k in self.settings.keywords)

    def _read_listing(
        self,
        run: _Run,
        key: str,
        path: str,
        params: dict[str, str],
        *,
        kind: str,
        where: _Where,
        keep: Callable[[dict[str, Any], Record], bool] | None = None,
    ) -> None:
        """Page through one listing, newest first, down to its horizon; see the module doc."""
        old = run.state(key)
        state = old or _Seen()
        first = old is None
        found: dict[str, float] = {}
        after: str | None = None
        pages = 0
        while True:
            query = {**params, "limit": str(PAGE_SIZE)}
            if after:
                query["after"] = after
            page = self._get(path, query, where)
            pages += 1
            children, after = _listing(page, where)
            reached = False
            for thing in children:
                data = thing.get("data")
                if not isinstance(data, dict):
                    continue
                name, created = data.get("name"), _created_utc(data)
                if not isinstance(name, str) or created is None:
                    continue
                if state.below(created):
                    reached = True
                    break
                found[name] = created
                if state.is_old(name, created):
                    continue
                record = self._record(thing.get("kind"), data, kind)
                if record is not None and (keep is None or keep(data, record)):
                    run.add(record)
            if reached or not after or first:
                break
            if pages >= self.settings.max_pages:
                # Reddit serves no more than 1000 items of a listing: what lies further back
                # cannot be read at all, now or later. Say so rather than page on.
                run.warnings.append(
                    f"{where.what}: more than {pages * PAGE_SIZE} new items since the last "
                    "poll; older ones were not read (poll more often)"
                )
                break
        run.new[key] = state.merged(found)

    def _read_own_posts(self, run: _Run) -> None:
        name = self._account_name()
        where = _Where(f"u/{name}'s posts", "history", user=True)
        page = self._get(
            f"/user/{name}/submitted",
            {"sort": "new", "limit": str(self.settings.own_posts_limit)},
            where,
        )
        children, _ = _listing(page, where)
        run.posts = {
            str(t["data"]["name"])
            for t in children
            if t.get("kind") == "t3" and isinstance(t.get("data"), dict) and t["data"].get("name")
        }
        for thing in children:
            post = thing.get("data")
            if thing.get("kind") != "t3" or not isinstance(post, dict):
                continue
            fullname = post.get("name")
            if not isinstance(fullname, str):
                continue
            key = f"tree:{fullname}"
            old = run.state(key)
            count = post.get("num_comments")
            count = count if isinstance(count, int) else None
            if old is not None and old.num_comments is not None and old.num_comments == count:
                run.new[key] = old  # nothing was added under this post since it was read
                continue
            if count == 0:
                run.new[key] = _Seen(num_comments=0)
                continue
            self._read_tree(run, key, post, old, count)

    def _read_tree(
        self, run: _Run, key: str, post: dict[str, Any], old: _Seen | None, count: int | None
    ) -> None:
        post_id = str(post["name"]).removeprefix("t3_")
        where = _Where(f"the comments under post {post['name']}", "read")
        answer = self._get(
            f"/comments/{post_id}", {"sort": "new", "limit": str(_TREE_LIMIT)}, where
        )
        if not (isinstance(answer, list) and len(answer) == 2):
            raise TransientError(f"Reddit sent a malformed comment tree for post {post['name']}")
        comments, _ = _listing(answer[1], where)
        permalink = post.get("permalink") if isinstance(post.get("permalink"), str) else None
        state = old or _Seen()
        found: dict[str, float] = {}
        hidden: list[str] = []  # ids behind "load more comments"
        deep = 0  # "continue this thread" stubs: not followed
        pending = list(comments)
        calls = 0
        while pending or (hidden and calls < _MORE_CALLS):
            if not pending:
                batch, hidden = hidden[:_MORE_BATCH], hidden[_MORE_BATCH:]
                calls += 1
                pending = self._more_children(str(post["name"]), batch, where)
                continue
            thing = pending.pop()
            data = thing.get("data")
            if not isinstance(data, dict):
                continue
            if thing.get("kind") == "more":
                ids = [c for c in data.get("children") or () if isinstance(c, str)]
                if ids:
                    hidden += ids
                else:
                    deep += 1
                continue
            if thing.get("kind") != "t1":
                continue
            replies = data.get("replies")
            if isinstance(replies, dict):
                pending += _listing(replies, where)[0]
            name, created = data.get("name"), _created_utc(data)
            if not isinstance(name, str) or created is None:
                continue
            found[name] = created
            if state.is_old(name, created):
                continue
            record = self._record("t1", data, "comment", post_permalink=permalink)
            if record is not None:
                run.add(record)
        if hidden or deep:
            unread = []
            if hidden:
                unread.append(f"{len(hidden)} comments behind 'load more'")
            if deep:
                unread.append(f"{deep} deeper {'thread' if deep == 1 else 'threads'}")
            run.warnings.append(f"post {post['name']}: {' and '.join(unread)} not read")
        merged = state.merged(found)
        # The count is kept even when a rest was left unread: reading a thread that big again
        # at every poll would spend the budget; the tree is read again when a comment is added.
        merged.num_comments = count
        run.new[key] = merged

    def _more_children(self, link: str, ids: list[str], where: _Where) -> list[dict[str, Any]]:
        answer = self._get(
            "/api/morechildren",
            {"link_id": link, "children": ",".join(ids), "sort": "new", "api_type": "json"},
            where,
        )
        try:
            things = answer["json"]["data"]["things"]
        except (KeyError, TypeError):
            raise TransientError(
                f"Reddit sent a malformed answer for more comments of {link}"
            ) from None
        return [t for t in things if isinstance(t, dict)] if isinstance(things, list) else []

    # -- records ----------------------------------------------------------------------------

    def _record(
        self,
        kind_of_thing: Any,
        data: dict[str, Any],
        kind: str,
        *,
        post_permalink: str | None = None,
    ) -> Record | None:
        """A record from a listing item; None for what is not an item (t4 messages, …)."""
        if kind_of_thing == "t1":
            return self._comment(data, kind, post_permalink)
        if kind_of_thing == "t3":
            return self._post(data)
        return None  # t4 private messages, t2 users, "more" stubs: not items

    def _is_owner(self, author: str) -> bool:
        account = self._account
        return bool(account and author.casefold() == account.casefold()) or self.context.is_owner(
            author
        )

    def _comment(
        self, data: dict[str, Any], kind: str, post_permalink: str | None
    ) -> Record | None:
        name, parent = data.get("name"), data.get("parent_id")
        created = _created_utc(data)
        if not isinstance(name, str) or created is None:
            return None
        author = _author(data)
        thread = data.get("link_id")
        if not isinstance(thread, str):
            thread = _thread_from_path(data.get("context"))
        owner = self._is_owner(author)
        if owner and not isinstance(parent, str):
            return None  # an owner record without a parent would "answer" its whole thread
        return Record(
            external_id=name,
            thread_id=thread,
            parent_id=parent if isinstance(parent, str) else None,
            author=author,
            is_owner=owner,
            text=str(data.get("body") or ""),
            url=_comment_url(data, thread, post_permalink),
            created_at=datetime.fromtimestamp(created, UTC),
            kind=kind,
        )

    def _post(self, data: dict[str, Any]) -> Record | None:
        name = data.get("name")
        created = _created_utc(data)
        if not isinstance(name, str) or created is None:
            return None
        author = _author(data)
        if self._is_owner(author):
            return None  # the owner's own post is no item, and answers nothing
        title = str(data.get("title") or "")
        body = str(data.get("selftext") or "")
        permalink = data.get("permalink")
        return Record(
            external_id=name,
            thread_id=name,
            parent_id=None,
            author=author,
            is_owner=False,
            text=f"{title}\n\n{body}" if body else title,
            url=f"{PERMALINK_BASE}{permalink}" if isinstance(permalink, str) else None,
            created_at=datetime.fromtimestamp(created, UTC),
            kind="mention",
        )

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> str:
        """Sign in and say what works, e.g. ``signed in as u/dana_shop (scopes: *)``.

        Raises AuthError (wrong secret, expired refresh token, a missing scope) or ConfigError
        (a subreddit that does not exist, a refresh token of another account).
        """
        settings = self.settings
        sign_in = _Where("the sign-in", "identity")
        scopes = self._call(lambda: set(self._client().auth.scopes()), sign_in)
        if not settings.signed_in:
            if settings.username:  # whose public comment history is read
                where = _Where(f"u/{settings.username}", "read", user=True)
                self._get(f"/user/{settings.username}/about", {}, where)
            self._check_subreddits()
            return "read-only (keywords only)" + self._watching()
        needed = self._needed_scopes()
        missing = sorted(needed - scopes) if "*" not in scopes else []
        if missing:
            raise AuthError(_missing_scope(missing))
        name = self._whoami() if "*" in scopes or "identity" in scopes else self._account_name()
        self._check_subreddits()
        shown = ", ".join(sorted(scopes)) or "none"
        return f"signed in as u/{name} (scopes: {shown})" + self._watching()

    def _whoami(self) -> str:
        """The account the credentials sign in as, checked against `username` when set."""
        me = self._get("/api/v1/me", {}, _Where("the account (/api/v1/me)", "identity"))
        name = me.get("name") if isinstance(me, dict) else None
        if not isinstance(name, str):
            raise TransientError("Reddit did not say which account the token belongs to")
        wanted = self.settings.username
        if wanted and name.casefold() != wanted.casefold():
            raise ConfigError(
                f"the credentials belong to u/{name}, not u/{wanted}: fix username, or make a "
                "refresh token for that account"
            )
        self._account = name
        return name

    def _watching(self) -> str:
        parts = []
        for watch in self.settings.watches:
            if watch == "keywords":
                where = ", ".join(f"r/{s}" for s in self.settings.subreddits) or "all of Reddit"
                parts.append(f"keywords in {where}")
            elif watch == "own_posts":
                parts.append(f"the trees of the {self.settings.own_posts_limit} newest posts")
            else:
                parts.append("the inbox")
        return f"; watching {', '.join(parts)}" if parts else ""

    def _needed_scopes(self) -> set[str]:
        watches = self.settings.watches
        needed = {"history"}  # the owner's comments: how their replies are seen
        if "inbox" in watches:
            needed.add("privatemessages")
        if "own_posts" in watches or "keywords" in watches:
            needed.add("read")
        if not self.settings.username:
            needed.add("identity")  # the only way to learn whose token this is
        return needed

    def _check_subreddits(self) -> None:
        if "keywords" not in self.settings.watches:
            return
        for name in self.settings.subreddits:
            where = _Where(f"r/{name}", "read", subreddit=True)
            about = self._get(f"/r/{name}/about", {}, where)
            kind = about.get("kind") if isinstance(about, dict) else None
            if kind != "t5":
                # Reddit may answer a name it does not know with a search listing, not a 404.
                raise ConfigError(
                    f"r/{name}: no such subreddit (misspelt, or banned); check subreddits"
                )

    # -- talking to Reddit --------------------------------------------------------------------

    def _client(self) -> praw.Reddit:
        if self._reddit is not None:
            return self._reddit
        settings, ctx = self.settings, self.context
        base = settings.api_base
        agent = settings.user_agent or ctx.user_agent
        if settings.username and not settings.user_agent:
            agent += f" (by /u/{settings.username})"  # what Reddit's API rules ask for

        def secret(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value is not None else None

        try:
            # Every credential is passed, None included: praw would otherwise take missing ones
            # from praw.ini files or praw_* environment variables, and change the sign-in mode.
            self._reddit = praw.Reddit(
                site_name="DEFAULT",
                client_id=settings.client_id,
                client_secret=secret(settings.client_secret),
                username=settings.username if settings.signed_in else None,
                password=secret(settings.password),
                refresh_token=secret(settings.refresh_token),
                user_agent=agent,
                oauth_url=base or OAUTH_URL,
                reddit_url=base or REDDIT_URL,
                timeout=max(1, math.ceil(ctx.timeout)),  # validated by praw, applied below
                ratelimit_seconds=0,  # never sleep on a RATELIMIT answer (we only read)
                check_for_updates=False,  # no call to PyPI from a daemon
                check_for_async=False,
                requestor_class=_Requestor,
                requestor_kwargs={
                    "timeout": ctx.timeout,
                    "budget": self._budget,
                    "session": self._session,
                },
            )
        except (PRAWException, prawcore.PrawcoreException, ValueError) as exc:
            raise ConfigError(f"cannot set up the Reddit client: {self._scrub(str(exc))}") from None
        return self._reddit

    def _account_name(self) -> str:
        """The signed-in account's name: the `username` setting, else asked once (identity)."""
        return self._account if self._account is not None else self._whoami()

    def _get(self, path: str, params: Mapping[str, str | int], where: _Where) -> Any:
        if self._budget.spent():
            raise _OutOfBudget(self._budget.seconds_to_reset())
        self._requests += 1
        client = self._client()
        return self._call(
            lambda: client.request(method="GET", path=path, params=dict(params)), where
        )

    def _call(self, call: Callable[[], Any], where: _Where) -> Any:
        try:
            return call()
        except (prawcore.PrawcoreException, PRAWException) as exc:
            raise self._translate(exc, where) from None
        except KeyError as exc:
            # prawcore looks a 401 without a WWW-Authenticate header up in a table that has
            # no such entry; that is still a refused access token.
            if exc.args == (401,):
                raise AuthError(
                    "Reddit refused the access token (401): check the credentials"
                ) from None
            raise

    def _translate(self, exc: Exception, where: _Where) -> ConnectorError:
        """A praw/prawcore exception as the error a person can act on; never with a secret."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        at_token = response is not None and urlsplit(str(response.url)).path.rstrip("/").endswith(
            _TOKEN_PATH
        )
        if isinstance(exc, prawcore.OAuthException):
            return self._sign_in_refused(exc.error, exc.description)
        if at_token:
            error = _json_error(response)
            if error:
                return self._sign_in_refused(error, None)
            if status == 401:
                return AuthError(
                    "Reddit refused the app's credentials (401): wrong client id or secret; "
                    "check client_id and client_secret against https://www.reddit.com/prefs/apps"
                )
            if status is not None and 400 <= status < 500 and status != 429:
                return AuthError(f"Reddit refused to sign in ({status}): check the credentials")
        if isinstance(exc, prawcore.TooManyRequests) or status == 429:
            wait = _retry_after(response) or self._budget.seconds_to_reset() or None
            return TransientError(
                "Reddit is rate limiting us (429); will retry"
                + (f" in {wait:.0f} s" if wait else " later"),
                retry_after=wait,
            )
        if isinstance(exc, prawcore.InsufficientScope):
            return AuthError(_missing_scope([where.scope]))
        if isinstance(exc, prawcore.InvalidToken):
            return AuthError(
                "Reddit refused the access token it had just issued (401): the app or the "
                "account may be suspended; check them on reddit.com"
            )
        if isinstance(exc, prawcore.Forbidden):
            if where.subreddit:
                return ConfigError(
                    f"{where.what}: Reddit refused access (403): a subreddit is private, "
                    "quarantined or banned; check subreddits"
                )
            return AuthError(
                f"Reddit refused access to {where.what} (403): the app lacks the scope "
                f"{where.scope}, or the account is suspended; authorize the app again with "
                f"{where.scope} and update refresh_token"
            )
        if isinstance(exc, prawcore.NotFound | prawcore.Redirect):
            if where.subreddit:
                return ConfigError(
                    f"{where.what}: no such subreddit (misspelt, or banned); check subreddits"
                )
            if where.user:
                return ConfigError(
                    f"{where.what}: not found, the account does not exist or is suspended; "
                    "check username"
                )
            return ConfigError(f"{where.what}: Reddit answered {status} (not found)")
        if isinstance(exc, prawcore.RequestException):
            original = exc.original_exception
            if isinstance(original, requests.Timeout):
                return TransientError(
                    f"Reddit did not answer within {self.context.timeout:g} s; will retry"
                )
            host = urlsplit(self.settings.api_base or OAUTH_URL).netloc
            problem = type(original).__name__
            return TransientError(f"cannot reach Reddit at {host} ({problem}); will retry")
        if isinstance(exc, prawcore.BadJSON):
            return TransientError(f"Reddit sent a malformed answer for {where.what}; will retry")
        if status is not None and (status >= 500 or status in (408, 425)):
            return TransientError(
                f"Reddit has a server problem ({status}) reading {where.what}; will retry",
                retry_after=_retry_after(response),
            )
        if status is not None:
            return ConfigError(f"Reddit rejected the request for {where.what} ({status})")
        return TransientError(f"Reddit: {self._scrub(str(exc))}")

    def _sign_in_refused(self, error: str, description: str | None) -> AuthError:
        settings = self.settings
        if error == "invalid_grant":
            if settings.refresh_token is not None:
                return AuthError(
                    "the refresh token has expired or was revoked: make a new one (authorize "
                    "the app again for the account) and put it in refresh_token"
                )
            if settings.password is not None:
                return AuthError(
                    f"Reddit refused the username or password for u/{settings.username}: check "
                    "password (an account with two-factor authentication needs a refresh_token "
                    "instead)"
                )
        if error == "unauthorized_client" and settings.password is not None:
            return AuthError(
                "this app cannot sign in with a password: that needs an app of type script "
                "(https://www.reddit.com/prefs/apps), or use a refresh_token"
            )
        detail = f" ({self._scrub(description)})" if description else ""
        return AuthError(f"Reddit refused to sign in: {error}{detail}")

    def _scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Release the HTTP connections (a new fetch opens them again)."""
        self._session.close()
        self._session = strict_session()  # Latin-1 sent as UTF-8 is an error
        self._reddit = None


# -- helpers ----------------------------------------------------------------------------------


def _per_account(key: str) -> bool:
    """Whether a cursor key belongs to the signed-in account (its inbox, history, posts)."""
    return key.startswith(("inbox:", "history:", "tree:"))


def _listing(answer: Any, where: _Where) -> tuple[list[dict[str, Any]], str | None]:
    """The children and the ``after`` of a Listing answer; TransientError when it is not one."""
    data = answer.get("data") if isinstance(answer, dict) else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        raise TransientError(f"Reddit sent something other than a listing for {where.what}")
    after = data.get("after") if isinstance(data, dict) else None
    return [c for c in children if isinstance(c, dict)], after if isinstance(after, str) else None


def _created_utc(data: dict[str, Any]) -> float | None:
    value = data.get("created_utc")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _author(data: dict[str, Any]) -> str:
    # A deleted account leaves author null (or "[deleted]"): the text may still need an answer.
    author = data.get("author")
    return author if isinstance(author, str) and author else "[deleted]"


def _thread_from_path(path: Any) -> str | None:
    """``t3_<id>`` of the post a permalink or inbox context link points into."""
    if isinstance(path, str) and (match := _POST_IN_PATH.search(path)):
        return f"t3_{match.group(1)}"
    return None


def _comment_url(
    data: dict[str, Any], thread: str | None, post_permalink: str | None
) -> str | None:
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink:
        return PERMALINK_BASE + permalink
    context = data.get("context")  # inbox items: ".../<comment id>/?context=3"
    if isinstance(context, str) and context:
        return PERMALINK_BASE + context.partition("?")[0]
    comment_id = data.get("id")
    if not isinstance(comment_id, str):
        return None
    if post_permalink:  # older trees carry no permalink per comment
        return f"{PERMALINK_BASE}{post_permalink.rstrip('/')}/{comment_id}/"
    if thread:
        return f"{PERMALINK_BASE}/comments/{thread.removeprefix('t3_')}/_/{comment_id}/"
    return None


def _json_error(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _retry_after(response: Any) -> float | None:
    """Seconds to wait from Retry-After, else from x-ratelimit-reset; None if neither says."""
    if response is None:
        return None
    for header in ("retry-after", "x-ratelimit-reset"):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _missing_scope(scopes: list[str]) -> str:
    names = ", ".join(scopes)
    plural = "s" if len(scopes) > 1 else ""
    return (
        f"the app lacks the scope{plural} {names}: authorize it again with {names} included "
        "and put the new refresh_token in the config"
    )
