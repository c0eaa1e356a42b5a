"""Tests of the feed connector and html_to_text, over a real local HTTP server.

Recorded feeds are read in place from ../shared/realdata (skipped where that folder is absent);
everything else is written inline. Nothing here reaches the internet or sleeps.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    FetchResult,
    Record,
    TransientError,
)
from connectors.feed import FeedConnector, FeedSettings, _thread_url
from connectors.html_text import html_to_text, tidy_text

try:
    from tests.feedserver import FeedServer, Scripted
except ImportError:  # tests/ run as a plain folder rather than a package
    from feedserver import FeedServer, Scripted  # type: ignore[no-redef]

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
FEED_DIRS = ("feedparser", "feedjira", "rss-parser")
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
# A start tag or end tag, as markup would leave it.
TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")

# Recorded feeds that are really malformed: each must come with a warning.
MALFORMED = {
    "feedparser/bozo_encoding_mismatch_crash.xml",
    "feedparser/bozo_invalid-bytes-with-bom.xml",
    "feedparser/rss_incomplete_cdata.xml",
    "feedparser/rss_item_link_corrupted_ampersands.xml",
    "feedparser/undeclared_namespace.xml",
    "feedjira/InvalidDateFormat.xml",  # truncated: no </rss>
    "feedjira/PaulDixExplainsNothingWFW.xml",  # undeclared wfw: prefix
}
# Blog posts whose prose shows HTML source as escaped text (&lt;html&gt;): literal, not markup.
SHOWS_HTML_SOURCE = {"feedjira/TenderLovemaking.xml"}


def _realdata_files() -> list[Any]:
    if not REALDATA.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/realdata not found"))]
    return sorted(
        f"{sub}/{path.name}"
        for sub in FEED_DIRS
        if (REALDATA / sub).is_dir()
        for path in (REALDATA / sub).iterdir()
        if path.is_file()
    )


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata not found")
    return REALDATA


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer(REALDATA if REALDATA.is_dir() else None) as srv:
        yield srv


def connector(
    url: str,
    owner: tuple[str, ...] = ("Dana",),
    *,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
) -> FeedConnector:
    context = ConnectorContext(
        source="shop-blog", owner_identities=owner, clock=lambda: NOW, timeout=timeout
    )
    return FeedConnector(FeedSettings(url=url), context, client=client)


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


# -- inline feeds -------------------------------------------------------------------------------

WORDPRESS_COMMENTS = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel>
  <title>Comments for Dana&#039;s Bakery</title>
  <atom:link href="https://bakery.example.com/comments/feed/" rel="self"
             type="application/rss+xml" />
  <link>https://bakery.example.com</link>
  <description>Fresh bread, every day</description>
  <lastBuildDate>Tue, 12 Mar 2024 15:04:10 +0000</lastBuildDate>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>1</sy:updateFrequency>
  <generator>https://wordpress.org/?v=6.4.3</generator>
  <item>
    <title>Comment on Spring opening hours by Dana</title>
    <link>https://bakery.example.com/2024/03/spring-opening-hours/#comment-12</link>
    <dc:creator><![CDATA[Dana]]></dc:creator>
    <pubDate>Tue, 12 Mar 2024 15:04:10 +0000</pubDate>
    <guid isPermaLink="false">https://bakery.example.com/?p=41#comment-12</guid>
    <description><![CDATA[Yes! From 7am on Saturdays.]]></description>
    <content:encoded><![CDATA[<p>Yes! From 7am on Saturdays &amp; Sundays.</p>
]]></content:encoded>
  </item>
  <item>
    <title>Comment on Spring opening hours by Marie</title>
    <link>https://bakery.example.com/2024/03/spring-opening-hours/#comment-11</link>
    <dc:creator><![CDATA[Marie]]></dc:creator>
    <pubDate>Tue, 12 Mar 2024 09:15:00 +0000</pubDate>
    <guid isPermaLink="false">https://bakery.example.com/?p=41#comment-11</guid>
    <description><![CDATA[Are you open early on Saturdays? I&#8217;d love a croissant&hellip;]]>
    </description>
    <content:encoded><![CDATA[<p>Are you open early on <em>Saturdays</em>?<br />
I&#8217;d love a croissant&hellip;</p>
]]></content:encoded>
  </item>
  <item>
    <title>Comment on Sourdough class by Sam</title>
    <link>https://bakery.example.com/2024/02/sourdough-class/comment-page-2/#comment-9</link>
    <dc:creator><![CDATA[Sam]]></dc:creator>
    <pubDate>Mon, 11 Mar 2024 20:00:00 +0000</pubDate>
    <guid isPermaLink="false">https://bakery.example.com/?p=38#comment-9</guid>
    <description><![CDATA[Is there a spot left for April?]]></description>
    <content:encoded><![CDATA[<p>Is there a spot left for April?</p>
]]></content:encoded>
  </item>
</channel>
</rss>
"""

DISCOURSE_POSTS = b"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:discourse="http://www.discourse.org/"
     xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Bakery Forum - Latest posts</title>
    <link>https://forum.example.com</link>
    <description>Latest posts</description>
    <atom:link href="https://forum.example.com/posts.rss" rel="self" type="application/rss+xml" />
    <item>
      <title>Gluten-free options?</title>
      <dc:creator><![CDATA[dana]]></dc:creator>
      <description><![CDATA[<p>We bake gluten-free loaves on Fridays.</p>]]></description>
      <link>https://forum.example.com/t/gluten-free-options/123/2</link>
      <pubDate>Wed, 13 Mar 2024 10:00:00 +0000</pubDate>
      <guid isPermaLink="false">forum.example.com-post-456</guid>
      <source url="https://forum.example.com/t/gluten-free-options/123.rss"
        >Gluten-free options?</source>
    </item>
    <item>
      <title>Gluten-free options?</title>
      <dc:creator><![CDATA[celiac_carla]]></dc:creator>
      <description><![CDATA[<p>Do you have <strong>gluten-free</strong> bread?</p>]]></description>
      <link>https://forum.example.com/t/gluten-free-options/123/1</link>
      <pubDate>Wed, 13 Mar 2024 08:30:00 +0000</pubDate>
      <guid isPermaLink="false">forum.example.com-post-455</guid>
      <source url="https://forum.example.com/t/gluten-free-options/123.rss"
        >Gluten-free options?</source>
    </item>
  </channel>
</rss>
"""

# A Blogger-style comment feed where a comment replies to another comment of the same feed.
THREADED_ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <id>tag:blogger.com,1999:blog-1.post2..comments</id>
  <title>Comments on Bakery: Spring hours</title>
  <updated>2024-03-12T16:00:00Z</updated>
  <entry>
    <id>tag:blogger.com,1999:blog-1.post-30</id>
    <published>2024-03-12T16:00:00Z</published>
    <title>Thanks!</title>
    <content type="html">Thanks!</content>
    <link rel="alternate" type="text/html" href="http://bakery.blogspot.com/2024/03/spring.html?showComment=3#c30"/>
    <author><name>Marie</name></author>
    <thr:in-reply-to href="http://bakery.blogspot.com/2024/03/spring.html?showComment=2#c20"
                     ref="tag:blogger.com,1999:blog-1.post-20"/>
  </entry>
  <entry>
    <id>tag:blogger.com,1999:blog-1.post-20</id>
    <published>2024-03-12T15:00:00Z</published>
    <title>Yes, from 7am</title>
    <content type="html">Yes, from 7am</content>
    <link rel="alternate" type="text/html" href="http://bakery.blogspot.com/2024/03/spring.html?showComment=2#c20"/>
    <author><name>Dana</name></author>
    <thr:in-reply-to href="http://bakery.blogspot.com/2024/03/spring.html?showComment=1#c10"
                     ref="tag:blogger.com,1999:blog-1.post-10"/>
  </entry>
  <entry>
    <id>tag:blogger.com,1999:blog-1.post-10</id>
    <published>2024-03-12T09:00:00Z</published>
    <title>Open early?</title>
    <content type="html">Open early on &lt;b&gt;Saturdays&lt;/b&gt;?</content>
    <link rel="alternate" type="text/html" href="http://bakery.blogspot.com/2024/03/spring.html?showComment=1#c10"/>
    <author><name>Marie (marie@example.com)</name></author>
    <thr:in-reply-to href="http://bakery.blogspot.com/2024/03/spring.html"
                     ref="tag:blogger.com,1999:blog-1.post-2"/>
  </entry>
</feed>
"""

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Dana's Bakery</title></head>
<body><h1>Welcome</h1><p>Fresh bread every day.</p></body></html>
"""


# -- html_to_text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("Caf&eacute; &amp; bar &#8211; &#x2764; &lt;3", "Café & bar – ❤ <3"),
        ("line one<br>line two<br/>line three", "line one\nline two\nline three"),
        ("<p>First.</p><p>Second.</p>", "First.\n\nSecond."),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>", "one\ntwo"),
        ("<h2>Title</h2>Body", "Title\n\nBody"),
        ("before<script>alert('x')</script>after", "beforeafter"),
        ("<style>p { color: red }</style>visible", "visible"),
        ("<html><head><title>T</title><meta x=1><body>only body", "only body"),
        ("<p><b>nested <i>deep <a href='#'>link</a></i></b> text</p>", "nested deep link text"),
        ("  lots   of\n\n\t whitespace  ", "lots of whitespace"),
        ("a < b and c > d", "a < b and c > d"),
        ("<!-- <script> --> shown", "shown"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_tidy_text_keeps_literal_markup_and_line_breaks() -> None:
    assert tidy_text("  a <b> &amp;  c\r\n\r\n\r\n d ") == "a <b> &amp; c\n\nd"


# -- thread ids from permalinks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "thread"),
    [
        (
            "https://blog.example.com/2024/03/post/#comment-5",
            "https://blog.example.com/2024/03/post/",
        ),
        ("https://blog.example.com/?p=41#comment-5", "https://blog.example.com/?p=41"),
        (
            "https://blog.example.com/post/comment-page-3/#comment-9",
            "https://blog.example.com/post/",
        ),
        (
            "http://x.blogspot.com/2009/10/p.html?showComment=1260320342544#c4788",
            "http://x.blogspot.com/2009/10/p.html",
        ),
        (
            "https://forum.example.com/t/some-topic/123/4",
            "https://forum.example.com/t/some-topic/123",
        ),
        (
            "https://forum.example.com/t/some-topic/123",
            "https://forum.example.com/t/some-topic/123",
        ),
        ("https://example.com/forum/t/slug/9/12", "https://example.com/forum/t/slug/9"),
        (
            "https://forum.example.com/t/some-topic/123/4?u=dana",
            "https://forum.example.com/t/some-topic/123",
        ),
        ("https://blog.example.com/?p=41&cpage=2#comment-9", "https://blog.example.com/?p=41"),
        ("https://blog.example.com/?cpage=2&p=41#comment-9", "https://blog.example.com/?p=41"),
        ("https://example.com/article", "https://example.com/article"),
    ],
)
def test_thread_url(link: str, thread: str) -> None:
    assert _thread_url(link) == thread


# -- every recorded feed over HTTP --------------------------------------------------------------


@pytest.mark.parametrize("name", _realdata_files())
def test_every_recorded_feed(server: FeedServer, name: str) -> None:
    result = connector(server.url(f"/realdata/{name}")).fetch(None)

    assert not result.not_modified
    assert result.cursor is not None and result.cursor.get("etag")
    ids = [r.external_id for r in result.records]
    assert len(ids) == len(set(ids))
    for record in result.records:
        assert record.external_id.strip()
        assert record.author.strip()
        assert record.created_at.tzinfo is not None
        assert record.created_at.utcoffset() == timedelta(0)
        assert record.kind == "comment"
        assert record.url is None or record.url.startswith(("http://", "https://"))
        if name not in SHOWS_HTML_SOURCE:
            assert not TAG.search(record.text), record.text
    malformed = [w for w in result.warnings if "malformed" in w]
    if name in MALFORMED:
        assert malformed, f"{name} is malformed but gave no warning"
    else:
        assert not malformed, malformed


def test_blogger_comment_feed_threads_from_in_reply_to(server: FeedServer, realdata: Path) -> None:
    url = server.url("/realdata/feedparser/atomthreadingwithentry.xml")
    [record] = connector(url, owner=("Dana",)).fetch(None).records

    assert record.external_id == (
        "tag:blogger.com,1999:blog-893591374313312737.post-4788628857625737701"
    )
    assert record.thread_id == "http://salmon-test.blogspot.com/2009/10/test-post.html"
    assert record.parent_id is None  # it replies to the post, which is not in the feed
    assert record.author == "John"
    assert not record.is_owner
    assert record.text == "bloffo bliff by te..."
    assert record.url == (
        "http://salmon-test.blogspot.com/2009/10/test-post.html"
        "?showComment=1260320342544#c4788628857625737701"
    )
    # 2009-12-08T16:59:02.544-08:00
    assert record.created_at == datetime(2009, 12, 9, 0, 59, 2, tzinfo=UTC)
    assert not record.created_at_estimated

    [as_owner] = connector(url, owner=("john",)).fetch(None).records
    assert as_owner.is_owner


def test_wordpress_post_feed_threads_from_comment_rss(server: FeedServer, realdata: Path) -> None:
    result = connector(server.url("/realdata/feedjira/TenderLovemaking.xml")).fetch(None)

    assert len(result.records) == 10
    first = result.records[0]
    assert first.external_id == "http://tenderlovemaking.com/?p=198"
    assert first.thread_id == "http://tenderlovemaking.com/2008/12/04/nokogiris-slop-feature/feed/"
    assert first.author == "Aaron Patterson"
    assert first.created_at == datetime(2008, 12, 4, 17, 17, 49, tzinfo=UTC)
    assert all(r.thread_id and r.thread_id.endswith("/feed/") for r in result.records)
    # The newline before <?xml is repaired, so the strict parser reads it: no warning.
    assert result.warnings == []
    # Escaped HTML in the prose stays as literal text; the real markup around it is gone.
    assert '<p class="bold">bold hello</p>' in first.text
    assert "<br" not in first.text


def test_google_alerts_titles_and_content_become_plain_text(
    server: FeedServer, realdata: Path
) -> None:
    result = connector(server.url("/realdata/feedjira/google_alerts_atom.xml")).fetch(None)

    assert len(result.records) == 20
    first = result.records[0]
    assert first.text.startswith(
        "Automotive Slack Market reports provides a comprehensive overview"
    )
    assert first.text.endswith("senior\xa0...") or first.text.endswith("senior ...")
    assert all("<b>" not in r.text and "&nbsp;" not in r.text for r in result.records)
    assert first.author == "anonymous"  # Google Alerts gives an empty <author>


def test_entry_with_only_an_id_is_kept_with_an_estimated_date(
    server: FeedServer, realdata: Path
) -> None:
    result = connector(server.url("/realdata/rss-parser/missing-fields.atom")).fetch(None)

    [record] = result.records
    assert record.external_id == "tag:github.com,2008:Repository/11167738/v3.9.0"
    assert record.created_at == NOW
    assert record.created_at_estimated
    assert record.url is None  # the id is not a page anyone can open
    assert record.author == "anonymous"
    assert "1 entry had no usable date; kept with the fetch time" in result.warnings


def test_iso_8859_1_feed_is_decoded(server: FeedServer, realdata: Path) -> None:
    result = connector(server.url("/realdata/rss-parser/encoding.rss")).fetch(None)

    assert len(result.records) == 40
    texts = "\n".join(r.text for r in result.records)
    assert "Reações dos partidos ao veto de Marcelo" in texts
    assert "Sónia Laygue" in texts
    assert "\ufffd" not in texts


def test_script_in_an_escaped_html_title_is_dropped(server: FeedServer, realdata: Path) -> None:
    result = connector(server.url("/realdata/feedparser/entry_title_crazy.xml")).fetch(None)

    [record] = result.records
    assert "<script" not in record.text.lower()
    assert "executeMe" not in record.text
    assert (
        record.text
        == "Did The Javascript Execute?\n\nI will execute here, too, if you mouse over me"
    )


def test_truncated_recorded_feed_gives_records_and_a_warning(
    server: FeedServer, realdata: Path
) -> None:
    result = connector(server.url("/realdata/feedjira/InvalidDateFormat.xml")).fetch(None)

    assert [r.text for r in result.records] == [
        "Item 0 with an invalid date",
        "Item 1 with all valid dates",
    ]
    assert any("malformed" in w and "2 entries" in w for w in result.warnings)


def test_recorded_feed_without_entries_is_still_a_feed(server: FeedServer, realdata: Path) -> None:
    result = connector(server.url("/realdata/feedparser/undeclared_namespace.xml")).fetch(None)

    assert result.records == []
    assert result.warnings and "unbound prefix" in result.warnings[0]


# -- WordPress and Discourse comment feeds ------------------------------------------------------


def test_wordpress_comment_feed_threads_by_post(server: FeedServer) -> None:
    server.add("/comments/feed/", WORDPRESS_COMMENTS)
    result = connector(server.url("/comments/feed/"), owner=("Dana", "admin")).fetch(None)

    records = by_id(result)
    post = "https://bakery.example.com/2024/03/spring-opening-hours/"
    dana = records["https://bakery.example.com/?p=41#comment-12"]
    marie = records["https://bakery.example.com/?p=41#comment-11"]
    sam = records["https://bakery.example.com/?p=38#comment-9"]
    assert dana.thread_id == marie.thread_id == post
    assert sam.thread_id == "https://bakery.example.com/2024/02/sourdough-class/"
    assert dana.is_owner and not marie.is_owner and not sam.is_owner
    assert all(r.parent_id is None for r in result.records)
    assert marie.author == "Marie"
    assert marie.text == "Are you open early on Saturdays?\nI’d love a croissant…"
    assert dana.text == "Yes! From 7am on Saturdays & Sundays."
    assert marie.url == "https://bakery.example.com/2024/03/spring-opening-hours/#comment-11"
    assert marie.created_at == datetime(2024, 3, 12, 9, 15, tzinfo=UTC)
    assert dana.created_at > marie.created_at
    assert result.warnings == []


def test_discourse_posts_feed_threads_by_topic(server: FeedServer) -> None:
    server.add("/posts.rss", DISCOURSE_POSTS)
    result = connector(server.url("/posts.rss"), owner=("dana",)).fetch(None)

    records = by_id(result)
    topic = "https://forum.example.com/t/gluten-free-options/123"
    assert {r.thread_id for r in result.records} == {topic}
    assert records["forum.example.com-post-456"].is_owner
    assert records["forum.example.com-post-455"].author == "celiac_carla"
    assert records["forum.example.com-post-455"].text == "Do you have gluten-free bread?"


def test_reply_to_an_entry_of_the_same_feed_gets_parent_and_its_thread(server: FeedServer) -> None:
    server.add("/comments.atom", THREADED_ATOM, "application/atom+xml")
    result = connector(server.url("/comments.atom")).fetch(None)

    records = by_id(result)
    first = records["tag:blogger.com,1999:blog-1.post-10"]
    answer = records["tag:blogger.com,1999:blog-1.post-20"]
    thanks = records["tag:blogger.com,1999:blog-1.post-30"]
    post = "http://bakery.blogspot.com/2024/03/spring.html"
    assert (first.parent_id, first.thread_id) == (None, post)
    assert (answer.parent_id, answer.thread_id) == (first.external_id, post)
    assert (thanks.parent_id, thanks.thread_id) == (answer.external_id, post)
    assert answer.is_owner
    assert first.author == "Marie"  # " (marie@example.com)" stripped
    assert first.text == "Open early on Saturdays?"


# -- conditional GET ----------------------------------------------------------------------------


def test_conditional_get_sends_validators_and_304_is_not_modified(server: FeedServer) -> None:
    server.add("/comments/feed/", WORDPRESS_COMMENTS)
    feed = connector(server.url("/comments/feed/"))

    first = feed.fetch(None)
    assert len(first.records) == 3
    assert first.cursor is not None
    assert first.cursor["etag"].startswith('"')
    assert first.cursor["last_modified"].endswith("GMT")

    second = feed.fetch(first.cursor)
    sent = server.seen("/comments/feed/")[-1]
    assert sent["if-none-match"] == first.cursor["etag"]
    assert sent["if-modified-since"] == first.cursor["last_modified"]
    assert second.not_modified
    assert second.records == []
    assert second.cursor == first.cursor

    server.add("/comments/feed/", WORDPRESS_COMMENTS.replace(b"Sam", b"Samuel"))
    third = feed.fetch(second.cursor)
    assert not third.not_modified and len(third.records) == 3
    assert third.cursor is not None and third.cursor["etag"] != first.cursor["etag"]


def test_first_fetch_sends_user_agent_and_no_validators(server: FeedServer) -> None:
    server.add("/feed", WORDPRESS_COMMENTS)
    connector(server.url("/feed")).fetch(None)

    [sent] = server.seen("/feed")
    assert sent["user-agent"] == ConnectorContext(source="x", owner_identities=()).user_agent
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_validators_of_another_url_are_not_sent(server: FeedServer) -> None:
    server.add("/old", WORDPRESS_COMMENTS)
    server.add("/new", DISCOURSE_POSTS)
    cursor = connector(server.url("/old")).fetch(None).cursor

    result = connector(server.url("/new")).fetch(cursor)
    assert not result.not_modified and len(result.records) == 2
    assert "if-modified-since" not in server.seen("/new")[0]


def test_redirects_are_followed(server: FeedServer) -> None:
    server.add("/comments/feed/", WORDPRESS_COMMENTS)
    server.script("/feed", Scripted(301, headers={"Location": "/comments/feed/"}))
    result = connector(server.url("/feed")).fetch(None)

    assert len(result.records) == 3


def test_injected_client_is_used_with_our_timeout_and_agent(server: FeedServer) -> None:
    server.add("/feed", WORDPRESS_COMMENTS)
    with httpx.Client(headers={"User-Agent": "someone-else"}) as client:
        result = connector(server.url("/feed"), client=client).fetch(None)

    assert len(result.records) == 3
    assert server.seen("/feed")[0]["user-agent"].startswith("sameday/")


# -- errors -------------------------------------------------------------------------------------


def test_429_with_retry_after_seconds(server: FeedServer) -> None:
    server.script("/feed", Scripted(429, headers={"Retry-After": "120"}))
    with pytest.raises(TransientError) as caught:
        connector(server.url("/feed")).fetch(None)
    assert caught.value.retry_after == 120


def test_503_with_retry_after_date(server: FeedServer) -> None:
    later = format_datetime(NOW + timedelta(minutes=5), usegmt=True)
    server.script("/feed", Scripted(503, headers={"Retry-After": later}))
    with pytest.raises(TransientError) as caught:
        connector(server.url("/feed")).fetch(None)
    assert caught.value.retry_after == 300


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (500, TransientError, "500"),
        (502, TransientError, "502"),
        (401, AuthError, "401"),
        (403, AuthError, "403"),
        (404, ConfigError, "the feed URL returned 404 — check sources[].url"),
        (410, ConfigError, "the feed URL returned 410 — check sources[].url"),
        (400, ConfigError, "400"),
    ],
)
def test_status_errors(server: FeedServer, status: int, error: type[Exception], words: str) -> None:
    server.script("/feed", Scripted(status, body=b"no"))
    with pytest.raises(error, match=re.escape(words)) as caught:
        connector(server.url("/feed")).fetch(None)
    assert getattr(caught.value, "retry_after", None) is None


def test_hanging_server_times_out_fast(server: FeedServer) -> None:
    server.script("/feed", Scripted(hang=True))
    started = time.monotonic()
    with pytest.raises(TransientError, match=r"did not answer within 0\.5 s"):
        connector(server.url("/feed"), timeout=0.5).fetch(None)
    assert time.monotonic() - started < 3


def test_connection_refused_is_transient() -> None:
    with FeedServer() as gone:
        url = gone.url("/feed")
    with pytest.raises(TransientError, match="cannot reach the feed"):
        connector(url, timeout=1).fetch(None)


def test_body_cut_short_of_its_length_is_transient(server: FeedServer) -> None:
    server.script("/feed", Scripted(200, body=WORDPRESS_COMMENTS[:900], short_by=500))
    with pytest.raises(TransientError, match="cannot reach the feed"):
        connector(server.url("/feed")).fetch(None)


def test_truncated_feed_document_gives_records_and_a_warning(server: FeedServer) -> None:
    cut = WORDPRESS_COMMENTS.index(b"<title>Comment on Sourdough")
    server.add("/comments/feed/", WORDPRESS_COMMENTS[:cut])
    result = connector(server.url("/comments/feed/")).fetch(None)

    assert [r.author for r in result.records] == ["Dana", "Marie"]
    malformed, skipped = result.warnings
    assert malformed.startswith("feed is malformed (")
    assert malformed.endswith("parsed 3 entries as far as it goes")
    assert skipped == "skipped 1 empty entry (no id, link, text or date), probably cut off"


def test_recorded_truncated_cdata_gives_a_record_and_a_warning(
    server: FeedServer, realdata: Path
) -> None:
    result = connector(server.url("/realdata/feedparser/rss_incomplete_cdata.xml")).fetch(None)

    # The file ends inside the first item's title: nothing of it is left to keep.
    assert result.records == []
    assert "malformed" in result.warnings[0]
    assert "skipped 1 empty entry" in result.warnings[1]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/xml"])
def test_html_page_is_not_a_feed(server: FeedServer, content_type: str) -> None:
    server.add("/", HTML_PAGE, content_type)
    with pytest.raises(TransientError, match=r"not a feed: .* is an HTML page"):
        connector(server.url("/")).fetch(None)


def test_empty_body_is_not_a_feed(server: FeedServer) -> None:
    server.script("/feed", Scripted(200, body=b""))
    with pytest.raises(TransientError, match=r"not a feed: .* empty response"):
        connector(server.url("/feed")).fetch(None)


@pytest.mark.parametrize(
    "answer",
    [
        Scripted(401),
        Scripted(404),
        Scripted(500),
        Scripted(429, headers={"Retry-After": "5"}),
        Scripted(200, body=HTML_PAGE),
        Scripted(200, body=b"<rss>", short_by=10),
        Scripted(hang=True),
    ],
    ids=["401", "404", "500", "429", "not-a-feed", "cut-short", "timeout"],
)
def test_error_messages_never_contain_the_password(server: FeedServer, answer: Scripted) -> None:
    server.script("/feed", answer)
    url = server.url("/feed?token=tok3n", userinfo="dana:s3cret-pw")
    with pytest.raises((TransientError, AuthError, ConfigError)) as caught:
        connector(url, timeout=0.5).fetch(None)
    message = str(caught.value)
    assert "s3cret-pw" not in message and "tok3n" not in message
    assert "127.0.0.1" in message or "not a feed" in message


def test_password_in_url_is_sent_as_basic_auth_and_kept_out_of_the_cursor(
    server: FeedServer,
) -> None:
    server.add("/private", WORDPRESS_COMMENTS)
    result = connector(server.url("/private", userinfo="dana:s3cret-pw")).fetch(None)

    assert server.seen("/private")[0]["authorization"].startswith("Basic ")
    assert "s3cret-pw" not in repr(result.cursor)
    assert all("s3cret-pw" not in (r.url or "") for r in result.records)


# -- local files --------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_file_and_unchanged_file_is_not_modified(tmp_path: Path, form: str) -> None:
    feed = tmp_path / "comments feed.xml"
    feed.write_bytes(WORDPRESS_COMMENTS)
    url = str(feed) if form == "path" else feed.as_uri()
    source = connector(url)

    first = source.fetch(None)
    assert len(first.records) == 3
    assert first.cursor is not None and first.cursor["size"] == len(WORDPRESS_COMMENTS)

    second = source.fetch(first.cursor)
    assert second.not_modified and second.records == [] and second.cursor == first.cursor

    feed.write_bytes(DISCOURSE_POSTS)
    os.utime(feed, ns=(first.cursor["mtime_ns"] + 10**9,) * 2)
    third = source.fetch(second.cursor)
    assert not third.not_modified
    assert {r.thread_id for r in third.records} == {
        "https://forum.example.com/t/gluten-free-options/123"
    }


def test_local_path_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "feed.xml").write_bytes(DISCOURSE_POSTS)
    assert len(connector("~/feed.xml").fetch(None).records) == 2


def test_missing_local_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist — check sources"):
        connector(str(tmp_path / "nope.xml")).fetch(None)
    with pytest.raises(ConfigError, match="directory"):
        connector(tmp_path.as_uri()).fetch(None)


def test_recorded_feed_from_a_file_url(realdata: Path) -> None:
    url = (realdata / "feedparser" / "atomthreadingwithentry.xml").as_uri()
    [record] = connector(url, owner=("John",)).fetch(None).records
    assert record.is_owner and record.author == "John"


# -- parse() directly ---------------------------------------------------------------------------


def _parser() -> FeedConnector:
    return connector("https://blog.example.com/comments/feed/")


def test_parse_uses_the_charset_from_headers() -> None:
    body = (
        "<rss version='2.0'><channel><title>t</title><item><guid>1</guid>"
        "<description>Caf\u00e9 cr\u00e8me</description>"
        "<pubDate>Tue, 12 Mar 2024 09:15:00 +0000</pubDate></item></channel></rss>"
    ).encode("iso-8859-1")
    result = _parser().parse(
        body, headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"}, fetched_at=NOW
    )
    assert result.records[0].text == "Café crème"
    assert result.cursor is None


def test_parse_ids_are_stable_and_duplicates_are_dropped() -> None:
    item = (
        "<item><title>Hi</title><description>same words</description>"
        "<pubDate>Tue, 12 Mar 2024 09:15:00 +0000</pubDate><author>Dana (dana@x)</author></item>"
    )
    body = f"<rss version='2.0'><channel><title>t</title>{item}{item}</channel></rss>".encode()
    first = _parser().parse(body, fetched_at=NOW)
    again = _parser().parse(body, fetched_at=NOW + timedelta(hours=1))

    [record] = first.records
    assert record.external_id.startswith("sha1:")
    assert [r.external_id for r in again.records] == [record.external_id]
    assert any("repeated the id" in w for w in first.warnings)


def test_parse_logs_warnings_with_the_source_name(caplog: pytest.LogCaptureFixture) -> None:
    body = b"<rss version='2.0'><channel><title>t</title><item><guid>1</guid></item>"
    with caplog.at_level("WARNING", logger="connectors.feed"):
        result = _parser().parse(body, fetched_at=NOW)
    assert len(result.records) == 1
    assert any(
        "shop-blog" in r.getMessage() and "malformed" in r.getMessage() for r in caplog.records
    )


def test_parse_never_treats_bytes_as_a_path(tmp_path: Path) -> None:
    with pytest.raises(TransientError, match="not a feed"):
        _parser().parse(str(tmp_path).encode(), fetched_at=NOW)


# -- settings -----------------------------------------------------------------------------------


def test_settings_reject_unknown_keys_and_schemes_without_echoing_secrets() -> None:
    with pytest.raises(ValidationError):
        FeedSettings(url="https://x/feed", api_base="https://y")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="unsupported URL scheme 'ftp'") as caught:
        FeedSettings(url="ftp://dana:s3cret-pw@example.com/feed.xml")
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(ValidationError, match="empty"):
        FeedSettings(url="  ")
    assert FeedSettings(url=" https://x/feed ").url == "https://x/feed"
    assert FeedConnector.type == "feed" and FeedConnector.Settings is FeedSettings


def test_author_names_escaped_inside_cdata_read_as_written(tmp_path: Path) -> None:
    """WordPress writes <dc:creator><![CDATA[Ann &#38; Co]]>: the name is Ann & Co."""
    feed = tmp_path / "comments.xml"
    feed.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>c</title><item>'
        b"<title>Comment on hours</title><link>https://blog.example.com/hours/#comment-1</link>"
        b"<guid>https://blog.example.com/?c=1</guid><pubDate>Mon, 09 Mar 2026 14:00:00 +0000"
        b"</pubDate><dc:creator><![CDATA[Ann &#38; Co]]></dc:creator>"
        b"<description>Hi</description></item></channel></rss>"
    )
    connector = FeedConnector(
        FeedSettings(url=str(feed)), ConnectorContext(source="blog", owner_identities=())
    )
    assert [r.author for r in connector.fetch(None).records] == ["Ann & Co"]
