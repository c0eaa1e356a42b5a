"""The contract between Sameday's core and the places it watches.

A connector turns one source (a feed, a subreddit, an account…) into source-neutral `Record`s.
It is given its validated settings and a `ConnectorContext`, and does one thing: `fetch(cursor)`,
the only network call of a poll. It never touches the store or the notifier; errors are raised as
the typed exceptions below and become values for that source in the poll cycle.

Connectors are discovered through the entry-point group ``sameday.connectors``; the built-in ones
register there exactly as an outside package would (see pyproject.toml).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

ENTRY_POINT_GROUP = "sameday.connectors"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Record:
    """One thing someone wrote on a platform, as a connector sees it."""

    external_id: str  # stable id on the platform, unique within the source
    thread_id: str | None  # conversation it belongs to
    parent_id: str | None  # the record it replies to, if the platform says
    author: str  # handle or display name as the platform shows it
    is_owner: bool  # author matches one of the owner's identities on this platform
    text: str  # plain text (HTML stripped, entities decoded)
    url: str | None  # permalink a person can open
    created_at: datetime  # timezone-aware UTC, from the platform, never "now"…
    kind: str = "comment"  # "comment" | "reply" | "mention" | "message"
    # …unless the platform gave no date at all: then it is the fetch time and this says so.
    created_at_estimated: bool = False

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError(f"Record {self.external_id!r}: created_at must be timezone-aware")


@dataclass(slots=True)
class FetchResult:
    """What one fetch returns: the records, and the cursor to save with them."""

    records: list[Record]
    cursor: dict[str, Any] | None  # opaque JSON (since_id, etag, last_modified, after…)
    # Problems that did not stop the fetch (a malformed feed parsed as far as it goes…).
    warnings: list[str] = field(default_factory=list)
    # True when the platform said nothing changed (HTTP 304): nothing is written but the health.
    not_modified: bool = False
    # Seconds the next fetch must wait at least, when the platform's rate budget allows fewer
    # polls than the source's `every` asks for; `sameday status` says so. None: `every` holds.
    wait_at_least: float | None = None


class ConnectorError(Exception):
    """Base of the errors a connector raises; the message is shown to the owner as it is."""


class TransientError(ConnectorError):
    """Worth retrying later: timeouts, 5xx, 429, connection resets, malformed responses."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the platform asked us to wait, if it said


class AuthError(ConnectorError):
    """The credentials are missing, wrong, expired or lack a permission."""


class ConfigError(ConnectorError):
    """The source's settings cannot work (a URL that does not exist, an unknown account…)."""


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the core hands every connector besides its own settings."""

    source: str  # the source's configured name, for messages and logs
    owner_identities: tuple[str, ...]  # the owner's names or ids on this platform
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    timeout: float = 20.0  # seconds for any one network call
    user_agent: str = "sameday/0.1 (+https://github.com/sameday)"

    def is_owner(self, author: str | None) -> bool:
        """Whether `author` is one of the owner's identities (case-insensitive, trimmed)."""
        if not author:
            return False
        wanted = author.strip().casefold()
        return any(wanted == name.strip().casefold() for name in self.owner_identities)


@runtime_checkable
class Connector(Protocol):
    type: ClassVar[str]
    Settings: ClassVar[builtins.type[BaseModel]]  # `type` above hides the builtin here

    def __init__(self, settings: Any, context: ConnectorContext) -> None: ...

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Return records newer than `cursor` (all recent ones when it is None)."""
        ...


@runtime_checkable
class Checkable(Protocol):
    """A connector that can verify its credentials without fetching (`sameday check`)."""

    def check(self) -> str:
        """One line on what works ("signed in as u/dana_shop, scopes: read, history"), or an
        `AuthError`/`ConfigError` saying plainly what is wrong (expired token, wrong secret,
        missing scope) and how to fix it. Never includes a secret."""
        ...


class ConnectorSettings(BaseModel):
    """Base for a connector's own settings: unknown keys are errors, never ignored."""

    # hide_input_in_errors: a validation error must never echo a token or a password.
    model_config = {"extra": "forbid", "frozen": True, "hide_input_in_errors": True}


@cache
def _entry_points() -> dict[str, Any]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


# Loaded on first use, one type at a time: importing every connector's library (discord.py,
# praw, tweepy, Mastodon.py) takes over half a second that a config using one never needs.
_loaded: dict[str, type[Connector]] = {}


def installed() -> list[str]:
    """The connector types installed, without loading any of them."""
    return sorted(set(_entry_points()) | set(_loaded))


def connector_type(kind: str) -> type[Connector] | None:
    """The connector class registered as `kind`, loaded now if need be; None if none is."""
    if kind in _loaded:
        return _loaded[kind]
    entry = _entry_points().get(kind)
    if entry is None:
        return None
    try:
        cls = entry.load()
    except Exception:  # one broken plugin must not take the others down
        log.exception("connector plugin %r (%s) failed to load", entry.name, entry.value)
        return None
    _loaded[kind] = cls
    return cls


def registry() -> dict[str, type[Connector]]:
    """Every installed connector by type, from the ``sameday.connectors`` entry points (all of
    them loaded: for listings and tests; a config loads only the types it uses)."""
    for kind in installed():
        connector_type(kind)
    return _loaded
