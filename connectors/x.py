"""The X connector: mentions of the owner's account, the owner's own replies, and keyword hits.

One ``type: x`` source watches one account through the X API v2 with an app's bearer token
(tweepy's `Client`, which returns the raw `requests.Response` here so that the rate-limit
headers can be read). A fetch reads up to three timelines, newest first:

- **mentions** (``GET /2/users/:id/mentions``): items, ``kind="mention"``;
- **the owner's own tweets** (``GET /2/users/:id/tweets``, retweets excluded): the ones that
  reply to something (a ``replied_to`` reference) become owner records (``kind="reply"``) whose
  `parent_id` marks their parent answered;
- **keyword search** (``GET /2/tweets/search/recent``), only when ``keywords`` is set: items,
  ``kind="comment"``. Many plans do not include search; X's refusal (403 ``client-not-enrolled``,
  code 453) becomes a warning, the other two timelines go on, and search is tried again a day
  later, not at every poll.

On X every answer is a reply to a tweet, so the owner's tweets that reply to nothing (and
retweets) are left out: the core's "a later owner record in the same thread" rule, meant for flat
blog threads, must never apply here. `thread_id` is the ``conversation_id``.

**Cursor.** ``{"user", "user_id", "mentions", "timeline", "search"}``. The user is looked up by
name once and its id kept, so a restart costs no request; a different ``user`` in the settings
starts afresh. Each timeline keeps the newest id it has read to the end (``since_id``); a fetch
pages back with ``next_token`` to that id and only then moves it, so an error halfway leaves the
old one and the next poll reads the same tweets again (the core stores each id once). A backlog
longer than the page bound is not cut short either: the cursor keeps the ``next_token`` where it
stopped (and the newest id seen), and the next poll goes on from there before it moves
``since_id``. The first fetch, with no ``since_id``, reads only the newest page of each timeline:
older tweets would only be baseline. ``search`` also keeps its query (new keywords start afresh)
and, when the plan refused it, until when it is off.

**Rate budget.** ``requests_per_15min`` is the smallest per-endpoint limit of the account's plan
(X counts in fixed 15-minute windows). Every request of a fetch counts against it, as if the
limits were shared (the safe reading): a fetch that cost ``c`` requests is followed by a pause of
``900 / floor(budget / c)`` seconds (``900 * c / budget`` when one fetch costs more than the
whole budget), so at most ``budget`` requests fall in any window, and
`FetchResult.wait_at_least` says so (always set: the connector does not know the source's
``every``, the core keeps the longer of the two). When a response says ``x-rate-limit-remaining:
0``, the pause lasts until its ``x-rate-limit-reset`` at least; a 429 is a `TransientError` whose
``retry_after`` runs to that reset. The page bound per timeline is cut to fit the budget, and
tweepy never sleeps (``wait_on_rate_limit=False``): time comes from the context's clock.

Example::

    connector = XConnector(
        XSettings(bearer_token="…", user="danashop", keywords=["danashop.com"]),
        ConnectorContext(source="x", owner_identities=("danashop",)),
    )
    print(connector.check())     # token works; watching @danashop (id …); … a poll every 4m30s
    result = connector.fetch(None)
"""

from __future__ import annotations

import builtins
import html
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import requests
import tweepy
from pydantic import BaseModel, Field, SecretStr, field_validator

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    ConnectorSettings,
    FetchResult,
    Record,
    TransientError,
)
from connectors.html_text import tidy_text
from connectors.http import strict_session

log = logging.getLogger(__name__)

API_BASE = "https://api.twitter.com"
_TWEEPY_HOST = "https://api.twitter.com"  # what tweepy.Client puts before every route
WINDOW_S = 900.0  # X's rate-limit window: 15 minutes
PAGE_SIZE = 100  # the most the timelines and recent search give per request
MAX_PAGES = 5  # per timeline and fetch; the budget may allow fewer
SEARCH_RETRY = timedelta(days=1)  # a plan without search is asked again this much later
_TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "note_tweet",  # the full text of a post longer than 280 characters
]
_EXPANSIONS = ["author_id"]  # includes.users: the author's @username
_USER_FIELDS = ["username"]
_SNOWFLAKE_EPOCH_MS = 1_288_834_974_657  # X ids carry their creation time since this instant
_SNOWFLAKE_START = datetime(2010, 11, 4, 21, tzinfo=UTC)  # older ids are plain counters
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}]+")


class XSettings(ConnectorSettings):
    """Settings of a ``type: x`` source."""

    bearer_token: SecretStr  # the app's bearer token: never shown, logged or put in a message
    user: str  # the owner's account, without @
    keywords: list[str] = Field(default_factory=list)  # recent search, where the plan has it
    # The smallest per-endpoint limit of the plan, per 15 minutes (10 fits the Basic tier).
    requests_per_15min: int = Field(default=10, ge=1)
    api_base: str = API_BASE  # a proxy or a test server stands in for api.twitter.com

    @field_validator("user")
    @classmethod
    def _username(cls, value: str) -> str:
        name = value.strip().removeprefix("@")
        if not _USERNAME.match(name):
            raise ValueError(
                "expected an X username: 1 to 15 letters, digits or underscores, like danashop"
            )
        return name

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return [k.strip() for k in value if k.strip()]

    @field_validator("bearer_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the bearer token is empty; set it from the app's Keys and tokens")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s):// URL such as https://api.twitter.com")
        return value


class _MaskBearer(logging.Filter):
    """tweepy's debug lines print the request headers, the bearer token included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer" in message:
            record.msg = _BEARER.sub(r"\1***", message)
            record.args = None
        return True


_tweepy_log = logging.getLogger("tweepy.client")
if not any(isinstance(f, _MaskBearer) for f in _tweepy_log.filters):
    _tweepy_log.addFilter(_MaskBearer())


class _Session(requests.Session):
    """tweepy's session, pointed at `api_base` and never waiting longer than the timeout.

    tweepy hard-codes its host and passes no timeout (a stalled connection would hang the poll
    for good); both are settled here, where every request passes.
    """

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__()
        self._base = base
        self._timeout = timeout
        strict_session(self)  # Latin-1 sent as UTF-8 is an error, not "Caf\ufffd"

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(_TWEEPY_HOST):
            url = self._base + url[len(_TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


@dataclass
class _Stream:
    """One timeline's place in the cursor."""

    since_id: str | None = None  # the newest tweet read to the end of its backlog
    next_token: str | None = None  # where an unfinished backlog goes on at the next poll
    newest_id: str | None = None  # the newest tweet seen while that backlog is read

    @classmethod
    def load(cls, raw: Any) -> _Stream:
        if not isinstance(raw, dict):
            return cls()
        return cls(*(_id_or_none(raw.get(k)) for k in ("since_id", "next_token", "newest_id")))

    def dump(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("since_id", self.since_id),
                ("next_token", self.next_token),
                ("newest_id", self.newest_id),
            )
            if v
        }


@dataclass
class _Spend:
    """The requests one fetch made, and what X's headers said about the budget left."""

    requests: int = 0
    exhausted_until: float | None = None  # epoch seconds: a window with nothing left


@dataclass
class _Timeline:
    """What one timeline gave in this fetch."""

    tweets: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # author id -> username
    stream: _Stream = field(default_factory=_Stream)
    warnings: list[str] = field(default_factory=list)


class _Forbidden(AuthError):
    """A 403: the plan, the app's project or the token's permissions do not allow the call."""


class _Rejected(ConfigError):
    """A 400: X rejected the request's parameters (an expired since_id, a bad query…)."""


class XConnector:
    """Watches one X account: mentions, the owner's replies and optional keyword hits."""

    type: ClassVar[str] = "x"
    Settings: ClassVar[builtins.type[BaseModel]] = XSettings  # `type` is taken just above

    def __init__(self, settings: XSettings, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._token = settings.bearer_token.get_secret_value()
        self._owner_names = frozenset(
            name.strip().removeprefix("@").casefold() for name in context.owner_identities
        )

    # -- the budget -------------------------------------------------------------------------------

    def min_interval(self, cost: int) -> float:
        """Seconds between polls that cost `cost` requests each, so the budget holds.

        X counts in fixed 15-minute windows: ``floor(budget / cost)`` polls fit in one.

        >>> c = XConnector(XSettings(bearer_token="t", user="dana", requests_per_15min=10),
        ...                ConnectorContext(source="x", owner_identities=()))
        >>> c.min_interval(2), c.min_interval(3), c.min_interval(20)
        (180.0, 300.0, 1800.0)
        """
        if cost <= 0:
            return 0.0
        budget = self.settings.requests_per_15min
        polls = budget // cost
        return WINDOW_S / polls if polls else WINDOW_S * cost / budget

    def _page_limit(self, timelines: int) -> int:
        """Pages per timeline and fetch: MAX_PAGES, cut so a whole fetch fits the budget."""
        return max(1, min(MAX_PAGES, self.settings.requests_per_15min // max(1, timelines)))

    # -- check ------------------------------------------------------------------------------------

    def check(self) -> str:
        """Look the account up with the token: one request, nothing stored.

        Returns e.g. "token works; watching @danashop (id 123); the budget of 10 requests/15 min
        allows a poll every 3m (2 requests a poll: mentions, own replies)". Raises AuthError
        (wrong or expired token, a plan without access) or ConfigError (no such account).
        """
        spend = _Spend()
        with self._client() as client:
            user_id, username = self._lookup(client, spend)
        parts = ["mentions", "own replies"] + (["search"] if self.settings.keywords else [])
        every = _human(self.min_interval(len(parts)))
        return (
            f"token works; watching @{username} (id {user_id}); the budget of "
            f"{self.settings.requests_per_15min} requests/15 min allows a poll every {every} "
            f"({len(parts)} requests a poll: {', '.join(parts)})"
        )

    # -- fetching ---------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Mentions, owner replies and keyword hits newer than `cursor` (see the module doc).

        Raises TransientError (429 with the reset, 5xx, timeouts), AuthError (401, a 403 on
        mentions or the timeline) or ConfigError (the account does not exist).
        """
        now = self.context.clock()
        cursor = cursor or {}
        settings = self.settings
        same_user = str(cursor.get("user", "")).casefold() == settings.user.casefold()
        if not same_user:
            cursor = {}  # another account: its ids and since_ids mean nothing here
        spend = _Spend()
        warnings: list[str] = []
        records: list[Record] = []
        seen: set[str] = set()
        query = _query(settings.keywords) if settings.keywords else None
        raw_search = cursor.get("search")
        search_state: dict[str, Any] = raw_search if isinstance(raw_search, dict) else {}
        if query is None or search_state.get("query") != query:
            search_state = {}  # new keywords: the old since_id belongs to another query
        blocked_until = _parse_time(search_state.get("blocked_until"))
        searching = query is not None and (blocked_until is None or now >= blocked_until)
        pages = self._page_limit(3 if searching else 2)

        with self._client() as client:
            user_id = _id_or_none(cursor.get("user_id"))
            if user_id is None:
                user_id, _ = self._lookup(client, spend)
            owner = f"@{settings.user}"

            mentions = self._read(
                client,
                spend,
                f"reading the mentions of {owner}",
                lambda **p: client.get_users_mentions(user_id, **p),
                "pagination_token",
                _Stream.load(cursor.get("mentions")),
                pages,
            )
            self._collect(mentions, "mention", user_id, now, records, seen)
            timeline = self._read(
                client,
                spend,
                f"reading {owner}'s own tweets",
                lambda **p: client.get_users_tweets(user_id, exclude=["retweets"], **p),
                "pagination_token",
                _Stream.load(cursor.get("timeline")),
                pages,
            )
            self._collect(timeline, "reply", user_id, now, records, seen)
            warnings += mentions.warnings + timeline.warnings

            new_search: dict[str, Any] = {}
            if query is not None and not searching:
                assert blocked_until is not None
                new_search = dict(search_state)
                warnings.append(
                    f"keyword search is off: {search_state.get('blocked', 'not allowed')}; "
                    f"next try after {_iso(blocked_until)}"
                )
            elif query is not None:
                new_search, more = self._search(
                    client, spend, query, search_state, pages, user_id, now, records, seen
                )
                warnings += more

        new_cursor: dict[str, Any] = {
            "user": settings.user,
            "user_id": user_id,
            "mentions": mentions.stream.dump(),
            "timeline": timeline.stream.dump(),
        }
        if new_search:
            new_cursor["search"] = new_search
        for warning in warnings:
            log.warning("source %s: %s", self.context.source, warning)
        return FetchResult(
            records=records,
            cursor=new_cursor,
            warnings=warnings,
            wait_at_least=self._wait(spend, now),
        )

    def _search(
        self,
        client: tweepy.Client,
        spend: _Spend,
        query: str,
        state: dict[str, Any],
        pages: int,
        owner_id: str,
        now: datetime,
        records: list[Record],
        seen: set[str],
    ) -> tuple[dict[str, Any], list[str]]:
        """Keyword hits; a plan without search (or a query X rejects) is a warning, not a
        failure, and search rests for a day."""
        try:
            hits = self._read(
                client,
                spend,
                f"searching for {query}",
                lambda **p: client.search_recent_tweets(query, **p),
                "next_token",
                _Stream.load(state),
                pages,
            )
        except (_Forbidden, _Rejected) as exc:
            until = now + SEARCH_RETRY
            reason = str(exc)
            blocked = {"query": query, "blocked_until": _iso(until), "blocked": reason}
            # Keep the place reached before: when search comes back, nothing in between is lost.
            blocked.update(_Stream.load(state).dump())
            return blocked, [
                f"keyword search is off: {reason}; mentions and replies are still watched; "
                f"next try after {_iso(until)}"
            ]
        self._collect(hits, "comment", owner_id, now, records, seen)
        return {"query": query, **hits.stream.dump()}, hits.warnings

    def _wait(self, spend: _Spend, now: datetime) -> float:
        wait = self.min_interval(spend.requests)
        if spend.exhausted_until is not None:
            wait = max(wait, spend.exhausted_until - now.timestamp())
        return wait

    # -- requests ---------------------------------------------------------------------------------

    def _client(self) -> _ClosingClient:
        client = tweepy.Client(
            bearer_token=self._token,
            return_type=requests.Response,  # the raw response: its rate-limit headers count
            wait_on_rate_limit=False,  # never sleep inside a poll; the core schedules retries
        )
        client.session = _Session(self.settings.api_base, self.context.timeout)
        client.user_agent = f"{self.context.user_agent} Tweepy/{tweepy.__version__}"
        return _ClosingClient(client)

    def _lookup(self, client: tweepy.Client, spend: _Spend) -> tuple[str, str]:
        """The owner's id and username as X spells it; ConfigError when there is no such user."""
        user = self.settings.user
        body = self._call(
            spend,
            f"looking up @{user}",
            lambda: client.get_user(username=user, user_fields=_USER_FIELDS),
        )
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            problem = _problems(body.get("errors")) or "X returned no account"
            raise ConfigError(
                f"the X account @{user} cannot be watched: {problem} — check sources[].user"
            )
        return str(data["id"]), str(data.get("username") or user)

    def _read(
        self,
        client: tweepy.Client,
        spend: _Spend,
        what: str,
        request: Callable[..., requests.Response],
        token_param: str,
        stream: _Stream,
        pages: int,
    ) -> _Timeline:
        """Page through one timeline back to its since_id (see the module doc)."""
        first_run = stream.since_id is None and stream.next_token is None
        try:
            return self._pages(spend, what, request, token_param, stream, 1 if first_run else pages)
        except _Rejected:
            if first_run:
                raise
            # X refuses a since_id older than it keeps (a week for search) and pagination
            # tokens that expired while the daemon was off: start again from the newest page.
            log.info("source %s: %s: starting again from the newest", self.context.source, what)
            return self._pages(spend, what, request, token_param, _Stream(), 1)

    def _pages(
        self,
        spend: _Spend,
        what: str,
        request: Callable[..., requests.Response],
        token_param: str,
        stream: _Stream,
        pages: int,
    ) -> _Timeline:
        first_run = stream.since_id is None and stream.next_token is None
        result = _Timeline()
        token = stream.next_token
        newest = stream.newest_id
        partial_errors = 0
        problems: list[str] = []
        for _ in range(pages):
            params: dict[str, Any] = {
                "max_results": PAGE_SIZE,
                "expansions": _EXPANSIONS,
                "tweet_fields": _TWEET_FIELDS,
                "user_fields": _USER_FIELDS,
            }
            if stream.since_id:
                params["since_id"] = stream.since_id
            if token:
                params[token_param] = token
            body = self._call(spend, what, partial(request, **params))
            if "data" not in body and "meta" not in body:
                # Even an empty page has meta.result_count: this is some other answer (a
                # maintenance notice), and reading it as "nothing new" would hide it.
                raise TransientError(
                    f"X answered without data or meta while {what}: "
                    f"{self._scrub(str(body)[:200])}; will retry"
                )
            data = body.get("data")
            tweets = [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
            result.tweets += tweets
            includes = body.get("includes")
            users = includes.get("users") if isinstance(includes, dict) else None
            for user in users if isinstance(users, list) else ():
                if isinstance(user, dict) and user.get("id") and user.get("username"):
                    result.users[str(user["id"])] = str(user["username"])
            raw_meta = body.get("meta")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            newest = _newest(newest, meta.get("newest_id"), *(t.get("id") for t in tweets))
            if errors := body.get("errors"):
                # A 200 with `errors` next to `data`: a suspended author, a deleted parent…
                partial_errors += len(errors) if isinstance(errors, list) else 1
                problems.append(_problems(errors))
            token = _id_or_none(meta.get("next_token"))
            if not token:
                break
        if token and not first_run:
            # The page bound stopped us: the rest of the backlog is read at the next poll,
            # from here, and since_id only moves once it is all read.
            result.stream = _Stream(stream.since_id, token, newest)
        else:
            result.stream = _Stream(since_id=newest or stream.since_id)
        if partial_errors:
            shown = "; ".join(p for p in problems if p)[:300]
            errors_n = _plural(partial_errors, "error")
            result.warnings.append(
                f"{what}: X left out parts of the answer ({errors_n}; the tweets themselves are "
                f"kept): {shown}"
            )
        return result

    def _call(
        self, spend: _Spend, what: str, request: Callable[[], requests.Response]
    ) -> dict[str, Any]:
        """One request: its rate-limit headers noted, its errors turned into ours."""
        spend.requests += 1
        try:
            response = request()
        except tweepy.TooManyRequests as exc:
            raise TransientError(
                f"X's rate limit is used up while {what}; the poll interval is probably shorter "
                "than requests_per_15min allows",
                retry_after=self._retry_after(exc),
            ) from None
        except tweepy.HTTPException as exc:
            raise self._http_error(exc, what) from None
        except requests.Timeout:
            raise TransientError(
                f"X did not answer within {self.context.timeout:g} s while {what}; will retry"
            ) from None
        except (requests.exceptions.ContentDecodingError, requests.exceptions.ChunkedEncodingError):
            raise TransientError(
                f"X sent a broken answer while {what} (a body cut short or not the gzip it "
                "announced); will retry"
            ) from None
        except requests.RequestException as exc:  # connection refused, DNS, reset…
            problem = self._scrub(str(exc)) or type(exc).__name__
            raise TransientError(f"cannot reach X while {what}: {problem}") from None
        except tweepy.TweepyException as exc:
            raise TransientError(f"X failed while {what}: {self._scrub(str(exc))}") from None
        self._note_limits(spend, response.headers)
        try:
            body = response.json()
        except ValueError:
            raise TransientError(
                f"X sent something that is not JSON while {what} "
                f"({response.status_code}, {len(response.content)} bytes); will retry"
            ) from None
        if not isinstance(body, dict):
            raise TransientError(f"X sent an unexpected answer while {what}; will retry")
        return body

    def _note_limits(self, spend: _Spend, headers: Any) -> None:
        remaining = _int_header(headers, "x-rate-limit-remaining")
        reset = _int_header(headers, "x-rate-limit-reset")
        if remaining is not None and remaining <= 0 and reset is not None:
            spend.exhausted_until = max(spend.exhausted_until or 0.0, float(reset))

    def _retry_after(self, exc: tweepy.TooManyRequests) -> float:
        reset = exc.reset_time
        if reset is None:
            return WINDOW_S  # no header: a whole window is the most it can take
        return max(1.0, float(reset) - self.context.clock().timestamp())

    def _http_error(self, exc: tweepy.HTTPException, what: str) -> Exception:
        status = exc.response.status_code
        body = _json_or_empty(exc.response)
        detail = self._scrub(_problems(body.get("errors")) or _detail(body) or str(exc))
        detail = " ".join(detail.split())
        if isinstance(exc, tweepy.Unauthorized):
            return AuthError(
                f"the bearer token is wrong, expired or revoked: X answered 401 while {what} "
                f"({detail}); copy a new one from the app's Keys and tokens page in the X "
                "developer portal into bearer_token"
            )
        if isinstance(exc, tweepy.Forbidden):
            return _Forbidden(_forbidden_message(body, detail, what))
        if isinstance(exc, tweepy.NotFound):
            return ConfigError(f"X has no such account or tweet while {what} (404): {detail}")
        if isinstance(exc, tweepy.TwitterServerError):
            return TransientError(f"X has a server problem ({status}) while {what}; will retry")
        if isinstance(exc, tweepy.BadRequest):
            return _Rejected(f"X rejected the request while {what} (400): {detail}")
        if status in (408, 409, 425):
            return TransientError(f"X answered {status} while {what}; will retry")
        return ConfigError(f"X answered {status} while {what}: {detail}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- records ----------------------------------------------------------------------------------

    def _collect(
        self,
        timeline: _Timeline,
        kind: str,
        owner_id: str,
        now: datetime,
        records: list[Record],
        seen: set[str],
    ) -> None:
        for tweet in timeline.tweets:
            record = self._record(tweet, timeline.users, kind, owner_id, now)
            if record is not None and record.external_id not in seen:
                seen.add(record.external_id)
                records.append(record)

    def _record(
        self,
        tweet: dict[str, Any],
        users: dict[str, str],
        kind: str,
        owner_id: str,
        now: datetime,
    ) -> Record | None:
        tweet_id = _id_or_none(tweet.get("id"))
        if tweet_id is None:
            return None
        refs = [r for r in tweet.get("referenced_tweets") or () if isinstance(r, dict)]
        if any(r.get("type") == "retweeted" for r in refs):
            return None  # a retweet says nothing new and needs no answer
        parent = next(
            (str(r["id"]) for r in refs if r.get("type") == "replied_to" and r.get("id")), None
        )
        author_id = _id_or_none(tweet.get("author_id"))
        username = users.get(author_id) if author_id else None
        owner = kind == "reply" or author_id == owner_id or self._is_owner(username, author_id)
        if owner and parent is None:
            # An owner tweet that replies to nothing answers nothing on X (see the module doc).
            return None
        note = tweet.get("note_tweet")
        text = note.get("text") if isinstance(note, dict) and note.get("text") else None
        created_at, estimated = _created_at(tweet, tweet_id, now)
        return Record(
            external_id=tweet_id,
            thread_id=_id_or_none(tweet.get("conversation_id")),
            parent_id=parent,
            author=f"@{username}" if username else (author_id or "unknown"),
            is_owner=owner,
            # X escapes &, < and > in tweet text; the text is otherwise plain.
            text=tidy_text(html.unescape(str(text or tweet.get("text") or ""))),
            url=f"https://x.com/{username or 'i'}/status/{tweet_id}",
            created_at=created_at,
            kind="reply" if owner else kind,
            created_at_estimated=estimated,
        )

    def _is_owner(self, username: str | None, author_id: str | None) -> bool:
        names = self._owner_names
        return bool(
            (username and username.casefold() in names) or (author_id and author_id in names)
        )


class _ClosingClient:
    """``with self._client() as client``: the session's sockets are closed after each fetch."""

    def __init__(self, client: tweepy.Client) -> None:
        self.client = client

    def __enter__(self) -> tweepy.Client:
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.session.close()


# -- helpers --------------------------------------------------------------------------------------


def _query(keywords: Iterable[str]) -> str:
    """A recent-search query for any of `keywords`, without retweets.

    >>> _query(["danashop.com", "dana shop"])
    '(danashop.com OR "dana shop") -is:retweet'
    """
    terms = [
        f'"{k}"' if any(c.isspace() for c in k) and not k.startswith('"') else k for k in keywords
    ]
    joined = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
    return f"{joined} -is:retweet"


def _id_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _newest(*ids: Any) -> str | None:
    """The largest of X's ids (numeric strings; compared as numbers, not as text)."""
    best: str | None = None
    for value in ids:
        text = _id_or_none(value)
        if text is None or not text.isdigit():
            continue
        if best is None or int(text) > int(best):
            best = text
    return best


def _created_at(tweet: dict[str, Any], tweet_id: str, now: datetime) -> tuple[datetime, bool]:
    """When the tweet was written: `created_at`, else the time inside its id, else `now`."""
    raw = tweet.get("created_at")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC), False
    if tweet_id.isdigit():
        # A snowflake id holds its creation time to the millisecond: exact, not a guess.
        at = datetime.fromtimestamp(((int(tweet_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)
        if _SNOWFLAKE_START <= at <= now + timedelta(days=1):
            return at, False
    return now.astimezone(UTC), True


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name) if headers is not None else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _detail(body: dict[str, Any]) -> str:
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    return ": ".join(parts)


def _problems(errors: Any) -> str:
    """X's `errors` array in one line: each error's detail (or message, or title)."""
    if not isinstance(errors, list):
        return ""
    seen: list[str] = []
    for error in errors:
        if isinstance(error, dict):
            text = error.get("detail") or error.get("message") or error.get("title") or ""
            if code := error.get("code"):
                text = f"{text} (code {code})"
        else:
            text = str(error)
        text = " ".join(str(text).split())
        if text and text not in seen:
            seen.append(text)
    shown = "; ".join(seen[:3])
    return shown + (f"; and {len(seen) - 3} more" if len(seen) > 3 else "")


def _forbidden_message(body: dict[str, Any], detail: str, what: str) -> str:
    """A 403 in plain words: which permission is missing and where to get it."""
    reason = str(body.get("reason") or "")
    codes = {e.get("code") for e in body.get("errors") or () if isinstance(e, dict)}
    lowered = detail.lower()
    if reason == "client-not-enrolled" or 453 in codes:
        why = "client-not-enrolled" if reason == "client-not-enrolled" else "code 453"
        return (
            f"the app's X API plan does not allow {what} ({why}): attach the app to a Project "
            "with an access level that includes this endpoint (Basic or higher) in the X "
            "developer portal"
        )
    if "scope" in lowered:
        return (
            f"the token lacks a permission needed for {what} (a missing scope: tweet.read and "
            f"users.read are needed): {detail}"
        )
    if reason == "unsupported-authentication" or "unsupported authentication" in lowered:
        return (
            f"X does not accept this kind of token for {what}: use the app's bearer token "
            f"(App-only, from Keys and tokens): {detail}"
        )
    if "suspended" in lowered:
        return f"X refused {what}: the account is suspended ({detail})"
    return f"X refused {what} (403 Forbidden): {detail}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _human(seconds: float) -> str:
    """A pause as a person writes it.

    >>> _human(270), _human(180), _human(3600), _human(5400), _human(42)
    ('4m30s', '3m', '1h', '1h30m', '42s')
    """
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return "".join(parts) or "0s"
