"""Tests of the Discourse connector against a fake forum on 127.0.0.1 (tests/fake_discourse.py).

The discourse_api recordings (../shared/realdata/discourse_api) are read in place; the tests that
need them are skipped where that folder is absent. Everything else uses posts in the recorded
shape. Nothing here reaches the internet or sleeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
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
from connectors.discourse import DiscourseConnector, DiscourseSettings, post_text
from monitor.config import Source
from monitor.poll import poll_source
from monitor.store import Store
from monitor.triage import Status
from tests.conftest import REALDATA, source_for
from tests.fake_discourse import FakeDiscourse, notification, post
from tests.fake_json import Answer

RECORDED = REALDATA / "discourse_api"
KEY = "discourse-key-9f8e7d6c5b4a"
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


@pytest.fixture
def recorded() -> Path:
    if not RECORDED.is_dir():
        pytest.skip(f"{RECORDED} not found: the recorded Discourse answers are not available")
    return RECORDED


@pytest.fixture
def forum() -> Iterator[FakeDiscourse]:
    with FakeDiscourse(api_key=KEY, username="dana") as server:
        yield server


def connect(
    forum: FakeDiscourse,
    *,
    key: str | None = None,
    owner: tuple[str, ...] = ("dana",),
    username: str | None = "dana",
    timeout: float = 5.0,
    url: str | None = None,
) -> DiscourseConnector:
    secret = SecretStr(key) if key is not None else None
    settings = DiscourseSettings(url=url or forum.url, api_username=username, api_key=secret)
    context = ConnectorContext(
        source="forum", owner_identities=owner, clock=lambda: NOW, timeout=timeout
    )
    return DiscourseConnector(settings, context)


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


def befores(forum: FakeDiscourse) -> list[str | None]:
    """The `before` of each /posts.json request, in order: the paging the fetches did."""
    return [r.arg("before") for r in forum.seen("/posts.json")]


def forum_source(tmp_path: Path, connector: DiscourseConnector) -> Source:
    return source_for(tmp_path, "forum", connector)


def statuses(store: Store) -> dict[str, tuple[Status, str | None]]:
    return {
        i.external_id: (Status(i.status), i.answered_by) for i in store.inbox(NOW, everything=True)
    }


def _cursor(store: Store) -> dict[str, Any] | None:
    row = store.source("forum")
    assert row is not None
    return row.cursor


def at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


# -- registration and settings ------------------------------------------------------------------


def test_registered_under_the_sameday_connectors_entry_point() -> None:
    """Passes once pyproject.toml declares
    ``discourse = "connectors.discourse:DiscourseConnector"`` and the package is reinstalled."""
    assert registry()["discourse"] is DiscourseConnector
    assert issubclass(DiscourseConnector, Checkable)


def test_settings_need_a_user_with_a_key_and_never_echo_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        DiscourseSettings(url="https://forum.example.com", api_key=SecretStr(KEY))
    assert "api_key needs api_username" in str(caught.value)
    assert KEY not in str(caught.value)
    with pytest.raises(ValidationError, match="http"):
        DiscourseSettings(url="forum.example.com")
    settings = DiscourseSettings(
        url="https://forum.example.com/", api_username="@dana", api_key=SecretStr(KEY)
    )
    assert (settings.url, settings.api_username) == ("https://forum.example.com", "dana")
    assert KEY not in repr(settings)


# -- records from the recorded shapes -----------------------------------------------------------


def test_recorded_posts_become_records_with_topics_parents_and_permalinks(
    recorded: Path,
) -> None:
    with FakeDiscourse() as forum:
        forum.load_recorded(recorded)
        result = connect(forum, owner=("stienman",), username=None).fetch(None)

    found = by_id(result)
    # The forum's bot (system, user id -1) and samsaffron's "now pinned" notice are left out.
    assert sorted(found, key=int) == ["14", "15", "83", "86", "226"]
    splattne = found["226"]
    assert (splattne.thread_id, splattne.parent_id, splattne.author) == ("57", "83", "splattne")
    assert splattne.created_at == datetime(2013, 2, 5, 17, 14, 17, 364000, tzinfo=UTC)
    assert splattne.url == (f"{forum.url}/t/this-site-is-a-sandbox-it-is-reset-every-day/57/14")
    assert splattne.text.startswith("What? So I have to post this every day?")
    assert "<" not in splattne.text and not splattne.is_owner
    assert found["86"].is_owner and found["86"].kind == "comment"  # a reply to the topic
    john = found["15"]
    assert (john.thread_id, john.parent_id, john.text) == ("11", None, "holla bullhonky.")
    assert john.created_at == datetime(2020, 1, 25, 2, 10, 7, 971000, tzinfo=UTC)
    assert result.cursor == {"url": forum.url, "posts": {"last": 226}}
    assert result.warnings == []


def test_text_is_the_cooked_html_without_quotes_not_the_raw_markdown(recorded: Path) -> None:
    latest = json.loads((recorded / "posts_latest.json").read_text())["latest_posts"]
    welcome = next(p for p in latest if p["id"] == 10)
    assert "<img" in welcome["raw"]  # raw Markdown may hold HTML: not plain text
    text = post_text(welcome)
    assert "<" not in text and text.startswith("The first paragraph of this pinned topic")
    assert "Who is it for?\nWhat can they find here?" in text
    quoted = (
        '<aside class="quote no-group" data-username="dana" data-post="2" data-topic="11">'
        '<div class="title">dana:</div><blockquote><p>We open at 9.</p></blockquote></aside>\n'
        "<p>And on Sundays?</p>"
    )
    assert post_text({"cooked": quoted, "raw": "[quote]…[/quote]"}) == "And on Sundays?"
    assert post_text({"raw": "Only *raw* here"}) == "Only *raw* here"


# -- the answered rule, through a real poll into SQLite -----------------------------------------


def test_owner_posts_answer_their_topic_or_their_parent_in_a_real_store(
    recorded: Path, tmp_path: Path, sqlite_store: Store
) -> None:
    """Recorded topic 57: samsaffron opens it, the owner (stienman) answers the topic, splattne
    replies to post #1 later. Recorded topic 11: johndoe's two posts, unanswered."""
    sqlite_store.ensure_sources([("forum", "discourse")])
    with FakeDiscourse() as forum:
        forum.load_recorded(recorded)
        first = connect(forum, owner=("stienman",), username=None)
        outcome = poll_source(forum_source(tmp_path, first), first, sqlite_store, clock=lambda: NOW)
        assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 4, 1)
        found = statuses(sqlite_store)
        assert found == {
            "83": (Status.ANSWERED, "86"),  # the owner's reply to the topic came after it
            "226": (Status.OPEN, None),  # written the next day: the reply came before it
            "14": (Status.OPEN, None),
            "15": (Status.OPEN, None),
        }

        # The owner answers splattne with the reply button of post #14, and johndoe's second
        # post; a new instance (a restart) resolves #14 and #2 through the topics' JSON.
        forum.add(
            post(300, topic=57, number=15, username="stienman", reply_to=14, created_at=at(30)),
            post(301, topic=11, number=3, username="stienman", reply_to=2, created_at=at(20)),
        )
        later = connect(forum, owner=("stienman",), username=None)
        cursor = _cursor(sqlite_store)
        outcome = poll_source(forum_source(tmp_path, later), later, sqlite_store, clock=lambda: NOW)
        assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 0, 2)
        assert outcome.answered == 2
        assert cursor == {"url": forum.url, "posts": {"last": 226}}
        lookups = {r.path for r in forum.requests[-2:]}
        assert lookups == {"/t/57.json", "/t/11.json"}  # one request per topic

    assert statuses(sqlite_store) == {
        "83": (Status.ANSWERED, "86"),
        "226": (Status.ANSWERED, "300"),
        "14": (Status.OPEN, None),  # a reply to post #2 answers #2 only
        "15": (Status.ANSWERED, "301"),
    }
    assert _cursor(sqlite_store) == {"url": forum.url, "posts": {"last": 301}}


def test_a_parent_beyond_the_topics_first_page_is_read_from_the_page_around_it(
    forum: FakeDiscourse,
) -> None:
    forum.add(*(post(10 + n, topic=5, number=n, created_at=at(200 - n)) for n in range(1, 31)))
    first = connect(forum).fetch(None)
    assert len(first.records) == 30
    forum.add(post(90, topic=5, number=31, username="dana", reply_to=27, created_at=at(5)))
    # A restart: nothing remembered, and post #27 is not on the topic's first page (20 posts).
    result = connect(forum).fetch(first.cursor)
    (reply,) = result.records
    assert (reply.parent_id, reply.is_owner, reply.kind) == ("37", True, "reply")
    assert [r.path for r in forum.requests[-2:]] == ["/t/5.json", "/t/5/27.json"]


def test_a_reply_to_a_deleted_post_answers_nothing(
    forum: FakeDiscourse, tmp_path: Path, sqlite_store: Store
) -> None:
    sqlite_store.ensure_sources([("forum", "discourse")])
    forum.add(post(1, topic=3, number=1, created_at=at(60)))
    forum.add(post(5, topic=3, number=4, username="dana", reply_to=2, created_at=at(10)))
    connector = connect(forum)
    poll_source(forum_source(tmp_path, connector), connector, sqlite_store, clock=lambda: NOW)
    owner_reply = connect(forum).fetch(None).records[0]
    assert owner_reply.parent_id == "3#2"  # post #2 is gone: names no item
    assert statuses(sqlite_store) == {"1": (Status.OPEN, None)}


# -- paging and the cursor ----------------------------------------------------------------------


def test_paging_back_to_the_cursor_and_a_restart_returns_nothing_old() -> None:
    with FakeDiscourse(page_size=2) as forum:
        forum.add(*(post(i, topic=1, number=i, created_at=at(100 - i)) for i in range(1, 6)))
        first = connect(forum).fetch(None)
        assert sorted(by_id(first), key=int) == ["1", "2", "3", "4", "5"]
        assert befores(forum) == [None, "4", "2", "1"]  # the last page is empty
        assert first.cursor == {"url": forum.url, "posts": {"last": 5}}

        # Five new posts between polls: three pages back to the cursor, none skipped.
        forum.add(*(post(i, topic=2, number=i - 5, created_at=at(50 - i)) for i in range(6, 11)))
        forum.requests.clear()
        second = connect(forum).fetch(first.cursor)
        assert sorted(by_id(second), key=int) == ["6", "7", "8", "9", "10"]
        assert befores(forum) == [None, "9", "7"]  # stops on reaching post 5
        assert second.cursor == {"url": forum.url, "posts": {"last": 10}}

        restarted = connect(forum).fetch(second.cursor)
        assert restarted.records == [] and restarted.cursor == second.cursor


def test_a_backlog_beyond_the_page_bound_is_finished_at_the_next_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("connectors.discourse.MAX_PAGES", 2)
    with FakeDiscourse(page_size=2) as forum:
        forum.add(post(1, topic=1, number=1, created_at=at(300)))
        first = connect(forum).fetch(None)
        forum.add(*(post(i, topic=1, number=i, created_at=at(200 - i)) for i in range(2, 9)))
        backlog = connect(forum).fetch(first.cursor)
        assert sorted(by_id(backlog), key=int) == ["5", "6", "7", "8"]
        assert backlog.cursor == {
            "url": forum.url,
            "posts": {"last": 1, "resume": {"before": 5, "top": 8}},
        }
        assert "more than 2 pages of new posts" in backlog.warnings[0]

        forum.add(post(9, topic=1, number=9, created_at=at(10)))  # arrives meanwhile
        rest = connect(forum).fetch(backlog.cursor)
        assert sorted(by_id(rest), key=int) == ["2", "3", "4"]
        assert rest.cursor == {"url": forum.url, "posts": {"last": 8}}
        newest = connect(forum).fetch(rest.cursor)
        assert sorted(by_id(newest)) == ["9"]


def test_an_empty_forum_and_a_cursor_for_another_forum(forum: FakeDiscourse) -> None:
    empty = connect(forum).fetch(None)
    assert empty.records == [] and empty.cursor == {"url": forum.url, "posts": {"last": None}}
    forum.add(post(1, topic=1, number=1))
    assert [r.external_id for r in connect(forum).fetch(empty.cursor).records] == ["1"]
    elsewhere = {"url": "https://other.example.com", "posts": {"last": 99}}
    assert [r.external_id for r in connect(forum).fetch(elsewhere).records] == ["1"]


# -- notifications (with an API key) ------------------------------------------------------------


def test_notifications_bring_mentions_outside_the_latest_posts(forum: FakeDiscourse) -> None:
    listed = post(20, topic=4, number=2, username="ann", created_at=at(30))
    restricted = post(21, topic=9, number=5, username="bob", created_at=at(20))
    forum.add(listed)
    forum.add(restricted, listed=False)  # a category /posts.json leaves out
    forum.notifications = [
        notification(302, restricted, kind=1),  # mentioned
        notification(301, listed, kind=2),  # replied
        notification(300, listed, kind=5),  # liked: not worth an answer
    ]
    result = connect(forum, key=KEY).fetch(None)

    found = by_id(result)
    assert sorted(found) == ["20", "21"]
    assert (found["21"].kind, found["21"].author, found["21"].thread_id) == ("mention", "bob", "9")
    assert found["20"].kind == "reply"
    assert result.cursor == {
        "url": forum.url,
        "posts": {"last": 20},
        "notifications": {"last": 302, "last_at": "2026-03-09T14:40:00+00:00"},
    }
    (lookup,) = forum.seen("/t/9/posts.json")
    assert lookup.query == {"post_ids[]": ["21"]}
    assert all(r.headers["api-key"] == KEY for r in forum.requests)
    assert all(r.headers["api-username"] == "dana" for r in forum.requests)
    # Restarted with the cursor: nothing old again.
    assert connect(forum, key=KEY).fetch(result.cursor).records == []


def test_notifications_page_back_to_the_cursor(forum: FakeDiscourse) -> None:
    forum.notes_page = 2
    posts = [post(i, topic=9, number=i, created_at=at(100 - i)) for i in range(1, 8)]
    forum.add(*posts, listed=False)
    forum.notifications = [notification(100 + i, posts[i - 1]) for i in range(2, 0, -1)]
    first = connect(forum, key=KEY).fetch(None)
    assert sorted(by_id(first)) == ["1", "2"]
    forum.notifications = [notification(100 + i, posts[i - 1]) for i in range(7, 0, -1)]
    second = connect(forum, key=KEY).fetch(first.cursor)
    assert sorted(by_id(second)) == ["3", "4", "5", "6", "7"]
    offsets = [r.arg("offset") for r in forum.seen("/notifications.json")]
    assert offsets == [None, None, "2", "4"]  # the third page reaches notification 102


def test_the_recorded_notification_and_topic_posts_shapes(
    recorded: Path, forum: FakeDiscourse
) -> None:
    """notifications.json (2014: a bare list, no ids) and topic_posts.json (``raw`` as a list)."""
    forum.serve("/notifications.json", json.loads((recorded / "notifications.json").read_text()))
    topic_posts = json.loads((recorded / "topic_posts.json").read_text())
    # The notification names post 47600 of topic 14404: the recorded post, moved there.
    forum.serve("/t/14404/posts.json", _renumbered(topic_posts, post_id=47600, topic=14404))
    result = connect(forum, key=KEY).fetch(None)

    (record,) = result.records
    assert (record.external_id, record.thread_id, record.author) == (
        "47600",
        "14404",
        "Some-username",
    )
    assert record.text == "Some text." and record.kind == "comment"  # type 9: posted
    assert record.url == f"{forum.url}/t/some-topic-slug/14404/2"
    assert result.cursor is not None
    assert result.cursor["notifications"] == {
        "last": None,
        "last_at": "2014-04-02T15:58:00.670000+00:00",
    }
    assert connect(forum, key=KEY).fetch(result.cursor).records == []


def _renumbered(body: dict[str, Any], *, post_id: int, topic: int) -> dict[str, Any]:
    posts = [{**p, "id": post_id, "topic_id": topic} for p in body["post_stream"]["posts"]]
    return {**body, "post_stream": {"posts": posts}, "id": topic}


# -- errors -------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_transient(forum: FakeDiscourse) -> None:
    forum.script("/posts.json", Answer(200, b"<!DOCTYPE html><html>Maintenance</html>"))
    with pytest.raises(TransientError, match="not JSON") as caught:
        connect(forum).fetch(None)
    assert caught.value.retry_after is None


def test_rate_limits_carry_the_wait(forum: FakeDiscourse) -> None:
    limited = {
        "errors": ["You’ve performed this action too many times. Please wait 12 seconds."],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": 12, "time_left": "12 seconds"},
    }
    forum.script(
        "/posts.json",
        Answer(429, limited, {"Retry-After": "30"}),
        Answer(429, limited),  # no header: Discourse's own extras.wait_seconds
    )
    with pytest.raises(TransientError, match="rate limiting") as caught:
        connect(forum).fetch(None)
    assert caught.value.retry_after == 30
    with pytest.raises(TransientError) as caught:
        connect(forum).fetch(None)
    assert caught.value.retry_after == 12


def test_a_timeout_and_a_server_error_are_transient(forum: FakeDiscourse) -> None:
    forum.script("/posts.json", Answer(hang=True))
    with pytest.raises(TransientError, match=r"did not answer within 0\.3 s"):
        connect(forum, timeout=0.3).fetch(None)
    forum.script("/posts.json", Answer(502, b"Bad Gateway"))
    with pytest.raises(TransientError, match="server problem"):
        connect(forum).fetch(None)
    # A topic lookup that times out fails the fetch: no reply is stored with a wrong parent.
    forum.add(post(2, topic=1, number=2, username="dana", reply_to=1))
    forum.script("/t/1.json", Answer(hang=True))
    with pytest.raises(TransientError):
        connect(forum, timeout=0.3).fetch(None)


def test_a_wrong_key_is_an_auth_error_without_the_key(forum: FakeDiscourse) -> None:
    wrong = "wrong-key-0000-secret"
    with pytest.raises(AuthError) as caught:
        connect(forum, key=wrong).fetch(None)
    message = str(caught.value)
    assert "refused the API key for dana" in message and "lacks scope" in message
    assert "The API username or key is invalid." in message
    assert wrong not in message and KEY not in message
    with pytest.raises(AuthError, match="refused the API key"):
        connect(forum, key=wrong).check()


def test_a_forum_that_needs_a_login_and_a_wrong_url() -> None:
    with FakeDiscourse(login_required=True) as forum:
        with pytest.raises(AuthError, match="needs a login — set api_username and api_key"):
            connect(forum).fetch(None)
        with pytest.raises(ConfigError, match=re.escape("check that sources[].url is the forum")):
            connect(forum, url=forum.url + "/not-a-forum").fetch(None)


# -- check ----------------------------------------------------------------------------------------


def test_check_with_a_key_and_in_public_mode(forum: FakeDiscourse) -> None:
    assert connect(forum, key=KEY).check() == (
        f"signed in to 127.0.0.1:{forum.port} as dana with the API key; watching the latest "
        "posts and dana's mentions, replies and quotes"
    )
    assert (
        connect(forum, username=None)
        .check()
        .startswith(f"127.0.0.1:{forum.port} answers without a login; watching the latest posts")
    )
    forum.add(post(1, topic=1, number=1, username="dana"))
    assert "has a user dana" in connect(forum).check()
    with pytest.raises(ConfigError, match="the user nobody not found"):
        connect(forum, username="nobody").check()
