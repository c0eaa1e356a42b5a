"""Refining template drafts with an LLM, in the background: a poll never waits for a model.

The template draft is written with the item (and goes out in its ``new`` alert at once); when
`suggest.llm` is configured the daemon hands a few open items at a time to `LLMDrafter`, and a
draft that passes its checks replaces the template's. A failure keeps the template for good, so
one comment a model cannot handle is not retried forever.
"""

from __future__ import annotations

import logging
from datetime import datetime

from monitor.config import Config
from monitor.durations import parse_duration
from monitor.llm import LLMDrafter, LLMSettings
from monitor.store import Store
from monitor.suggest import PLATFORM_LIMITS, late_version

log = logging.getLogger("sameday.refine")

DEFAULT_LIMIT = 5000


def drafter_for(config: Config) -> LLMDrafter | None:
    """The configured LLM drafter, or None when `suggest.llm` is not set."""
    llm = config.suggest.llm
    if llm is None:
        return None
    settings = LLMSettings(
        base_url=llm.base_url,
        model=llm.model,
        api_key=llm.api_key or None,
        timeout=parse_duration(llm.timeout).as_timedelta().total_seconds(),
    )
    return LLMDrafter(settings, redact=config.redact)


def refine_drafts(
    store: Store, drafter: LLMDrafter, config: Config, now: datetime, *, batch: int = 5
) -> int:
    """Ask the model for up to `batch` drafts; how many it improved."""
    platforms = {source.name: source.type for source in config.sources}
    improved = 0
    for item in store.drafts_to_refine(batch):
        platform = platforms.get(item.source, "feed")
        limit = PLATFORM_LIMITS.get(platform, DEFAULT_LIMIT)
        late = item.due_at <= now
        result = drafter.draft(
            comment=item.text,
            author=item.author,
            platform=platform,
            owner_name=config.owner.name,
            intent=item.intent or "other",
            template_draft=(item.suggestion_late if late else item.suggestion) or "",
            limit=limit,
            late=late,
        )
        # An on-time draft also becomes the late one (with an apology in front), so a model's
        # better wording is not lost once the deadline passes.
        late_draft = result.draft if late else result.draft and late_version(result.draft, limit)
        store.set_refined_draft(item.id or 0, result.draft, late_draft=late_draft, late=late)
        if result.draft:
            improved += 1
        else:
            log.info(
                "[%s] item %s keeps its template draft: %s", item.source, item.id, result.reason
            )
    return improved
