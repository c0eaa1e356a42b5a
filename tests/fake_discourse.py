"""A fake Discourse forum on 127.0.0.1 for the discourse connector's tests.

It holds posts and answers the JSON API the connector reads the way Discourse does:
``/posts.json`` newest first with ``before=<id>`` paging, ``/t/<id>.json`` (the topic's first
posts), ``/t/<id>/<number>.json`` (the posts around one), ``/t/<id>/posts.json?post_ids[]=…``,
``/notifications.json`` (offset paging), ``/session/current.json`` and ``/u/<name>.json``. The
API key is checked like Discourse checks it (a wrong key is a 403 "invalid_access"), and a forum
can require a login.

Posts come from the discourse_api recordings, read in place (`load_recorded`), or from `post`,
which fills the recorded shape. A recorded answer can also be served as it is at a path (`serve`),
and any answer scripted ahead of the model (see `tests.fake_json`).

    with FakeDiscourse(api_key="k-123", username="dana") as forum:
        forum.load_recorded(REALDATA / "discourse_api")
        forum.add(post(300, topic=57, number=15, username="dana", reply_to=14))
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fake_json import Answer, JsonServer, Seen

INVALID_KEY = {
    "errors": [
        "You are not permitted to view the requested resource. The API username or key is invalid."
    ],
    "error_type": "invalid_access",
}
LOGIN_REQUIRED = {
    "errors": ["You are not permitted to view the requested resource."],
    "error_type": "invalid_access",
}
TOPIC_PAGE = 20  # posts in a topic answer, as Discourse's default chunk size


def post(
    post_id: int,
    *,
    topic: int,
    number: int,
    username: str = "ann",
    created_at: datetime | str = "2026-03-09T13:00:00.000Z",
    reply_to: int | None = None,
    cooked: str | None = None,
    slug: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A post in the shape of the recorded ``latest_posts`` entries (posts_latest.json)."""
    when = created_at if isinstance(created_at, str) else _iso(created_at)
    body = cooked if cooked is not None else f"<p>post-{post_id}: do you deliver on Sundays?</p>"
    return {
        "id": post_id,
        "name": None,
        "username": username,
        "avatar_template": f"/letter_avatar_proxy/v4/letter/{username[:1]}/df705f/{{size}}.png",
        "created_at": when,
        "cooked": body,
        "post_number": number,
        "post_type": 1,
        "updated_at": when,
        "reply_count": 0,
        "reply_to_post_number": reply_to,
        "quote_count": 0,
        "reads": 1,
        "score": 0.2,
        "yours": False,
        "topic_id": topic,
        "topic_slug": slug or f"topic-{topic}",
        "topic_title": f"Topic {topic}",
        "category_id": 1,
        "display_username": None,
        "version": 1,
        "raw": re.sub(r"<[^>]+>", "", body),
        "moderator": False,
        "admin": False,
        "staff": False,
        "user_id": 100 + sum(map(ord, username)),
        "hidden": False,
        "trust_level": 1,
        "deleted_at": None,
        "user_deleted": False,
        "wiki": False,
        **extra,
    }


def notification(
    note_id: int,
    post: dict[str, Any],
    *,
    kind: int = 1,
    by: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """A notification about `post`, in the shape of current forums (the recording's plus ids)."""
    author = by or post["username"]
    return {
        "id": note_id,
        "user_id": 1,
        "notification_type": kind,
        "read": False,
        "high_priority": False,
        "created_at": created_at or post["created_at"],
        "post_number": post["post_number"],
        "topic_id": post["topic_id"],
        "fancy_title": post.get("topic_title", ""),
        "slug": post.get("topic_slug", ""),
        "data": {
            "topic_title": post.get("topic_title", ""),
            "original_post_id": post["id"],
            "original_post_type": 1,
            "original_username": author,
            "revision_number": None,
            "display_username": author,
        },
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class FakeDiscourse(JsonServer):
    """Start with ``with FakeDiscourse() as forum:``; `forum.url` is the forum's address."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        username: str = "dana",
        login_required: bool = False,
        page_size: int = 50,
    ) -> None:
        super().__init__()
        self.api_key = api_key  # the one valid key, acting as `username`
        self.username = username
        self.login_required = login_required
        self.page_size = page_size
        self.posts: dict[int, dict[str, Any]] = {}
        self.unlisted: set[int] = set()  # posts /posts.json leaves out (a restricted category)
        self.notifications: list[dict[str, Any]] = []  # newest first
        self.notes_page = 60
        self._served: dict[str, Any] = {}
        self.route("GET", r"/posts\.json", self._latest)
        self.route("GET", r"/t/(\d+)\.json", self._topic)
        self.route("GET", r"/t/(\d+)/(\d+)\.json", self._topic_near)
        self.route("GET", r"/t/(\d+)/posts\.json", self._topic_posts)
        self.route("GET", r"/notifications\.json", self._notifications)
        self.route("GET", r"/session/current\.json", self._current)
        self.route("GET", r"/u/([^/]+)\.json", self._user)

    # -- what tests call ------------------------------------------------------------------------

    def add(self, *posts: dict[str, Any], listed: bool = True) -> None:
        for item in posts:
            self.posts[int(item["id"])] = item
            if not listed:
                self.unlisted.add(int(item["id"]))

    def serve(self, path: str, body: Any) -> None:
        """Answer `path` with `body` as it is (a recorded answer), instead of the model."""
        self._served[path] = body

    def load_recorded(self, folder: Path) -> None:
        """The recorded posts: posts_latest.json, posts_before.json and topic.json (topic 57),
        which is also served as recorded at /t/57.json."""
        for name in ("posts_latest.json", "posts_before.json"):
            self.add(*json.loads((folder / name).read_text(encoding="utf-8"))["latest_posts"])
        topic = json.loads((folder / "topic.json").read_text(encoding="utf-8"))
        self.add(*topic["post_stream"]["posts"])
        self.serve(f"/t/{topic['id']}.json", topic)

    # -- the API --------------------------------------------------------------------------------

    def _denied(self, request: Seen, *, needs_login: bool = False) -> Answer | None:
        key = request.headers.get("api-key")
        if key is not None:
            user = request.headers.get("api-username", "")
            if key != self.api_key or user.casefold() != self.username.casefold():
                return Answer(403, INVALID_KEY)
            return None
        if self.login_required or needs_login:
            return Answer(403, LOGIN_REQUIRED)
        return None

    def _latest(self, request: Seen, _: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        before = request.arg("before")
        ids = sorted((i for i in self.posts if i not in self.unlisted), reverse=True)
        if before is not None:
            ids = [i for i in ids if i < int(before)]
        return Answer(200, {"latest_posts": [self.posts[i] for i in ids[: self.page_size]]})

    def _in_topic(self, topic: int) -> list[dict[str, Any]]:
        return sorted(
            (p for p in self.posts.values() if p["topic_id"] == topic),
            key=lambda p: p["post_number"],
        )

    def _topic_body(self, topic: int, posts: list[dict[str, Any]]) -> dict[str, Any]:
        every = self._in_topic(topic)
        slug = every[0].get("topic_slug", f"topic-{topic}") if every else f"topic-{topic}"
        return {
            "post_stream": {"posts": posts, "stream": [p["id"] for p in every]},
            "id": topic,
            "slug": slug,
            "title": f"Topic {topic}",
            "archetype": "regular",
            "posts_count": len(every),
        }

    def _topic(self, request: Seen, match: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        if request.path in self._served:
            return Answer(200, self._served[request.path])
        topic = int(match.group(1))
        posts = self._in_topic(topic)
        if not posts:
            return Answer(404, {"errors": ["The requested URL or resource could not be found."]})
        return Answer(200, self._topic_body(topic, posts[:TOPIC_PAGE]))

    def _topic_near(self, request: Seen, match: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        topic, number = int(match.group(1)), int(match.group(2))
        posts = self._in_topic(topic)
        if not posts:
            return Answer(404, {"errors": ["The requested URL or resource could not be found."]})
        at = next((i for i, p in enumerate(posts) if p["post_number"] >= number), len(posts))
        start = max(0, at - TOPIC_PAGE // 2)
        return Answer(200, self._topic_body(topic, posts[start : start + TOPIC_PAGE]))

    def _topic_posts(self, request: Seen, match: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        if request.path in self._served:
            return Answer(200, self._served[request.path])
        topic = int(match.group(1))
        wanted = {int(i) for i in request.query.get("post_ids[]", [])}
        posts = [p for p in self._in_topic(topic) if p["id"] in wanted]
        if not self._in_topic(topic):
            return Answer(404, {"errors": ["The requested URL or resource could not be found."]})
        return Answer(200, {"post_stream": {"posts": posts}, "id": topic})

    def _notifications(self, request: Seen, _: re.Match[str]) -> Answer:
        if denied := self._denied(request, needs_login=True):
            return denied
        if request.path in self._served:
            return Answer(200, self._served[request.path])
        offset = int(request.arg("offset") or 0)
        page = self.notifications[offset : offset + self.notes_page]
        return Answer(
            200,
            {
                "notifications": page,
                "total_rows_notifications": len(self.notifications),
                "seen_notification_id": None,
                "load_more_notifications": (
                    f"/notifications?offset={offset + self.notes_page}&username={self.username}"
                ),
            },
        )

    def _current(self, request: Seen, _: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        if request.headers.get("api-key") is None:
            return Answer(404, {"errors": ["The requested URL or resource could not be found."]})
        return Answer(200, {"current_user": {"id": 1, "username": self.username, "admin": True}})

    def _user(self, request: Seen, match: re.Match[str]) -> Answer:
        if denied := self._denied(request):
            return denied
        name = match.group(1).casefold()
        known = {p["username"].casefold() for p in self.posts.values()}
        if name not in known and name != self.username.casefold():
            return Answer(404, {"errors": ["The requested URL or resource could not be found."]})
        return Answer(200, {"user": {"id": 7, "username": match.group(1)}})
