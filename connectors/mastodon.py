"""The Mastodon connector: mentions of the owner's account, and the owner's own replies.

One ``type: mastodon`` source watches one account on one instance (``api_base``) through
Mastodon.py with the account's access token (scope ``read``, or ``read:accounts``,
``read:notifications`` and ``read:statuses``). A fetch reads two listings, newest first:

- **mentions** (``GET /api/v1/notifications?types[]=mention``): each mention's status is an item,
  ``kind="mention"`` (``"message"`` for a private mention, visibility ``direct``). A reply to one
  of the owner's statuses is a mention too: Mastodon names the author of the status replied to. A
  notification whose status is gone (deleted, or from a server that went away: ``status`` null)
  is skipped.
- **the owner's statuses** (``GET /api/v1/accounts/<id>/statuses``, boosts excluded): owner
  records, whose `parent_id` is ``in_reply_to_id``: an owner reply marks the status it answers
  answered. That is the main path of the answered rule here.

**Threads.** Mastodon is threaded and does not name a conversation's root without one extra
request per status, so `thread_id` is the status replied to (``in_reply_to_id``), or the status
itself when it replies to nothing. The answered rule only needs `parent_id`: every owner reply
has one, and an owner status that replies to nothing starts a thread of its own, where it
answers nobody.

**Cursor.** ``{"api_base", "account_id", "mentions": {"last", "resume"?}, "statuses": {…}}``.
Each listing keeps the newest id it has read to the end (``since_id``; notification ids for
mentions, status ids for the owner's statuses); a fetch pages back with ``max_id`` until the
server has nothing more above ``since_id``, and only then moves it. A backlog longer than the
page bound is not cut short: the cursor keeps the ``max_id`` where the walk stopped and the newest
id of that walk (``resume``), and the next fetch finishes it first. The first fetch reads at most
the page bound. The account is looked up once per connector (``verify_credentials``); a cursor
for another account or instance starts afresh.

**Rate limits.** Mastodon.py never sleeps here (``ratelimit_method="throw"``): a 429 is a
`TransientError` whose ``retry_after`` runs to the ``X-RateLimit-Reset`` the server sent, and
when a fetch leaves fewer than ``LOW_BUDGET`` requests in the window, `FetchResult.wait_at_least`
asks the core to wait for the reset.

Example::

    connector = MastodonConnector(
        MastodonSettings(api_base="https://mastodon.social", access_token="…"),
        ConnectorContext(source="mastodon", owner_identities=("@dana@mastodon.social",)),
    )
    print(connector.check())   # signed in as @dana@mastodon.social (scopes: read); …
    result = connector.fetch(None)
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonIllegalArgumentError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from pydantic import BaseModel, SecretStr, field_validator

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
from connectors.http import strict_session

log = logging.getLogger(__name__)

PAGE = 40  # statuses or notifications per request: the most Mastodon gives for statuses
MAX_PAGES = 5  # pages of one listing read in one fetch
# Below this many requests left in the rate-limit window, the next fetch waits for the reset.
LOW_BUDGET = 10
# A token that can read these, or all of "read", can do everything this connector does.
NEEDED_SCOPES = frozenset({"read:accounts", "read:notifications", "read:statuses"})

_T = TypeVar("_T")


class MastodonSettings(ConnectorSettings):
    """Settings of a ``type: mastodon`` source."""

    api_base: str  # the instance, https://mastodon.social (a proxy or test server stands in)
    access_token: SecretStr  # never shown, logged or put in a message

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "expected the instance's http(s):// address, like https://mastodon.social"
            )
        return value

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError(
                "the access token is empty; create one under Preferences → Development → New "
                "application (scope: read)"
            )
        return SecretStr(token)


def _int(value: Any) -> int | None:
    """A Mastodon id (a string of digits) as an int, for ordering; None if it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def status_text(status: Mapping[str, Any]) -> str:
    """The plain text of a status: its content warning, then its content.

    >>> status_text({"spoiler_text": "Order", "content": "<p>Where is <b>#42</b>?</p>"})
    'Order\\n\\nWhere is #42?'
    """
    content = html_to_text(str(status.get("content") or ""))
    spoiler = str(status.get("spoiler_text") or "").strip()
    return f"{spoiler}\n\n{content}".strip() if spoiler else content


class MastodonConnector:
    """Reads one Mastodon account: mentions, and the owner's own statuses."""

    type: ClassVar[str] = "mastodon"
    Settings: ClassVar[builtins.type[BaseModel]] = MastodonSettings

    def __init__(
        self,
        settings: MastodonSettings,
        context: ConnectorContext,
        *,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self._host = urlsplit(settings.api_base).netloc
        self._api = Mastodon(
            access_token=settings.access_token.get_secret_value(),
            api_base_url=settings.api_base,
            request_timeout=context.timeout,
            ratelimit_method="throw",  # never sleep inside a poll: the core schedules retries
            version_check_mode="none",  # no GET /api/v1/instance: the endpoints used are old
            user_agent=context.user_agent,
            session=strict_session(session),  # Latin-1 sent as UTF-8 is an error
        )
        self._me: dict[str, Any] | None = None

    # -- checking -------------------------------------------------------------------------------

    def check(self) -> str:
        """Verify the token: "signed in as @dana@mastodon.social (scopes: read); …".

        Raises AuthError (a wrong or revoked token, one without the read scopes) or
        ConfigError (no Mastodon API at api_base).
        """
        me = self._account()
        handle = self._handle(me)
        app = self._call("the token's application", self._api.app_verify_credentials)
        scopes = app.get("scopes") if isinstance(app, Mapping) else None
        if isinstance(scopes, list) and scopes:
            granted = {str(s) for s in scopes}
            if "read" not in granted and not granted.issuperset(NEEDED_SCOPES):
                missing = " ".join(sorted(NEEDED_SCOPES - granted))
                raise AuthError(
                    f"the access token of {handle} lacks the scopes to read mentions and statuses "
                    f"(it has {' '.join(sorted(granted))}; missing {missing}): create a token "
                    "with the read scope"
                )
            granted_text = f"scopes: {' '.join(scopes)}"
        else:
            granted_text = "the server does not say which scopes"
        return f"signed in as {handle} ({granted_text}); watching mentions and {handle}'s replies"

    # -- fetching -------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Mentions and the owner's statuses newer than `cursor` (see the module doc).

        Raises TransientError (timeouts, 5xx, 429 with the time to the reset, a body that is
        not JSON), AuthError (401, a token without the read scopes) or ConfigError (404: no
        Mastodon API at api_base).
        """
        me = self._account()
        account_id = str(me["id"])
        cursor = cursor or {}
        if cursor.get("api_base") != self.settings.api_base or cursor.get("account_id") != (
            account_id
        ):
            cursor = {}  # another account or instance: its ids mean nothing here
        warnings: list[str] = []

        def mentions(max_id: int | None, since_id: int | None) -> list[Any]:
            return self._call(
                "mentions",
                self._api.notifications,
                types=["mention"],
                max_id=max_id,
                since_id=since_id,
                limit=PAGE,
            )

        def statuses(max_id: int | None, since_id: int | None) -> list[Any]:
            return self._call(
                "the owner's statuses",
                self._api.account_statuses,
                account_id,
                exclude_reblogs=True,
                max_id=max_id,
                since_id=since_id,
                limit=PAGE,
            )

        notes, mentions_state = _walk(mentions, _dict(cursor.get("mentions")), "mentions", warnings)
        own, statuses_state = _walk(
            statuses, _dict(cursor.get("statuses")), "the owner's statuses", warnings
        )
        records: dict[str, Record] = {}
        for note in notes:
            status = note.get("status")
            if not isinstance(status, Mapping):
                continue  # deleted, or its server is gone: nothing left to answer
            kind = "message" if status.get("visibility") == "direct" else "mention"
            record = self._record(status, account_id, kind=kind)
            if record is not None:
                records.setdefault(record.external_id, record)
        for status in own:
            if status.get("reblog"):
                continue  # a boost is not something the owner wrote
            kind = "reply" if status.get("in_reply_to_id") else "comment"
            record = self._record(status, account_id, kind=kind)
            if record is not None:
                records[record.external_id] = record  # the owner's own view wins
        for warning in warnings:
            log.warning("source %s: %s", self.context.source, warning)
        return FetchResult(
            records=list(records.values()),
            cursor={
                "api_base": self.settings.api_base,
                "account_id": account_id,
                "mentions": mentions_state,
                "statuses": statuses_state,
            },
            warnings=warnings,
            wait_at_least=self._budget_wait(),
        )

    def _record(self, status: Mapping[str, Any], owner_id: str, *, kind: str) -> Record | None:
        status_id = status.get("id")
        created_at = status.get("created_at")
        account = status.get("account")
        if status_id is None or not isinstance(created_at, datetime):
            return None
        if not isinstance(account, Mapping):
            return None
        acct = str(account.get("acct") or account.get("username") or "")
        author = f"@{acct}" if acct else "anonymous"
        is_owner = str(account.get("id")) == owner_id or any(
            self.context.is_owner(name) for name in (acct, author, self._qualified(acct))
        )
        reply_to = status.get("in_reply_to_id")
        parent = str(reply_to) if reply_to is not None else None
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        return Record(
            external_id=str(status_id),
            thread_id=parent or str(status_id),
            parent_id=parent,
            author=author,
            is_owner=is_owner,
            text=status_text(status),
            url=status.get("url") or status.get("uri"),
            created_at=created_at.astimezone(UTC),
            kind="reply" if is_owner and parent else kind,
        )

    # -- the account ----------------------------------------------------------------------------

    def _account(self) -> dict[str, Any]:
        if self._me is None:
            me = self._call("the signed-in account", self._api.account_verify_credentials)
            if not isinstance(me, Mapping) or me.get("id") is None:
                raise TransientError(
                    f"{self._host} answered verify_credentials without an account; will retry"
                )
            self._me = dict(me)
        return self._me

    def _qualified(self, acct: str) -> str:
        """``dana`` on its own instance is ``@dana@mastodon.social`` everywhere else."""
        return f"@{acct}" if "@" in acct else f"@{acct}@{self._host}"

    def _handle(self, me: Mapping[str, Any]) -> str:
        return self._qualified(str(me.get("acct") or me.get("username") or "?"))

    def _budget_wait(self) -> float | None:
        """Seconds to the rate-limit reset when this fetch left too few requests for the next."""
        remaining, reset = self._api.ratelimit_remaining, self._api.ratelimit_reset
        if reset is None or remaining is None or remaining >= LOW_BUDGET:
            return None
        return max(0.0, float(reset) - time.time())  # Mastodon.py keeps it on the local clock

    # -- errors ---------------------------------------------------------------------------------

    def _call(self, what: str, method: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call Mastodon.py, turning its errors into the connector's, without the token."""
        host = self._host
        try:
            return method(*args, **kwargs)
        except MastodonUnauthorizedError as exc:
            raise AuthError(
                f"{host} refused the access token ({_said(exc)}) while reading {what}: the access "
                "token is wrong or was revoked; create a new one under Preferences → Development "
                "(scope: read) and update access_token"
            ) from None
        except MastodonRatelimitError as exc:
            if "calculations failed" in str(exc):  # Mastodon.py could not read the headers
                raise TransientError(
                    f"{host} sent rate-limit headers Mastodon.py cannot read ({what}); will retry"
                ) from None
            reset = self._api.ratelimit_reset
            wait = max(0.0, float(reset) - time.time()) if reset is not None else None
            later = f"; waiting {wait:.0f} s for the reset" if wait is not None else ""
            raise TransientError(
                f"{host} is rate limiting us (429) while reading {what}{later}", retry_after=wait
            ) from None
        except MastodonNotFoundError as exc:
            raise ConfigError(
                f"{what} not found at {host} ({_said(exc)}) — check that api_base is the "
                "instance's address, like https://mastodon.social"
            ) from None
        except MastodonServerError as exc:
            raise TransientError(
                f"{host} has a server problem ({_said(exc)}) while reading {what}; will retry"
            ) from None
        except MastodonNetworkError as exc:
            if isinstance(exc.__context__, requests.Timeout):
                raise TransientError(
                    f"{host} did not answer within {self.context.timeout:g} s ({what}); will retry"
                ) from None
            problem = type(exc.__context__).__name__ if exc.__context__ else "network error"
            raise TransientError(f"cannot reach {host} ({what}): {problem}; will retry") from None
        except MastodonAPIError as exc:
            status = _status(exc)
            if status is None:  # Mastodon.py could not parse the body
                raise TransientError(
                    f"{host} answered {what} with something that is not JSON; will retry"
                ) from None
            if status == 403:
                raise AuthError(
                    f"{host} refused {what} ({_said(exc)}): the access token lacks a scope; it "
                    "needs read (or read:accounts, read:notifications and read:statuses)"
                ) from None
            if status in (408, 425, 429) or status >= 500:
                raise TransientError(f"{host} failed {what} ({_said(exc)}); will retry") from None
            raise ConfigError(f"{host} rejected the request for {what} ({_said(exc)})") from None
        except MastodonIllegalArgumentError as exc:
            raise ConfigError(f"cannot read {what} from {host}: {exc}") from None
        except MastodonError as exc:
            raise TransientError(
                f"reading {what} from {host} failed ({type(exc).__name__}); will retry"
            ) from None


def _walk(
    read: Callable[[int | None, int | None], list[Any]],
    state: dict[str, Any],
    name: str,
    warnings: list[str],
) -> tuple[list[Any], dict[str, Any]]:
    """Page one listing back from the newest (or a resumed ``max_id``) to ``since_id``.

    Returns the entries read and the listing's new state (see the module doc).
    """
    floor = _int(state.get("last"))  # None: the first fetch
    resume = _dict(state.get("resume"))
    max_id = _int(resume.get("max_id"))
    top = _int(resume.get("top"))
    entries: list[Any] = []
    newest: int | None = None
    done = False
    for _ in range(MAX_PAGES):
        page = read(max_id, floor)
        if not isinstance(page, list) or not all(isinstance(e, dict) for e in page):
            raise TransientError(
                f"Mastodon answered the {name} listing with something other than a list of "
                "entries; will retry"
            )
        ids = [i for i in (_int(e.get("id")) for e in page) if i is not None]
        if not ids:
            done = True  # nothing more above since_id
            break
        for entry in page:
            entry_id = _int(entry.get("id"))
            if entry_id is None or (floor is not None and entry_id <= floor):
                continue
            if max_id is not None and entry_id >= max_id:
                continue  # a server that ignores max_id must not loop
            entries.append(entry)
        newest = max(newest or 0, *ids)
        lowest = min(ids)
        if (floor is not None and lowest <= floor + 1) or (max_id is not None and lowest >= max_id):
            done = True
            break
        max_id = lowest
    if floor is None and not done:
        done = True  # first fetch: older entries would be baseline anyway
    if done:
        reached = top if top is not None else newest
        last = max(floor or 0, reached or 0)
        return entries, {"last": str(last) if last else None}
    warnings.append(
        f"more than {MAX_PAGES} pages of new {name}: the rest are read at the next poll"
    )
    walk_top = top if top is not None else newest
    return entries, {
        "last": str(floor) if floor is not None else None,
        "resume": {"max_id": str(max_id), "top": str(walk_top)},
    }


def _status(exc: MastodonAPIError) -> int | None:
    """The HTTP status of a Mastodon.py error (its second argument), if it has one."""
    args = exc.args
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _said(exc: MastodonAPIError) -> str:
    """ "401 Unauthorized: The access token is invalid", from Mastodon.py's error arguments."""
    args = exc.args
    status = _status(exc)
    reason = args[2] if len(args) > 2 and isinstance(args[2], str) else ""
    message = args[3] if len(args) > 3 and isinstance(args[3], str) else ""
    head = f"{status} {reason}".strip() if status is not None else type(exc).__name__
    return f"{head}: {message[:200]}" if message else head


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
