"""Tests of the Mastodon connector: Mastodon.py against a fake instance on 127.0.0.1
(tests/fake_mastodon.py).

The Mastodon.py recordings (../shared/realdata/mastodon.py) are read in place, their token
placeholders standing for the accounts that used them; the tests that need them are skipped
where that folder is absent. Nothing here reaches the internet or sleeps.
"""

from __future__ import annotations

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
from connectors.mastodon import MastodonConnector, MastodonSettings, status_text
from monitor.config import Source
from monitor.poll import poll_source
from monitor.store import Store
from monitor.triage import Status
from tests.conftest import REALDATA, source_for
from tests.fake_json import Answer
from tests.fake_mastodon import Cassettes, FakeMastodon, account, mention, status

RECORDED = REALDATA / "mastodon.py"
# The recordings' token placeholders: whose token each is, as the requests show.
TEST_USER = "__MASTODON_PY_TEST_ACCESS_TOKEN"  # mastodonpy_test
ADMIN = "__MASTODON_PY_TEST_ACCESS_TOKEN_2"  # admin
TEST_USER_2 = "__MASTODON_PY_TEST_ACCESS_TOKEN_3"  # mastodonpy_test_2
TOKEN = "mastodon-token-3c2b1a0f9e8d"
NOW = datetime(2026, 8, 3, 15, 0, tzinfo=UTC)
DANA = account("900", "dana")
ANN = account("901", "ann", domain="example.social")


@pytest.fixture
def cassettes() -> Cassettes:
    if not RECORDED.is_dir():
        pytest.skip(f"{RECORDED} not found: the recorded Mastodon answers are not available")
    return Cassettes(RECORDED)


@pytest.fixture
def instance() -> Iterator[FakeMastodon]:
    with FakeMastodon({TOKEN: DANA}) as server:
        yield server


def connect(
    server: FakeMastodon,
    token: str = TOKEN,
    *,
    owner: tuple[str, ...] = (),
    timeout: float = 5.0,
    api_base: str | None = None,
) -> MastodonConnector:
    settings = MastodonSettings(api_base=api_base or server.url, access_token=SecretStr(token))
    context = ConnectorContext(
        source="mastodon", owner_identities=owner, clock=lambda: NOW, timeout=timeout
    )
    return MastodonConnector(settings, context)


def by_id(result: FetchResult) -> dict[str, Record]:
    return {r.external_id: r for r in result.records}


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def max_ids(server: FakeMastodon, path: str) -> list[str | None]:
    return [r.arg("max_id") for r in server.seen(path)]


def mastodon_source(tmp_path: Path, connector: MastodonConnector) -> Source:
    return source_for(tmp_path, "mastodon", connector)


def statuses(store: Store) -> dict[str, tuple[Status, str | None]]:
    return {
        i.external_id: (Status(i.status), i.answered_by) for i in store.inbox(NOW, everything=True)
    }


# -- registration and settings ------------------------------------------------------------------


def test_registered_under_the_sameday_connectors_entry_point() -> None:
    """Passes once pyproject.toml declares
    ``mastodon = "connectors.mastodon:MastodonConnector"`` and the package is reinstalled."""
    assert registry()["mastodon"] is MastodonConnector
    assert issubclass(MastodonConnector, Checkable)


def test_settings() -> None:
    with pytest.raises(ValidationError, match="access token is empty"):
        MastodonSettings(api_base="https://mastodon.social", access_token=SecretStr("  "))
    with pytest.raises(ValidationError, match="instance's http"):
        MastodonSettings(api_base="mastodon.social", access_token=SecretStr(TOKEN))
    settings = MastodonSettings(api_base="https://mastodon.social/", access_token=SecretStr(TOKEN))
    assert settings.api_base == "https://mastodon.social" and TOKEN not in repr(settings)


# -- records from the recorded shapes -----------------------------------------------------------


def test_recorded_mentions_page_by_max_id_and_gone_statuses_are_skipped(
    cassettes: Cassettes,
) -> None:
    """test_entity_notification: 40 real mentions on mastodon.social, 39 of them with the status
    gone (null); the owner is halcy (the account of test_entity_context)."""
    context = cassettes.body("test_entity_context.yaml", 0)
    halcy = context["ancestors"][0]["account"]
    with FakeMastodon({TOKEN: halcy}) as server:
        server.notifications = cassettes.body("test_entity_notification.yaml", 0)
        server.statuses = [*context["ancestors"], *context["descendants"]]
        server.max_limit = 15
        result = connect(server, owner=("@halcy@mastodon.social",)).fetch(None)
        newest_first = sorted((int(n["id"]) for n in server.notifications), reverse=True)
        pages = [None, *(str(newest_first[k]) for k in (14, 29, 39))]  # 15 a page, then empty
        assert max_ids(server, "/api/v1/notifications") == pages

    found = by_id(result)
    dm = found["116275331587890092"]
    assert (dm.author, dm.kind, dm.is_owner) == (
        "@latencyobs@icosahedron.website",
        "message",
        False,
    )
    assert dm.created_at.tzinfo is not None and dm.created_at.year == 2026
    assert dm.text.startswith("@halcy") and "<" not in dm.text
    assert dm.url and dm.url.startswith("https://")
    assert (dm.thread_id, dm.parent_id) == (dm.external_id, None)
    # halcy's self-thread: a status that replies to nothing, and a reply to it.
    first, reply = context["ancestors"][0], context["descendants"][0]
    assert found[first["id"]].is_owner and found[first["id"]].parent_id is None
    assert found[reply["id"]].parent_id == reply["in_reply_to_id"]
    assert found[reply["id"]].kind == "reply"
    assert len(found) == 3
    assert result.cursor is not None and result.cursor["mentions"] == {"last": "550622655"}


def test_a_reply_to_the_owners_status_is_a_mention_with_that_parent(cassettes: Cassettes) -> None:
    """test_status_reply: mastodonpy_test_2 toots, admin replies (and so mentions them)."""
    toot = cassettes.body("test_status_reply.yaml", 0)
    reply = cassettes.body("test_status_reply.yaml", 2)
    with FakeMastodon(cassettes.accounts()) as server:
        server.notifications = [mention(30, reply)]
        server.statuses = [toot, reply]
        result = connect(server, TEST_USER_2).fetch(None)

    found = by_id(result)
    item = found[reply["id"]]
    assert (item.author, item.kind, item.is_owner) == ("@admin", "mention", False)
    assert (item.parent_id, item.thread_id) == (toot["id"], toot["id"])
    assert item.text == "@mastodonpy_test_2 same!"
    assert found[toot["id"]].is_owner and found[toot["id"]].text == "Toot, finally!"
    assert len(found) == 2  # admin's reply is not the owner's status


def test_status_text_keeps_the_content_warning() -> None:
    assert (
        status_text({"content": "<p>Hi <span>@dana</span></p>", "spoiler_text": ""}) == "Hi @dana"
    )
    assert status_text({"content": "", "spoiler_text": "CW"}) == "CW"


# -- the answered rule, through a real poll into SQLite -----------------------------------------


def test_the_owners_reply_answers_its_mention_in_a_real_store(
    cassettes: Cassettes, tmp_path: Path, sqlite_store: Store
) -> None:
    """test_notifications_mentions_only: admin mentions mastodonpy_test (the owner here), whose
    own recorded toot (test_status_context) answers nobody; the owner replies to admin."""
    accounts = cassettes.accounts()
    owner, admin, other = accounts[TEST_USER], accounts[ADMIN], accounts[TEST_USER_2]
    recorded_mention = cassettes.body("test_notifications_mentions_only.yaml", 1)[0]
    hello = recorded_mention["status"]
    own_toot = cassettes.body("test_status_context.yaml", 0)
    later = status(117020600000000001, other, created_at=datetime(2026, 8, 1, 15, 0, tzinfo=UTC))
    sqlite_store.ensure_sources([("mastodon", "mastodon")])
    with FakeMastodon(accounts) as server:
        server.notifications = [recorded_mention, mention(22, later)]
        server.statuses = [hello, own_toot, later]
        server.statuses.append(
            status(
                117020590000000000,
                owner,
                created_at=datetime(2026, 8, 1, 14, 0, tzinfo=UTC),
                in_reply_to=hello,
                content='<p><span class="h-card"><a href="#">@<span>admin</span></a></span> hi</p>',
            )
        )
        connector = connect(server, TEST_USER)
        outcome = poll_source(
            mastodon_source(tmp_path, connector), connector, sqlite_store, clock=lambda: NOW
        )
        assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 2, 2)
        assert statuses(sqlite_store) == {
            hello["id"]: (Status.ANSWERED, "117020590000000000"),
            later["id"]: (Status.OPEN, None),  # the owner's later toot replies to nobody
        }

        # After a restart, the owner answers the second mention; admin writes again.
        answer = status(
            117020610000000000, owner, created_at=datetime(2026, 8, 2, 9, 0, tzinfo=UTC),
            in_reply_to=later,
        )  # fmt: skip
        again = status(
            117020620000000000, admin, created_at=datetime(2026, 8, 2, 10, 0, tzinfo=UTC)
        )
        server.statuses += [answer, again]
        server.notifications.append(mention(23, again))
        restarted = connect(server, TEST_USER)
        outcome = poll_source(
            mastodon_source(tmp_path, restarted), restarted, sqlite_store, clock=lambda: NOW
        )
        assert (outcome.error, outcome.new_items, outcome.new_replies) == (None, 1, 1)
        # The restart read from the saved since_id: one page, which reached it.
        assert [r.arg("since_id") for r in server.seen("/api/v1/notifications")][-1] == "22"

    assert statuses(sqlite_store) == {
        hello["id"]: (Status.ANSWERED, "117020590000000000"),
        later["id"]: (Status.ANSWERED, "117020610000000000"),
        again["id"]: (Status.OPEN, None),
    }


# -- paging and the cursor ----------------------------------------------------------------------


def _mentions(server: FakeMastodon, ids: range) -> None:
    for n in ids:
        toot = status(1000 + n, ANN, created_at=ago(600 - n))
        server.statuses.append(toot)
        server.notifications.append(mention(n, toot))


def test_paging_to_since_id_and_a_restart_returns_nothing_old(instance: FakeMastodon) -> None:
    instance.max_limit = 2
    _mentions(instance, range(1, 6))
    first = connect(instance).fetch(None)
    assert sorted(by_id(first), key=int) == ["1001", "1002", "1003", "1004", "1005"]
    assert max_ids(instance, "/api/v1/notifications") == [None, "4", "2", "1"]
    assert first.cursor == {
        "api_base": instance.url,
        "account_id": "900",
        "mentions": {"last": "5"},
        "statuses": {"last": None},
    }

    # Five more mentions and two owner replies between polls: all of them, several pages each.
    _mentions(instance, range(6, 11))
    for n, parent in ((50, "1006"), (51, "1010")):
        replied = next(s for s in instance.statuses if s["id"] == parent)
        instance.statuses.append(status(2000 + n, DANA, created_at=ago(10), in_reply_to=replied))
    instance.requests.clear()
    second = connect(instance).fetch(first.cursor)
    found = by_id(second)
    assert sorted(found, key=int) == ["1006", "1007", "1008", "1009", "1010", "2050", "2051"]
    assert found["2050"].is_owner and found["2050"].parent_id == "1006"
    since = {r.arg("since_id") for r in instance.seen("/api/v1/notifications")}
    assert since == {"5"}
    assert second.cursor is not None
    assert second.cursor["mentions"] == {"last": "10"}
    assert second.cursor["statuses"] == {"last": "2051"}

    restarted = connect(instance).fetch(second.cursor)
    assert restarted.records == [] and restarted.cursor == second.cursor


def test_a_backlog_beyond_the_page_bound_is_finished_at_the_next_poll(
    instance: FakeMastodon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.mastodon.MAX_PAGES", 2)
    instance.max_limit = 2
    _mentions(instance, range(1, 2))
    first = connect(instance).fetch(None)
    _mentions(instance, range(2, 9))
    backlog = connect(instance).fetch(first.cursor)
    assert sorted(by_id(backlog), key=int) == ["1005", "1006", "1007", "1008"]
    assert backlog.cursor is not None
    assert backlog.cursor["mentions"] == {"last": "1", "resume": {"max_id": "5", "top": "8"}}
    assert "more than 2 pages of new mentions" in backlog.warnings[0]
    _mentions(instance, range(9, 10))
    rest = connect(instance).fetch(backlog.cursor)
    assert sorted(by_id(rest), key=int) == ["1002", "1003", "1004"]
    assert rest.cursor is not None and rest.cursor["mentions"] == {"last": "8"}
    assert sorted(by_id(connect(instance).fetch(rest.cursor))) == ["1009"]


def test_empty_listings_and_a_cursor_of_another_account(instance: FakeMastodon) -> None:
    empty = connect(instance).fetch(None)
    assert empty.records == []
    _mentions(instance, range(1, 2))
    assert sorted(by_id(connect(instance).fetch(empty.cursor))) == ["1001"]
    theirs: dict[str, Any] = {**(empty.cursor or {}), "account_id": "12345"}
    theirs["mentions"] = {"last": "99"}
    assert sorted(by_id(connect(instance).fetch(theirs))) == ["1001"]


# -- errors and the rate budget -----------------------------------------------------------------


def test_a_body_that_is_not_json_is_transient(instance: FakeMastodon) -> None:
    instance.script("/api/v1/notifications", Answer(200, b"<html>Maintenance</html>"))
    with pytest.raises(TransientError, match="not JSON"):
        connect(instance).fetch(None)


def test_a_429_carries_the_time_to_the_reset(instance: FakeMastodon) -> None:
    instance.remaining = 0
    headers = instance.ratelimit_headers(reset_in=120)
    instance.script("/api/v1/notifications", Answer(429, {"error": "Too many requests"}, headers))
    with pytest.raises(TransientError, match="rate limiting") as caught:
        connect(instance).fetch(None)
    assert caught.value.retry_after is not None and 110 < caught.value.retry_after <= 121


def test_a_nearly_spent_budget_asks_the_core_to_wait(instance: FakeMastodon) -> None:
    assert connect(instance).fetch(None).wait_at_least is None
    instance.remaining = 5
    wait = connect(instance).fetch(None).wait_at_least
    assert wait is not None and 290 < wait <= 301


def test_a_timeout_and_a_server_error_are_transient(instance: FakeMastodon) -> None:
    instance.script("/api/v1/accounts/verify_credentials", Answer(hang=True))
    with pytest.raises(TransientError, match=r"did not answer within 0\.3 s"):
        connect(instance, timeout=0.3).fetch(None)
    instance.script("/api/v1/notifications", Answer(503, {"error": "Service Unavailable"}))
    with pytest.raises(TransientError, match="server problem"):
        connect(instance).fetch(None)


def test_a_wrong_token_is_an_auth_error_without_the_token(instance: FakeMastodon) -> None:
    wrong = "revoked-token-7a6b5c4d"
    for call in (lambda c: c.fetch(None), lambda c: c.check()):
        with pytest.raises(AuthError) as caught:
            call(connect(instance, wrong))
        message = str(caught.value)
        assert "the access token is wrong or was revoked" in message
        assert "401 Unauthorized: The access token is invalid" in message
        assert wrong not in message and TOKEN not in message


def test_a_token_without_scope_and_a_wrong_instance(instance: FakeMastodon) -> None:
    instance.script(
        "/api/v1/notifications",
        Answer(403, {"error": "This action is outside the authorized scopes"}),
    )
    with pytest.raises(AuthError, match="lacks a scope"):
        connect(instance).fetch(None)
    with pytest.raises(ConfigError, match="check that api_base is the instance's address"):
        connect(instance, api_base=instance.url + "/nothing-here").fetch(None)


# -- check ----------------------------------------------------------------------------------------


def test_check_says_who_and_which_scopes(instance: FakeMastodon) -> None:
    handle = f"@dana@127.0.0.1:{instance.port}"
    assert connect(instance).check() == (
        f"signed in as {handle} (scopes: read); watching mentions and {handle}'s replies"
    )
    instance.scopes = ["read:accounts", "write"]
    with pytest.raises(AuthError, match="missing read:notifications read:statuses"):
        connect(instance).check()
    instance.scopes = []
    assert "the server does not say which scopes" in connect(instance).check()
