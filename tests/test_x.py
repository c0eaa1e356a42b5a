"""Tests of the X connector against a fake X API on 127.0.0.1 (tests/fake_x.py).

Recorded answers are read in place from ../shared/realdata (tweepy cassettes, python-twitter
bodies, twarc-csv pages; skipped where that folder is absent), with the recorded accounts mapped
onto the test's owner. Everything else is posted to the fake, which pages, filters by since_id
and counts rate limits as X does. Nothing here reaches the internet, and tweepy may not sleep.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tweepy
from pydantic import SecretStr, ValidationError

from connectors.base import (
    AuthError,
    Checkable,
    ConfigError,
    ConnectorContext,
    FetchResult,
    Record,
    TransientError,
    registry,
)
from connectors.x import XConnector, XSettings
from monitor.config import Source, parse_config
from monitor.poll import poll_source
from monitor.store import Store
from tests.conftest import REALDATA, Clock
from tests.fake_x import (
    CLIENT_NOT_ENROLLED,
    LIMITED_ACCESS_453,
    Account,
    Answer,
    FakeX,
    RateLimit,
    Remap,
    gzipped,
    json_body,
    jsonl_pages,
    snowflake,
    tweet,
    vcr_cassette,
)

TOKEN = "AAAAAAAAAAAAAAAAAAAAAsecret%2Fbearer%3Dtoken"
OWNER = Account("1500000000000000001", "danashop", "Dana's Shop")
ANN = Account("2001", "ann_b", "Ann")
BEN = Account("2002", "benbakes", "Ben")
CLEO = Account("2003", "cleo", "Cleo")


@pytest.fixture(autouse=True)
def never_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """tweepy sleeps through a 429 when wait_on_rate_limit is on: that must never happen."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"tweepy tried to sleep {seconds} s")

    monkeypatch.setattr(tweepy.client, "time", SimpleNamespace(time=time.time, sleep=refuse))


@pytest.fixture
def x(clock: Clock) -> Iterator[FakeX]:
    with FakeX(OWNER, clock=clock, users=[ANN, BEN, CLEO], token=TOKEN) as server:
        yield server


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata not found")
    return REALDATA


def connector(
    x: FakeX,
    clock: Clock,
    *,
    keywords: tuple[str, ...] = (),
    budget: int = 10,
    token: str = TOKEN,
    timeout: float = 5.0,
    user: str = OWNER.username,
    owner: tuple[str, ...] = (OWNER.username,),
) -> XConnector:
    settings = XSettings(
        bearer_token=SecretStr(token),
        user=user,
        keywords=list(keywords),
        requests_per_15min=budget,
        api_base=x.url,
    )
    context = ConnectorContext(
        source="shop-x", owner_identities=owner, clock=clock, timeout=timeout
    )
    return XConnector(settings, context)


def ids(result: FetchResult) -> list[str]:
    return [r.external_id for r in result.records]


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


def mention(x: FakeX, at: datetime, author: Account = ANN, text: str = "", **kw: Any) -> str:
    """Post a mention of the owner at `at`; returns its id."""
    tweet_id = snowflake(at, len(x.mentions))
    x.mentions.append(tweet(tweet_id, author, text or f"@danashop hello {tweet_id}", **kw))
    return tweet_id


def restarted(cursor: dict[str, Any] | None) -> dict[str, Any] | None:
    """The cursor as the store gives it back: through JSON."""
    return json.loads(json.dumps(cursor))


# -- records --------------------------------------------------------------------------------------


def test_mentions_become_records_with_authors_threads_and_parents(x: FakeX, clock: Clock) -> None:
    root = snowflake(clock() - timedelta(hours=3))
    x.own.append(tweet(root, OWNER, "Spring opening hours are up!"))  # replies to nothing
    question = mention(
        x,
        clock() - timedelta(hours=2),
        ANN,
        "@danashop Open on Sunday? Coffee &amp; cake &lt;3",
        replied_to=root,
        reply_to_user=OWNER,
        conversation=root,
    )
    answer = snowflake(clock() - timedelta(hours=1))
    x.own.append(
        tweet(answer, OWNER, "@ann_b Yes, 10 to 4!", replied_to=question, conversation=root)
    )
    retweet = mention(x, clock() - timedelta(minutes=30), BEN, "RT @ann_b: …", retweet_of=root)
    x.mentions[-1]["note_tweet"] = {"text": "ignored: a retweet"}
    long_post = mention(x, clock() - timedelta(minutes=10), CLEO, "@danashop A long one…")
    x.mentions[-1]["note_tweet"] = {"text": "@danashop A long one, " + "really " * 60 + "long."}

    result = connector(x, clock).fetch(None)

    records = by_id(result)
    assert set(records) == {question, answer, long_post}  # no retweet, no top-level own tweet
    asked = records[question]
    assert asked == Record(
        external_id=question,
        thread_id=root,
        parent_id=root,
        author="@ann_b",
        is_owner=False,
        text="@danashop Open on Sunday? Coffee & cake <3",
        url=f"https://x.com/ann_b/status/{question}",
        created_at=clock() - timedelta(hours=2),
        kind="mention",
    )
    replied = records[answer]
    assert (replied.is_owner, replied.kind, replied.parent_id, replied.thread_id) == (
        True,
        "reply",
        question,
        root,
    )
    assert replied.author == "@danashop"
    assert records[long_post].text.endswith("really long.")  # note_tweet: the untruncated text
    assert retweet not in records
    assert result.warnings == []

    # It asked for what those records need, and excluded retweets from the own timeline.
    for seen in x.seen("mentions") + x.seen("tweets"):
        fields = set(seen.params["tweet.fields"].split(","))
        assert {"author_id", "created_at", "conversation_id", "in_reply_to_user_id"} <= fields
        assert "referenced_tweets" in fields
        assert seen.params["expansions"] == "author_id"
        assert seen.params["max_results"] == "100"
        assert seen.headers["user-agent"].startswith("sameday/")
    assert x.seen("tweets")[0].params["exclude"] == "retweets"


def test_owner_identities_from_the_config_also_count_as_the_owner(x: FakeX, clock: Clock) -> None:
    shop_team = Account("2009", "DanaShop_Team")
    x.add_users([shop_team])
    first = mention(x, clock() - timedelta(hours=2), ANN)
    mention(x, clock() - timedelta(hours=1), shop_team, "@danashop @ann_b on it", replied_to=first)
    mention(x, clock() - timedelta(minutes=5), shop_team, "@danashop weekly note")  # no parent

    result = connector(x, clock, owner=("danashop", "@danashop_team")).fetch(None)

    assert [(r.author, r.is_owner, r.kind) for r in result.records] == [
        ("@DanaShop_Team", True, "reply"),
        ("@ann_b", False, "mention"),
    ]


# -- the cursor: since_id, paging, restarts -------------------------------------------------------


def test_second_poll_asks_only_for_what_is_newer(x: FakeX, clock: Clock) -> None:
    old = [mention(x, clock() - timedelta(minutes=m)) for m in (30, 20)]
    source = connector(x, clock)
    first = source.fetch(None)
    assert sorted(ids(first)) == sorted(old)
    assert len(x.seen("lookup")) == 1

    clock.advance(minutes=5)
    new = mention(x, clock() - timedelta(minutes=1), BEN)
    second = source.fetch(restarted(first.cursor))

    assert ids(second) == [new]
    assert len(x.seen("lookup")) == 1  # the id came from the cursor
    assert x.seen("mentions")[-1].params["since_id"] == max(old, key=int)
    assert second.cursor is not None
    assert second.cursor["mentions"] == {"since_id": new}


def test_a_restart_returns_no_old_tweet_and_costs_no_lookup(x: FakeX, clock: Clock) -> None:
    for m in (50, 40, 30):
        mention(x, clock() - timedelta(minutes=m))
    first = connector(x, clock).fetch(None)
    assert len(first.records) == 3

    clock.advance(minutes=10)
    again = connector(x, clock).fetch(restarted(first.cursor))  # a new process, the saved cursor

    assert again.records == []
    assert len(x.seen("lookup")) == 1
    assert again.cursor == first.cursor


def test_several_pages_arriving_between_polls_are_all_read(x: FakeX, clock: Clock) -> None:
    mention(x, clock() - timedelta(hours=1))
    source = connector(x, clock)
    cursor = source.fetch(None).cursor

    start = clock() - timedelta(minutes=30)
    burst = {mention(x, start + timedelta(seconds=s)) for s in range(250)}
    clock.advance(minutes=3)
    second = source.fetch(restarted(cursor))

    assert set(ids(second)) == burst
    calls = x.seen("mentions")[1:]
    assert [c.params.get("pagination_token") is None for c in calls] == [True, False, False]
    assert len({c.params["since_id"] for c in calls}) == 1  # the same lower bound on each page
    assert second.cursor is not None
    assert second.cursor["mentions"] == {"since_id": max(burst, key=int)}
    clock.advance(minutes=3)
    assert source.fetch(restarted(second.cursor)).records == []


def test_a_backlog_longer_than_the_page_bound_goes_on_at_the_next_poll(
    x: FakeX, clock: Clock
) -> None:
    # A budget of 4 requests leaves 2 pages per timeline and poll.
    source = connector(x, clock, budget=4)
    mention(x, clock() - timedelta(hours=1))
    cursor = source.fetch(None).cursor
    assert cursor is not None
    start = clock() - timedelta(minutes=50)
    backlog = {mention(x, start + timedelta(seconds=s)) for s in range(350)}

    got: set[str] = set()
    second = source.fetch(restarted(cursor))
    got |= set(ids(second))
    assert len(second.records) == 200
    assert second.cursor is not None
    assert second.cursor["mentions"]["next_token"]  # a place to go on from
    assert second.cursor["mentions"]["since_id"] == cursor["mentions"]["since_id"]  # not moved

    meanwhile = {mention(x, clock() - timedelta(seconds=s)) for s in (3, 2, 1)}
    third = source.fetch(restarted(second.cursor))
    got |= set(ids(third))
    assert third.cursor is not None
    assert "next_token" not in third.cursor["mentions"]
    fourth = source.fetch(restarted(third.cursor))
    got |= set(ids(fourth))

    assert got == backlog | meanwhile  # nothing skipped
    assert fourth.cursor is not None
    assert fourth.cursor["mentions"] == {"since_id": max(meanwhile, key=int)}


def test_a_failure_halfway_through_the_pages_moves_nothing(x: FakeX, clock: Clock) -> None:
    source = connector(x, clock)
    mention(x, clock() - timedelta(hours=1))
    cursor = source.fetch(None).cursor
    start = clock() - timedelta(minutes=30)
    burst = [mention(x, start + timedelta(seconds=s)) for s in range(150)]
    newest_first = sorted(burst, key=int, reverse=True)
    x.script(
        f"/2/users/{OWNER.id}/mentions",
        Answer(503, {"title": "Service Unavailable"}, once=True,
               when={"pagination_token": x.page_token(newest_first[99])}),
    )  # fmt: skip

    with pytest.raises(TransientError, match="server problem"):
        source.fetch(restarted(cursor))
    again = source.fetch(restarted(cursor))  # the core kept the old cursor

    assert set(ids(again)) == set(burst)


def test_an_empty_page_is_nothing_new(x: FakeX, clock: Clock) -> None:
    x.script(f"/2/users/{OWNER.id}/mentions", Answer(200, {"meta": {"result_count": 0}}))
    cursor = {"user": "danashop", "user_id": OWNER.id, "mentions": {"since_id": "1234"}}

    result = connector(x, clock).fetch(cursor)

    assert result.records == [] and result.warnings == []
    assert result.cursor is not None
    assert result.cursor["mentions"] == {"since_id": "1234"}


def test_another_user_in_the_settings_starts_afresh(x: FakeX, clock: Clock) -> None:
    mention(x, clock() - timedelta(minutes=5))
    stale = {"user": "someone_else", "user_id": "999", "mentions": {"since_id": "99999999999"}}

    result = connector(x, clock).fetch(stale)

    assert len(result.records) == 1
    assert len(x.seen("lookup")) == 1
    assert result.cursor is not None and result.cursor["user_id"] == OWNER.id


# -- the answered rule through a real poll --------------------------------------------------------


def x_source(settings: XSettings, tmp_path: Path) -> Source:
    """A configured X source (built from a demo one: the `x` entry point may not be installed)."""
    config = parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {demo: [danashop]}}\n"
        "sources:\n  - {name: shop-x, type: demo, every: 1m, backfill: all}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n",
        path="test.yaml",
        environ={},
    )
    return dataclasses.replace(
        config.source("shop-x"), type="x", connector_class=XConnector, settings=settings
    )


def test_owner_replies_mark_some_recorded_mentions_answered_and_not_others(
    x: FakeX, clock: Clock, realdata: Path, sqlite_store: Store, tmp_path: Path
) -> None:
    # python-twitter's recorded conversation, with snowman as our owner: happycamper asks,
    # snowman answers her, then happycamper and jellybeanjones reply and get no answer.
    snowman = Account("17200003", "snowman")
    remap = Remap({snowman: OWNER})
    body = json_body(realdata / "python-twitter/search_tweets_query.json", remap)
    tweets = {t["id"]: t for t in body["data"] + body["includes"]["tweets"]}
    x.add_users(Account(u["id"], u["username"], u["name"]) for u in body["includes"]["users"])
    for t in tweets.values():
        (x.own if t["author_id"] == OWNER.id else x.mentions).append(t)
    asked, answered_by = "1274086728471461889", "1275653067283759104"
    later_ones = {"1276035977375477760", "1275763727908798470"}

    source = x_source(connector(x, clock).settings, tmp_path)
    sqlite_store.ensure_sources([("shop-x", "x")])
    outcome = poll_source(source, connector(x, clock), sqlite_store, clock=clock)

    assert outcome.ok, outcome.error
    items = {i.external_id: i for i in sqlite_store.inbox(clock(), everything=True)}
    assert set(items) == {asked} | later_ones
    assert items[asked].status == "answered"
    assert items[asked].answered_by == answered_by
    assert items[asked].answered_at == datetime(2020, 6, 24, 4, 52, 46, tzinfo=UTC)
    assert items[asked].author == "@happycamper"
    assert {items[i].status for i in later_ones} == {"open"}
    assert items["1275763727908798470"].parent_id == answered_by

    # A later poll: the owner answers jellybeanjones; that stored item becomes answered.
    clock.advance(minutes=2)
    reply = snowflake(clock() - timedelta(minutes=1))
    x.own.append(tweet(reply, OWNER, "@jellybeanjones thanks!", replied_to="1275763727908798470"))
    outcome = poll_source(source, connector(x, clock), sqlite_store, clock=clock)

    assert outcome.answered == 1
    items = {i.external_id: i for i in sqlite_store.inbox(clock(), everything=True)}
    assert items["1275763727908798470"].status == "answered"
    assert items["1275763727908798470"].answered_by == reply
    assert items["1276035977375477760"].status == "open"  # still waiting


# -- recordings: gzip, partial errors, pages ------------------------------------------------------

TWEEPY_OWNER = Account("783214", "Twitter")  # the account tweepy's cassettes were recorded on


@pytest.mark.parametrize(
    ("cassette", "count", "gzipped_body"),
    [
        ("test_client_get_users_mentions.yaml", 10, True),
        # aiohttp saved the body decoded but kept "Content-Encoding: gzip": served plain.
        ("test_asyncclient_get_users_mentions.yaml", 2, False),
    ],
)
def test_recorded_tweepy_timelines_and_search(
    x: FakeX, clock: Clock, realdata: Path, cassette: str, count: int, gzipped_body: bool
) -> None:
    remap = Remap({TWEEPY_OWNER: OWNER})
    recorded = [
        *vcr_cassette(realdata / "tweepy" / cassette, remap),
        *vcr_cassette(realdata / "tweepy/test_client_get_users_tweets.yaml", remap),
        *vcr_cassette(realdata / "tweepy/test_client_search_recent_tweets.yaml", remap),
    ]
    for exchange in recorded:
        x.script(exchange.path, exchange.answer)
    mentions_body = recorded[0].answer.payload()
    assert mentions_body.startswith(b"\x1f\x8b") is gzipped_body
    expected = json.loads(gzip.decompress(mentions_body) if gzipped_body else mentions_body)

    result = connector(x, clock, keywords=("Tweepy",)).fetch(None)

    kinds = [r.kind for r in result.records]
    assert kinds == ["mention"] * count + ["comment"] * 10  # the 2 own tweets reply to nothing
    first = result.records[0]
    assert first.external_id == expected["data"][0]["id"]
    assert first.text == expected["data"][0]["text"]
    # No created_at in these recordings: the time inside the id, to the millisecond.
    assert datetime(2022, 10, 7, 22, tzinfo=UTC) < first.created_at < clock()
    assert not first.created_at_estimated
    assert first.author == "unknown" and first.url == f"https://x.com/i/status/{first.external_id}"
    assert result.cursor is not None
    assert result.cursor["mentions"] == {"since_id": expected["meta"]["newest_id"]}
    # The first poll reads the newest page of each only: older tweets would be baseline.
    assert [len(x.seen(e)) for e in ("lookup", "mentions", "tweets", "search")] == [1, 1, 1, 1]
    assert x.seen("search")[0].params["query"] == "Tweepy -is:retweet"
    assert x.seen("mentions")[0].path == f"/2/users/{OWNER.id}/mentions"


def test_recorded_pages_then_an_empty_last_page(x: FakeX, clock: Clock, realdata: Path) -> None:
    page = json_body(realdata / "python-twitter/timeline_mentions.json")
    own = json_body(realdata / "python-twitter/timeline_tweets.json")
    empty = {"meta": {"result_count": 0}}
    for path, body in (
        (f"/2/users/{OWNER.id}/mentions", page),
        (f"/2/users/{OWNER.id}/tweets", own),
    ):
        token = body["meta"]["next_token"]
        x.script(
            path, Answer(200, body, when={"since_id": "1"}),
            Answer(200, empty, when={"pagination_token": token}),
        )  # fmt: skip
    cursor = {"user": "danashop", "user_id": OWNER.id, "mentions": {"since_id": "1"},
              "timeline": {"since_id": "1"}}  # fmt: skip

    result = connector(x, clock).fetch(cursor)

    assert ids(result) == [t["id"] for t in page["data"]]  # own tweets: none replies to anything
    assert result.records[0].created_at == datetime(2021, 2, 24, 2, 13, 43, tzinfo=UTC)
    mentions = x.seen("mentions")
    assert [m.params.get("pagination_token") for m in mentions] == [
        None,
        page["meta"]["next_token"],
    ]
    assert result.cursor is not None
    assert result.cursor["mentions"] == {"since_id": page["meta"]["newest_id"]}
    assert result.cursor["timeline"] == {"since_id": own["meta"]["newest_id"]}


def test_recorded_search_page_with_every_expansion(x: FakeX, clock: Clock, realdata: Path) -> None:
    (page,) = jsonl_pages(realdata / "twarc-csv/brexit.jsonl")
    x.script("/2/tweets/search/recent", gzipped(page))

    result = connector(x, clock, keywords=("#brexit",)).fetch(None)

    data = {t["id"]: t for t in page["data"]}
    users = {u["id"]: u["username"] for u in page["includes"]["users"]}
    retweets = {i for i, t in data.items() if t["text"].startswith("RT @")}
    assert len(result.records) == 100 - len(retweets) == 33
    for record in result.records:
        source = data[record.external_id]
        assert record.kind == "comment" and not record.is_owner
        assert record.author == "@" + users[source["author_id"]]
        assert record.thread_id == source["conversation_id"]
        assert "&amp;" not in record.text and "&gt;" not in record.text
    replies = [r for r in result.records if r.parent_id]
    assert len(replies) == 10
    assert by_id(result)["1440716745577140229"].parent_id == "1440621713281093641"
    ampersand = by_id(result)["1440716673485447171"]
    assert "&" in ampersand.text and "&amp;" in data[ampersand.external_id]["text"]


def test_partial_errors_keep_the_data_and_warn(x: FakeX, clock: Clock, realdata: Path) -> None:
    with_errors, _ = jsonl_pages(realdata / "twarc-csv/2sets.jsonl")
    assert with_errors["errors"] and with_errors["data"]
    x.script(f"/2/users/{OWNER.id}/mentions", gzipped(with_errors))

    result = connector(x, clock).fetch(None)

    originals = [t for t in with_errors["data"] if not t["text"].startswith("RT @")]
    assert ids(result) == [t["id"] for t in originals]
    (warning,) = result.warnings
    assert "reading the mentions of @danashop" in warning
    assert "User has been suspended: [leeseunggi]" in warning
    assert result.cursor is not None
    assert result.cursor["mentions"] == {"since_id": with_errors["meta"]["newest_id"]}


# -- the rate budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "cost", "seconds"),
    [(10, 2, 180.0), (10, 3, 300.0), (450, 3, 6.0), (1, 2, 1800.0), (3, 3, 900.0)],
)
def test_the_budget_sets_the_least_interval(
    x: FakeX, clock: Clock, budget: int, cost: int, seconds: float
) -> None:
    assert connector(x, clock, budget=budget).min_interval(cost) == seconds


def test_a_one_minute_source_on_ten_requests_waits_longer(x: FakeX, clock: Clock) -> None:
    source = connector(x, clock, budget=10)  # the source asks for every: 1m
    first = source.fetch(None)
    clock.advance(minutes=1)
    second = source.fetch(first.cursor)

    # The first poll also looked the user up: 3 requests, 3 polls a window, 5 minutes apart.
    assert first.wait_at_least == 300.0
    # Then 2 requests a poll: 5 polls in 15 minutes, 3 minutes apart, not 1.
    assert second.wait_at_least == 180.0 > 60
    assert len(x.requests) == 5


def test_a_used_up_window_waits_for_its_reset(x: FakeX, clock: Clock) -> None:
    reset = int(clock().timestamp()) + 600
    x.limits["tweets"] = RateLimit(limit=5, remaining=1, reset=reset)

    result = connector(x, clock, budget=450).fetch(None)

    assert result.wait_at_least == 600.0  # remaining 0 after this call


def test_429_is_transient_until_the_reset(x: FakeX, clock: Clock) -> None:
    reset = int(clock().timestamp()) + 420
    x.limits["mentions"] = RateLimit(limit=10, remaining=0, reset=reset)

    with pytest.raises(TransientError, match="rate limit is used up") as caught:
        connector(x, clock).fetch(None)

    assert caught.value.retry_after == 420.0
    assert TOKEN not in str(caught.value)


def test_tweepy_never_waits_on_the_rate_limit(x: FakeX, clock: Clock) -> None:
    with connector(x, clock)._client() as client:
        assert client.wait_on_rate_limit is False


# -- search the plan does not allow ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("refusal", "named"),
    [(CLIENT_NOT_ENROLLED, "client-not-enrolled"), (LIMITED_ACCESS_453, "453")],
)
def test_search_refused_by_the_plan_is_a_warning_and_rests_a_day(
    x: FakeX, clock: Clock, refusal: dict[str, Any], named: str
) -> None:
    x.script("/2/tweets/search/recent", Answer(403, refusal))
    asked = mention(x, clock() - timedelta(minutes=5))
    source = connector(x, clock, keywords=("danashop.com",))

    first = source.fetch(None)

    assert ids(first) == [asked]  # mentions still come in
    (warning,) = first.warnings
    assert "keyword search is off" in warning and named in warning
    assert "does not allow searching for danashop.com" in warning
    assert len(x.seen("search")) == 1
    # A fetch with search off costs 2 requests: the budget gives it the shorter interval.
    assert first.cursor is not None
    assert first.cursor["search"]["blocked_until"] == "2026-03-10T14:00:00Z"

    clock.advance(minutes=5)
    later = mention(x, clock() - timedelta(minutes=1), BEN)
    second = source.fetch(restarted(first.cursor))
    assert ids(second) == [later]
    assert len(x.seen("search")) == 1  # not asked again
    assert second.warnings and "next try after 2026-03-10T14:00:00Z" in second.warnings[0]
    assert second.wait_at_least == 180.0

    clock.advance(days=1)
    x.script("/2/tweets/search/recent")  # the plan was upgraded
    hit = snowflake(clock() - timedelta(minutes=1))
    x.found.append(tweet(hit, CLEO, "Anyone tried danashop.com?"))
    third = source.fetch(restarted(second.cursor))
    assert len(x.seen("search")) == 2
    assert ids(third) == [hit] and third.records[0].kind == "comment"
    assert third.warnings == []
    assert third.cursor is not None
    assert third.cursor["search"] == {"query": "danashop.com -is:retweet", "since_id": hit}


def test_search_with_an_expired_since_id_starts_again_from_the_newest(
    x: FakeX, clock: Clock
) -> None:
    query = "danashop.com -is:retweet"
    hit = snowflake(clock() - timedelta(minutes=1))
    x.found.append(tweet(hit, CLEO, "danashop.com rocks"))
    x.script(
        "/2/tweets/search/recent",
        Answer(400, {"errors": [{"message": "Invalid 'since_id': too old"}]}, once=True,
               when={"since_id": "1000"}),
    )  # fmt: skip
    cursor = {
        "user": "danashop",
        "user_id": OWNER.id,
        "search": {"query": query, "since_id": "1000"},
    }

    result = connector(x, clock, keywords=("danashop.com",)).fetch(cursor)

    assert ids(result) == [hit] and result.warnings == []
    assert result.cursor is not None
    assert result.cursor["search"] == {"query": query, "since_id": hit}


# -- credentials, accounts and network errors -----------------------------------------------------


def test_a_wrong_token_is_an_auth_error_that_never_shows_it(x: FakeX, clock: Clock) -> None:
    wrong = "AAAAAAAAAAAAAAAAAAAAAwrong%2Fsecret%3Dvalue"
    source = connector(x, clock, token=wrong)

    with pytest.raises(AuthError) as fetched:
        source.fetch(None)
    with pytest.raises(AuthError) as checked:
        source.check()

    for error in (fetched.value, checked.value):
        message = str(error)
        assert message.startswith("the bearer token is wrong, expired or revoked: X answered 401")
        assert wrong not in message and TOKEN not in message
    assert wrong not in repr(source.settings) and wrong not in str(source.settings)


def test_mentions_the_plan_does_not_allow_fail_the_source_plainly(x: FakeX, clock: Clock) -> None:
    x.script(f"/2/users/{OWNER.id}/mentions", Answer(403, CLIENT_NOT_ENROLLED))

    with pytest.raises(AuthError, match="does not allow reading the mentions of @danashop"):
        connector(x, clock).fetch(None)


def test_a_missing_scope_is_named(x: FakeX, clock: Clock) -> None:
    x.script(
        "/2/users/by/username/danashop",
        Answer(403, {"title": "Forbidden", "type": "about:blank", "status": 403,
                     "detail": "Missing required scope: users.read"}),
    )  # fmt: skip

    with pytest.raises(AuthError, match=r"lacks a permission .*missing scope.*users\.read"):
        connector(x, clock).check()


def test_an_account_that_does_not_exist_is_a_config_error(x: FakeX, clock: Clock) -> None:
    with pytest.raises(ConfigError, match=r"@nobody_here cannot be watched: Could not find user"):
        connector(x, clock, user="nobody_here").fetch(None)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(hang=True), "did not answer within 0.3 s"),
        (Answer(503, b"<html>down</html>", {"content-type": "text/html"}), "server problem"),
        (Answer(200, b"<html>captive portal</html>", {"content-type": "text/html"}), "not JSON"),
        (Answer(200, b"\x1f\x8bnot really gzip", {"content-encoding": "gzip"}), "broken answer"),
    ],
    ids=["timeout", "5xx", "not-json", "broken-gzip"],
)
def test_network_troubles_are_transient(
    x: FakeX, clock: Clock, answer: Answer, expected: str
) -> None:
    x.script("/2/users/by/username/danashop", answer)
    started = time.monotonic()

    with pytest.raises(TransientError, match=expected) as caught:
        connector(x, clock, timeout=0.3).fetch(None)

    assert time.monotonic() - started < 5
    assert TOKEN not in str(caught.value)


def test_a_refused_connection_is_transient(clock: Clock) -> None:
    with FakeX(OWNER, clock=clock) as gone:
        url = gone.url  # nothing listens there once it is stopped
    settings = XSettings(bearer_token=SecretStr(TOKEN), user="danashop", api_base=url)
    context = ConnectorContext(source="shop-x", owner_identities=(), clock=clock, timeout=2)

    with pytest.raises(TransientError, match="cannot reach X while looking up @danashop"):
        XConnector(settings, context).fetch(None)


def test_tweepy_debug_logs_never_show_the_token(
    x: FakeX, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    mention(x, clock() - timedelta(minutes=5))
    with caplog.at_level(logging.DEBUG):
        connector(x, clock).fetch(None)

    assert "Bearer ***" in caplog.text  # tweepy logged its headers…
    assert TOKEN not in caplog.text  # …without the token


# -- check and settings ---------------------------------------------------------------------------


def test_check_says_what_works_and_how_often_the_budget_allows(x: FakeX, clock: Clock) -> None:
    source = connector(x, clock, keywords=("danashop.com",))
    assert isinstance(source, Checkable)

    line = source.check()

    assert line == (
        f"token works; watching @danashop (id {OWNER.id}); the budget of 10 requests/15 min "
        "allows a poll every 5m (3 requests a poll: mentions, own replies, search)"
    )
    assert [r.endpoint for r in x.requests] == ["lookup"]


def test_settings() -> None:
    settings = XSettings.model_validate(
        {"bearer_token": f" {TOKEN} ", "user": "@DanaShop", "keywords": [" danashop.com ", ""],
         "api_base": "http://127.0.0.1:9/"}
    )  # fmt: skip
    assert (settings.user, settings.keywords, settings.api_base) == (
        "DanaShop",
        ["danashop.com"],
        "http://127.0.0.1:9",
    )
    assert settings.bearer_token.get_secret_value() == TOKEN
    assert settings.requests_per_15min == 10
    assert XSettings(bearer_token=SecretStr("t"), user="d").api_base == "https://api.twitter.com"
    for bad in (
        {"user": "dana shop"},
        {"requests_per_15min": 0},
        {"api_base": "ftp://x"},
        {"wait_on_rate_limit": True},
        {"bearer_token": "  "},
    ):
        with pytest.raises(ValidationError) as caught:
            XSettings.model_validate({"bearer_token": TOKEN, "user": "danashop", **bad})
        assert TOKEN not in str(caught.value)


def test_the_x_connector_is_registered() -> None:
    """Passes once pyproject.toml has ``x = "connectors.x:XConnector"`` and is reinstalled."""
    assert registry()["x"] is XConnector


def test_sameday_check_on_an_x_source_says_what_works_and_what_does_not(
    x: FakeX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sameday check` runs the connector's own credential check first and never shows the
    token, whether it works or not."""
    from typer.testing import CliRunner

    from monitor.cli import app

    config = tmp_path / "sameday.yaml"
    config.write_text(
        "owner: {name: Dana, timezone: America/New_York, identities: {x: [danashop]}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
        "sources:\n"
        f"  - {{name: shop-x, type: x, bearer_token: '${{X_BEARER}}', user: danashop, "
        f"api_base: '{x.url}', every: 1m}}\n"
    )
    monkeypatch.setenv("X_BEARER", TOKEN)
    result = CliRunner().invoke(app, ["-c", str(config), "check"])
    assert result.exit_code == 0, result.output
    assert "✓ shop-x (x): token works; watching @danashop" in result.output
    assert TOKEN not in result.output

    monkeypatch.setenv("X_BEARER", "revoked-" + TOKEN)
    result = CliRunner().invoke(app, ["-c", str(config), "check"])
    assert result.exit_code == 1
    assert "✗ shop-x (x): credentials: the bearer token is wrong, expired or revoked" in (
        " ".join(result.output.split())
    )
    assert TOKEN not in result.output and not (tmp_path / "s.db").exists()
