"""Tests of the Hacker News connector against a fake HN Search API on 127.0.0.1
(tests/fake_hn.py).

The 2014 Algolia recordings (../shared/realdata/node-hacker-news-api/fixtures.json) are read in
place; the tests that need them are skipped where that folder is absent. Everything else uses
items in the recorded shape. Nothing here reaches the internet or sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

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
from connectors.hackernews import HackerNewsConnector, HackerNewsSettings, names
from monitor.config import Source
from monitor.poll import poll_source
from monitor.store import Store
from monitor.triage import Status
from tests.conftest import REALDATA, source_for
from tests.fake_hn import FakeHN, comment, story
from tests.fake_json import Answer

FIXTURES = REALDATA / "node-hacker-news-api" / "fixtures.json"
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
T = int(NOW.timestamp())  # created_at_i of "now"
# The recordings are from 2006-2014: the connector's clock is the day after pg's comment 17
# (2006-10-09), so that comment is within the 14 days whose replies are read.
RECORDED_NOW = datetime(2006, 10, 10, tzinfo=UTC)
SHOP = "danashop.com"


@pytest.fixture
def fixtures() -> Path:
    if not FIXTURES.is_file():
        pytest.skip(f"{FIXTURES} not found: the recorded HN answers are not available")
    return FIXTURES


@pytest.fixture
def hn() -> Iterator[FakeHN]:
    with FakeHN() as server:
        yield server


def connect(
    server: FakeHN,
    *,
    keywords: tuple[str, ...] = (SHOP,),
    username: str | None = "dana",
    now: datetime = NOW,
    timeout: float = 5.0,
    **settings: Any,
) -> HackerNewsConnector:
    context = ConnectorContext(source="hn", owner_identities=(), clock=lambda: now, timeout=timeout)
    return HackerNewsConnector(
        HackerNewsSettings(
            keywords=list(keywords), username=username, api_base=server.api_base, **settings
        ),
        context,
    )


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


def hn_source(tmp_path: Path, connector: HackerNewsConnector) -> Source:
    return source_for(tmp_path, "hn", connector)


def statuses(store: Store, now: datetime) -> dict[str, tuple[Status, str | None]]:
    return {
        i.external_id: (Status(i.status), i.answered_by) for i in store.inbox(now, everything=True)
    }


def mentions(first: int, last: int, *, at: int = T - 3600) -> list[dict[str, Any]]:
    """Comments naming the shop, one a second, the newest last."""
    return [
        comment(n, author="ann", parent=1, story=1, at=at + n, text=f"Ordered from {SHOP} #{n}")
        for n in range(first, last + 1)
    ]


# -- registration and settings ------------------------------------------------------------------


def test_registered_under_the_sameday_connectors_entry_point() -> None:
    """Passes once pyproject.toml declares
    ``hackernews = "connectors.hackernews:HackerNewsConnector"`` and the package is
    reinstalled."""
    assert registry()["hackernews"] is HackerNewsConnector
    assert issubclass(HackerNewsConnector, Checkable)


def test_settings() -> None:
    with pytest.raises(ValidationError, match="keywords to search for, a username"):
        HackerNewsSettings()
    with pytest.raises(ValidationError, match="Hacker News username"):
        HackerNewsSettings(username="not a name")
    settings = HackerNewsSettings(keywords=[" Dana's  Shop ", "Dana's Shop", SHOP])
    assert settings.keywords == ["Dana's Shop", SHOP]
    assert settings.api_base == "https://hn.algolia.com/api/v1" and settings.watch_days == 14


def test_a_keyword_is_named_as_whole_words() -> None:
    assert names(SHOP, "Bought a cake at https://www.danashop.com/cakes today")
    assert names("Dana's Shop", "dana’s shop? no: DANA'S SHOP!")
    assert not names(SHOP, "danashops.com is someone else")
    assert not names("apple", "shouldn't be applauded")


# -- records from the recorded shapes -----------------------------------------------------------


def test_recorded_hits_become_records_and_near_misses_are_dropped(fixtures: Path) -> None:
    """Algolia matched the recorded "apple" search with prefixes ("applauded") and by story
    title; only the hits that name Apple themselves are mentions."""
    with FakeHN(phrases=False) as hn:
        hn.load_recorded(fixtures)
        result = connect(hn, keywords=("apple",), username=None).fetch(None)
        (search,) = hn.seen("/api/v1/search_by_date")

    assert search.query == {
        "query": ['"apple"'],
        "tags": ["(story,comment)"],
        "hitsPerPage": ["100"],
        "page": ["0"],
    }
    found = by_id(result)
    assert "7919418" not in found  # fleitz: "…shouldn't be applauded"
    assert "7915384" not in found  # an Ask HN that never names Apple
    judge = found["7919424"]
    assert (judge.thread_id, judge.parent_id, judge.author) == ("7919424", None, "bradleyjg")
    assert judge.text == (  # a link story: its title and its link (its text is empty)
        "Judge says concerned about Apple, Google hiring settlement\n\n"
        "http://in.reuters.com/article/2014/06/19/apple-google-settlement-idINL2N0P01ZI20140619"
    )
    assert judge.url == "https://news.ycombinator.com/item?id=7919424"
    assert judge.created_at == datetime(2014, 6, 20, 3, 35, 46, tzinfo=UTC)
    assert judge.kind == "mention" and not judge.is_owner
    pg = found["6651926"]  # a comment that names Apple in its own text
    assert (pg.thread_id, pg.parent_id, pg.kind) == ("6651704", "6651704", "mention")
    assert "<" not in pg.text and "&#x27;" not in pg.text and "It's a little early" in pg.text
    assert all(names("apple", r.text) for r in result.records)


def test_the_owners_answers_and_replies_to_the_owner_in_a_real_store(
    fixtures: Path, tmp_path: Path, sqlite_store: Store
) -> None:
    """pg is the owner: /items/17 (recorded) has pg's comment and two replies to it, by dmon
    and Arrington; pg answers dmon (in the recorded shape). Recorded "apple" stories by others
    are open mentions."""
    store_now = datetime(2014, 6, 21, tzinfo=UTC)
    sqlite_store.ensure_sources([("hn", "hackernews")])
    with FakeHN() as hn:
        hn.load_recorded(fixtures)
        seventeen = json.loads(fixtures.read_text())[8]["reply"]  # /api/v1/items/17
        assert seventeen["id"] == 17
        hn.add(
            comment(17, author="pg", parent=15, story=1, at=seventeen["created_at_i"],
                    text=seventeen["text"]),
            comment(2000000, author="pg", parent=1079, story=1, at=1172500000,
                    text="<p>Buck&#x27;s, in Woodside.</p>"),
        )  # fmt: skip
        connector = connect(hn, keywords=("apple",), username="pg", now=RECORDED_NOW)
        outcome = poll_source(
            hn_source(tmp_path, connector), connector, sqlite_store, clock=lambda: store_now
        )
        assert outcome.error is None
        found = statuses(sqlite_store, store_now)
        assert found["1079"] == (Status.ANSWERED, "2000000")  # dmon: "sure", answered
        assert found["454426"] == (Status.OPEN, None)  # Arrington: not answered
        assert found["7919424"] == (Status.OPEN, None)  # a mention of Apple by bradleyjg
        assert "17" not in found and "2000000" not in found  # the owner's own: never items
        assert outcome.new_replies >= 2

        # A restart: only what is new. dmon answers pg's answer; another Apple story.
        hn.add(
            comment(2000001, author="dmon", parent=2000000, story=1, at=1172600000,
                    text="<p>Thanks!</p>"),
            story(7919999, author="someone", at=1403300000, title="Apple opens a new store"),
        )  # fmt: skip
        row = sqlite_store.source("hn")
        assert row is not None and row.cursor is not None
        cursor = row.cursor
        restarted = connect(hn, keywords=("apple",), username="pg", now=RECORDED_NOW)
        result = restarted.fetch(cursor)
        assert sorted(by_id(result)) == ["2000001", "7919999"]
        reply = by_id(result)["2000001"]
        assert (reply.kind, reply.parent_id, reply.thread_id) == ("reply", "2000000", "1")
        outcome = poll_source(
            hn_source(tmp_path, restarted), restarted, sqlite_store, clock=lambda: store_now
        )
        assert (outcome.error, outcome.new_items) == (None, 2)

    assert statuses(sqlite_store, store_now)["2000001"] == (Status.OPEN, None)


def test_recorded_user_for_check(fixtures: Path) -> None:
    with FakeHN() as hn:
        hn.load_recorded(fixtures)
        assert connect(hn, keywords=("apple",), username="pg").check() == (
            'HN user pg found (karma 154666); watching "apple" and replies to pg\'s items of '
            "the last 14 days"
        )


# -- paging, the cursor and late indexing -------------------------------------------------------


def test_paging_to_the_cursor_and_a_restart_returns_nothing_old(
    hn: FakeHN, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.hackernews.PAGE", 2)
    hn.add(*mentions(1, 5))
    first = connect(hn, username=None).fetch(None)
    assert sorted(by_id(first), key=int) == ["1", "2", "3", "4", "5"]
    pages = [r.arg("page") for r in hn.seen("/api/v1/search_by_date")]
    assert pages == ["0", "1", "2"]
    state = first.cursor["searches"][f"kw:{SHOP}"] if first.cursor else {}
    assert state["since"] == T - 3600 + 5

    hn.add(*mentions(6, 10))
    hn.requests.clear()
    second = connect(hn, username=None).fetch(first.cursor)
    assert sorted(by_id(second), key=int) == ["6", "7", "8", "9", "10"]
    filters = {r.arg("numericFilters") for r in hn.seen("/api/v1/search_by_date")}
    assert filters == {f"created_at_i>{T - 3600 + 5 - 600}"}  # the overlap for late indexing

    restarted = connect(hn, username=None).fetch(second.cursor)
    assert restarted.records == []


def test_an_item_indexed_late_is_not_missed(hn: FakeHN) -> None:
    hn.add(*mentions(1, 3))
    first = connect(hn, username=None).fetch(None)
    # Written two minutes before the newest hit read, but indexed only now.
    hn.add(comment(50, author="bob", parent=1, story=1, at=T - 3600 + 3 - 120, text=SHOP))
    later = connect(hn, username=None).fetch(first.cursor)
    assert sorted(by_id(later)) == ["50"]


def test_a_backlog_beyond_the_page_bound_is_finished_at_the_next_poll(
    hn: FakeHN, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.hackernews.PAGE", 2)
    monkeypatch.setattr("connectors.hackernews.MAX_PAGES", 2)
    hn.add(*mentions(1, 1, at=T - 7200))
    first = connect(hn, username=None).fetch(None)
    hn.add(*mentions(2, 8))
    backlog = connect(hn, username=None).fetch(first.cursor)
    assert sorted(by_id(backlog), key=int) == ["5", "6", "7", "8"]
    assert backlog.cursor is not None
    resume = backlog.cursor["searches"][f"kw:{SHOP}"]["resume"]
    assert resume == {"upto": T - 3600 + 5, "top": T - 3600 + 8}
    assert "more than 2 pages of new hits" in backlog.warnings[0]
    hn.add(*mentions(9, 9))  # arrives meanwhile: read once the backlog is done
    collected = sorted(by_id(backlog), key=int)
    cursor: dict[str, Any] = backlog.cursor or {}
    for _ in range(3):
        if "resume" not in cursor["searches"][f"kw:{SHOP}"]:
            break
        result = connect(hn, username=None).fetch(cursor)
        collected += [r.external_id for r in result.records]
        cursor = result.cursor or {}
    assert sorted(collected, key=int) == ["2", "3", "4", "5", "6", "7", "8"]  # none twice
    assert cursor["searches"][f"kw:{SHOP}"]["since"] == T - 3600 + 8
    assert sorted(by_id(connect(hn, username=None).fetch(cursor))) == ["9"]


def test_no_hits_and_a_new_keyword(hn: FakeHN) -> None:
    empty = connect(hn, username=None).fetch(None)
    assert empty.records == [] and empty.cursor is not None
    assert empty.cursor["searches"] == {f"kw:{SHOP}": {"since": None, "seen": {}}}
    hn.add(story(7, author="zed", at=T - 60, title="Dana's Shop is great", url="https://x.example"))
    more = connect(hn, keywords=(SHOP, "Dana's Shop"), username=None).fetch(empty.cursor)
    assert sorted(by_id(more)) == ["7"]
    assert sorted(more.cursor["searches"]) == ["kw:Dana's Shop", f"kw:{SHOP}"]  # type: ignore[index]


def test_replies_are_read_for_recent_owner_items_only(hn: FakeHN) -> None:
    old = story(100, author="dana", at=T - 30 * 86400, title="Show HN: Dana's shop, a year ago")
    recent = story(200, author="dana", at=T - 86400, title="Show HN: Dana's shop, new cakes")
    hn.add(old, recent)
    hn.add(comment(101, author="ann", parent=100, story=100, at=T - 29 * 86400))
    hn.add(comment(201, author="bob", parent=200, story=200, at=T - 3600))
    hn.add(comment(202, author="dana", parent=201, story=200, at=T - 1800))  # the owner answers
    result = connect(hn, keywords=()).fetch(None)
    found = by_id(result)
    assert sorted(found, key=int) == ["100", "200", "201", "202"]  # 101: beyond watch_days
    assert (found["201"].kind, found["201"].parent_id, found["201"].thread_id) == (
        "reply", "200", "200",
    )  # fmt: skip
    assert found["202"].is_owner and found["202"].parent_id == "201"
    assert [r.path for r in hn.seen("/api/v1/items/100")] == []
    assert result.cursor is not None
    assert result.cursor["watch"] == [
        {"id": "202", "t": T - 1800, "kids": []},
        {"id": "200", "t": T - 86400, "kids": ["201"]},
    ]
    hn.add(comment(203, author="cy", parent=202, story=200, at=T - 60))
    later = connect(hn, keywords=()).fetch(result.cursor)
    assert sorted(by_id(later)) == ["203"]


# -- errors ---------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_transient(hn: FakeHN) -> None:
    hn.script("/api/v1/search_by_date", Answer(200, b"<html>Bad gateway</html>"))
    with pytest.raises(TransientError, match="not JSON"):
        connect(hn).fetch(None)


def test_a_429_carries_its_retry_after(hn: FakeHN) -> None:
    hn.script(
        "/api/v1/search_by_date",
        Answer(429, {"message": "Too many requests", "status": 429}, {"Retry-After": "60"}),
    )
    with pytest.raises(TransientError, match="rate limiting") as caught:
        connect(hn).fetch(None)
    assert caught.value.retry_after == 60


def test_a_timeout_and_a_server_error_are_transient(hn: FakeHN) -> None:
    hn.script("/api/v1/search_by_date", Answer(hang=True))
    with pytest.raises(TransientError, match=r"did not answer within 0\.3 s"):
        connect(hn, timeout=0.3).fetch(None)
    hn.add(story(200, author="dana", at=T - 60, title="Show HN"))
    hn.script("/api/v1/items/200", Answer(503, b"Service Unavailable"))
    with pytest.raises(TransientError, match="server problem"):
        connect(hn, keywords=()).fetch(None)


def test_a_refusal_is_an_auth_error_and_a_bad_query_a_config_error(hn: FakeHN) -> None:
    hn.script(
        "/api/v1/search_by_date", Answer(403, {"message": "Invalid Application-ID or API key"})
    )
    with pytest.raises(AuthError) as caught:
        connect(hn).fetch(None)
    assert "refused access (403 Forbidden: Invalid Application-ID or API key)" in str(caught.value)
    hn.script("/api/v1/search_by_date", Answer(400, {"message": "invalid tags", "status": 400}))
    with pytest.raises(ConfigError, match="rejected the search"):
        connect(hn).fetch(None)


def test_check(hn: FakeHN) -> None:
    with pytest.raises(ConfigError, match="there is no Hacker News user dana"):
        connect(hn).check()
    hn.users["dana"] = {"username": "dana", "karma": 12}
    assert connect(hn).check() == (
        f'HN user dana found (karma 12); watching "{SHOP}" and replies to dana\'s items of the '
        "last 14 days"
    )
    assert connect(hn, username=None).check() == (
        f'the HN search at 127.0.0.1:{hn.port} answers; watching "{SHOP}"'
    )
