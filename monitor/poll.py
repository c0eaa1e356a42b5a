"""One poll cycle: fetch → triage → deadlines → store, for each source, deciding nothing itself.

A source's failure is a value (`PollOutcome.error`), logged with the source's name and written to
its health row; the other sources go on. `now` comes from one injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.base import (
    AuthError,
    ConfigError,
    Connector,
    ConnectorContext,
    ConnectorError,
    FetchResult,
    TransientError,
)
from monitor import sla, triage
from monitor.config import Config, Source
from monitor.redact import Redactor
from monitor.store import Channel, PlannedItem, Store
from monitor.suggest import Suggester
from monitor.views import span

log = logging.getLogger("sameday.poll")

Clock = Callable[[], datetime]
NO_SECRETS = Redactor()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    source: str
    new_items: int = 0
    new_replies: int = 0
    answered: int = 0
    baseline: int = 0
    not_modified: bool = False
    warning: str | None = None
    error: str | None = None
    retry_after: float | None = None
    # Seconds the next poll must wait at least: the platform's rate budget (FetchResult).
    wait_at_least: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def build_connector(source: Source, clock: Clock = utc_now) -> Connector:
    context = ConnectorContext(
        source=source.name, owner_identities=source.owner_identities, clock=clock
    )
    return source.connector_class(source.settings, context)


def poll_all(
    config: Config,
    store: Store,
    *,
    only: str | None = None,
    clock: Clock = utc_now,
    connectors: dict[str, Connector] | None = None,
    channels: Sequence[Channel] = (),
    suggester: Suggester | None = None,
) -> list[PollOutcome]:
    """Poll every enabled source once (or just `only`), in config order.

    `channels` are the alert channels whose ``new`` alerts are written with the items.
    """
    sources: Iterable[Source] = (
        [config.source(only)] if only else [s for s in config.sources if s.enabled]
    )
    sources = list(sources)
    store.ensure_sources((s.name, s.type) for s in config.sources)
    connectors = connectors if connectors is not None else {}
    suggester = suggester or suggester_for(config)
    outcomes = []
    for source in sources:
        connector = connectors.get(source.name) or build_connector(source, clock)
        outcomes.append(
            poll_source(
                source,
                connector,
                store,
                clock=clock,
                redact=config.redact,
                channels=channels,
                suggester=suggester,
            )
        )
    return outcomes


def suggester_for(config: Config) -> Suggester:
    """The owner's reply drafter: their name, signature, templates and FAQ."""
    return Suggester(
        owner_name=config.owner.name,
        signature=config.owner.signature,
        templates=config.suggest.templates,
        faq=config.suggest.faq,
    )


def poll_source(
    source: Source,
    connector: Connector,
    store: Store,
    *,
    clock: Clock = utc_now,
    redact: Callable[[str], str] = NO_SECRETS,
    channels: Sequence[Channel] = (),
    suggester: Suggester | None = None,
) -> PollOutcome:
    """Fetch one source and write what it changed; never raises for the source's own failures.

    New items get their intent, sentiment and reply drafts from `suggester` (none without one).

    `redact` masks the config's secrets in the error stored and returned, whatever the
    connector or its libraries put into the exception. The ``new`` alerts of the stored items
    are written to the outbox for each of `channels`, in the same transaction as the items.
    """
    state = store.source(source.name)
    cursor = state.cursor if state else None
    try:
        result = connector.fetch(cursor)
    except ConnectorError as exc:
        return _failed(source, store, clock(), exc, redact)
    except Exception as exc:  # a connector bug must not stop the other sources
        log.exception("[%s] connector crashed", source.name)
        return _failed(source, store, clock(), exc, redact)

    now = clock()
    every = source.every.as_timedelta()  # the poll history compacts runs of regular polls
    budget = _budget_interval(result, every)
    warnings = list(result.warnings)
    if budget is not None:
        warnings.append(
            f"the platform's rate budget allows a poll every {span(budget)}, not every "
            f"{span(every)} as configured: polling every {span(budget)}"
        )
    warning = "; ".join(warnings) or None
    if warning:
        log.warning("[%s] %s", source.name, warning)
    wait = result.wait_at_least
    if result.not_modified:
        store.touch(source.name, now, every=every, budget_interval=budget)
        return PollOutcome(source.name, not_modified=True, warning=warning, wait_at_least=wait)

    first_poll = state is None or state.first_polled_at is None
    baseline_before = (
        now - source.backfill.as_timedelta() if first_poll and source.backfill else None
    )
    known = store.known(source.name, result.records)
    plan = triage.plan(result.records, known, baseline_before=baseline_before)
    items = [
        PlannedItem(
            record=n.record,
            status=n.status,
            due_at=sla.due_at(n.record.created_at, source.policy),
            answered_at=n.answered_at,
            answered_by=n.answered_by,
            # Baseline items are never shown or alerted: no draft for them.
            suggestion=None
            if n.status is triage.Status.BASELINE or suggester is None
            else suggester.suggest(
                text=n.record.text, author=n.record.author, platform=source.type
            ),
        )
        for n in plan.new_items
    ]
    applied = store.apply(
        source.name,
        items,
        plan,
        cursor=result.cursor,
        now=now,
        warning=warning,
        channels=channels,
        every=every,
        budget_interval=budget,
    )
    baseline = sum(1 for i in items if i.status is triage.Status.BASELINE)
    log.info(
        "[%s] %d new items (%d baseline), %d owner replies, %d answered",
        source.name,
        applied.new_items,
        baseline,
        applied.new_replies,
        applied.answered,
    )
    return PollOutcome(
        source.name,
        new_items=applied.new_items - baseline,
        new_replies=applied.new_replies,
        answered=applied.answered,
        baseline=baseline,
        warning=warning,
        wait_at_least=wait,
    )


def _budget_interval(result: FetchResult, every: timedelta) -> timedelta | None:
    """The interval the platform's rate budget forces, when it is longer than `every`."""
    if result.wait_at_least is None:
        return None
    wait = timedelta(seconds=result.wait_at_least)
    return wait if wait > every else None


def _failed(
    source: Source, store: Store, now: datetime, exc: Exception, redact: Callable[[str], str]
) -> PollOutcome:
    message = redact(describe_error(exc))
    if isinstance(exc, ConnectorError):
        log.warning("[%s] poll failed: %s", source.name, message)
    store.record_failure(source.name, message, now, every=source.every.as_timedelta())
    retry_after = exc.retry_after if isinstance(exc, TransientError) else None
    return PollOutcome(source.name, error=message, retry_after=retry_after)


def describe_error(exc: Exception) -> str:
    """A one-line account of a poll failure, saying what kind of problem it is."""
    kind = {
        AuthError: "credentials",
        ConfigError: "configuration",
        TransientError: "temporary",
    }
    for cls, label in kind.items():
        if isinstance(exc, cls):
            return f"{label}: {exc}"
    return f"internal error ({type(exc).__name__}): {exc}"
