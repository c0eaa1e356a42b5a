"""The Discord connector against a fake Discord: what becomes an item, answers, catch-up, failures.

Gateway events are recorded payloads (../shared/realdata: serenity's READY and MESSAGE_CREATE,
Remora's reply envelope) fed to discord.py's own parsers on the client's loop, as its websocket
would; REST (sign-in, channel history) is real HTTP to `tests.fake_discord.FakeDiscord`. Items go
through the real poll cycle (`poll_source`) into a SQLite store, and one test runs the real
`Daemon` to hold the connector to its promise: in the store within 2 s of the gateway event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from connectors.base import (
    AuthError,
    ConfigError,
    ConnectorContext,
    FetchResult,
    Record,
    TransientError,
    registry,
)
from connectors.discord_chat import (
    MESSAGE_CONTENT_HINT,
    DiscordConnector,
    DiscordSettings,
)
from monitor.config import Config, parse_config
from monitor.daemon import Daemon, default_delivery
from monitor.poll import build_connector, poll_source, utc_now
from monitor.store import Store
from tests import fake_discord as fd
from tests.conftest import Clock
from tests.fake_discord import FakeDiscord
from tests.feedserver import FeedServer, comment_item, rss

NOW = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 10:00 in New York


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def with_discord() -> None:
    """The config knows ``type: discord`` through pyproject's entry point."""
    assert registry().get("discord") is DiscordConnector


def settings(fake: FakeDiscord, **changes: Any) -> DiscordSettings:
    values: dict[str, Any] = {
        "token": fd.TOKEN,
        "guilds": [str(fd.GUILD_ID)],
        "keywords": ["danashop"],
        "owner_roles": [str(fd.STAFF_ROLE)],
        "api_base": fake.api_base,
    }
    return DiscordSettings(**{**values, **changes})


def connector(fake: FakeDiscord, **changes: Any) -> DiscordConnector:
    context = ConnectorContext(
        source="shop-discord", owner_identities=(str(fd.OWNER_ID),), timeout=5.0
    )
    return DiscordConnector(settings(fake, **changes), context)


def config(tmp_path: Path, fake: FakeDiscord, *, token: str = fd.TOKEN, more: str = "") -> Config:
    text = (
        "owner: {name: Dana, timezone: America/New_York, "
        f"identities: {{discord: ['{fd.OWNER_ID}']}}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
        "sources:\n"
        f"  - {{name: shop-discord, type: discord, token: '${{DISCORD_TOKEN}}', "
        f"guilds: ['{fd.GUILD_ID}'], keywords: [danashop], owner_roles: ['{fd.STAFF_ROLE}'], "
        f"api_base: '{fake.api_base}', every: 5m, backfill: all}}\n"
        f"{more}"
    )
    return parse_config(text, path=tmp_path / "sameday.yaml", environ={"DISCORD_TOKEN": token})


def open_store(conf: Config) -> Store:
    store = Store(conf.storage_url)
    store.ensure_sources((s.name, s.type) for s in conf.sources)
    return store


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Listening:
    """A connector listening as the daemon makes it, counting its wake-ups."""

    def __init__(self, fake: FakeDiscord, **changes: Any) -> None:
        self.connector = connector(fake, **changes)
        self.woken = 0
        self.connector.listen(self._wake)
        self.first = self.connector.fetch(None)  # waits for the catch-up

    def _wake(self) -> None:
        self.woken += 1

    def next(self, count: int) -> list[Record]:
        """The next `count` records, fetched as soon as the connector has woken for them."""
        got: list[Record] = []
        deadline = time.monotonic() + 5
        while len(got) < count and time.monotonic() < deadline:
            got += self.connector.fetch({}).records
            time.sleep(0.01)
        assert len(got) == count, got
        return got


# -- settings ---------------------------------------------------------------------------------


def test_the_connector_is_registered_as_discord() -> None:
    assert registry().get("discord") is DiscordConnector


def test_settings_take_ids_as_numbers_strip_the_bot_prefix_and_hide_the_token() -> None:
    parsed = DiscordSettings(token="Bot  sekrit.token", guilds=[1234], owner_roles=5678)  # type: ignore[arg-type]
    assert parsed.token.get_secret_value() == "sekrit.token"
    assert "sekrit" not in repr(parsed)
    assert parsed.guilds == ["1234"] and parsed.owner_roles == ["5678"]
    with pytest.raises(ValidationError) as caught:
        DiscordSettings(token="sekrit.token", channels=["#general"], keywords=[" "])
    text = str(caught.value)
    assert "Copy ID" in text and "keyword is empty" in text and "sekrit" not in text


# -- what becomes an item ---------------------------------------------------------------------


def test_mentions_role_mentions_replies_and_keywords_become_items_and_nothing_else(
    fake: FakeDiscord,
) -> None:
    owner_said = fake.post(fd.message("We open at 9.", at=NOW, author=fd.OWNER_ID))
    watch = Listening(fake)
    assert [r.is_owner for r in watch.first.records] == [True]  # the history's own message

    events = [
        fd.message(f"<@{fd.OWNER_ID}> is my order out?", at=NOW, mentions=(fd.OWNER_ID,)),
        fd.message(f"<@&{fd.STAFF_ROLE}> anyone there?", at=NOW, roles=(fd.STAFF_ROLE,)),
        fd.message("And on Sunday?", at=NOW, reply_to=owner_said),
        fd.message("I love DanaShop's candles", at=NOW, channel=fd.THREAD),
        fd.message("unrelated chatter", at=NOW),
        fd.message(f"a bot <@{fd.OWNER_ID}>", at=NOW, author=fd.BOT_ID, mentions=(fd.OWNER_ID,)),
        fd.message(f"in a DM <@{fd.OWNER_ID}>", at=NOW, guild=None, mentions=(fd.OWNER_ID,)),
    ]
    for event in events:
        fake.dispatch("MESSAGE_CREATE", event)
    got = {r.external_id: r for r in watch.next(4)}
    time.sleep(0.1)  # the ignored ones had their chance to turn up
    assert watch.connector.fetch({}).records == []
    mention, role, reply, keyword = (got[e["id"]] for e in events[:4])
    assert (mention.kind, role.kind, reply.kind, keyword.kind) == (
        "mention", "mention", "reply", "message",
    )  # fmt: skip
    assert not any(r.is_owner for r in got.values())
    assert reply.parent_id == owner_said["id"]
    assert mention.text == "@Zeyla is my order out?"  # shown as Discord shows it
    assert mention.author == "Ann" and mention.thread_id == str(fd.GENERAL)
    assert (
        mention.url == f"https://discord.com/channels/{fd.GUILD_ID}/{fd.GENERAL}/{events[0]['id']}"
    )
    assert keyword.thread_id == str(fd.THREAD)  # a thread is its own conversation
    assert mention.created_at == NOW
    assert watch.woken >= 4
    watch.connector.stop_listening()


def test_only_the_configured_channels_and_their_threads_are_watched(fake: FakeDiscord) -> None:
    watch = Listening(fake, channels=[str(fd.ORDERS)])
    fake.dispatch("MESSAGE_CREATE", fd.message("danashop?", at=NOW, channel=fd.OFFTOPIC))
    fake.dispatch("MESSAGE_CREATE", fd.message("danashop!", at=NOW, channel=fd.THREAD))
    [record] = watch.next(1)
    assert record.thread_id == str(fd.THREAD)
    # Only #orders and its thread were caught up; #off-topic's history was never read.
    read = {c.path for c in fake.seen("GET", r"/channels/\d+/messages")}
    assert read == {f"/channels/{fd.ORDERS}/messages", f"/channels/{fd.THREAD}/messages"}
    watch.connector.stop_listening()


def test_a_channel_the_bot_may_not_read_is_a_warning_until_it_can(fake: FakeDiscord) -> None:
    fake.fail("GET", f"/channels/{fd.ORDERS}/messages", 403,
              {"message": "Missing Access", "code": 50001})  # fmt: skip
    watch = Listening(fake)
    [warning] = watch.first.warnings
    assert warning.startswith(f"cannot read the history of #orders ({fd.ORDERS}): 403 Missing")
    assert "Read Message History" in warning
    again = watch.connector.fetch(watch.first.cursor)
    assert again.warnings == [warning]  # shown by status as long as it lasts
    assert again.not_modified and again.records == []  # nothing heard: only health is written
    watch.connector.stop_listening()


def test_the_full_gateway_schema_is_understood(fake: FakeDiscord) -> None:
    """Remora's envelope carries every optional field a MESSAGE_CREATE can have."""
    watch = Listening(fake)
    envelope = fd.realdata("remora-discord/MESSAGE_CREATE.json")
    assert envelope["t"] == "MESSAGE_CREATE" and envelope["op"] == 0
    data = fd.message(f"<@{fd.OWNER_ID}> hi", at=NOW, mentions=(fd.OWNER_ID,))
    full = dict(envelope["d"])
    # Fields that make another kind of message (a webhook's, an app's, a reply, a thread's
    # start) are left out, and the synthetic placeholders Discord never sends (an empty member
    # or emoji) replaced; every other field stays as Remora wrote it.
    for key in ("webhook_id", "application", "application_id", "interaction",
                "message_reference", "referenced_message", "thread", "reactions"):  # fmt: skip
        full.pop(key)
    full.update({k: data[k] for k in ("id", "channel_id", "guild_id", "author", "member",
                                      "content", "timestamp", "mentions")}, type=0)  # fmt: skip
    fake.dispatch("MESSAGE_CREATE", full)
    [record] = watch.next(1)
    assert record.kind == "mention" and record.text.startswith("@Zeyla hi")
    assert "[attachment: file.png]" in record.text and "[sticker: none]" in record.text
    watch.connector.stop_listening()


# -- answers ------------------------------------------------------------------------------------


def test_an_owner_reply_answers_the_message_it_references_and_only_that(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    conf = config(tmp_path, fake)
    source = conf.source("shop-discord")
    store = open_store(conf)
    live = build_connector(source)
    assert isinstance(live, DiscordConnector)
    live.listen(lambda: None)
    first = fd.message(f"<@{fd.OWNER_ID}> do you ship to Canada?", at=NOW, mentions=(fd.OWNER_ID,))
    second = fd.message(f"<@{fd.OWNER_ID}> and gift wrap?", at=NOW + timedelta(minutes=1),
                        mentions=(fd.OWNER_ID,))  # fmt: skip
    answer = fd.message("Yes, we do!", at=NOW + timedelta(minutes=5), author=fd.OWNER_ID,
                        reply_to=first)  # fmt: skip
    poll_source(source, live, store)  # the first poll: the catch-up
    for event in (first, second):
        fake.dispatch("MESSAGE_CREATE", event)
    wait_until(
        lambda: poll_source(source, live, store).new_items == 2 or len(store.inbox(NOW)) == 2
    )
    fake.dispatch("MESSAGE_CREATE", answer)
    wait_until(lambda: poll_source(source, live, store).answered, what="the answer")
    by_id = {i.external_id: i for i in store.inbox(NOW, everything=True)}
    assert by_id[first["id"]].status == "answered"
    assert by_id[first["id"]].answered_by == answer["id"]
    assert by_id[first["id"]].answered_at == NOW + timedelta(minutes=5)
    assert by_id[second["id"]].status == "open"  # the reply named the other message
    live.stop_listening()
    store.close()


def test_a_later_owner_message_answers_the_earlier_items_of_its_channel_only(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    conf = config(tmp_path, fake)
    source = conf.source("shop-discord")
    store = open_store(conf)
    live = build_connector(source)
    assert isinstance(live, DiscordConnector)
    live.listen(lambda: None)
    poll_source(source, live, store)
    asks = [
        fd.message("danashop: open today?", at=NOW, channel=fd.GENERAL),
        fd.message("danashop: and tomorrow?", at=NOW + timedelta(minutes=1), channel=fd.GENERAL),
        fd.message("danashop: order 42?", at=NOW + timedelta(minutes=2), channel=fd.THREAD),
    ]
    owner = fd.message("Open 9 to 5 both days.", at=NOW + timedelta(minutes=3), author=fd.OWNER_ID)
    later = fd.message("danashop: thanks!", at=NOW + timedelta(minutes=4), channel=fd.GENERAL)
    for event in [*asks, owner, later]:
        fake.dispatch("MESSAGE_CREATE", event)
    wait_until(lambda: poll_source(source, live, store) and
               len(store.inbox(NOW, everything=True)) == 4, what="the items")  # fmt: skip
    status = {i.external_id: i.status for i in store.inbox(NOW, everything=True)}
    assert status == {
        asks[0]["id"]: "answered",
        asks[1]["id"]: "answered",
        asks[2]["id"]: "open",  # another thread
        later["id"]: "open",  # came after the answer: a new item
    }
    live.stop_listening()
    store.close()


# -- catching up ---------------------------------------------------------------------------------


def test_a_restart_reads_each_channel_from_its_cursor_and_nothing_twice(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    conf = config(tmp_path, fake)
    source = conf.source("shop-discord")
    store = open_store(conf)
    before = fake.post(fd.message("danashop hello", at=NOW - timedelta(hours=3)))
    live = build_connector(source)
    assert isinstance(live, DiscordConnector)
    live.listen(lambda: None)
    assert poll_source(source, live, store).new_items == 1  # the first start: latest history
    seen = fd.message("danashop still there?", at=NOW - timedelta(hours=2))
    fake.post(seen)
    fake.dispatch("MESSAGE_CREATE", seen)
    wait_until(lambda: poll_source(source, live, store).new_items, what="the live item")
    live.stop_listening()  # the daemon stops…

    # …and while it is down, three messages arrive: two in #general, one in the thread.
    missed = [
        fake.post(fd.message("danashop? anyone?", at=NOW - timedelta(hours=1))),
        fake.post(fd.message("unrelated", at=NOW - timedelta(minutes=50))),
        fake.post(fd.message("danashop order", at=NOW - timedelta(minutes=40), channel=fd.THREAD)),
    ]
    fake.calls.clear()
    again = build_connector(source)
    assert isinstance(again, DiscordConnector)
    again.listen(lambda: None)
    outcome = poll_source(source, again, store)
    again.stop_listening()

    assert outcome.ok and outcome.new_items == 2 and outcome.baseline == 0
    reads = {c.path: c.query for c in fake.seen("GET", r"/channels/\d+/messages")}
    assert reads[f"/channels/{fd.GENERAL}/messages"]["after"] == seen["id"]
    # The thread had no message yet: it starts after the newest message seen anywhere.
    assert reads[f"/channels/{fd.THREAD}/messages"]["after"] == seen["id"]
    texts = sorted(i.text for i in store.inbox(NOW, everything=True))
    assert texts == sorted([before["content"], seen["content"], missed[0]["content"],
                            missed[2]["content"]])  # fmt: skip
    cursor = store.source("shop-discord").cursor  # type: ignore[union-attr]
    assert cursor["channels"][str(fd.GENERAL)] == missed[1]["id"]  # unrelated ones count too
    assert cursor["channels"][str(fd.THREAD)] == missed[2]["id"]
    store.close()


def test_a_first_start_reads_the_newest_history_and_old_messages_are_baseline(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    conf = parse_config(
        "owner: {timezone: UTC, identities: {discord: ['" + str(fd.OWNER_ID) + "']}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/b.db'}}\n"
        f"sources:\n  - {{name: d, type: discord, token: t0ken, api_base: '{fake.api_base}', "
        "keywords: [danashop], backfill: 2h}\n",
        path=tmp_path / "b.yaml",
        environ={},
    )
    fake.token = "t0ken"
    fake.post(fd.message("danashop from last week", at=datetime.now(UTC) - timedelta(days=7)))
    fake.post(fd.message("danashop just now", at=datetime.now(UTC) - timedelta(minutes=5)))
    store = open_store(conf)
    source = conf.source("d")
    outcome = poll_source(source, build_connector(source), store)  # not listening: a one-off
    assert (outcome.new_items, outcome.baseline) == (1, 1)
    [history] = [c for c in fake.seen("GET", rf"/channels/{fd.GENERAL}/messages")]
    assert history.query == {"limit": "100"}  # no cursor: the newest page
    store.close()


# -- the daemon -------------------------------------------------------------------------------


def test_an_item_is_in_the_store_within_two_seconds_of_the_gateway_event(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    """The real daemon, on the real clock: the source and the owner's DM channel share one
    client, started with the daemon and stopped with it."""
    conf = config(tmp_path, fake, more="notify:\n  - {type: discord, name: dm}\n")
    store = open_store(conf)
    deliverer, channels, _ = default_delivery(conf, store, utc_now)
    daemon = Daemon(conf, store, deliverer=deliverer, channels=channels)
    stop = threading.Event()
    runner = threading.Thread(target=_run, args=(daemon, stop), daemon=True)
    runner.start()
    try:
        wait_until(lambda: (row := store.source("shop-discord")) and row.cursor is not None,
                   what="the first poll")  # fmt: skip
        now = datetime.now(UTC)
        event = fd.message(f"<@{fd.OWNER_ID}> quick question", at=now, mentions=(fd.OWNER_ID,))
        started = time.monotonic()
        fake.dispatch("MESSAGE_CREATE", event)
        wait_until(lambda: store.inbox(datetime.now(UTC)), timeout=3, what="the item")
        took = time.monotonic() - started
        assert took < 2.0, f"took {took:.2f} s"
        [item] = store.inbox(datetime.now(UTC))
        assert item.external_id == event["id"] and item.kind == "mention"
        # …and its alert is a DM right after, from the same client.
        [dm] = [m["embeds"][0] for m in fake.wait_for_sent(1)]
        assert dm["footer"]["text"] == f"Item #{item.id} · new"
        assert len(fake.seen("GET", r"/users/@me")) == 1  # one sign-in for both
    finally:
        stop.set()
        runner.join(10)
        store.close()
    assert not runner.is_alive()
    assert not fd.discord_chat.running_gateways()  # the daemon stopped the client it started


class Pushy:
    """A connector that pushes: `Listens`, and its fetch can be held in flight."""

    def __init__(self) -> None:
        self.wake: Callable[[], None] = lambda: None
        self.fetches = 0
        self.released = threading.Event()
        self.released.set()
        self.stopped = False

    def listen(self, wake: Callable[[], None]) -> None:
        self.wake = wake

    def stop_listening(self, timeout: float) -> None:
        self.stopped = True

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        self.fetches += 1
        self.released.wait(5)
        return FetchResult(records=[], cursor={"n": self.fetches})


def test_a_woken_source_is_polled_at_the_next_turn_even_while_in_flight(
    tmp_path: Path, clock: Clock
) -> None:
    conf = parse_config(
        f"storage: {{url: 'sqlite:///{tmp_path}/w.db'}}\n"
        "sources:\n  - {name: push, type: demo, every: 5m}\n",
        path=tmp_path / "w.yaml",
        environ={},
    )
    store = open_store(conf)
    pushy = Pushy()
    daemon = Daemon(conf, store, deliverer=_NoDelivery(), channels=[], clock=clock,
                    connectors={"push": pushy})  # type: ignore[dict-item]  # fmt: skip

    def settle() -> None:
        wait_until(lambda: daemon.tick() is not None and not daemon.in_flight(), what="polls")

    daemon.start()
    settle()
    assert pushy.fetches == 1 and daemon.next_run("push") > clock() + timedelta(minutes=4)
    pushy.wake()  # records are waiting: no need to wait five minutes
    settle()
    assert pushy.fetches == 2
    pushy.released.clear()
    pushy.wake()
    daemon.tick()
    wait_until(lambda: pushy.fetches == 3, what="the held poll")
    pushy.wake()  # more records while that poll is in flight…
    daemon.tick()
    pushy.released.set()
    settle()
    assert pushy.fetches == 4  # …polled again as soon as it came back, the clock unmoved
    daemon.shutdown(timeout=5)
    assert pushy.stopped
    store.close()


class _NoDelivery:
    def deliver_due(self) -> None:
        return None


def _run(daemon: Daemon, stop: threading.Event) -> None:
    daemon.start()
    try:
        daemon.run(stop)
    finally:
        daemon.shutdown(timeout=5)


# -- failures ---------------------------------------------------------------------------------


def test_a_wrong_token_is_an_auth_error_and_the_other_sources_go_on(
    tmp_path: Path, fake: FakeDiscord, with_discord: None
) -> None:
    with FeedServer() as feeds:
        feeds.add("/blog.xml", rss(comment_item(1, datetime.now(UTC) - timedelta(minutes=1))))
        conf = config(
            tmp_path,
            fake,
            token="revoked-token-value",
            more=f"  - {{name: blog, type: feed, url: '{feeds.url('/blog.xml')}', every: 10s}}\n",
        )
        store = open_store(conf)
        daemon = Daemon(conf, store, deliverer=_NoDelivery(), channels=[])
        daemon.start()
        try:
            wait_until(lambda: daemon.tick() is not None and _polled(store, "blog") and
                       _failed(store, "shop-discord"), what="both polls")  # fmt: skip
        finally:
            daemon.shutdown(timeout=5)
        blog, discord_row = store.source("blog"), store.source("shop-discord")
        assert blog is not None and blog.last_error is None
        assert len(store.inbox(datetime.now(UTC))) == 1  # the feed's comment
        assert discord_row is not None
        error = discord_row.last_error or ""
        assert error.startswith("credentials: the bot token is wrong or was reset")
        assert "revoked-token-value" not in error
        store.close()


def _polled(store: Store, name: str) -> bool:
    row = store.source(name)
    return row is not None and row.last_success_at is not None


def _failed(store: Store, name: str) -> bool:
    row = store.source(name)
    return row is not None and row.last_error is not None


def test_a_refused_message_content_intent_says_how_to_enable_it(fake: FakeDiscord) -> None:
    fake.gateway_error = discord.PrivilegedIntentsRequired(None)
    live = connector(fake)
    live.listen(lambda: None)
    with pytest.raises(ConfigError) as caught:
        live.fetch(None)
    assert str(caught.value) == MESSAGE_CONTENT_HINT
    assert "Privileged Gateway Intents → enable Message Content Intent" in MESSAGE_CONTENT_HINT
    live.stop_listening()


@pytest.mark.parametrize(
    ("close", "error", "says"),
    [
        (discord.PrivilegedIntentsRequired(None), ConfigError, "enable Message Content Intent"),
        # A token reset while running: Discord closes the session with 4004.
        (discord.ConnectionClosed(None, shard_id=None, code=4004), AuthError,  # type: ignore[arg-type]
         "wrong or was reset"),
    ],
)  # fmt: skip
def test_a_gateway_closed_for_good_while_running_stops_the_source_and_says_why(
    fake: FakeDiscord, close: Exception, error: type[Exception], says: str
) -> None:
    watch = Listening(fake)
    woken = watch.woken
    fake.close_gateway(close)
    wait_until(lambda: watch.woken > woken, what="the wake-up")  # the daemon polls at once
    with pytest.raises(error, match=says):
        watch.connector.fetch({})
    watch.connector.stop_listening()


def test_discord_down_at_start_is_transient_and_the_client_signs_in_by_itself(
    fake: FakeDiscord,
) -> None:
    fake.fail("GET", "/users/@me", 503, {"message": "upstream connect error", "code": 0})
    live = connector(fake)
    live.listen(lambda: None)
    with pytest.raises(TransientError, match="cannot reach Discord to sign in: 503"):
        live.fetch(None)
    fake.failures.clear()  # Discord is back: the client retries on its own (backoff)
    fake.post(fd.message("danashop?", at=NOW))

    def polled() -> list[str] | None:  # the daemon polls again after its own backoff
        try:
            return [r.text for r in live.fetch(None).records]
        except TransientError:
            return None

    assert wait_until(polled, what="a successful poll") == ["danashop?"]
    live.stop_listening()


def test_check_signs_in_and_reads_the_intent_and_the_servers(fake: FakeDiscord) -> None:
    assert connector(fake).check() == (
        "signed in as ein; Message Content intent on; watching 1 of 1 servers (Dana's Shop)"
    )
    with pytest.raises(ConfigError, match=r"not in server.*client_id=272502210401665025"):
        connector(fake, guilds=["999"]).check()
    fake.app_flags = 0
    with pytest.raises(ConfigError) as caught:
        connector(fake).check()
    assert str(caught.value) == MESSAGE_CONTENT_HINT
    fake.token = "another"
    with pytest.raises(AuthError, match="wrong or was reset") as refused:
        connector(fake).check()
    assert fd.TOKEN not in str(refused.value)


def test_sameday_check_explains_the_missing_intent(
    tmp_path: Path, fake: FakeDiscord, with_discord: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.cli import app

    path = config(tmp_path, fake).path
    assert path is not None
    path.write_text(
        f"owner: {{identities: {{discord: ['{fd.OWNER_ID}']}}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/c.db'}}\n"
        f"sources:\n  - {{name: chat, type: discord, token: '${{DISCORD_TOKEN}}', "
        f"api_base: '{fake.api_base}'}}\n"
    )
    monkeypatch.setenv("DISCORD_TOKEN", fd.TOKEN)
    fake.post(fd.message("We open at 9.", at=NOW, author=fd.OWNER_ID))
    result = CliRunner().invoke(app, ["-c", str(path), "check"])
    assert result.exit_code == 0, result.output
    assert "✓ chat (discord): signed in as ein; Message Content intent on; watching all 1" in (
        result.output
    )
    assert "✓ chat (discord): 1 records, 1 by the owner" in result.output  # a one-off catch-up

    fake.app_flags = 0
    result = CliRunner().invoke(app, ["-c", str(path), "check"])
    assert result.exit_code == 1
    assert "✗ chat (discord): configuration: the bot may not read message text" in result.output
    assert "Privileged Gateway Intents" in result.output and fd.TOKEN not in result.output
