"""What the connectors that speak plain HTTP (httpx) share: one TLS context, Retry-After, and
a GET whose network failures become the connector errors they mean.

Library-backed connectors (praw, tweepy, Mastodon.py, discord.py) read their platform's own
rate-limit headers; these helpers serve the feed, WordPress, Discourse and Hacker News ones.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import certifi
import httpx
import requests

from connectors.base import ConfigError, TransientError


@cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every connection: loading the CA store takes ~17 ms."""
    return ssl.create_default_context(cafile=certifi.where())


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date.

    >>> parse_retry_after("120", datetime(2026, 3, 9, tzinfo=UTC))
    120.0
    >>> parse_retry_after("Mon, 09 Mar 2026 00:01:00 GMT", datetime(2026, 3, 9, tzinfo=UTC))
    60.0
    >>> parse_retry_after("soon", datetime(2026, 3, 9, tzinfo=UTC)) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def get(
    client: httpx.Client,
    url: str,
    *,
    place: str,
    fix: str,
    timeout: float,
    scrub: Callable[[str], str] = str,
    **options: Any,
) -> httpx.Response:
    """GET `url`, following redirects; a failure to get any answer becomes the connector error
    it means. `place` names what was asked ("the forum at forum.example.com (latest posts)"),
    `fix` the setting to check when the URL itself is wrong, `scrub` removes secrets from the
    library's message. Statuses are the caller's to judge."""
    try:
        return client.get(url, timeout=timeout, follow_redirects=True, **options)
    except httpx.TimeoutException:
        raise TransientError(f"{place} did not answer within {timeout:g} s; will retry") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigError(f"cannot request {place}: {scrub(str(exc))} — check {fix}") from None
    except httpx.HTTPError as exc:  # refused, DNS, reset, too many redirects, a broken body…
        problem = scrub(str(exc)) or type(exc).__name__
        raise TransientError(f"cannot reach {place}: {problem}") from None


class WrongEncoding(requests.RequestException):
    """A body that is not in the encoding it declares (Latin-1 sent as UTF-8)."""


def strict_session(session: requests.Session | None = None) -> requests.Session:
    """`session` (a new one by default) refusing text and JSON bodies that are not in their
    declared encoding, for the libraries that speak `requests` (praw, tweepy, Mastodon.py):
    `requests` would decode them with replacement characters, and "Café" would be stored as
    "Caf\ufffd" for good. The library then sees a request error, which the connector turns
    into a TransientError: the next poll reads the same items again."""
    session = session if session is not None else requests.Session()
    if _check_encoding not in session.hooks["response"]:
        session.hooks["response"].append(_check_encoding)
    return session


def _check_encoding(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    kind = response.headers.get("content-type", "").lower()
    if "json" not in kind and not kind.startswith("text/"):
        return
    encoding = response.encoding or "utf-8"
    try:
        response.content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise WrongEncoding(
            f"the answer is not valid {encoding}, the encoding it declares"
        ) from None


def server_problem(
    place: str, status: int, reason: str, retry_after: float | None
) -> TransientError | None:
    """The TransientError for a status that means the server cannot answer now (5xx, 408
    Request Timeout, 425 Too Early), or None for any other status."""
    if status >= 500 or status in (408, 425):
        return TransientError(
            f"{place} has a server problem ({reason}); will retry", retry_after=retry_after
        )
    return None
