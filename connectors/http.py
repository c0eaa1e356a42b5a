"""What the connectors that speak plain HTTP (httpx) share: one TLS context, Retry-After.

Library-backed connectors (praw, tweepy, Mastodon.py, discord.py) read their platform's own
rate-limit headers; these helpers serve the feed, WordPress, Discourse and Hacker News ones.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache

import certifi


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
