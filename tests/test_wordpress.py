"""Tests of the WordPress connector against a fake WordPress on 127.0.0.1.

The fake answers the REST API as WordPress 6.1 does (checked against the real one that
tests/test_wordpress_live.py sets up): comments in WordPress's JSON shape with ``X-WP-Total`` and
``X-WP-TotalPages``; ``after`` strict and compared in the site's local time; ``status=hold`` only
for users who may edit posts; ``/wp-json/`` redirected to an HTML page when pretty permalinks are
off; a wrong application password answered as no login at all (401 ``rest_not_logged_in``); and
the REST index announcing application passwords only where WordPress would accept them. Nothing
here sleeps or leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    FetchResult,
    TransientError,
)
from connectors.wordpress import (
    LOOKBACK_ANONYMOUS,
    MAX_PAGES,
    WordPressConnector,
    WordPressSettings,
)
from monitor.config import Source, parse_config
from monitor.poll import poll_source
from monitor.store import Store
from tests.localserver import LocalServer

APP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"  # WordPress's format: 24 characters in groups
NOW = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([zZ]|[+-]\d{2}(:\d{2})?)?$")
_MAX_HANG_S = 30.0


# -- the fake WordPress ---------------------------------------------------------------------------


@dataclass
class Comment:
    id: int
    post: int
    author_name: str
    date_gmt: datetime
    text: str
    parent: int = 0
    author: int = 0  # the WordPress user id; 0 for a visitor
    status: str = "approved"  # or "hold"
    local: datetime | None = None  # comment_date, naive local time; set when stored
    private: bool = False  # on a post the reader may not see: counted, then dropped


@dataclass
class User:
    id: int
    login: str
    password: str
    role: str = "administrator"

    @property
    def capabilities(self) -> dict[str, bool]:
        caps = {"read": True}
        if self.role in ("administrator", "editor", "author", "contributor"):
            caps["edit_posts"] = True
        if self.role in ("administrator", "editor"):
            caps["moderate_comments"] = True
        return caps


@dataclass
class Scripted:
    """One scripted answer for a route."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False


@dataclass
class Seen:
    route: str | None  # the REST route, None for a request that reached no API
    path: str
    params: dict[str, str]
    user: str | None


class FakeWordPress(LocalServer):
    """A WordPress site's REST API, as far as the connector uses it."""

    def __init__(
        self,
        *,
        timezone: str = "America/New_York",
        pretty: bool | str = True,
        app_passwords: bool = True,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.pretty = pretty  # True; False: /wp-json/ redirects to HTML; "404": Apache's 404
        self.app_passwords = app_passwords
        self.comments: dict[int, Comment] = {}
        self.users = {"dana": User(1, "dana", APP_PASSWORD)}
        self.requests: list[Seen] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        super().__init__(self._handler_class())

    # -- what tests call --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(
        self,
        when: datetime,
        author_name: str = "Ann",
        text: str = "Are you open on Sunday?",
        *,
        post: int = 7,
        **more: Any,
    ) -> Comment:
        """Store a comment written at `when` (its local date in the site's zone, as then)."""
        with self._lock:
            new_id = max(self.comments, default=0) + 1
            comment = Comment(new_id, post, author_name, when.astimezone(UTC), text, **more)
            if comment.local is None:
                comment.local = when.astimezone(self.zone).replace(tzinfo=None)
            self.comments[new_id] = comment
        return comment

    def script(self, route: str, *answers: Scripted) -> None:
        """Answer `route` with `answers` in order; the last one repeats."""
        with self._lock:
            self._scripts[route] = list(answers)

    def seen(self, route: str) -> list[Seen]:
        return [r for r in self.requests if r.route == route]

    # -- the REST API -----------------------------------------------------------------------------

    def _user(self, authorization: str | None) -> User | None:
        if not authorization or not authorization.startswith("Basic ") or not self.app_passwords:
            return None  # without application passwords WordPress ignores the header
        login, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        user = self.users.get(login)
        strip = re.compile(r"[^a-z\d]", re.I)  # WordPress drops the spaces, and any non-alnum
        if user is None or strip.sub("", password) != strip.sub("", user.password):
            return None  # WordPress 6.1: a wrong password ends as "not logged in"
        return user

    def _api(self, route: str, params: dict[str, str], user: User | None) -> tuple[int, Any, dict]:
        if route in ("/", ""):
            auth = (
                {"application-passwords": {"endpoints": {"authorization": "…"}}}
                if self.app_passwords
                else []
            )
            return 200, {"name": "Dana's Coffee", "authentication": auth}, {}
        if route == "/wp/v2/users/me":
            if user is None:
                return _wp_error(401, "rest_not_logged_in", "You are not currently logged in.")
            return (
                200,
                {
                    "id": user.id,
                    "username": user.login,
                    "name": user.login,
                    "roles": [user.role],
                    "capabilities": user.capabilities,
                },
                {},
            )
        if route == "/wp/v2/comments":
            return self._comments(params, user)
        return _wp_error(404, "rest_no_route", "No route was found matching the URL.")

    def _comments(self, params: dict[str, str], user: User | None) -> tuple[int, Any, dict]:
        caps = user.capabilities if user else {}
        denied = 403 if user else 401  # rest_authorization_required_code()
        status = params.get("status", "approve")
        if status != "approve" and not caps.get("edit_posts"):
            return _wp_error(denied, "rest_forbidden_param", "Query parameter not permitted")
        if params.get("context") == "edit" and not caps.get("moderate_comments"):
            return _wp_error(denied, "rest_forbidden_context", "Sorry, you cannot edit comments.")
        wanted = {"approve": {"approved"}, "hold": {"hold"}, "all": {"approved", "hold"}}
        rows = [c for c in self.comments.values() if c.status in wanted.get(status, set())]
        if "after" in params:
            after = params["after"]
            if not _RFC3339.match(after):
                return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): after")
            given = datetime.fromisoformat(after.replace("Z", "+00:00").replace("z", "+00:00"))
            # WP_Date_Query: the instant, in the site's zone, against comment_date; strictly after.
            local = given if given.tzinfo is None else given.astimezone(self.zone)
            limit = local.replace(tzinfo=None)
            rows = [c for c in rows if c.local is not None and c.local > limit]
        descending = params.get("order", "desc") == "desc"
        rows.sort(key=lambda c: (c.date_gmt, c.id), reverse=descending)
        per_page = int(params.get("per_page", "10"))
        page = int(params.get("page", "1"))
        total = len(rows)
        pages = -(-total // per_page)
        chunk = rows[(page - 1) * per_page : page * per_page]
        body = [_shape(c, self.url) for c in chunk if not c.private]
        if "_fields" in params:
            keep = set(params["_fields"].split(","))
            body = [{k: v for k, v in item.items() if k in keep} for item in body]
        return 200, body, {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                user = server._user(self.headers.get("Authorization"))
                seen = Seen(None, parts.path, params, user.login if user else None)
                server.requests.append(seen)
                if parts.path.startswith("/wp-json"):
                    if server.pretty == "404":
                        self._send(404, b"<html>Not Found</html>", "text/html")
                        return
                    if not server.pretty:  # WordPress's canonical redirect, then its HTML page
                        if parts.path.endswith("/"):
                            self._send(200, b"<!DOCTYPE html><html>Blog</html>", "text/html")
                        else:
                            self._send(301, b"", "text/html", {"Location": parts.path + "/"})
                        return
                    route = parts.path.removeprefix("/wp-json") or "/"
                elif parts.path in ("/", "/index.php") and "rest_route" in params:
                    route = params.pop("rest_route")
                else:
                    self._send(404, b"<html>Not Found</html>", "text/html")
                    return
                seen.route = route.rstrip("/") or "/"
                scripted = server._next_script(route.rstrip("/") or "/")
                if scripted is not None:
                    if scripted.hang:
                        server._stopping.wait(_MAX_HANG_S)
                        return
                    self._send(scripted.status, scripted.body, "application/json", scripted.headers)
                    return
                status, body, headers = server._api(route.rstrip("/") or "/", params, user)
                self._send(status, json.dumps(body).encode(), "application/json", headers)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=UTF-8")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        return Handler

    def _next_script(self, route: str) -> Scripted | None:
        with self._lock:
            answers = self._scripts.get(route)
            if not answers:
                return None
            return answers.pop(0) if len(answers) > 1 else answers[0]


def _wp_error(status: int, code: str, message: str) -> tuple[int, Any, dict]:
    return status, {"code": code, "message": message, "data": {"status": status}}, {}


def _shape(c: Comment, site: str) -> dict[str, Any]:
    """A comment as WordPress 6.1's REST API shows it (view context)."""
    avatar = "http://1.gravatar.com/avatar/d7a973c7dab26985da5f961be7b74480"
    return {
        "id": c.id,
        "post": c.post,
        "parent": c.parent,
        "author": c.author,
        "author_name": c.author_name,
        "author_url": "",
        "date": c.local.isoformat() if c.local else None,
        "date_gmt": c.date_gmt.replace(tzinfo=None).isoformat(),
        "content": {"rendered": f"<p>{c.text}</p>\n"},
        "link": f"{site}/?p={c.post}#comment-{c.id}",
        "status": c.status,
        "type": "comment",
        "author_avatar_urls": {size: f"{avatar}?s={size}&d=mm&r=g" for size in ("24", "48")},
        "meta": [],
        "_links": {"self": [{"href": f"{site}/wp-json/wp/v2/comments/{c.id}"}]},
    }


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def wp() -> Iterator[FakeWordPress]:
    with FakeWordPress() as server:
        yield server


def connector(
    wp: FakeWordPress,
    *,
    signed_in: bool = True,
    owner: tuple[str, ...] = ("Dana",),
    timeout: float = 5.0,
    **settings: Any,
) -> WordPressConnector:
    if signed_in:
        settings = {"username": "dana", "app_password": APP_PASSWORD, **settings}
    return WordPressConnector(
        WordPressSettings(url=wp.url, **settings),
        ConnectorContext(source="blog", owner_identities=owner, clock=lambda: NOW, timeout=timeout),
    )


def ids(result: FetchResult) -> list[str]:
    return [r.external_id for r in result.records]


def at(minutes: float) -> datetime:
    """A moment `minutes` after 13:00 UTC on the test day."""
    return datetime(2026, 3, 9, 13, 0, tzinfo=UTC) + timedelta(minutes=minutes)


# -- records --------------------------------------------------------------------------------------


def test_comments_become_records_in_the_shape_the_core_expects(wp: FakeWordPress) -> None:
    wp.add(at(0), "Ann", "Caf&eacute; <b>open</b> on Sunday?<br />\nOr Monday?", post=41)
    wp.add(at(5), "dana", "Yes, 10 to 4!", post=41, parent=1, author=1)
    wp.add(at(9), "Ben &amp; Co&#8217;s", "Decaf &amp; oat milk?", post=42)  # as WP stores it

    result = connector(wp).fetch(None)

    ann, reply, ben = result.records
    assert ann.external_id == "1" and ann.thread_id == "41" and ann.parent_id is None
    assert (ann.author, ann.is_owner, ann.kind) == ("Ann", False, "comment")
    assert ann.text == "Café open on Sunday?\nOr Monday?"
    assert ann.url == f"{wp.url}/?p=41#comment-1"
    assert ann.created_at == at(0) and ann.created_at.tzinfo is UTC
    assert (reply.parent_id, reply.is_owner, reply.kind) == ("1", True, "reply")
    assert (ben.author, ben.text) == ("Ben & Co’s", "Decaf & oat milk?")
    assert result.warnings == []
    # Only the fields a record needs are asked for: avatars and _links are left at home.
    assert wp.seen("/wp/v2/comments")[0].params["_fields"] == (
        "id,post,parent,author,author_name,date_gmt,content,link,status"
    )


def test_pages_are_followed_by_the_total_pages_header(wp: FakeWordPress) -> None:
    for n in range(250):
        wp.add(at(n), f"Reader {n}", f"comment {n}")
    wp.comments[150].private = True  # counted by WordPress, then dropped: a short page

    first = connector(wp).fetch(None)

    assert len(first.records) == 249 and len(set(ids(first))) == 249
    pages = [r.params for r in wp.seen("/wp/v2/comments") if r.params["status"] == "approve"]
    assert [(p["page"], p["per_page"], p["order"]) for p in pages] == [
        ("1", "100", "desc"),
        ("2", "100", "desc"),
        ("3", "100", "desc"),
    ]
    assert [r.created_at for r in first.records] == sorted(r.created_at for r in first.records)


def test_a_malformed_comment_is_skipped_with_a_warning(wp: FakeWordPress) -> None:
    wp.add(at(0))
    wp.add(at(1), "Ben")
    body = [_shape(c, wp.url) for c in wp.comments.values()]
    body[0]["date_gmt"] = None
    wp.script(
        "/wp/v2/comments",
        Scripted(body=json.dumps(body).encode(), headers={"X-WP-TotalPages": "1"}),
    )
    result = connector(wp, signed_in=False).fetch(None)
    assert ids(result) == ["2"]
    assert result.warnings == ["skipped 1 comment(s) without an id, post or date"]


# -- the cursor -----------------------------------------------------------------------------------


def test_nothing_is_returned_twice_and_nothing_in_the_same_second_is_lost(
    wp: FakeWordPress,
) -> None:
    wp.add(at(0), "Ann")
    wp.add(at(30), "Ben")
    blog = connector(wp)
    first = blog.fetch(None)
    assert ids(first) == ["1", "2"]
    assert first.cursor is not None and first.cursor["newest"] == "2026-03-09T13:30:00Z"

    # Written in the very second of the newest comment already read, and just after.
    wp.add(at(30), "Cleo")
    wp.add(at(31), "Dev")
    second = blog.fetch(first.cursor)
    assert ids(second) == ["3", "4"]
    asked = wp.seen("/wp/v2/comments")[-2].params
    assert (asked["status"], asked["order"]) == ("approve", "asc")
    assert asked["after"] == "2026-03-09T11:30:00Z"  # newest - 2 h, in UTC

    third = blog.fetch(second.cursor)
    assert third.records == [] and third.cursor is not None
    assert third.cursor["newest"] == "2026-03-09T13:31:00Z"


def test_old_ids_leave_the_cursor_once_after_no_longer_returns_them(wp: FakeWordPress) -> None:
    wp.add(at(0), "Ann")
    blog = connector(wp)
    first = blog.fetch(None)
    wp.add(at(300), "Ben")  # five hours later: Ann's comment falls out of the window
    second = blog.fetch(first.cursor)
    assert ids(second) == ["2"]
    assert second.cursor is not None and set(second.cursor["seen"]) == {"2"}


def test_a_comment_written_in_the_repeated_hour_of_a_dst_change_is_not_lost() -> None:
    # New York, 1 November 2026: 01:00-02:00 happens twice. WordPress compares `after` with the
    # local comment_date, so after=newest alone would skip a comment from the second 01:10.
    with FakeWordPress(timezone="America/New_York") as wp:
        wp.add(datetime(2026, 11, 1, 5, 50, tzinfo=UTC), "Ann")  # 01:50 EDT
        blog = connector(wp)
        first = blog.fetch(None)
        wp.add(datetime(2026, 11, 1, 6, 10, tzinfo=UTC), "Ben")  # 01:10 EST, 20 minutes later
        second = blog.fetch(first.cursor)
    assert ids(second) == ["2"]


def test_a_site_whose_zone_changed_keeps_its_comments() -> None:
    # comment_date keeps the offset of the day it was written: an hour's shift is absorbed.
    with FakeWordPress(timezone="Europe/Berlin") as wp:
        wp.add(at(0), "Ann")
        blog = connector(wp)
        first = blog.fetch(None)
        when = at(10)
        wp.add(when, "Ben", local=when.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None))
        assert ids(blog.fetch(first.cursor)) == ["2"]


def test_a_long_backlog_goes_on_at_the_next_fetch(wp: FakeWordPress) -> None:
    wp.add(at(0), "Ann")
    blog = connector(wp, per_page=1)
    first = blog.fetch(None)
    for n in range(1, MAX_PAGES + 6):
        wp.add(at(n), f"Reader {n}")

    second = blog.fetch(first.cursor)
    assert len(second.records) == MAX_PAGES - 1  # page 1 re-read Ann's comment, then 9 new
    assert second.cursor is not None and second.cursor["resume"] == {
        "after": "2026-03-09T11:00:00Z",
        "page": MAX_PAGES + 1,
    }
    third = blog.fetch(second.cursor)
    assert ids(second) + ids(third) == [str(n) for n in range(2, MAX_PAGES + 7)]
    assert third.cursor is not None and "resume" not in third.cursor
    assert blog.fetch(third.cursor).records == []


def test_the_first_fetch_reads_the_newest_comments_only(wp: FakeWordPress) -> None:
    for n in range(MAX_PAGES + 3):
        wp.add(at(n), f"Reader {n}")
    result = connector(wp, per_page=1).fetch(None)
    assert ids(result) == [str(n) for n in range(4, MAX_PAGES + 4)]
    assert result.warnings == [
        f"first poll: read the newest {MAX_PAGES} comments; older ones are left out"
    ]
    assert result.cursor is not None and "resume" not in result.cursor


def test_a_cursor_for_another_site_starts_afresh(wp: FakeWordPress) -> None:
    wp.add(at(0))
    cursor = {"site": "https://other.example.com", "newest": "2030-01-01T00:00:00Z", "seen": {}}
    assert ids(connector(wp).fetch(cursor)) == ["1"]


# -- held comments --------------------------------------------------------------------------------


def test_held_comments_are_items_flagged_as_awaiting_moderation(wp: FakeWordPress) -> None:
    wp.add(at(0), "Ann")
    wp.add(at(1), "Zoe", "First time here!", status="hold")
    wp.add(at(2), "Yann", "Me too", status="hold", parent=1)

    result = connector(wp).fetch(None)
    assert [(r.external_id, r.kind) for r in result.records] == [
        ("1", "comment"),
        ("2", "held-comment"),
        ("3", "held-reply"),
    ]
    # Visitors (and a source without credentials) cannot see them.
    anonymous = connector(wp, signed_in=False).fetch(None)
    assert ids(anonymous) == ["1"]
    assert {r.params["status"] for r in wp.seen("/wp/v2/comments") if r.user is None} == {"approve"}


def test_a_held_comment_approved_before_the_next_poll_is_neither_lost_nor_repeated(
    wp: FakeWordPress,
) -> None:
    wp.add(at(0), "Ann")
    zoe = wp.add(at(1), "Zoe", status="hold")
    old = wp.add(at(-24 * 60), "Olga", "written yesterday, held since", status="hold")
    blog = connector(wp)
    first = blog.fetch(None)
    assert ids(first) == [str(old.id), "1", "2"]

    zoe.status = "approved"
    wp.add(at(2), "Ben")
    second = blog.fetch(first.cursor)
    assert ids(second) == ["4"]
    assert second.cursor is not None and str(old.id) in second.cursor["seen"]  # still held

    old.status = "approved"  # approved a day late: older than `after`, already returned
    third = blog.fetch(second.cursor)
    assert third.records == []
    assert third.cursor is not None and str(old.id) not in third.cursor["seen"]
    # The hold queue is read whole, whatever the cursor says.
    held = [r.params for r in wp.seen("/wp/v2/comments") if r.params.get("status") == "hold"]
    assert held and all("after" not in p for p in held)


def test_without_credentials_a_comment_approved_within_the_lookback_is_found(
    wp: FakeWordPress,
) -> None:
    wp.add(at(0), "Ann")
    late = wp.add(at(1), "Zoe", "held for a day", status="hold")
    blog = connector(wp, signed_in=False)
    first = blog.fetch(None)
    assert ids(first) == ["1"]
    wp.add(at(20 * 60), "Ben")  # the blog goes on
    second = blog.fetch(first.cursor)
    assert ids(second) == ["3"]

    late.status = "approved"  # a day after it was written
    third = blog.fetch(second.cursor)
    assert ids(third) == [str(late.id)]
    assert wp.seen("/wp/v2/comments")[-1].params["after"] == (
        (at(20 * 60) - LOOKBACK_ANONYMOUS).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


# -- the owner ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "settings", "owner", "is_owner"),
    [
        pytest.param({"author": 1, "author_name": "Dana"}, {}, (), True, id="signed-in user"),
        pytest.param(
            {"author": 7, "author_name": "Shop"},
            {"owner_user_ids": [7]},
            (),
            True,
            id="owner_user_ids",
        ),
        pytest.param({"author": 7, "author_name": "Shop"}, {}, ("7",), True, id="numeric id"),
        pytest.param(
            {"author": 9, "author_name": "Dana K."}, {}, ("dana k.",), True, id="name, registered"
        ),
        pytest.param(
            {"author": 0, "author_name": "Dana"}, {}, ("Dana",), False, id="visitor typing it"
        ),
        pytest.param({"author": 9, "author_name": "Ben"}, {}, ("Dana",), False, id="someone else"),
    ],
)
def test_owner_detection(
    wp: FakeWordPress,
    comment: dict[str, Any],
    settings: dict[str, Any],
    owner: tuple[str, ...],
    is_owner: bool,
) -> None:
    wp.add(at(0), text="hello", **comment)
    (record,) = connector(wp, owner=owner, **settings).fetch(None).records
    assert record.is_owner is is_owner


def test_without_credentials_the_owner_is_found_by_id_or_registered_name(
    wp: FakeWordPress,
) -> None:
    wp.add(at(0), "Ann")
    wp.add(at(1), "Dana", parent=1, author=1)
    wp.add(at(2), "Dana", "I am not Dana", author=0)
    result = connector(wp, signed_in=False, owner=("Dana",)).fetch(None)
    assert [r.is_owner for r in result.records] == [False, True, False]
    assert wp.seen("/wp/v2/users/me") == []


def test_the_signed_in_user_is_looked_up_once(wp: FakeWordPress) -> None:
    blog = connector(wp)
    cursor = blog.fetch(None).cursor
    assert cursor is not None and cursor["user"]["id"] == 1
    blog2 = connector(wp)  # a restart: the cursor is all it has
    blog2.fetch(cursor)
    assert len(wp.seen("/wp/v2/users/me")) == 1


# -- routes: /wp-json/ or ?rest_route= ------------------------------------------------------------


@pytest.mark.parametrize("pretty", [False, "404"], ids=["wordpress-redirect", "apache-404"])
def test_without_pretty_permalinks_rest_route_is_used_and_remembered(pretty: bool | str) -> None:
    with FakeWordPress(pretty=pretty) as wp:
        wp.add(at(0))
        blog = connector(wp, signed_in=False)
        first = blog.fetch(None)
        assert ids(first) == ["1"] and first.cursor is not None
        assert first.cursor["route"] == "rest_route"
        restarted = connector(wp, signed_in=False)
        wp.add(at(1), "Ben")
        assert ids(restarted.fetch(first.cursor)) == ["2"]
        paths = [r.path for r in wp.requests]
    tried = (
        ["/wp-json/wp/v2/comments", "/wp-json/wp/v2/comments/"]  # 301, then an HTML page
        if pretty is False
        else ["/wp-json/wp/v2/comments"]  # 404
    )
    assert paths == [*tried, "/", "/"]  # /wp-json/ only once: the cursor keeps the route


def test_permalinks_turned_off_later_move_the_connector_to_rest_route(wp: FakeWordPress) -> None:
    wp.add(at(0))
    first = connector(wp).fetch(None)
    assert first.cursor is not None and first.cursor["route"] == "wp-json"
    wp.pretty = False
    wp.add(at(1), "Ben")
    second = connector(wp).fetch(first.cursor)
    assert ids(second) == ["2"]
    assert second.cursor is not None and second.cursor["route"] == "rest_route"


def test_with_pretty_permalinks_wp_json_is_used(wp: FakeWordPress) -> None:
    wp.add(at(0))
    result = connector(wp).fetch(None)
    assert result.cursor is not None and result.cursor["route"] == "wp-json"
    assert {r.path for r in wp.requests} == {"/wp-json/wp/v2/users/me", "/wp-json/wp/v2/comments"}


def test_a_site_that_is_not_wordpress_is_a_config_error() -> None:
    with FakeWordPress(pretty=False) as wp:
        # ?rest_route= on a site without WordPress gives its home page.
        wp.script("/wp/v2/comments", Scripted(body=b"<!DOCTYPE html><html>Home</html>"))
        with pytest.raises(ConfigError, match=r"no WordPress REST API at http://127\.0\.0\.1"):
            connector(wp, signed_in=False).fetch(None)


def test_a_url_with_no_api_on_either_route_is_a_config_error(wp: FakeWordPress) -> None:
    blog = WordPressConnector(
        WordPressSettings(url=f"{wp.url}/blog"), ConnectorContext("blog", ("Dana",))
    )
    with pytest.raises(ConfigError) as caught:
        blog.fetch(None)
    assert str(caught.value) == (
        f"no WordPress REST API at {wp.url}/blog (/wp-json/ gave 404 Not Found, ?rest_route= "
        "gave 404 Not Found) — check that sources[].url is the blog's address, like "
        "https://blog.example.com"
    )


# -- errors ---------------------------------------------------------------------------------------


def _error(wp: FakeWordPress, **settings: Any) -> Exception:
    signed_in = settings.pop("signed_in", True)
    with pytest.raises((AuthError, ConfigError, TransientError)) as caught:
        connector(wp, signed_in=signed_in, **settings).fetch(None)
    message = str(caught.value)
    assert APP_PASSWORD not in message and APP_PASSWORD.replace(" ", "") not in message
    return caught.value


def test_a_wrong_application_password_says_where_to_make_one(wp: FakeWordPress) -> None:
    error = _error(wp, app_password="wxyz wxyz wxyz wxyz wxyz wxyz")
    assert isinstance(error, AuthError)
    assert "did not accept the login of dana" in str(error)
    assert "Users → Profile → Application Passwords" in str(error)
    assert "wxyz" not in str(error)


def test_application_passwords_refused_over_plain_http_say_why() -> None:
    with FakeWordPress(app_passwords=False) as wp:
        error = _error(wp)
    assert isinstance(error, AuthError)
    assert "does not accept application passwords" in str(error)
    assert "WP_ENVIRONMENT_TYPE is 'local'" in str(error)


def test_an_account_that_cannot_see_held_comments_is_an_auth_error(wp: FakeWordPress) -> None:
    wp.users["dana"].role = "subscriber"
    error = _error(wp)
    assert isinstance(error, AuthError)
    assert "cannot see comments held for moderation" in str(error)
    assert "role subscriber" in str(error)


def test_a_role_lost_after_the_lookup_is_an_auth_error_too(wp: FakeWordPress) -> None:
    blog = connector(wp)
    cursor = blog.fetch(None).cursor
    wp.users["dana"].role = "subscriber"  # the cursor still says administrator
    with pytest.raises(AuthError, match="cannot see comments held for moderation"):
        connector(wp).fetch(cursor)


def test_an_api_refusing_anonymous_readers_asks_for_credentials(wp: FakeWordPress) -> None:
    wp.script(
        "/wp/v2/comments",
        Scripted(401, body=b'{"code":"rest_cannot_access","message":"Only signed-in users"}'),
    )
    error = _error(wp, signed_in=False)
    assert isinstance(error, AuthError) and "set username and app_password" in str(error)


def test_no_comments_route_is_a_config_error(wp: FakeWordPress) -> None:
    wp.script("/wp/v2/comments", Scripted(404, body=b'{"code":"rest_no_route","message":"x"}'))
    error = _error(wp, signed_in=False)
    assert isinstance(error, ConfigError) and "no comments endpoint" in str(error)


def test_a_rejected_request_is_a_config_error(wp: FakeWordPress) -> None:
    body = b'{"code":"rest_invalid_param","message":"Invalid parameter(s): after"}'
    wp.script("/wp/v2/comments", Scripted(400, body=body))
    error = _error(wp, signed_in=False)
    assert isinstance(error, ConfigError)
    assert "rejected the request (400 Bad Request, rest_invalid_param)" in str(error)


def test_rate_limits_honour_retry_after(wp: FakeWordPress) -> None:
    wp.script("/wp/v2/comments", Scripted(429, headers={"Retry-After": "120"}))
    error = _error(wp)
    assert isinstance(error, TransientError) and error.retry_after == 120
    assert "rate limiting" in str(error)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(wp: FakeWordPress, status: int) -> None:
    wp.script("/wp/v2/comments", Scripted(status, body=b"<html>Error establishing a database"))
    error = _error(wp)
    assert isinstance(error, TransientError) and "server problem" in str(error)


def test_a_timeout_is_transient(wp: FakeWordPress) -> None:
    wp.script("/wp/v2/comments", Scripted(hang=True))
    error = _error(wp, timeout=0.3)
    assert isinstance(error, TransientError) and "did not answer within 0.3 s" in str(error)


def test_invalid_json_is_transient_once_the_api_is_known(wp: FakeWordPress) -> None:
    wp.add(at(0))
    blog = connector(wp)
    cursor = blog.fetch(None).cursor
    wp.script("/wp/v2/comments", Scripted(body=b'[{"id": 1, "post"'))
    with pytest.raises(TransientError, match="answered without JSON"):
        blog.fetch(cursor)


def test_a_list_that_is_not_a_list_is_transient(wp: FakeWordPress) -> None:
    wp.script("/wp/v2/comments", Scripted(body=b'{"surprise": true}'))
    error = _error(wp)
    assert isinstance(error, TransientError) and "not a list" in str(error)


def test_a_refused_connection_is_transient() -> None:
    with FakeWordPress() as wp:
        url = wp.url
    blog = WordPressConnector(
        WordPressSettings(url=url), ConnectorContext(source="blog", owner_identities=())
    )
    with pytest.raises(TransientError, match="cannot reach WordPress"):
        blog.fetch(None)


# -- check() --------------------------------------------------------------------------------------


def test_check_says_who_is_signed_in_and_what_is_visible(wp: FakeWordPress) -> None:
    assert connector(wp).check() == (
        f"signed in as dana (user 1) at {wp.url}; comments held for moderation are visible"
    )
    wp.users["dana"].role = "author"
    assert "visible on dana's own posts only (role author" in connector(wp).check()
    wp.add(at(0))
    wp.add(at(1), status="hold")
    assert connector(wp, signed_in=False).check() == (
        f"reading {wp.url} without signing in: 1 approved comments visible; comments held for "
        "moderation are not (set username and app_password to see them)"
    )


def test_check_says_plainly_what_is_wrong(wp: FakeWordPress) -> None:
    with pytest.raises(AuthError, match="application password is wrong or was revoked"):
        connector(wp, app_password="nope nope nope").check()
    wp.users["dana"].role = "subscriber"
    with pytest.raises(AuthError, match="cannot see comments held"):
        connector(wp).check()


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://blog.example.com/", "https://blog.example.com"),
        ("  https://example.com/blog ", "https://example.com/blog"),
        ("https://blog.example.com/wp-json/", "https://blog.example.com"),
    ],
)
def test_the_url_is_the_site_address(given: str, kept: str) -> None:
    assert WordPressSettings(url=given).url == kept


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"url": "blog.example.com"}, "expected the site's address"),
        ({"url": "ftp://blog.example.com"}, "expected the site's address"),
        ({"url": "https://dana:pw@blog.example.com"}, "not in the URL"),
        ({"url": "https://blog.example.com/?p=1"}, "without ?query"),
        ({"url": "https://b.example", "username": "dana"}, "give both username and app_password"),
        ({"url": "https://b.example", "app_password": "x y z"}, "give both"),
        ({"url": "https://b.example", "per_page": 500}, "less than or equal to 100"),
        ({"url": "https://b.example", "apikey": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_explained_without_echoing_secrets(
    settings: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        WordPressSettings(**settings)
    assert problem in str(caught.value)
    assert "pw@" not in str(caught.value) and "x y z" not in str(caught.value)


def test_the_application_password_is_never_shown() -> None:
    settings = WordPressSettings.model_validate(
        {"url": "https://b.example", "username": "dana", "app_password": "s3cr3t"}
    )
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.model_dump())


def test_the_connector_is_registered_under_wordpress() -> None:
    from connectors.base import registry

    assert registry().get("wordpress") is WordPressConnector


# -- through a real poll --------------------------------------------------------------------------


def wordpress_source(settings: WordPressSettings, tmp_path: Path) -> Source:
    """A configured source (built from a demo one: the entry point may not be installed yet)."""
    config = parse_config(
        "owner: {name: Dana, timezone: America/New_York, identities: {demo: [Dana]}}\n"
        "sources:\n  - {name: blog, type: demo, every: 5m, backfill: all}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n",
        path="test.yaml",
        environ={},
    )
    return dataclasses.replace(
        config.source("blog"),
        type="wordpress",
        connector_class=WordPressConnector,
        settings=settings,
    )


def test_a_poll_stores_each_comment_once_and_threaded_replies_answer_their_parent(
    wp: FakeWordPress, sqlite_store: Store, tmp_path: Path
) -> None:
    wp.add(at(0), "Ann", "Open on Sunday?")
    wp.add(at(1), "Ben", "Decaf?")
    wp.add(at(20), "dana", "Yes, 10 to 4!", parent=1, author=1)
    wp.add(at(30), "Zoe", "First time!", status="hold")
    blog = connector(wp)
    source = wordpress_source(blog.settings, tmp_path)
    sqlite_store.ensure_sources([("blog", "wordpress")])

    outcome = poll_source(source, blog, sqlite_store, clock=lambda: NOW)
    assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 3, 1)
    again = poll_source(source, blog, sqlite_store, clock=lambda: NOW)
    assert (again.error, again.new_items, again.new_replies) == (None, 0, 0)

    items = {i.external_id: i for i in sqlite_store.inbox(NOW, everything=True)}
    assert set(items) == {"1", "2", "4"}
    assert (items["1"].status, items["1"].answered_at) == ("answered", at(20))
    assert items["2"].status == "open"  # the reply was to Ann, threaded: Ben still waits
    assert (items["4"].status, items["4"].kind) == ("open", "held-comment")
