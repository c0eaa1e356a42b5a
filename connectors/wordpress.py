"""The WordPress connector: a blog's comments through the WordPress REST API, held ones included.

A ``type: wordpress`` source reads ``GET {url}/wp-json/wp/v2/comments`` of one site, or
``{url}/?rest_route=/wp/v2/comments`` where pretty permalinks are off (``/wp-json/`` then gives a
404 or an HTML page; the first fetch tries both and the cursor keeps the one that worked). With
the owner's ``username`` and an application password, it also reads the comments held for
moderation (``status=hold``), which visitors cannot see; without them it reads what any visitor
sees: approved comments only. `check()` says which.

**Records.** One per comment: `external_id` the comment id, `thread_id` the post id,
`parent_id` the comment it replies to (WordPress threads replies; None at the top level),
`author` the name shown, `text` the rendered content as plain text, `url` its permalink,
`created_at` its ``date_gmt``. `kind` is ``comment`` or ``reply`` (a parent is set), and
``held-comment`` or ``held-reply`` for a comment awaiting moderation when it was first read:
`Record` has no flag for it, and the kind is what the store and ``inbox --json`` keep and show.
The store keeps an item as first seen, so an item held then approved stays ``held-…``.

**The owner.** A comment is the owner's when its ``author`` (the WordPress user id; 0 for a
visitor) is in `owner_user_ids`, is a numeric entry of the owner's identities, or is the signed-in
user; or when a registered user wrote it under one of the owner's names. A visitor who merely
types the owner's name is not the owner: taking them for the owner would hide their comment, the
one thing Sameday must never do. An owner reply in a thread answers its parent; a top-level owner
comment answers the earlier open comments on its post (the answered rule's flat fallback, as on
a blog without threaded comments).

**Cursor.** ``{"site", "route", "user", "newest", "seen", "resume"}``:

- ``newest``: the newest ``date_gmt`` read from the approved comments. WordPress's ``after`` is
  strict and compares with ``comment_date``, the site's *local* time (converting the instant we
  give it with the site's current zone), so comments in the same second, around a DST change or
  written while another zone was set would slip past ``after=newest``. Each fetch therefore asks
  for ``after = newest - lookback`` and skips the ids in ``seen``: every comment read with a date
  in that window, plus every comment in the hold queue. The lookback is 2 hours when signed in;
  2 days without credentials, where it is also the only way to see a comment approved after it
  was held (its date is when it was written): one approved within 2 days of being written is
  still found, a later one is not.
- the hold queue is read on every fetch, ignoring ``newest`` (it is small, and a comment written
  long ago may be held now; newest first, up to `MAX_HELD_PAGES` pages); its ids stay in
  ``seen`` while they are held, so a comment held at one poll and approved before the next is
  neither lost nor returned twice. (``status=all`` would give both kinds in one query, but the
  approved ones are read with ``after`` and the held ones without.)
- ``resume``: a backlog longer than `MAX_PAGES` pages goes on at the next poll from the page
  where this one stopped (same ``after``); ``newest`` moves only with what was read.
- the first fetch (no cursor, or one for another site) reads the newest `MAX_PAGES` pages, newest
  first: older comments would only be baseline.
- ``user``: the signed-in user's id and what it may see, looked up once (``/wp/v2/users/me``).

Example::

    connector = WordPressConnector(
        WordPressSettings(url="https://blog.example.com", username="dana", app_password="…"),
        ConnectorContext(source="blog", owner_identities=("Dana",)),
    )
    print(connector.check())   # signed in as dana (user 1) at https://blog.example.com; …
    result = connector.fetch(None)
"""

from __future__ import annotations

import builtins
import html
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

# One verifying TLS context for every HTTP connector, and the one Retry-After reading.
from connectors import http
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
from connectors.html_text import html_to_text
from connectors.http import parse_retry_after, server_problem, tls_context

log = logging.getLogger(__name__)

COMMENTS = "/wp/v2/comments"
ME = "/wp/v2/users/me"
MAX_PAGES = 10  # of the approved comments per fetch; a longer backlog goes on at the next one
MAX_HELD_PAGES = 5  # of the hold queue, newest first; a longer queue is mostly spam
LOOKBACK_SIGNED_IN = timedelta(hours=2)  # covers a DST change and the same-second boundary
LOOKBACK_ANONYMOUS = timedelta(days=2)  # also catches comments approved after being held
# Only what a record needs: a comment with its avatars and _links is five times larger.
_FIELDS = "id,post,parent,author,author_name,date_gmt,content,link,status"
_ROUTES = ("wp-json", "rest_route")  # /wp-json/<route>, then /?rest_route=<route>
_LABELS = {"wp-json": "/wp-json/", "rest_route": "?rest_route="}
_ACCEPT = "application/json"


class WordPressSettings(ConnectorSettings):
    """Settings of a ``type: wordpress`` source."""

    url: str  # the site's address, e.g. https://blog.example.com (the host: no api_base)
    username: str | None = None  # the WordPress login the application password belongs to
    # Users → Profile → Application Passwords; never shown, logged or put in a message.
    app_password: SecretStr | None = None
    owner_user_ids: list[int] = Field(default_factory=list)  # the owner's WordPress user ids
    per_page: int = Field(default=100, ge=1, le=100)  # 100 is WordPress's maximum

    @field_validator("url")
    @classmethod
    def _site(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("expected the site's address, like https://blog.example.com")
        if "@" in parts.netloc:
            raise ValueError("put the login in username and app_password, not in the URL")
        if parts.query or parts.fragment:
            raise ValueError("expected the site's address, without ?query or #fragment")
        # A pasted API root names the same site.
        return value.removesuffix("/wp-json").rstrip("/")

    @field_validator("username")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("app_password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _pair(self) -> WordPressSettings:
        if (self.username is None) != (self.app_password is None):
            raise ValueError(
                "give both username and app_password (to see held comments), or neither "
                "(approved comments only)"
            )
        return self


def _parse_utc(value: Any) -> datetime | None:
    """A WordPress ``*_gmt`` time ("2026-03-09T14:00:00", UTC without an offset) or an ISO one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default


def _error_code(response: httpx.Response) -> tuple[str, str]:
    """WordPress's error ``code`` and ``message`` from a JSON error body, else ("", "")."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    code, message = body.get("code"), body.get("message")
    return (
        code if isinstance(code, str) else "",
        html_to_text(message)[:200] if isinstance(message, str) else "",
    )


def _describe(response: httpx.Response) -> str:
    """What an answer that is not the REST API was: "404", "an HTML page"…"""
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code >= 300:
        return f"{response.status_code} {response.reason_phrase}".strip()
    if "html" in kind or response.content[:200].lstrip().lower().startswith((b"<!doc", b"<html")):
        return "an HTML page"
    return f"a {kind} document" if kind else "something that is not JSON"


@dataclass
class _User:
    """The signed-in user, as the cursor keeps it."""

    name: str  # the login, as in the settings
    id: int
    sees_held: bool  # may read the hold queue (edit_posts)
    moderates: bool  # sees every held comment (moderate_comments), not only its own posts'
    role: str

    def dump(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "sees_held": self.sees_held,
            "moderates": self.moderates,
            "role": self.role,
        }

    @classmethod
    def load(cls, raw: Any, name: str | None) -> _User | None:
        if not isinstance(raw, dict) or name is None or raw.get("name") != name:
            return None  # another login: look it up again
        user_id = _int(raw.get("id"), -1)
        if user_id < 0:
            return None
        return cls(
            name,
            user_id,
            bool(raw.get("sees_held")),
            bool(raw.get("moderates")),
            str(raw.get("role") or ""),
        )


@dataclass
class _State:
    """The cursor, loaded (see the module docstring)."""

    route: str | None = None
    user: _User | None = None
    newest: datetime | None = None
    seen: dict[str, datetime] = field(default_factory=dict)
    resume_after: str | None = None
    resume_page: int = 0
    fresh: bool = True  # no cursor for this site: the first fetch

    @classmethod
    def load(cls, cursor: dict[str, Any] | None, site: str, username: str | None) -> _State:
        if not cursor or cursor.get("site") != site:
            return cls()  # nothing, or another site: its ids mean nothing here
        route = cursor.get("route")
        seen: dict[str, datetime] = {}
        raw_seen = cursor.get("seen")
        if isinstance(raw_seen, dict):
            for key, value in raw_seen.items():
                if (when := _parse_utc(value)) is not None:
                    seen[str(key)] = when
        resume = cursor.get("resume")
        resume_after = resume_page = None
        if isinstance(resume, dict) and isinstance(resume.get("after"), str):
            resume_after, resume_page = resume["after"], _int(resume.get("page"))
        return cls(
            route=route if route in _ROUTES else None,
            user=_User.load(cursor.get("user"), username),
            newest=_parse_utc(cursor.get("newest")),
            seen=seen,
            resume_after=resume_after if resume_page and resume_page > 1 else None,
            resume_page=resume_page or 0,
            fresh=False,
        )


@dataclass
class _Read:
    """What one stream (approved or held) gave in this fetch."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # read to the last page
    after: str | None = None  # the `after` the read used
    next_page: int = 0  # where an incomplete read goes on


class WordPressConnector:
    """Reads one WordPress site's comments through its REST API."""

    type: ClassVar[str] = "wordpress"
    Settings: ClassVar[builtins.type[BaseModel]] = WordPressSettings  # `type` is taken above

    def __init__(
        self,
        settings: WordPressSettings,
        context: ConnectorContext,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._client = client
        self._site = settings.url
        self._password = settings.app_password.get_secret_value() if settings.app_password else None
        self._auth = (
            httpx.BasicAuth(settings.username, self._password)
            if settings.username and self._password
            else None
        )
        identities = [i.strip() for i in context.owner_identities]
        self._owner_ids = set(settings.owner_user_ids) | {int(i) for i in identities if i.isdigit()}
        self._route: str | None = None  # found by the first request, kept in the cursor

    @property
    def signed_in(self) -> bool:
        return self._auth is not None

    # -- check ------------------------------------------------------------------------------------

    def check(self) -> str:
        """Sign in (or read one comment anonymously) and say what the source can see.

        Returns e.g. "signed in as dana (user 1) at https://blog.example.com; comments held for
        moderation are visible". Raises AuthError (a wrong or revoked application password, an
        account that cannot see held comments, application passwords unavailable over plain
        http) or ConfigError (no WordPress REST API at the URL). Never includes the password.
        """
        with self._session() as client:
            if self.signed_in:
                user = self._whoami(client)
                if not user.sees_held:
                    raise self._cannot_see_held(user)
                if user.moderates:
                    seen = "comments held for moderation are visible"
                else:
                    seen = (
                        f"comments held for moderation are visible on {user.name}'s own posts "
                        f"only (role {user.role or 'unknown'}; an Editor or Administrator sees "
                        "them all)"
                    )
                return f"signed in as {user.name} (user {user.id}) at {self._site}; {seen}"
            _, headers = self._get(client, COMMENTS, {"per_page": 1, "_fields": "id"})
            total = headers.get("x-wp-total", "?")
            return (
                f"reading {self._site} without signing in: {total} approved comments visible; "
                "comments held for moderation are not (set username and app_password to see them)"
            )

    # -- fetching ---------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Comments (approved, and held when signed in) not returned before; see the module doc.

        Raises TransientError (timeouts, 429, 5xx, an answer that is not JSON), AuthError (401,
        403) or ConfigError (no REST API at the URL, a rejected request).
        """
        settings = self.settings
        state = _State.load(cursor, self._site, settings.username)
        self._route = state.route or self._route
        warnings: list[str] = []
        with self._session() as client:
            user = None
            if self.signed_in:
                user = state.user or self._whoami(client)
                if not user.sees_held:
                    raise self._cannot_see_held(user)
            approved = self._read_approved(client, state)
            held = self._read_held(client) if user is not None else _Read()

        owner_ids = self._owner_ids | ({user.id} if user else set())
        lookback = LOOKBACK_SIGNED_IN if user else LOOKBACK_ANONYMOUS
        records: list[Record] = []
        returned: set[str] = set()
        newest = state.newest
        seen_now: dict[str, datetime] = {}
        held_ids: set[str] = set()
        malformed = 0
        for comment, is_held in [(c, False) for c in approved.comments] + [
            (c, True) for c in held.comments
        ]:
            record = self._record(comment, owner_ids, held=is_held)
            if record is None:
                malformed += 1
                continue
            key = record.external_id
            if is_held:
                held_ids.add(key)
            else:
                newest = max(newest, record.created_at) if newest else record.created_at
            seen_now[key] = record.created_at
            if key in state.seen or key in returned:
                continue  # returned by an earlier fetch (or page) already
            returned.add(key)
            records.append(record)

        # Keep the ids that a later `after = newest - lookback` can still return, and the held
        # ones whatever their age: approval brings them back into the approved stream.
        cutoff = newest - lookback if newest else None
        seen = {
            key: when
            for key, when in {**state.seen, **seen_now}.items()
            if key in held_ids or (cutoff is not None and when >= cutoff)
        }
        new_cursor: dict[str, Any] = {
            "site": self._site,
            "route": self._route,
            "newest": _iso(newest) if newest else None,
            "seen": {key: _iso(when) for key, when in sorted(seen.items(), key=lambda i: i[1])},
        }
        if user is not None:
            new_cursor["user"] = user.dump()
        if not approved.complete and not state.fresh:
            new_cursor["resume"] = {"after": approved.after, "page": approved.next_page}

        if malformed:
            warnings.append(f"skipped {malformed} comment(s) without an id, post or date")
        if state.fresh and not approved.complete:
            warnings.append(
                f"first poll: read the newest {MAX_PAGES * settings.per_page} comments; older "
                "ones are left out"
            )
        if not held.complete:
            warnings.append(
                f"more than {MAX_HELD_PAGES * settings.per_page} comments await moderation; "
                "only the newest are read"
            )
        for warning in warnings:
            log.warning("source %s: %s", self.context.source, warning)
        # Ids grow in the order WordPress stored the comments: the tie-break within a second.
        records.sort(key=lambda r: (r.created_at, int(r.external_id)))
        return FetchResult(records=records, cursor=new_cursor, warnings=warnings)

    def _read_approved(self, client: httpx.Client, state: _State) -> _Read:
        params: dict[str, Any] = {"status": "approve", "orderby": "date_gmt"}
        first_page = 1
        if state.fresh:
            params["order"] = "desc"  # the first poll: the newest comments, older ones are baseline
        else:
            params["order"] = "asc"  # a backlog longer than the bound goes on from where it stops
            if state.resume_after is not None:
                params["after"], first_page = state.resume_after, state.resume_page
            elif state.newest is not None:
                lookback = LOOKBACK_SIGNED_IN if self.signed_in else LOOKBACK_ANONYMOUS
                params["after"] = _iso(state.newest - lookback)
        read = self._pages(client, params, first_page, MAX_PAGES)
        read.after = params.get("after")
        return read

    def _read_held(self, client: httpx.Client) -> _Read:
        # The whole hold queue, whatever `newest` says: a comment written long ago may be held now.
        params = {"status": "hold", "orderby": "date_gmt", "order": "desc"}
        return self._pages(client, params, 1, MAX_HELD_PAGES)

    def _pages(self, client: httpx.Client, params: dict[str, Any], first: int, limit: int) -> _Read:
        read = _Read()
        page = first
        for _ in range(limit):
            query = {**params, "per_page": self.settings.per_page, "page": page, "_fields": _FIELDS}
            body, headers = self._get(client, COMMENTS, query)
            if not isinstance(body, list):
                raise TransientError(
                    f"WordPress at {self._site} answered the comments request with a JSON "
                    f"{type(body).__name__}, not a list; will retry"
                )
            read.comments += [c for c in body if isinstance(c, dict)]
            total = headers.get("x-wp-totalpages", "")
            # Pages may hold fewer than per_page (comments the reader may not see are dropped
            # after the query), so only the header says whether more follow; without it, a
            # full page does.
            more = page < int(total) if total.isdigit() else len(body) >= self.settings.per_page
            if not more:
                return read
            page += 1
        read.complete = False
        read.next_page = page
        return read

    def _record(self, comment: dict[str, Any], owner_ids: set[int], *, held: bool) -> Record | None:
        """One comment as a record; None when it lacks an id, a post or a date."""
        comment_id = _int(comment.get("id"))
        post = _int(comment.get("post"))
        created_at = _parse_utc(comment.get("date_gmt"))
        if comment_id <= 0 or post <= 0 or created_at is None:
            return None
        parent = _int(comment.get("parent"))
        author_id = _int(comment.get("author"))
        # WordPress stores the name HTML-escaped ("Ann &amp; Co") and the API gives it so.
        author = html.unescape(str(comment.get("author_name") or "")).strip() or "anonymous"
        content = comment.get("content")
        rendered = content.get("rendered") if isinstance(content, dict) else None
        # A name counts only for a registered user's comment: a visitor can type any name.
        is_owner = author_id in owner_ids or (author_id > 0 and self.context.is_owner(author))
        # What the query asked for decides; `status` is a second opinion where a plugin lies.
        held = held or comment.get("status") == "hold"
        kind = ("held-" if held else "") + ("reply" if parent else "comment")
        link = comment.get("link")
        return Record(
            external_id=str(comment_id),
            thread_id=str(post),
            parent_id=str(parent) if parent else None,
            author=author,
            is_owner=is_owner,
            text=html_to_text(rendered) if isinstance(rendered, str) else "",
            url=link
            if isinstance(link, str) and link.startswith(("http://", "https://"))
            else None,
            created_at=created_at,
            kind=kind,
        )

    # -- the signed-in user -----------------------------------------------------------------------

    def _whoami(self, client: httpx.Client) -> _User:
        body, _ = self._get(client, ME, {"context": "edit"})
        if not isinstance(body, dict) or _int(body.get("id"), -1) < 0:
            raise TransientError(f"WordPress at {self._site} gave no user for {ME}; will retry")
        caps = body.get("capabilities")
        caps = caps if isinstance(caps, dict) else {}
        roles = body.get("roles")
        role = roles[0] if isinstance(roles, list) and roles and isinstance(roles[0], str) else ""
        return _User(
            name=self.settings.username or "",
            id=_int(body.get("id")),
            sees_held=bool(caps.get("edit_posts") or caps.get("moderate_comments")),
            moderates=bool(caps.get("moderate_comments")),
            role=role,
        )

    def _cannot_see_held(self, user: _User) -> AuthError:
        return AuthError(
            f"the account {user.name} on {self._site} (role {user.role or 'unknown'}) cannot see "
            "comments held for moderation: use the application password of an Editor or "
            "Administrator, or leave username and app_password out to read approved comments only"
        )

    # -- HTTP -------------------------------------------------------------------------------------

    def _session(self) -> _Session:
        return _Session(self._client)

    def _address(self, route: str, path: str) -> tuple[str, dict[str, str]]:
        if route == "wp-json":
            return f"{self._site}/wp-json{path}", {}
        return f"{self._site}/", {"rest_route": path}

    def _send(
        self, client: httpx.Client, route: str, path: str, params: dict[str, Any]
    ) -> httpx.Response:
        url, extra = self._address(route, path)
        # Redirects are followed (http → https, a missing trailing slash); httpx drops the login
        # on a redirect to another host.
        return http.get(
            client,
            url,
            place=f"WordPress at {self._site}",
            fix="sources[].url",
            timeout=self.context.timeout,
            scrub=self._scrub,
            params={**extra, **params},
            headers={"User-Agent": self.context.user_agent, "Accept": _ACCEPT},
            auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def _get(
        self, client: httpx.Client, path: str, params: dict[str, Any]
    ) -> tuple[Any, httpx.Headers]:
        """GET one REST route: its JSON body and headers, or the typed error.

        The route that worked last is asked first, then the other (``/wp-json/`` first when
        none has worked yet): a 404 or an answer that is not JSON (WordPress's HTML page after a
        redirect) means pretty permalinks are off there, or were turned off since, not that the
        site is down. When neither gives JSON, a site whose API worked before has a passing
        problem (TransientError); one that never answered has none (ConfigError).
        """
        known = self._route
        routes = [known, *(r for r in _ROUTES if r != known)] if known else list(_ROUTES)
        tried = []
        for route in routes:
            response = self._send(client, route, path, params)
            code, _ = _error_code(response)
            if response.status_code == 404 and code != "rest_no_route":
                tried.append(f"{_LABELS[route]} gave {_describe(response)}")
                continue
            if response.status_code >= 300:
                raise self._status_error(client, response)  # the REST API answered: a real error
            try:
                body = response.json()
            except ValueError:
                tried.append(f"{_LABELS[route]} gave {_describe(response)}")
                continue
            self._route = route
            return body, response.headers
        if known is not None:
            raise TransientError(
                f"WordPress at {self._site} answered without JSON ({', '.join(tried)}); will retry"
            )
        raise ConfigError(
            f"no WordPress REST API at {self._site} ({', '.join(tried)}) — check that "
            "sources[].url is the blog's address, like https://blog.example.com"
        )

    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _status_error(self, client: httpx.Client, response: httpx.Response) -> Exception:
        status = response.status_code
        code, message = _error_code(response)
        site = self._site
        reason = f"{status} {response.reason_phrase}".strip() + (f", {code}" if code else "")
        if status in (401, 403):
            return self._auth_error(client, status, code, reason)
        if status in (404, 410):
            if code == "rest_no_route":
                return ConfigError(
                    f"WordPress at {site} has no comments endpoint ({reason}): a plugin may have "
                    "turned the REST API off"
                )
            return ConfigError(f"no WordPress REST API at {site} ({reason}) — check sources[].url")
        retry_after = parse_retry_after(response.headers.get("retry-after"), self.context.clock())
        if status == 429:
            return TransientError(
                f"WordPress at {site} is rate limiting us ({reason}); will retry later",
                retry_after=retry_after,
            )
        if down := server_problem(f"WordPress at {site}", status, reason, retry_after):
            return down
        if status == 400:
            detail = f": {self._scrub(message)}" if message else ""
            return ConfigError(f"WordPress at {site} rejected the request ({reason}){detail}")
        return TransientError(f"WordPress at {site} gave an unexpected answer ({reason})")

    def _auth_error(self, client: httpx.Client, status: int, code: str, reason: str) -> Exception:
        site, user = self._site, self.settings.username
        if not self.signed_in:
            return AuthError(
                f"WordPress at {site} refused to show its comments without signing in ({reason}): "
                "set username and app_password"
            )
        if code in ("invalid_username", "invalid_email"):
            return AuthError(f"there is no user {user} on {site} ({reason}): check username")
        if code in ("application_passwords_disabled", "application_passwords_disabled_for_user"):
            return AuthError(
                f"application passwords are turned off on {site} (or for {user}) ({reason}): a "
                "plugin or the site's settings disable them"
            )
        if status == 403 and code in ("rest_forbidden_param", "rest_forbidden_context"):
            # Signed in (WordPress says 403, not 401, to a signed-in user) but not allowed.
            return AuthError(
                f"the account {user} on {site} cannot see comments held for moderation "
                f"({reason}): use the application password of an Editor or Administrator, or "
                "leave username and app_password out to read approved comments only"
            )
        if (
            status == 401
            and code != "incorrect_password"
            and not self._offers_app_passwords(client)
        ):
            return AuthError(
                f"WordPress at {site} does not accept application passwords ({reason}): over "
                "plain http it offers them only when WP_ENVIRONMENT_TYPE is 'local' "
                "(define('WP_ENVIRONMENT_TYPE', 'local') in wp-config.php) — use the https:// "
                "address, or a plugin has turned them off"
                if urlsplit(site).scheme == "http"
                else f"WordPress at {site} does not accept application passwords ({reason}): a "
                "plugin or the site's settings have turned them off"
            )
        # WordPress 6.1 answers a wrong password as it answers no login at all (401
        # rest_not_logged_in): the password was not accepted, whatever the code says.
        return AuthError(
            f"WordPress at {site} did not accept the login of {user} ({reason}): the application "
            "password is wrong or was revoked: create one under Users → Profile → Application "
            "Passwords (if it is right, the web server may not pass the Authorization header on "
            "to WordPress)"
        )

    def _offers_app_passwords(self, client: httpx.Client) -> bool:
        """Whether the site's REST index announces application passwords (it does only when
        WordPress would accept them). True when the index cannot be read: no guessing then."""
        try:
            # ?rest_route= works whatever the permalinks; the index needs no login.
            response = self._send(client, self._route or "rest_route", "/", {})
            index = response.json()
        except (ConnectorError, ValueError):
            return True
        if not isinstance(index, dict):
            return True
        authentication = index.get("authentication")
        return isinstance(authentication, dict) and "application-passwords" in authentication


class _Session:
    """The client of one fetch: the injected one (tests), else a new one closed afterwards.

    A client per fetch holds no sockets between polls; the TLS context, costly to build, is
    shared with the feed connector.
    """

    def __init__(self, given: httpx.Client | None) -> None:
        self._given = given
        self._own: httpx.Client | None = None

    def __enter__(self) -> httpx.Client:
        if self._given is not None:
            return self._given
        self._own = httpx.Client(verify=tls_context())
        return self._own

    def __exit__(self, *_: object) -> None:
        if self._own is not None:
            self._own.close()
