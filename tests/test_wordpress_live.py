"""The WordPress connector against a real WordPress: Debian's package, MariaDB, Apache with PHP.

`tests.wordpress_setup` installs what is missing and starts a fresh, empty blog on a free port of
127.0.0.1 for this module (about 30 s the first time on a machine, for the packages; about 3 s
after that). The test skips, printing why, only where the packages cannot be installed; any
other setup problem is a failure.

Visitors comment through the REST API (a first-time commenter is held for moderation, as
WordPress does by default) and the owner replies threaded under some of them; then real polls
run the connector into a SQLite store, and the comment feed (``/?feed=comments-rss2``) through
the feed connector is held against what the REST path stored. The site runs in New York time,
so WordPress's ``after`` (compared in local time) is exercised for real.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import AuthError, ConnectorContext, Record
from connectors.wordpress import WordPressConnector, WordPressSettings
from monitor.config import Config, Source, parse_config
from monitor.models import ItemRow
from monitor.poll import build_connector, poll_source
from monitor.store import Store
from tests import wordpress_setup
from tests.wordpress_setup import Site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    try:
        started = wordpress_setup.start()
    except wordpress_setup.Unavailable as exc:
        pytest.skip(f"no real WordPress here: {exc}")
    except wordpress_setup.SetupError as exc:
        pytest.fail(f"WordPress is installed but could not be set up: {exc}")
    yield started
    started.close()
    wordpress_setup.stop()


def config(site: Site, tmp_path: Path) -> Config:
    return parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {feed: [dana]}}\n"
        "sources:\n"
        "  - {name: wp, type: demo, every: 5m, backfill: all, owner: [dana]}\n"
        f"  - {{name: feed, type: feed, url: '{site.url}/?feed=comments-rss2', backfill: all}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/unused.db'}}\n",
        path="test.yaml",
        environ={},
    )


def rest_source(site: Site, cfg: Config) -> Source:
    """The WordPress source (built from a demo one: the entry point may not be installed yet)."""
    settings = WordPressSettings.model_validate(
        {"url": site.url, "username": site.username, "app_password": site.app_password}
    )
    return dataclasses.replace(
        cfg.source("wp"), type="wordpress", connector_class=WordPressConnector, settings=settings
    )


def wordpress(site: Site, *, signed_in: bool = True, **settings: str) -> WordPressConnector:
    if signed_in:
        settings = {"username": site.username, "app_password": site.app_password, **settings}
    return WordPressConnector(
        WordPressSettings.model_validate({"url": site.url, **settings}),
        ConnectorContext(source="wp", owner_identities=("dana",)),
    )


def stored(store: Store, db: Path) -> tuple[dict[str, ItemRow], set[str]]:
    """The stored items by external id, and the external ids of the owner's replies."""
    items = {i.external_id: i for i in store.inbox(datetime.now(UTC), everything=True)}
    with sqlite3.connect(db) as conn:
        replies = {r[0] for r in conn.execute("SELECT external_id FROM owner_replies")}
    return items, replies


def test_polls_find_every_comment_once_and_threaded_replies_answer_their_parent(
    site: Site, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)

    def at(minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def gmt(minutes: int) -> str:  # as WordPress takes date_gmt
        return at(minutes).strftime("%Y-%m-%dT%H:%M:%S")

    hours = site.create_post("Opening hours")
    beans = site.create_post("New beans")
    cups = site.create_post("Cups")

    c1 = site.visitor_comment(hours, "Ann", "Are you open on Sunday?", date_gmt=gmt(0))
    assert c1["status"] == "hold"  # a first-time commenter waits for the owner
    site.moderate(c1["id"])
    c3 = site.visitor_comment(beans, "Ben", "Is the decaf any good?", date_gmt=gmt(5))
    site.moderate(c3["id"])
    r1 = site.owner_comment(hours, "Yes, 10 to 4!", parent=c1["id"], date_gmt=gmt(10))
    c2 = site.visitor_comment(hours, "Ann", "And on holidays?", date_gmt=gmt(20))
    assert c2["status"] == "approved"  # Ann was approved once: no moderation now
    c4 = site.visitor_comment(beans, "Zoe", "First time here, love it", date_gmt=gmt(30))
    assert c4["status"] == "hold"  # stays held through the first polls
    c5 = site.visitor_comment(cups, "Cleo", "Do you sell cups?", date_gmt=gmt(40))
    site.moderate(c5["id"])
    c6 = site.visitor_comment(cups, "Ben", "What sizes?", date_gmt=gmt(45))
    r2 = site.owner_comment(cups, "8 and 12 oz.", parent=c6["id"], date_gmt=gmt(50))
    assert r1["author"] == r2["author"] == site.owner_id

    cfg = config(site, tmp_path)
    source = rest_source(site, cfg)
    db = tmp_path / "rest.db"
    store = Store(f"sqlite:///{db}")
    store.ensure_sources([("wp", "wordpress")])
    rest = build_connector(source)
    try:
        first = poll_source(source, rest, store)
        assert (first.error, first.new_items, first.new_replies, first.answered) == (None, 6, 2, 2)
        assert first.warning is None
        items, replies = stored(store, db)
        assert replies == {str(r1["id"]), str(r2["id"])}
        assert set(items) == {str(c["id"]) for c in (c1, c2, c3, c4, c5, c6)}
        # The owner's threaded reply marks its parent answered, with the reply's own time.
        ann, ben = items[str(c1["id"])], items[str(c6["id"])]
        assert (ann.status, ann.answered_at, ann.answered_by) == ("answered", at(10), str(r1["id"]))
        assert (ben.status, ben.answered_at, ben.answered_by) == ("answered", at(50), str(r2["id"]))
        # Unanswered ones stay open; Cleo's too: the reply in her post was to Ben.
        assert {items[str(c["id"])].status for c in (c2, c3, c4, c5)} == {"open"}
        assert items[str(c4["id"])].kind == "held-comment"  # awaiting moderation
        assert {items[str(c["id"])].kind for c in (c1, c2, c3, c5, c6)} == {"comment"}

        # Nothing new: nothing found twice.
        second = poll_source(source, rest, store)
        assert (second.error, second.new_items, second.new_replies) == (None, 0, 0)
        state = store.source("wp")
        assert state is not None and state.cursor is not None
        assert rest.fetch(state.cursor).records == []

        # Zoe is approved (she was stored while held: not new again); Ann writes in the very
        # second of the newest comment read (r2), and Ben writes now.
        site.moderate(c4["id"])
        c7 = site.visitor_comment(beans, "Ann", "Oat milk too?", date_gmt=gmt(50))
        assert c7["status"] == "approved"
        c8 = site.visitor_comment(hours, "Ben", "Open on Easter Monday?")
        third = poll_source(source, rest, store)
        assert (third.error, third.new_items, third.new_replies) == (None, 2, 0)
        fourth = poll_source(source, rest, store)
        assert (fourth.error, fourth.new_items, fourth.new_replies) == (None, 0, 0)
        items, replies = stored(store, db)
        assert len(items) == 8 and len(replies) == 2
        assert {items[str(c["id"])].status for c in (c7, c8)} == {"open"}
        state = store.source("wp")
        assert state is not None and state.cursor is not None
        assert state.cursor["route"] == "wp-json"
    finally:
        store.close()

    # The comment feed through the feed connector agrees with the REST path.
    feed_db = tmp_path / "feed.db"
    feed_store = Store(f"sqlite:///{feed_db}")
    feed_store.ensure_sources([("feed", "feed")])
    feed_source = cfg.source("feed")
    try:
        polled = poll_source(feed_source, build_connector(feed_source), feed_store)
        assert polled.error is None
        feed_items, feed_replies = stored(feed_store, feed_db)
    finally:
        feed_store.close()

    def comment_id(guid: str) -> str:
        match = re.search(r"#comment-(\d+)$", guid)
        assert match, guid
        return match.group(1)

    by_comment = {comment_id(k): v for k, v in feed_items.items()}
    assert {comment_id(r) for r in feed_replies} == replies
    assert set(by_comment) == set(items)  # every comment is approved by now
    for key, item in items.items():
        fed = by_comment[key]
        assert (fed.created_at, fed.author, fed.text) == (item.created_at, item.author, item.text)
        if key == str(c5["id"]):
            # The one place they differ, and why the REST path exists: the feed has no reply
            # structure, so the owner's reply to Ben answers everything before it in the post.
            assert (item.status, fed.status) == ("open", "answered")
            continue
        assert (fed.status, fed.answered_at) == (item.status, item.answered_at), key


def test_without_pretty_permalinks_the_connector_falls_back_to_rest_route(site: Site) -> None:
    with_pretty = wordpress(site).fetch(None)
    site.permalinks("")
    try:
        plain = wordpress(site).fetch(None)
    finally:
        site.permalinks("/%postname%/")
    assert with_pretty.cursor is not None and plain.cursor is not None
    assert (with_pretty.cursor["route"], plain.cursor["route"]) == ("wp-json", "rest_route")

    # The same comments; only the permalinks' form differs (?p=4#comment-2, /cups/#comment-2).
    def same(record: Record) -> Record:
        return dataclasses.replace(record, url=None)

    assert [same(r) for r in plain.records] == [same(r) for r in with_pretty.records]
    assert all("?p=" in str(r.url) for r in plain.records)


def test_check_and_credentials_on_a_real_site(site: Site) -> None:
    assert wordpress(site).check() == (
        f"signed in as dana (user {site.owner_id}) at {site.url}; comments held for moderation "
        "are visible"
    )
    assert (
        wordpress(site, signed_in=False)
        .check()
        .startswith(f"reading {site.url} without signing in: ")
    )
    with pytest.raises(AuthError, match="application password is wrong or was revoked") as wrong:
        wordpress(site, app_password="abcd abcd abcd abcd abcd abcd").fetch(None)
    assert "abcd" not in str(wrong.value)

    # A production site over plain http: WordPress ignores application passwords altogether.
    site.production(True)
    try:
        with pytest.raises(AuthError, match="WP_ENVIRONMENT_TYPE is 'local'") as refused:
            wordpress(site).fetch(None)
    finally:
        site.production(False)
    assert site.app_password not in str(refused.value)
