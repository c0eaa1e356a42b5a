"""A simulated blog or forum: comments arrive over time and the owner answers some of them.

It powers `sameday demo` and the example config, with no credentials and no network. The stream is
a pure function of (seed, time): slot k of the timeline (one every ``60 / per_hour`` minutes)
holds at most one comment, and whether it exists, what it says, and whether and when the owner
answers it are all drawn from a generator seeded with (seed, k). So every fetch over a time
window returns exactly the records created in it, a restart changes nothing, and tests can
replay any moment by moving the clock.

On a ``blog`` the owner's replies carry no parent (flat comment threads: the answer is "a later
owner comment on the same post"); on a ``forum`` they quote the post they answer (``parent_id``).
"""

from __future__ import annotations

import builtins
import random
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from connectors.base import ConnectorContext, ConnectorSettings, FetchResult, Record

_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; slot 0 starts here
_FIRST_FETCH_WINDOW = timedelta(days=3)

_AUTHORS = [
    "Maria Lopez", "Tom B.", "priya_k", "Jonas", "Aisha Rahman", "Ken Watanabe", "lucie.m",
    "Omar", "Grace H.", "Dmitri", "Sofia Rossi", "ben_builds", "Hannah", "Yusuf", "Chloe",
]  # fmt: skip

_POSTS = {  # the threads comments land in
    "blog": [
        "https://demo.sameday.invalid/blog/spring-hours",
        "https://demo.sameday.invalid/blog/roasting",
        "https://demo.sameday.invalid/blog/cold-brew",
    ],
    "forum": [
        "https://forum.sameday.invalid/t/order-damaged/41",
        "https://forum.sameday.invalid/t/gift-cards/57",
        "https://forum.sameday.invalid/t/grinders/63",
    ],
}

_COMMENTS = [
    "Are you open on Sunday mornings? Planning to come by with friends.",
    "My order #{n} arrived with a cracked lid and coffee all over the box. Not happy.",
    "Best flat white in town, honestly. The new roast is fantastic!",
    "Do you ship to Canada? I'd like to order two bags of the Ethiopian.",
    "It would be great if the website showed which beans are decaf.",
    "Is the oat-milk cold brew sweetened? Asking for my daughter, she's diabetic.",
    "I was charged twice for the same order yesterday. Can someone check?",
    "Thanks for the tip about grind size, my pour-over finally tastes right.",
    "Do you do gift cards for corporate orders, around 40 people?",
    "The delivery has been 'processing' for six days now. Any update?",
    "Loved the tasting event last week, when is the next one?",
    "Could you add a smaller bag size? 1 kg is too much for me.",
]

_OWNER_REPLIES = [
    "Thanks so much for asking! {answer}",
    "Hi {author}, thank you for letting us know. {answer}",
    "Thank you, {author}! {answer}",
]

_ANSWERS = [
    "We'll look into it right away and email you today.",
    "Yes, we are. See you soon!",
    "Great question; I've sent you the details by message.",
]


class DemoSettings(ConnectorSettings):
    platform: Literal["blog", "forum"] = "blog"
    seed: int = 1
    per_hour: float = Field(default=2.0, gt=0, le=60, description="average comments per hour")
    answer_rate: float = Field(default=0.6, ge=0, le=1, description="share the owner answers")


class DemoConnector:
    type: ClassVar[str] = "demo"
    Settings: ClassVar[builtins.type[DemoSettings]] = DemoSettings  # `type` is taken above

    def __init__(self, settings: DemoSettings, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self.owner = context.owner_identities[0] if context.owner_identities else "Owner"
        self.slot = timedelta(minutes=60 / settings.per_hour)

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        """Every record created after the cursor's ``until`` and up to now."""
        now = self.context.clock()
        since = (
            datetime.fromisoformat(cursor["until"])
            if cursor and "until" in cursor
            else now - _FIRST_FETCH_WINDOW
        )
        records = [r for r in self.records_between(since, now) if since < r.created_at <= now]
        return FetchResult(records=records, cursor={"until": now.isoformat()})

    def records_between(self, start: datetime, end: datetime) -> list[Record]:
        """Records of every slot that may produce one in [start, end] (owner replies included)."""
        # A reply can come up to 30 hours after its comment: look back that far for them.
        first = int((start - timedelta(hours=30) - _EPOCH) / self.slot)
        last = int((end - _EPOCH) / self.slot)
        records: list[Record] = []
        for slot in range(max(first, 0), last + 1):
            records.extend(self._slot(slot))
        return records

    def _slot(self, slot: int) -> list[Record]:
        rng = random.Random(f"{self.settings.seed}:{self.context.source}:{slot}")
        if rng.random() > 0.8:  # a quiet slot
            return []
        created = _EPOCH + slot * self.slot + rng.random() * self.slot
        post_url = rng.choice(_POSTS[self.settings.platform])
        author = rng.choice(_AUTHORS)
        comment_id = f"{self.settings.platform}-{self.settings.seed}-{slot}"
        text = rng.choice(_COMMENTS).format(n=1000 + slot % 9000)
        comment = Record(
            external_id=comment_id,
            thread_id=post_url,
            parent_id=None,
            author=author,
            is_owner=False,
            text=text,
            url=f"{post_url}#comment-{slot}",
            created_at=_whole_seconds(created),
            kind="comment",
        )
        records = [comment]
        if rng.random() < self.settings.answer_rate:
            delay = timedelta(minutes=rng.choice([12, 35, 90, 180, 420, 1300, 1800]))
            reply_text = rng.choice(_OWNER_REPLIES).format(
                author=author.split()[0], answer=rng.choice(_ANSWERS)
            )
            records.append(
                Record(
                    external_id=f"{comment_id}-reply",
                    thread_id=post_url,
                    parent_id=comment_id if self.settings.platform == "forum" else None,
                    author=self.owner,
                    is_owner=True,
                    text=reply_text,
                    url=f"{post_url}#comment-{slot}-reply",
                    created_at=_whole_seconds(created + delay),
                    kind="reply",
                )
            )
        return records


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
