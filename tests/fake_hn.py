"""A fake HN Search API (Algolia) on 127.0.0.1 for the hackernews connector's tests.

It holds items (stories and comments, flat, in the shape of the recorded search hits) and answers
what the connector reads the way hn.algolia.com does: ``/api/v1/search_by_date`` (``query``, a
quoted phrase or words; ``tags`` with ``(a,b)`` for OR and ``,`` for AND; ``numericFilters`` on
``created_at_i``; ``page`` and ``hitsPerPage``; newest first), ``/api/v1/items/<id>`` (the item
and its replies, nested) and ``/api/v1/users/<name>``. Like Algolia, a query word also matches a
longer word it begins ("apple" finds "applauded"), and a comment is found by its story's title.

The 2014 recordings (``../shared/realdata/node-hacker-news-api/fixtures.json``, ``[{url,
reply}]``) are read in place: `load_recorded` adds every recorded hit to the model, and serves
the recorded ``/items/17`` and ``/users/pg`` answers as they are. Any answer can also be scripted
ahead of the model (see `tests.fake_json`).

    with FakeHN() as hn:
        hn.load_recorded(REALDATA / "node-hacker-news-api" / "fixtures.json")
        hn.add(comment(9001, author="dana", parent=1079, story=1, at=1172500000))
        settings = HackerNewsSettings(username="pg", api_base=hn.api_base)
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fake_json import Answer, JsonServer, Seen

_NUMERIC = re.compile(r"^(created_at_i)(<=|>=|<|>|=)(\d+)$")


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def comment(
    item_id: int, *, author: str, parent: int, story: int, at: int, text: str | None = None
) -> dict[str, Any]:
    """A comment in the shape of the recorded search hits."""
    return {
        "created_at": _iso(at),
        "title": None,
        "url": None,
        "author": author,
        "points": 1,
        "story_text": None,
        "comment_text": text if text is not None else f"comment-{item_id}: is it open?",
        "num_comments": None,
        "story_id": story,
        "story_title": f"Story {story}",
        "story_url": None,
        "parent_id": parent,
        "created_at_i": at,
        "_tags": ["comment", f"author_{author}", f"story_{story}"],
        "objectID": str(item_id),
    }


def story(
    item_id: int, *, author: str, at: int, title: str, url: str | None = None, text: str = ""
) -> dict[str, Any]:
    """A story in the shape of the recorded search hits."""
    return {
        "created_at": _iso(at),
        "title": title,
        "url": url,
        "author": author,
        "points": 1,
        "story_text": text,
        "comment_text": None,
        "num_comments": 0,
        "story_id": None,
        "story_title": None,
        "story_url": None,
        "parent_id": None,
        "created_at_i": at,
        "_tags": ["story", f"author_{author}", f"story_{item_id}"],
        "objectID": str(item_id),
    }


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


class FakeHN(JsonServer):
    """Start with ``with FakeHN() as hn:``; `hn.api_base` is what the connector is given."""

    def __init__(self, *, phrases: bool = True) -> None:
        super().__init__()
        # False: quotes are ignored, as on an index without advancedSyntax.
        self.phrases = phrases
        self.items: dict[str, dict[str, Any]] = {}  # objectID → hit
        self.users: dict[str, dict[str, Any]] = {}
        self._served: dict[str, Any] = {}
        self.route("GET", r"/api/v1/search_by_date", self._search)
        self.route("GET", r"/api/v1/items/(\d+)", self._item)
        self.route("GET", r"/api/v1/users/([^/]+)", self._user)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v1"

    # -- what tests call ------------------------------------------------------------------------

    def add(self, *hits: dict[str, Any]) -> None:
        for hit in hits:
            self.items[str(hit["objectID"])] = hit

    def serve(self, path: str, body: Any) -> None:
        """Answer `path` with `body` as it is (a recorded answer), instead of the model."""
        self._served[path] = body

    def load_recorded(self, fixtures: Path) -> None:
        """Every recorded search hit into the model; /items/17 and /users/pg as recorded."""
        for entry in json.loads(fixtures.read_text(encoding="utf-8")):
            reply, path = entry["reply"], entry["url"].split("?")[0]
            if "hits" in reply:
                self.add(*reply["hits"])
            else:
                self.serve(path, reply)

    # -- the API --------------------------------------------------------------------------------

    def _matches(self, hit: dict[str, Any], request: Seen) -> bool:
        tags = set(hit.get("_tags", []))
        for group in _split_tags(request.arg("tags") or ""):
            if not tags & group:
                return False
        for condition in filter(None, (request.arg("numericFilters") or "").split(",")):
            match = _NUMERIC.match(condition.strip())
            if match is None:
                raise ValueError(f"unsupported numeric filter {condition!r}")
            value, limit = int(hit["created_at_i"]), int(match.group(3))
            if not _compare(value, match.group(2), limit):
                return False
        query = (request.arg("query") or "").strip()
        if not query:
            return True
        searchable = " ".join(
            str(hit.get(k) or "")
            for k in ("title", "url", "author", "story_text", "comment_text", "story_title")
        )
        words = _words(searchable)
        if self.phrases and query.startswith('"') and query.endswith('"'):
            # A quoted phrase: these words, in a row.
            wanted = _words(query)
            return any(words[i : i + len(wanted)] == wanted for i in range(len(words)))
        # Words: each begins some word of the item (Algolia's prefix matching).
        return all(any(w.startswith(q) for w in words) for q in _words(query))

    def _search(self, request: Seen, _: re.Match[str]) -> Answer:
        try:
            hits = [h for h in self.items.values() if self._matches(h, request)]
        except ValueError as exc:
            return Answer(400, {"message": str(exc), "status": 400})
        hits.sort(key=lambda h: (int(h["created_at_i"]), int(h["objectID"])), reverse=True)
        per_page = int(request.arg("hitsPerPage") or 20)
        page = int(request.arg("page") or 0)
        pages = max(1, math.ceil(len(hits) / per_page)) if hits else 0
        return Answer(
            200,
            {
                "hits": hits[page * per_page : (page + 1) * per_page],
                "nbHits": len(hits),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per_page,
                "processingTimeMS": 1,
                "query": request.arg("query") or "",
                "params": "advancedSyntax=true&analytics=false",
            },
        )

    def _tree(self, hit: dict[str, Any]) -> dict[str, Any]:
        is_comment = "comment" in hit.get("_tags", [])
        children = [
            h for h in self.items.values() if str(h.get("parent_id")) == str(hit["objectID"])
        ]
        children.sort(key=lambda h: int(h["created_at_i"]))
        return {
            "id": int(hit["objectID"]),
            "created_at": hit["created_at"],
            "created_at_i": hit["created_at_i"],
            "type": "comment" if is_comment else "story",
            "author": hit["author"],
            "title": hit.get("title"),
            "url": hit.get("url"),
            "text": hit.get("comment_text") if is_comment else hit.get("story_text"),
            "points": hit.get("points"),
            "parent_id": hit.get("parent_id"),
            "story_id": hit.get("story_id") if is_comment else int(hit["objectID"]),
            "children": [self._tree(c) for c in children],
        }

    def _item(self, request: Seen, match: re.Match[str]) -> Answer:
        if request.path in self._served:
            return Answer(200, self._served[request.path])
        hit = self.items.get(match.group(1))
        if hit is None:
            return Answer(404, {"error": "Not found"})
        return Answer(200, self._tree(hit))

    def _user(self, request: Seen, match: re.Match[str]) -> Answer:
        if request.path in self._served:
            return Answer(200, self._served[request.path])
        user = self.users.get(match.group(1))
        return Answer(200, user) if user is not None else Answer(404, {"error": "Not found"})


def _split_tags(tags: str) -> list[set[str]]:
    """``(story,comment),author_pg`` → [{story, comment}, {author_pg}]: AND of ORs."""
    groups, depth, current = [], 0, ""
    for char in tags:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            groups.append(current)
            current = ""
        else:
            current += char
    if current:
        groups.append(current)
    return [set(g.strip("()").split(",")) for g in groups if g.strip("()")]


def _compare(value: int, op: str, limit: int) -> bool:
    return {
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
        "=": value == limit,
    }[op]
