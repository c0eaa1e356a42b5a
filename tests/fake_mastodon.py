"""A fake Mastodon instance on 127.0.0.1 for the mastodon connector's tests (Mastodon.py talks
to it over plain HTTP).

It holds accounts (by access token), notifications and statuses, and answers what the connector
reads the way Mastodon does: ``verify_credentials`` for the account and for the token's app (with
its scopes), ``/api/v1/notifications`` (``types[]``, ``since_id``, ``max_id``, ``limit``) and
``/api/v1/accounts/<id>/statuses`` (the same, and ``exclude_reblogs``), newest first, with Link
headers and ``X-RateLimit-*`` headers. A wrong token is a 401 ``The access token is invalid``.

The recordings (``../shared/realdata/mastodon.py/*.yaml``, vcrpy cassettes) are read in place:
`Cassettes` gives their JSON bodies, and the accounts behind their token placeholders
(``__MASTODON_PY_TEST_ACCESS_TOKEN``, ``_2``, ``_3``), so a test picks the owner by picking a
placeholder. Any answer can also be scripted ahead of the model (see `tests.fake_json`).

    cassettes = Cassettes(REALDATA / "mastodon.py")
    with FakeMastodon(cassettes.accounts()) as instance:
        instance.notifications += cassettes.body("test_notifications_mentions_only.yaml", 1)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.fake_json import Answer, JsonServer, Seen

INVALID_TOKEN = {"error": "The access token is invalid"}


class Cassettes:
    """The Mastodon.py recordings of one folder, read in place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def interactions(self, name: str) -> list[dict[str, Any]]:
        text = (self.folder / name).read_text(encoding="utf-8")
        return list(yaml.safe_load(text)["interactions"])

    def body(self, name: str, index: int) -> Any:
        """The JSON body of one recorded answer."""
        return json.loads(self.interactions(name)[index]["response"]["body"]["string"])

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Token placeholder → the account it signs in as, from every recorded request that
        posted a status or verified credentials with it."""
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.glob("*.yaml")):
            for interaction in self.interactions(path.name):
                request, response = interaction["request"], interaction["response"]
                auth = (request.get("headers") or {}).get("Authorization") or [""]
                token = auth[0].removeprefix("Bearer ")
                if not token.startswith("__MASTODON_PY_TEST_ACCESS_TOKEN"):
                    continue
                text = response["body"]["string"]
                if not isinstance(text, str) or not text.startswith("{"):
                    continue
                body = json.loads(text)
                if request["uri"].endswith("/accounts/verify_credentials"):
                    found[token] = body
                elif request["method"] == "POST" and request["uri"].endswith("/statuses"):
                    found.setdefault(token, body["account"])
        return found


def status(
    status_id: int | str,
    account: dict[str, Any],
    *,
    created_at: datetime,
    content: str | None = None,
    in_reply_to: dict[str, Any] | None = None,
    visibility: str = "public",
    base: str = "https://mastodon.example",
) -> dict[str, Any]:
    """A status in the shape of the recorded ones (test_status_reply.yaml)."""
    sid = str(status_id)
    mentions = []
    if in_reply_to is not None:
        mentioned = in_reply_to["account"]
        mentions.append(
            {k: mentioned[k] for k in ("id", "username", "acct", "url") if k in mentioned}
        )
    return {
        "id": sid,
        "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
        "in_reply_to_account_id": in_reply_to["account"]["id"] if in_reply_to else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": visibility,
        "language": "en",
        "uri": f"{base}/users/{account['username']}/statuses/{sid}",
        "url": f"{base}/@{account['acct']}/{sid}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content if content is not None else f"<p>status-{sid}: open today?</p>",
        "reblog": None,
        "account": account,
        "media_attachments": [],
        "mentions": mentions,
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def mention(note_id: int | str, of: dict[str, Any]) -> dict[str, Any]:
    """A mention notification about status `of`, in the recorded shape."""
    return {
        "id": str(note_id),
        "type": "mention",
        "created_at": of["created_at"],
        "group_key": f"ungrouped-{note_id}",
        "account": of["account"],
        "status": of,
    }


def account(account_id: str, username: str, *, domain: str | None = None) -> dict[str, Any]:
    """An account in the recorded shape; `domain` makes it a remote one (acct user@domain)."""
    acct = f"{username}@{domain}" if domain else username
    return {
        "id": account_id,
        "username": username,
        "acct": acct,
        "display_name": username.title(),
        "locked": False,
        "bot": False,
        "group": False,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": f"https://{domain or 'mastodon.example'}/@{username}",
        "avatar": "https://mastodon.example/avatars/original/missing.png",
        "followers_count": 1,
        "following_count": 1,
        "statuses_count": 1,
        "emojis": [],
        "fields": [],
    }


def _by_id_desc(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: int(e["id"]), reverse=True)


class FakeMastodon(JsonServer):
    """Start with ``with FakeMastodon({token: account}) as instance:``."""

    def __init__(self, tokens: dict[str, dict[str, Any]], *, scopes: list[str] | None = None):
        super().__init__()
        self.tokens = dict(tokens)
        self.scopes = scopes if scopes is not None else ["read"]
        self.notifications: list[dict[str, Any]] = []  # the signed-in account's
        self.statuses: list[dict[str, Any]] = []  # everybody's
        self.max_limit = 40  # what the instance gives at most per page
        self.remaining = 300  # requests left in the rate-limit window
        self.route("GET", r"/api/v1/accounts/verify_credentials", self._verify)
        self.route("GET", r"/api/v1/apps/verify_credentials", self._app)
        self.route("GET", r"/api/v1/notifications", self._notifications)
        self.route("GET", r"/api/v1/accounts/([^/]+)/statuses", self._statuses)

    # -- helpers --------------------------------------------------------------------------------

    def ratelimit_headers(self, *, reset_in: float = 300.0) -> dict[str, str]:
        """Mastodon's rate-limit headers, with a reset `reset_in` seconds from now (real time:
        Mastodon.py compares it with the Date header, which every answer carries, and its own
        clock)."""
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
        }

    def _signed_in(self, request: Seen) -> dict[str, Any] | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token)

    def _answer(self, request: Seen) -> Answer:  # type: ignore[override]
        answer = super()._answer(request)
        self.remaining = max(0, self.remaining - 1)
        if not any(h.lower() == "x-ratelimit-remaining" for h in answer.headers):
            answer.headers = {**self.ratelimit_headers(), **answer.headers}
        return answer

    def _page(self, request: Seen, entries: list[dict[str, Any]], path: str) -> Answer:
        since, max_id = request.arg("since_id"), request.arg("max_id")
        min_id = request.arg("min_id")
        limit = min(int(request.arg("limit") or 20), self.max_limit)
        chosen = _by_id_desc(entries)
        if since:
            chosen = [e for e in chosen if int(e["id"]) > int(since)]
        if max_id:
            chosen = [e for e in chosen if int(e["id"]) < int(max_id)]
        if min_id:  # the page just above min_id, still newest first
            chosen = [e for e in chosen if int(e["id"]) > int(min_id)][-limit:]
        page = chosen[:limit]
        headers = {}
        if page:
            base = f"{self.url}{path}"
            headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return Answer(200, page, headers)

    # -- the API --------------------------------------------------------------------------------

    def _verify(self, request: Seen, _: re.Match[str]) -> Answer:
        me = self._signed_in(request)
        return Answer(200, me) if me is not None else Answer(401, INVALID_TOKEN)

    def _app(self, request: Seen, _: re.Match[str]) -> Answer:
        if self._signed_in(request) is None:
            return Answer(401, INVALID_TOKEN)
        return Answer(200, {"name": "Sameday", "website": None, "scopes": self.scopes})

    def _notifications(self, request: Seen, _: re.Match[str]) -> Answer:
        if self._signed_in(request) is None:
            return Answer(401, INVALID_TOKEN)
        types = request.query.get("types[]")
        chosen = [n for n in self.notifications if not types or n["type"] in types]
        return self._page(request, chosen, request.path)

    def _statuses(self, request: Seen, match: re.Match[str]) -> Answer:
        if self._signed_in(request) is None:
            return Answer(401, INVALID_TOKEN)
        account_id = match.group(1)
        chosen = [s for s in self.statuses if str(s["account"]["id"]) == account_id]
        if (request.arg("exclude_reblogs") or "").lower() in ("1", "true"):
            chosen = [s for s in chosen if not s.get("reblog")]
        return self._page(request, chosen, request.path)
