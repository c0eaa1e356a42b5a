"""Tests of the Reddit connector against a fake Reddit on 127.0.0.1 (tests/fake_reddit.py).

praw and prawcore run for real, over plain HTTP, against recorded answers read in place from
../shared/realdata/praw (tests that need them are skipped where that folder is absent) and
listings the tests build in the same shape. Nothing here reaches the internet, and prawcore's
``time.sleep`` is replaced by a recorder: every test says how much sleeping praw asked for.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import prawcore
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
from connectors.reddit import RedditConnector, RedditSettings
from monitor import triage
from monitor.config import Source
from monitor.poll import poll_source
from monitor.store import Store
from monitor.triage import Known, Status
from tests.conftest import REALDATA, source_for
from tests.fake_reddit import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    PASSWORD,
    REFRESH_TOKEN,
    Answer,
    FakeReddit,
    comment,
    inbox_item,
    iter_comments,
    thing,
)

PRAW = REALDATA / "praw"
OWNER = "dana_shop"
NOW = datetime(2026, 3, 9, 14, tzinfo=UTC)
SECRETS = (CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, ACCESS_TOKEN)
T0 = 1_772_000_000.0  # synthetic listings start here (2026-02-25)


# -- fixtures and helpers ---------------------------------------------------------------------


class _NoSleep:
    """Stands in for the `time` module inside prawcore: `sleep` only records."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Seconds prawcore asked to sleep (retries, rate-limit spacing); none really slept, and
    no test needed more than a few seconds of it."""
    fake = _NoSleep()
    monkeypatch.setattr(prawcore.sessions, "time", fake)
    monkeypatch.setattr(prawcore.rate_limit, "time", fake)
    yield fake.calls
    assert sum(fake.calls) < 10, f"praw asked to sleep {fake.calls}"


@pytest.fixture
def cassettes() -> Path:
    if not PRAW.is_dir():
        pytest.skip("../shared/realdata/praw not found")
    return PRAW


@pytest.fixture
def reddit(cassettes: Path) -> Iterator[FakeReddit]:
    """A fake Reddit with the recordings, where the owner dana_shop signs in."""
    with FakeReddit(cassettes, owner=OWNER) as server:
        server.listing(f"/user/{OWNER}/comments", [])  # the owner's history: empty unless set
        yield server


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    """A fake Reddit for synthetic listings only (no recordings needed)."""
    with FakeReddit(PRAW if PRAW.is_dir() else None, owner=OWNER) as server:
        server.listing(f"/user/{OWNER}/comments", [])
        yield server


def connect(
    server: FakeReddit,
    mode: str = "password",
    *,
    owner: tuple[str, ...] = (),
    timeout: float = 5.0,
    **settings: Any,
) -> RedditConnector:
    """A connector signed in to `server` (`mode`: password, refresh_token or read_only)."""
    context = ConnectorContext(
        source="reddit", owner_identities=owner, clock=lambda: NOW, timeout=timeout
    )
    values = {**server.credentials(mode), "api_base": server.url, **settings}
    return RedditConnector(RedditSettings(**values), context)


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


def no_secret_in(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


def afters(server: FakeReddit, path: str) -> list[str | None]:
    """The `after` of each request for `path`, in order: the paging a fetch did."""
    return [r.query.get("after") for r in server.seen(path)]


def posts_listing(body: Any) -> list[dict[str, Any]]:
    """The submission of a recorded ``/comments/<id>`` answer, as a ``/submitted`` listing."""
    return body[0]["data"]["children"]


def history_of(author: str, *trees: Any) -> list[dict[str, Any]]:
    """`author`'s comments in recorded trees, newest first, as ``/user/NAME/comments`` has them."""
    mine = [c for tree in trees for c in iter_comments(tree) if c["author"] == author]
    mine.sort(key=lambda c: c["created_utc"], reverse=True)
    return [thing("t1", {**c, "replies": ""}) for c in mine]


def reddit_source(tmp_path: Path, connector: RedditConnector) -> Source:
    return source_for(tmp_path, "reddit", connector)


def statuses(store: Store) -> dict[str, Status]:
    return {i.external_id: Status(i.status) for i in store.inbox(NOW, everything=True)}


# -- registration and settings ------------------------------------------------------------------


def test_registered_under_the_sameday_connectors_entry_point() -> None:
    """Passes once pyproject.toml declares ``reddit = "connectors.reddit:RedditConnector"``
    and the package metadata is refreshed (``pip install -e .``)."""
    assert registry()["reddit"] is RedditConnector


def test_inbox_without_an_account_is_an_error_that_names_the_key_and_the_fix() -> None:
    with pytest.raises(ValidationError) as caught:
        RedditSettings(
            client_id="app", client_secret=CLIENT_SECRET, watch=["inbox", "keywords"],
            keywords=["danashop"],
        )  # fmt: skip
    (error,) = caught.value.errors()
    assert error["loc"] == ("watch",)
    assert "watching inbox needs a signed-in account" in error["msg"]
    assert "username and password" in error["msg"] and "refresh_token" in error["msg"]
    assert "only keywords can be watched" in error["msg"]
    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("values", "where", "says"),
    [
        ({"username": OWNER, "password": PASSWORD}, "password", "client_secret"),
        ({"client_secret": CLIENT_SECRET, "password": PASSWORD}, "password", "username"),
        (
            {"client_secret": CLIENT_SECRET, "username": OWNER, "password": PASSWORD,
             "refresh_token": REFRESH_TOKEN},
            "refresh_token", "not both",
        ),
        ({"client_secret": CLIENT_SECRET}, (), "only keywords can be watched"),
        (
            {"client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
             "watch": ["keywords"]},
            (), "keywords is empty",
        ),
        (
            {"client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
             "watch": ["inbox"], "keywords": ["danashop"]},
            (), "add it to watch",
        ),
        ({"client_secret": CLIENT_SECRET, "keywords": ["x"], "subreddits": ["a b"]},
         "subreddits", "not a subreddit name"),
        ({"client_secret": CLIENT_SECRET, "username": OWNER, "password": ""},
         "password", "password is empty (is its environment variable set?)"),
        ({"client_secret": CLIENT_SECRET, "keywords": ["x"], "api_base": "ftp://x"},
         "api_base", "http"),
    ],
)  # fmt: skip
def test_settings_say_what_is_wrong_and_never_echo_a_secret(
    values: dict[str, Any], where: str | tuple[()], says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        RedditSettings(client_id="app", **values)
    (error,) = caught.value.errors()
    assert error["loc"] == ((where,) if where else ())
    assert says in error["msg"]
    assert no_secret_in(str(caught.value))


def test_settings_defaults_masked_secrets_and_normalized_names() -> None:
    signed_in = RedditSettings(
        client_id="app", client_secret=CLIENT_SECRET, username="u/dana_shop", password=PASSWORD
    )
    assert signed_in.username == OWNER
    assert signed_in.watches == ("inbox", "own_posts")
    assert no_secret_in(repr(signed_in)) and no_secret_in(str(signed_in.model_dump()))
    with_keywords = RedditSettings(
        client_id="app",
        refresh_token=REFRESH_TOKEN,  # an installed app has no secret
        keywords=[" danashop ", "dana's shop", "danashop"],
        subreddits=["r/SmallBusiness", "/r/shops/"],
    )
    assert with_keywords.watches == ("inbox", "own_posts", "keywords")
    assert with_keywords.keywords == ["danashop", "dana's shop"]
    assert with_keywords.subreddits == ["SmallBusiness", "shops"]
    read_only = RedditSettings(client_id="app", client_secret=CLIENT_SECRET, keywords=["x"])
    assert not read_only.signed_in and read_only.watches == ("keywords",)


# -- the inbox ----------------------------------------------------------------------------------


def test_inbox_mentions_comment_replies_and_post_replies(reddit: FakeReddit) -> None:
    reddit.replay("TestInbox.test_mentions.json")
    reddit.replay("TestInbox.test_comment_replies.json")
    reddit.replay("TestInbox.test_submission_replies.json")
    result = connect(reddit, watch=["inbox"]).fetch(None)

    kinds = [r.kind for r in result.records]
    assert (kinds.count("mention"), kinds.count("reply"), len(result.records)) == (16, 128, 144)
    records = by_id(result)
    mention = records["t1_ekftbox"]
    assert mention == Record(
        external_id="t1_ekftbox",
        thread_id="t3_bb24k7",  # inbox items carry no link_id: taken from the context link
        parent_id="t3_bb24k7",
        author="2Botter2Loop",
        is_owner=False,
        text=mention.text,
        url="https://www.reddit.com/r/RemovedByBotter/comments/bb24k7/"
        "just_a_normal_girl_going_for_her_10th_class_exam/ekftbox/",
        created_at=datetime(2019, 4, 9, 1, 45, 8, tzinfo=UTC),
        kind="mention",
    )
    assert mention.text.startswith(f"Hello /u/{OWNER},\n\nYour [submission](https://redd.it/")
    comment_reply = records["t1_mynqwvd"]
    assert (comment_reply.kind, comment_reply.parent_id, comment_reply.thread_id) == (
        "reply", "t1_myngt77", "t3_1j7g9uj",
    )  # fmt: skip
    post_reply = records["t1_m30xcs6"]
    assert (post_reply.kind, post_reply.parent_id, post_reply.author) == (
        "reply", "t3_1hirfbl", "AutoModerator",
    )  # fmt: skip
    assert not any(r.is_owner for r in result.records)
    # The first poll reads one page of each listing; the core's backfill does the rest.
    for path in ("/message/comments", "/message/selfreply", "/message/mentions"):
        assert afters(reddit, path) == [None]
    (token,) = reddit.token_requests
    assert token.form == {"grant_type": "password", "username": OWNER, "password": PASSWORD}
    assert "sameday" in token.headers["user-agent"] and "PRAW/" in token.headers["user-agent"]
    assert reddit.unmatched == [] and result.warnings == []


def test_private_messages_are_skipped_and_deleted_authors_kept(
    reddit: FakeReddit, sleeps: list[float]
) -> None:
    # /message/unread holds 62 private messages (t4) around one comment and one post reply.
    reddit.replay("TestInbox.test_unread.json", at="/message/selfreply")
    # 100 comment replies from 2017: 86 by the account itself, 2 by deleted accounts.
    reddit.replay("TestComment.test_parent__from_replies.json")
    reddit.listing(
        "/message/mentions", [inbox_item(1, T0, author=None, body="[deleted]", parent="t1_x")]
    )
    result = connect(reddit, watch=["inbox"]).fetch(None)

    records = by_id(result)
    assert not any(r.external_id.startswith("t4_") for r in result.records)
    assert {"t1_myngt77", "t1_m30xcs6"} <= records.keys()
    mine = [r for r in result.records if r.is_owner]
    assert len(mine) == 86 and all(r.author == OWNER and r.parent_id for r in mine)
    deleted = sorted(r.external_id for r in result.records if r.author == "[deleted]")
    assert deleted == ["t1_c00001", "t1_ckhve80", "t1_d5mg8tt"]  # null author included
    assert not records["t1_c00001"].is_owner
    assert records["t1_c00001"].url == (
        "https://www.reddit.com/r/smallbusiness/comments/post1/a_post/c00001/"
    )
    assert len(result.records) == 2 + 100 + 1 and sleeps == []


# -- the answered rule --------------------------------------------------------------------------


def test_the_submitters_reply_answers_the_comment_in_a_real_store(
    cassettes: Path, tmp_path: Path, sqlite_store: Store
) -> None:
    """TestSubmission.test_comments: bboe's post, paneer_burrito's question, bboe's answer."""
    with FakeReddit(cassettes, owner="bboe") as server:
        tree = server.body("TestSubmission.test_comments.json", 1)
        server.listing("/user/bboe/submitted", posts_listing(tree))
        server.replay("TestSubmission.test_comments.json")  # GET /comments/2gmzqe/
        server.listing("/user/bboe/comments", history_of("bboe", tree))
        connector = connect(server, watch=["own_posts"])
        source = reddit_source(tmp_path, connector)
        sqlite_store.ensure_sources([("reddit", "reddit")])
        outcome = poll_source(source, connector, sqlite_store, clock=lambda: NOW)
        assert server.unmatched == []

    assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 1, 1)
    (item,) = sqlite_store.inbox(NOW, everything=True)
    assert (item.external_id, item.author, item.status) == (
        "t1_cklfmye", "paneer_burrito", Status.ANSWERED,
    )  # fmt: skip
    assert item.answered_by == "t1_cklhv0f"
    assert item.answered_at == datetime(2014, 9, 18, 3, 13, 54, tzinfo=UTC)
    assert item.thread_id == "t3_2gmzqe" and item.parent_id == "t3_2gmzqe"
    assert item.url == (
        "https://www.reddit.com/r/redditdev/comments/2gmzqe/"
        "praw_https_enabled_praw_testing_needed/cklfmye/"
    )
    assert sqlite_store.inbox(NOW) == []


def test_the_owner_answered_some_comments_and_not_others(
    cassettes: Path, tmp_path: Path, sqlite_store: Store
) -> None:
    """The context tree of TestInbox.test_comment_reply__refresh, seen by the post's author.

    Lil_SpazTest posted; a customer (the recording's <USERNAME>, here regular_rita) commented
    ("Test comment"), then replied to herself mentioning the owner; the owner answered that
    mention only, and the customer sent 61 more replies under the owner's answer.
    """
    with FakeReddit(cassettes, owner="Lil_SpazTest", fill="regular_rita") as server:
        tree = server.body("TestInbox.test_comment_reply__refresh.json", 2)
        server.listing("/user/Lil_SpazTest/submitted", posts_listing(tree))
        server.replay("TestInbox.test_comment_reply__refresh.json", at="/comments/1j7g9uj", only=2)
        server.listing("/user/Lil_SpazTest/comments", history_of("Lil_SpazTest", tree))
        connector = connect(server, watch=["own_posts"])
        sqlite_store.ensure_sources([("reddit", "reddit")])
        outcome = poll_source(
            reddit_source(tmp_path, connector), connector, sqlite_store, clock=lambda: NOW
        )
        assert server.unmatched == []

    assert outcome.error is None
    found = statuses(sqlite_store)
    answered = {i for i, s in found.items() if s is Status.ANSWERED}
    still_open = {i for i, s in found.items() if s is Status.OPEN}
    assert answered == {"t1_mynfuan"}  # "Test u/Lil_SpazTest mention", answered by t1_myngt77
    assert "t1_mynfrrh" in still_open  # the customer's first comment: nobody answered it
    assert "t1_mynh0nh" in still_open  # her reply to the owner's answer
    assert len(still_open) == 1 + 64 and len(found) == 66  # 64 replies under the answer
    (item,) = [i for i in sqlite_store.inbox(NOW, everything=True) if i.status == "answered"]
    assert item.answered_by == "t1_myngt77"
    # The owner's own comment is a reply, never an item.
    assert "t1_myngt77" not in found


def test_an_inbox_reply_is_answered_by_the_owners_comment_history(reddit: FakeReddit) -> None:
    """The same thread from the other side: <USERNAME> (dana_shop) is the owner; the inbox has
    Lil_SpazTest's reply, and the owner's answers are only in /user/dana_shop/comments."""
    reddit.replay("TestInbox.test_comment_reply__refresh.json", only=1)  # /message/comments
    reddit.listing("/message/selfreply", [])
    reddit.listing("/message/mentions", [])
    tree = reddit.body("TestInbox.test_comment_reply__refresh.json", 2)
    reddit.listing(f"/user/{OWNER}/comments", history_of(OWNER, tree))
    result = connect(reddit, watch=["inbox"]).fetch(None)

    mine = [r for r in result.records if r.is_owner]
    assert len(mine) == 66 and all(r.kind == "reply" and r.parent_id for r in mine)
    plan = triage.plan(result.records, Known())
    (item,) = plan.new_items
    assert item.record.external_id == "t1_myngt77" and item.record.kind == "reply"
    # The first owner reply after it answers it, wherever it was found.
    assert (item.status, item.answered_by) == (Status.ANSWERED, "t1_mynh0nh")
    assert item.answered_at == datetime(2025, 6, 19, 15, 58, 50, tzinfo=UTC)


def test_a_real_thread_where_the_poster_answered_six_comments_of_two_hundred(
    cassettes: Path,
) -> None:
    """TestComment.test_refresh__removed_comment: InnocuousCyanide's AskReddit post; he
    answered 6 comments. The tree's 192 "load more" stubs are asked for (three batches of 100
    ids here, answered with nothing) and the rest reported, not fetched forever."""
    with FakeReddit(cassettes, owner="InnocuousCyanide") as server:
        tree = server.body("TestComment.test_refresh__removed_comment.json", 2)
        server.listing("/user/InnocuousCyanide/submitted", posts_listing(tree))
        server.replay(
            "TestComment.test_refresh__removed_comment.json", at="/comments/6wmniq", only=2
        )
        server.listing("/user/InnocuousCyanide/comments", [])
        server.script(
            "/api/morechildren", Answer(200, {"json": {"errors": [], "data": {"things": []}}})
        )
        result = connect(server, watch=["own_posts"]).fetch(None)
        more = server.seen("/api/morechildren")

    assert len(more) == 3 and all(len(r.query["children"].split(",")) == 100 for r in more)
    assert more[0].query["link_id"] == "t3_6wmniq"
    assert result.warnings == ["post t3_6wmniq: 2559 comments behind 'load more' not read"]
    plan = triage.plan(result.records, Known())
    answered = {n.record.external_id for n in plan.new_items if n.status is Status.ANSWERED}
    assert answered == {
        "t1_dm96bm3", "t1_dm96pwe", "t1_dm96ny7", "t1_dm973k5", "t1_dm975u3", "t1_dm96f7e",
    }  # fmt: skip
    assert len(plan.new_replies) == 6
    assert len(plan.new_items) == 200 - 6  # the other 188 stay open


# -- paging and the cursor ----------------------------------------------------------------------


def test_pages_with_after_through_the_recorded_inbox_down_to_the_cursor(
    reddit: FakeReddit,
) -> None:
    """TestInbox.test_all__with_limit: two recorded pages, the second after=t4_22u9cpc.

    The first poll saw only what is now page 2 (older items); by the second poll page 1 has
    arrived: the connector pages with `after` into page 2 and stops where it had been.
    """
    reddit.listing("/message/selfreply", [])
    reddit.listing("/message/mentions", [])
    older = reddit.body("TestInbox.test_all__with_limit.json", 2)["data"]["children"]
    reddit.listing("/message/comments", older)
    first = connect(reddit, watch=["inbox"]).fetch(None)
    assert len(first.records) == 18  # page 2's post replies; its 82 private messages skipped

    reddit.listing("/message/comments", None)
    reddit.replay("TestInbox.test_all__with_limit.json", at="/message/comments")
    before = len(reddit.seen("/message/comments"))
    second = connect(reddit, watch=["inbox"]).fetch(first.cursor)  # a new instance: a restart

    assert afters(reddit, "/message/comments")[before:] == [None, "t4_22u9cpc"]
    assert sorted(by_id(second)) == ["t1_m30xcs6", "t1_myngt77"]  # page 1's two t1 items
    assert reddit.unmatched == []


def test_a_restart_with_the_saved_cursor_returns_no_old_item(reddit: FakeReddit) -> None:
    reddit.replay("TestInbox.test_mentions.json")
    reddit.replay("TestInbox.test_comment_replies.json")
    reddit.replay("TestInbox.test_submission_replies.json")
    tree = reddit.body("TestSubmission.test_comments.json", 1)
    own_post = {**posts_listing(tree)[0]["data"], "author": OWNER}
    reddit.listing(f"/user/{OWNER}/submitted", [thing("t3", own_post)])
    reddit.replay("TestSubmission.test_comments.json")
    reddit.replay("TestSubredditListings.test_comments.json")
    reddit.listing("/r/askreddit/search", [thing("t3", _post(1, T0, "Shower thoughts"))])
    reddit.listing(f"/user/{OWNER}/comments", [comment(9, T0, author=OWNER)])
    settings = {"keywords": ["shower", "school"], "subreddits": ["askreddit"]}

    first = connect(reddit, **settings).fetch(None)
    # 144 inbox items, the 2 comments under the post, 4 keyword comments and 1 keyword post,
    # and the owner's own comment.
    assert len(first.records) == 144 + 2 + 4 + 1 + 1 and reddit.unmatched == []
    assert no_secret_in(json.dumps(first.cursor))
    trees_read = len(reddit.seen("/comments/2gmzqe"))

    again = connect(reddit, **settings).fetch(first.cursor)
    assert again.records == [] and again.warnings == []
    assert len(reddit.seen("/comments/2gmzqe")) == trees_read  # num_comments did not change
    # And once more, from the cursor the restart saved.
    assert connect(reddit, **settings).fetch(again.cursor).records == []


def test_items_arriving_between_polls_over_several_pages_are_all_returned(
    fake: FakeReddit,
) -> None:
    fake.listing("/message/selfreply", [])
    fake.listing("/message/mentions", [])
    old = [inbox_item(n, T0 + n * 10) for n in range(30, 0, -1)]  # newest first
    fake.listing("/message/comments", old)
    first = connect(fake, watch=["inbox"]).fetch(None)
    assert len(first.records) == 30

    # 250 new replies (two and a half pages), one in the same second as the newest old one.
    newest_old = T0 + 300
    new = [inbox_item(n, newest_old + (n - 1000) * 5) for n in range(1249, 1000, -1)]
    new.append(inbox_item(1000, newest_old))
    fake.listing("/message/comments", new + old)
    before = len(fake.seen("/message/comments"))
    second = connect(fake, watch=["inbox"]).fetch(first.cursor)

    assert sorted(by_id(second)) == sorted(t["data"]["name"] for t in new)
    assert len(second.records) == 250  # every new one, each once, and no old one
    paging = afters(fake, "/message/comments")[before:]
    assert paging == [None, "t1_c01150", "t1_c01050"]  # page 3 reaches the old ones: stop
    assert second.warnings == []


def test_a_late_item_older_than_the_newest_is_still_returned(fake: FakeReddit) -> None:
    """An item held by the spam filter, or slow to reach the listing, shows up after newer ones:
    within the look-back (30 min) it is returned; further back it is not, and nothing is read
    twice."""
    fake.listing("/message/selfreply", [])
    fake.listing("/message/mentions", [])
    items = [inbox_item(n, T0 + n * 60) for n in range(10, 0, -1)]
    fake.listing("/message/comments", items)
    first = connect(fake, watch=["inbox"]).fetch(None)

    late = inbox_item(500, T0 + 5 * 60 + 1)  # between two items already seen
    too_late = inbox_item(501, T0 + 10 * 60 - 3600)  # an hour behind the newest
    fake.listing("/message/comments", [*items[:5], late, *items[5:], too_late])
    second = connect(fake, watch=["inbox"]).fetch(first.cursor)
    assert [r.external_id for r in second.records] == ["t1_c00500"]


def test_a_deleted_cursor_item_stops_paging_by_time_and_pages_are_bounded(
    fake: FakeReddit,
) -> None:
    fake.listing("/message/selfreply", [])
    fake.listing("/message/mentions", [])
    items = [inbox_item(n, T0 - n * 3600) for n in range(1, 6)]
    fake.listing("/message/comments", items)
    first = connect(fake, watch=["inbox"]).fetch(None)

    # Everything the cursor remembers is deleted; three new items come, then much older ones.
    older = [inbox_item(n, T0 - n * 3600) for n in range(6, 400)]
    new = [inbox_item(n, T0 + n) for n in range(1003, 1000, -1)]
    fake.listing("/message/comments", new + older)
    before = len(fake.seen("/message/comments"))
    second = connect(fake, watch=["inbox"]).fetch(first.cursor)
    assert sorted(by_id(second)) == ["t1_c01001", "t1_c01002", "t1_c01003"]
    assert afters(fake, "/message/comments")[before:] == [None]  # the first page said enough

    # A flood bigger than max_pages pages is read as far as that, and said.
    flood = [inbox_item(n, T0 + 10_000 + n) for n in range(2999, 1999, -1)]
    fake.listing("/message/comments", flood + new + older)
    before = len(fake.seen("/message/comments"))
    third = connect(fake, watch=["inbox"], max_pages=3).fetch(second.cursor)
    assert len(third.records) == 300 and len(fake.seen("/message/comments")) - before == 3
    assert third.warnings == [
        "the inbox (comment replies): more than 300 new items since the last poll; older ones "
        "were not read (poll more often)"
    ]


def test_a_listing_added_later_starts_at_the_last_poll(fake: FakeReddit) -> None:
    """Keywords added to a source that already polls: matches older than the last poll are
    history, not news (the first poll's backfill is long past)."""
    for path in ("/message/comments", "/message/selfreply", "/message/mentions"):
        fake.listing(path, [])
    first = connect(fake, watch=["inbox"]).fetch(None)

    just_now = NOW.timestamp() - 60
    fake.listing("/r/smallbusiness/search", [])
    fake.listing(
        "/r/smallbusiness/comments",
        [comment(2, just_now, body="DanaShop ships fast"), comment(1, T0, body="danashop?")],
    )
    watching = {"keywords": ["danashop"], "subreddits": ["smallbusiness"]}
    later = connect(fake, watch=["inbox", "keywords"], **watching).fetch(first.cursor)
    assert [r.external_id for r in later.records] == ["t1_c00002"]


# -- keywords and read-only mode ----------------------------------------------------------------


def _post(n: int, created: float, title: str, author: str = "a_customer") -> dict[str, Any]:
    pid = f"p{n:04d}"
    return {
        "id": pid,
        "name": f"t3_{pid}",
        "author": author,
        "title": title,
        "selftext": "",
        "url": f"https://www.reddit.com/r/askreddit/comments/{pid}/x/",
        "permalink": f"/r/askreddit/comments/{pid}/x/",
        "created_utc": created,
        "num_comments": 0,
    }


def test_read_only_mode_watches_keywords_without_an_account(reddit: FakeReddit) -> None:
    reddit.replay("TestSubredditListings.test_comments.json")  # /r/askreddit/comments
    reddit.listing(
        "/r/askreddit/search",
        [
            thing("t3", _post(2, T0 + 60, "Best SHOWER heads?")),
            thing("t3", _post(1, T0, "Unrelated post that search found anyway")),
        ],
    )
    connector = connect(
        reddit, "read_only", keywords=["shower", "school"], subreddits=["AskReddit"]
    )
    result = connector.fetch(None)

    (token,) = reddit.token_requests
    assert token.form == {"grant_type": "client_credentials"}
    assert {r.path for r in reddit.api_requests} == {"/r/askreddit/search", "/r/askreddit/comments"}
    search = reddit.seen("/r/AskReddit/search")[0].query
    assert (search["q"], search["restrict_sr"], search["sort"]) == ("shower OR school", "1", "new")
    records = by_id(result)
    post = records.pop("t3_p0002")
    assert (post.kind, post.thread_id, post.parent_id, post.text) == (
        "mention", "t3_p0002", None, "Best SHOWER heads?",
    )  # fmt: skip
    assert all(r.kind == "comment" for r in records.values())
    assert all("shower" in r.text.lower() or "school" in r.text.lower() for r in records.values())
    # Of the 100 recorded comments, these four say "shower" or "school".
    assert sorted(records) == ["t1_d4y8ajq", "t1_d4y8ax6", "t1_d4y8b2c", "t1_d4y8b4o"]
    # 2016 comments carry no permalink: a link by ids still opens them.
    assert records["t1_d4y8b4o"].url == "https://www.reddit.com/comments/4r4ijc/_/d4y8b4o/"
    reddit.serve("/r/askreddit/about", {"kind": "t5", "data": {"display_name": "AskReddit"}})
    assert connector.check() == "read-only (keywords only); watching keywords in r/AskReddit"


# -- errors ------------------------------------------------------------------------------------


def spent(reset: int) -> dict[str, str]:
    """Rate-limit headers of a window with no request left."""
    return {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "600",
        "x-ratelimit-reset": str(reset),
    }


def test_429_is_transient_with_retry_after(fake: FakeReddit, sleeps: list[float]) -> None:
    too_many = {"message": "Too Many Requests", "error": 429}
    fake.script("/message/comments", Answer(429, too_many, {"Retry-After": "120", **spent(118)}))
    with pytest.raises(TransientError) as caught:
        connect(fake, watch=["inbox"]).fetch(None)
    assert caught.value.retry_after == 120
    assert str(caught.value) == "Reddit is rate limiting us (429); will retry in 120 s"

    fake.script("/message/comments", Answer(429, too_many, spent(45)))  # no Retry-After
    with pytest.raises(TransientError) as caught:
        connect(fake, watch=["inbox"]).fetch(None)
    assert caught.value.retry_after == 45

    # The token endpoint has its own limit, and answers 429 the same way.
    fake.script("/api/v1/access_token", Answer(429, too_many, {"Retry-After": "30"}), method="POST")
    with pytest.raises(TransientError) as caught:
        connect(fake, watch=["inbox"]).fetch(None)
    assert caught.value.retry_after == 30
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient_after_prawcores_short_retries(
    fake: FakeReddit, sleeps: list[float], status: int
) -> None:
    fake.script("/message/comments", Answer(status, {"message": "oops"}, {"Retry-After": "30"}))
    with pytest.raises(TransientError) as caught:
        connect(fake, watch=["inbox"]).fetch(None)
    assert str(caught.value) == (
        f"Reddit has a server problem ({status}) reading the inbox (comment replies); will retry"
    )
    assert caught.value.retry_after == 30
    assert len(fake.seen("/message/comments")) == 3  # prawcore tried twice more…
    assert len(sleeps) == 2 and sum(sleeps) < 6  # …after a few seconds it never really slept


def test_a_timeout_is_transient(fake: FakeReddit) -> None:
    fake.script("/message/comments", Answer(hang=True))
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        connect(fake, watch=["inbox"], timeout=0.2).fetch(None)
    assert str(caught.value) == "Reddit did not answer within 0.2 s; will retry"
    assert len(fake.seen("/message/comments")) == 3  # prawcore retries a read timeout twice
    assert time.monotonic() - started < 3  # three tries of 0.2 s: our timeout applied


def test_an_expired_refresh_token_says_so_and_shows_no_secret(fake: FakeReddit) -> None:
    fake.script(
        "/api/v1/access_token",
        Answer(200, {"error": "invalid_grant"}),  # what Reddit answers, with a 200
        Answer(400, {"error": "invalid_grant"}),  # and what it sometimes answers instead
        method="POST",
    )
    for _ in range(2):
        connector = connect(fake, "refresh_token", watch=["inbox"])
        with pytest.raises(AuthError) as caught:
            connector.fetch(None)
        message = str(caught.value)
        assert message.startswith("the refresh token has expired or was revoked: make a new one")
        assert no_secret_in(message)
    with pytest.raises(AuthError, match="expired or was revoked"):
        connect(fake, "refresh_token", watch=["inbox"]).check()


def test_a_wrong_password_or_client_secret_is_said_plainly(
    fake: FakeReddit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # praw's, prawcore's and urllib3's debug lines included
    context = ConnectorContext(source="reddit", owner_identities=(), timeout=5)
    wrong_password = RedditSettings(
        **{**fake.credentials(), "password": "not-the-password"}, api_base=fake.url
    )
    with pytest.raises(AuthError) as caught:
        RedditConnector(wrong_password, context).fetch(None)
    assert str(caught.value).startswith(
        f"Reddit refused the username or password for u/{OWNER}: check password"
    )
    wrong_secret = RedditSettings(
        **{**fake.credentials(), "client_secret": "not-the-secret"}, api_base=fake.url
    )
    with pytest.raises(AuthError) as caught:
        RedditConnector(wrong_secret, context).fetch(None)
    message = str(caught.value)
    assert "wrong client id or secret" in message and "not-the-secret" not in message
    assert no_secret_in(message)
    connect(fake, watch=["inbox"]).fetch(None)  # and a good sign-in, for its log lines
    assert "access_token" in caplog.text and no_secret_in(caplog.text)
    assert "not-the-secret" not in caplog.text and "not-the-password" not in caplog.text


def test_a_missing_scope_is_named(fake: FakeReddit) -> None:
    fake.scope = "identity history read"  # the token was made without privatemessages
    insufficient = {"www-authenticate": 'Bearer realm="reddit", error="insufficient_scope"'}
    fake.script("/message/comments", Answer(403, {"message": "Forbidden"}, insufficient))
    connector = connect(fake, "refresh_token", watch=["inbox"])
    with pytest.raises(AuthError) as caught:
        connector.fetch(None)
    assert str(caught.value).startswith("the app lacks the scope privatemessages:")
    with pytest.raises(AuthError) as caught:
        connector.check()
    assert str(caught.value).startswith("the app lacks the scope privatemessages:")
    # A bare 403 (no WWW-Authenticate) still names what the request needed.
    fake.script("/message/comments", Answer(403, {"message": "Forbidden", "error": 403}))
    with pytest.raises(AuthError, match="lacks the scope privatemessages"):
        connect(fake, watch=["inbox"]).fetch(None)


def test_a_missing_subreddit_is_a_warning_beside_working_parts(fake: FakeReddit) -> None:
    fake.listing("/message/comments", [inbox_item(1, T0)])
    fake.listing("/message/selfreply", [])
    fake.listing("/message/mentions", [])
    gone = Answer(302, None, {"Location": "https://www.reddit.com/subreddits/search?q=nosuchsub"})
    fake.script("/r/nosuchsub/search", gone)
    fake.script("/r/nosuchsub/about", gone)
    result = connect(
        fake, watch=["inbox", "keywords"], keywords=["danashop"], subreddits=["nosuchsub"]
    ).fetch(None)
    assert [r.external_id for r in result.records] == ["t1_c00001"]
    assert result.warnings == [
        "the search in r/nosuchsub: no such subreddit (misspelt, or banned); check subreddits"
    ]
    with pytest.raises(ConfigError, match="no such subreddit"):
        connect(fake, "read_only", keywords=["danashop"], subreddits=["nosuchsub"]).fetch(None)
    with pytest.raises(ConfigError, match=r"^r/nosuchsub: no such subreddit"):
        connect(fake, "read_only", keywords=["danashop"], subreddits=["nosuchsub"]).check()

    # A misspelt username in read-only mode: the owner's history cannot be read; keywords can.
    fake.listing("/r/smallbusiness/search", [thing("t3", _post(1, T0, "danashop rocks"))])
    fake.listing("/r/smallbusiness/comments", [])
    result = connect(
        fake, "read_only", username="gone_user", keywords=["danashop"], subreddits=["smallbusiness"]
    ).fetch(None)
    assert [r.external_id for r in result.records] == ["t3_p0001"]
    assert result.warnings == [
        "u/gone_user's comments: not found, the account does not exist or is suspended; "
        "check username"
    ]
    with pytest.raises(ConfigError, match=r"^u/gone_user: not found, the account does not exist"):
        connect(fake, "read_only", username="gone_user", keywords=["danashop"]).check()


def test_check_signs_in_and_says_as_whom(fake: FakeReddit) -> None:
    assert isinstance(connect(fake), Checkable)  # what `sameday check` looks for
    assert connect(fake).check() == (
        f"signed in as u/{OWNER} (scopes: *); watching the inbox, the trees of the 10 newest posts"
    )
    fake.scope = "history identity privatemessages read"
    fake.serve("/api/v1/me", {"name": OWNER, "id": "abc"})
    assert connect(fake, "refresh_token").check() == (
        f"signed in as u/{OWNER} (scopes: history, identity, privatemessages, read); watching "
        "the inbox, the trees of the 10 newest posts"
    )
    with pytest.raises(ConfigError, match="belong to u/dana_shop, not u/someone_else"):
        connect(fake, "refresh_token", username="someone_else").check()


def test_a_spent_rate_budget_stops_the_fetch_instead_of_sleeping(
    fake: FakeReddit, sleeps: list[float]
) -> None:
    fake.listing("/message/comments", [inbox_item(1, T0)])
    fake.listing("/message/selfreply", [inbox_item(2, T0 + 1)])
    fake.listing("/message/mentions", [inbox_item(3, T0 + 2)])
    fake.ratelimit = spent(120)
    result = connect(fake, watch=["inbox"]).fetch(None)

    assert [r.external_id for r in result.records] == ["t1_c00001"]
    assert len(fake.api_requests) == 1 and sleeps == []  # prawcore would have slept 120 s
    assert result.wait_at_least is not None and 110 < result.wait_at_least <= 120
    assert result.warnings == ["Reddit's request budget ran out; the rest is read in 120 s"]

    # Next time the unread listings are read from where they were: nothing is skipped.
    fake.ratelimit = {
        "x-ratelimit-remaining": "590",
        "x-ratelimit-used": "10",
        "x-ratelimit-reset": "300",
    }
    later = connect(fake, watch=["inbox"]).fetch(result.cursor)
    assert sorted(by_id(later)) == ["t1_c00002", "t1_c00003"]
    assert later.wait_at_least is None and sleeps == []


def test_a_failing_reddit_source_is_an_error_value_without_secrets(
    fake: FakeReddit, tmp_path: Path, sqlite_store: Store
) -> None:
    fake.script("/api/v1/access_token", Answer(401, {"error": 401}), method="POST")
    connector = connect(fake, watch=["inbox"])
    sqlite_store.ensure_sources([("reddit", "reddit")])
    outcome = poll_source(reddit_source(tmp_path, connector), connector, sqlite_store)
    assert outcome.error is not None and outcome.error.startswith("credentials: ")
    assert "wrong client id or secret" in outcome.error and no_secret_in(outcome.error)
    assert sqlite_store.count_items() == 0
