"""How items and sources are shown: the JSON contract of DESIGN.md and short human phrases. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from monitor.models import ItemRow, SourceRow

if TYPE_CHECKING:  # the store imports the alert texts, which use these views
    from monitor.store import ChannelHealth


def current_draft(item: ItemRow, now: datetime) -> str | None:
    """The draft to show now: once the deadline has passed, the one that apologises."""
    if item.due_at <= now and item.suggestion_late:
        return item.suggestion_late
    return item.suggestion


def iso_z(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, to the second: ``2026-03-09T21:00:00Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def item_json(item: ItemRow, now: datetime) -> dict[str, Any]:
    """One item as `sameday inbox --json` prints it; the draft is the one to send at `now`."""
    return {
        "id": item.id,
        "source": item.source,
        "external_id": item.external_id,
        "kind": item.kind,
        "thread_id": item.thread_id,
        "parent_id": item.parent_id,
        "author": item.author,
        "text": item.text,
        "url": item.url,
        "created_at": iso_z(item.created_at),
        "created_at_estimated": item.created_at_estimated,
        "due_at": iso_z(item.due_at),
        "status": item.status,
        "answered_at": iso_z(item.answered_at),
        "answered_via": item.answered_via,
        "snoozed_until": iso_z(item.snoozed_until),
        "intent": item.intent,
        "sentiment": item.sentiment,
        "needs_reply": item.needs_reply,
        "suggestion": current_draft(item, now),
        "suggestion_hint": item.suggestion_hint,
    }


def source_json(row: SourceRow, *, blind_spot: bool, open_items: int, overdue: int) -> dict:
    return {
        "name": row.name,
        "type": row.type,
        "last_poll_at": iso_z(row.last_poll_at),
        "last_success_at": iso_z(row.last_success_at),
        "last_error": row.last_error,
        "last_error_at": iso_z(row.last_error_at),
        "consecutive_failures": row.consecutive_failures,
        "last_warning": row.last_warning,
        "next_poll_at": iso_z(row.next_poll_at),
        "blind_spot": blind_spot,
        "open": open_items,
        "overdue": overdue,
    }


def channel_json(health: ChannelHealth) -> dict[str, Any]:
    """One alert channel's deliveries as `sameday status --json` prints them."""
    return {
        "channel": health.channel,
        "pending": health.pending,
        "failing": health.failing,
        "given_up": health.given_up,
        "last_error": health.last_error,
    }


def is_blind_spot(row: SourceRow | None, every: timedelta, now: datetime) -> bool:
    """A source is a blind spot when it has not succeeded for more than 3x its interval.

    A source never polled is one too: nobody is watching it yet.
    """
    if row is None or row.last_success_at is None:
        return True
    if row.budget_interval_s:  # polled less often than `every` asks, as the platform requires
        every = max(every, timedelta(seconds=row.budget_interval_s))
    return now - row.last_success_at > 3 * every


def span(delta: timedelta) -> str:
    """``2h 5m``, ``3d 4h``, ``45s``: the two largest units, for people."""
    seconds = int(abs(delta.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts = []
    for name, size in units:
        if seconds >= size:
            parts.append(f"{seconds // size}{name}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts) or "0s"


def deadline_phrase(due_at: datetime, now: datetime) -> str:
    """``due in 2h 5m`` or ``overdue by 1d 3h``."""
    if due_at >= now:
        return f"due in {span(due_at - now)}"
    return f"overdue by {span(now - due_at)}"


def ago(moment: datetime | None, now: datetime) -> str:
    return "never" if moment is None else f"{span(now - moment)} ago"


def local(moment: datetime, zone: ZoneInfo) -> str:
    """``Mon 09 Mar 17:00`` in the owner's zone."""
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


# Comment text is hostile: escape sequences could clear the owner's terminal or plant a hidden
# link, and bidirectional overrides can make text read differently from what it is.
_UNPRINTABLE = {
    code: None
    for code in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
} | {ord(space): " " for space in "\t\n\r"}  # line breaks become spaces: one line per item


def printable(text: str) -> str:
    """`text` on one line with control characters and direction overrides removed."""
    return " ".join(text.translate(_UNPRINTABLE).split())


def trim(text: str, width: int) -> str:
    """One printable line of at most `width` characters, for people."""
    flat = printable(text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"
