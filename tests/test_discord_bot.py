"""The owner's Discord bot against a fake Discord: DM alerts, buttons, slash commands, refusals.

Alerts go the real way: items stored by a poll (`poll_source`, with the outbox rows for the
``discord`` channel), delivered by the `Deliverer` to the `DiscordNotifier` built from the config.
Button presses and slash commands are INTERACTION_CREATE payloads fed to discord.py's parser, as
its gateway would; the assertions are on the REST calls the bot made (the JSON Discord would get:
content, ``allowed_mentions``, components, the interaction callbacks and message edits) and on
the store's state after each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorContext, FetchResult, Record
from connectors.discord_chat import DiscordConnector
from monitor import sla
from monitor.alerts import Attachment, Message
from monitor.config import Config, ConfigFileError, parse_config
from monitor.discordbot import COMMANDS, EPHEMERAL_REFUSAL, DiscordNotifier, escape, inbox_text
from monitor.models import ItemRow
from monitor.notify import Deliverer, DeliveryError, build_notifiers, channels, deliverer_for
from monitor.poll import poll_source, suggester_for
from monitor.store import Store
from tests import fake_discord as fd
from tests.conftest import Clock
from tests.fake_discord import FakeDiscord

EPHEMERAL = 64
HOSTILE = (
    "Do you ship to Canada? @everyone @here <@123456789012345678> **please** "
    "[my order](https://evil.example) ||asap||"
)


def make_config(
    tmp_path: Path, api_base: str, notify: str = "  - {type: discord, name: dm}\n"
) -> Config:
    text = (
        "owner: {name: Dana, timezone: America/New_York, "
        f"identities: {{discord: ['{fd.OWNER_ID}']}}}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/s.db'}}\n"
        "sources:\n"
        "  - {name: shop-discord, type: discord, token: '${DISCORD_TOKEN}', "
        f"api_base: '{api_base}', sla: {{timezone: Europe/Berlin}}}}\n"
        f"notify:\n{notify}"
    )
    return parse_config(text, path=tmp_path / "sameday.yaml", environ={"DISCORD_TOKEN": fd.TOKEN})


class Scripted:
    """A connector that returns the records it is given: the items come from a real poll."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        records, self.records = self.records, []
        return FetchResult(records=records, cursor={})


@dataclass
class Bot:
    fake: FakeDiscord
    config: Config
    store: Store
    clock: Clock
    notifier: DiscordNotifier
    deliverer: Deliverer
    source: Scripted

    def alert(self, text: str, *, external_id: str = "m1") -> tuple[ItemRow, dict[str, Any]]:
        """Store one item as a poll does and deliver its alert: the item and the DM payload."""
        self.source.records = [
            Record(
                external_id=external_id,
                thread_id=str(fd.GENERAL),
                parent_id=None,
                author="Ann **the** @here",
                is_owner=False,
                text=text,
                url=f"https://discord.com/channels/{fd.GUILD_ID}/{fd.GENERAL}/{external_id}",
                created_at=self.clock() - timedelta(minutes=5),
                kind="mention",
            )
        ]
        poll_source(
            self.config.source("shop-discord"),
            self.source,  # type: ignore[arg-type]
            self.store,
            clock=self.clock,
            channels=channels([self.notifier]),
            suggester=suggester_for(self.config),
        )
        report = self.deliverer.deliver_due()
        assert report.sent == 1, report.summary()
        [item] = [i for i in self.store.inbox(self.clock(), everything=True)
                  if i.external_id == external_id]  # fmt: skip
        return item, self.fake.histories[fd.DM_CHANNEL][-1]

    def press(self, action: str, item: ItemRow, dm: dict[str, Any], *, by: int = fd.OWNER_ID):
        """Press a button of the DM; the interaction callback's body."""
        payload = fd.button_press(f"sameday:{action}:{item.id}", dm, by=by)
        return self.interact(payload)

    def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.fake.dispatch("INTERACTION_CREATE", payload)
        route = rf"/interactions/{payload['id']}/{payload['token']}/callback"
        [call] = self.fake.wait_for("POST", route)
        return call.body  # type: ignore[no-any-return]

    def item(self, item: ItemRow) -> ItemRow:
        assert item.id is not None
        return self.store.item(item.id)


@pytest.fixture
def bot(tmp_path: Path, clock: Clock) -> Iterator[Bot]:
    with FakeDiscord() as fake:
        conf = make_config(tmp_path, fake.api_base)
        store = Store(conf.storage_url)
        store.ensure_sources((s.name, s.type) for s in conf.sources)
        [notifier] = build_notifiers(conf, store=store, clock=clock)
        assert isinstance(notifier, DiscordNotifier)
        notifier.open()  # as the daemon does at start: presses are heard between alerts
        deliverer = deliverer_for(conf, store, [notifier], clock=clock)
        yield Bot(fake, conf, store, clock, notifier, deliverer, Scripted())
        notifier.close()
        store.close()


def buttons_of(body: dict[str, Any]) -> dict[str, bool]:
    """custom_id prefix (the action) → disabled, from a message or callback body."""
    [row] = body["components"]
    return {b["custom_id"].split(":")[1]: b.get("disabled", False) for b in row["components"]}


# -- the alert ----------------------------------------------------------------------------------


def test_an_alert_is_a_dm_with_an_escaped_embed_that_pings_nobody(bot: Bot) -> None:
    item, _ = bot.alert(HOSTILE)
    [opened] = bot.fake.seen("POST", r"/users/@me/channels")
    assert opened.body == {"recipient_id": fd.OWNER_ID}
    [sent] = bot.fake.sent_messages()
    assert sent["allowed_mentions"] == {"parse": []}
    [embed] = sent["embeds"]
    everything = " ".join(
        [sent["content"], embed["title"], embed["description"],
         *(f["value"] for f in embed["fields"])]
    )  # fmt: skip
    for live in ("@everyone", "@here", "<@123456789012345678>"):
        assert live not in everything  # inert: a zero-width space after each sigil
    assert "@\u200beveryone" in embed["description"] and "<@\u200b1234" in embed["description"]
    assert "\\*\\*please\\*\\*" in embed["description"]
    assert "\\|\\|asap\\|\\|" in embed["description"]
    assert "\\[my order](https://evil.example)" in embed["description"]  # no masked link
    assert embed["title"] == "New discord comment to answer"
    assert embed["url"] == item.url and embed["footer"]["text"] == f"Item #{item.id} · new"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["From"] == "Ann \\*\\*the\\*\\* @\u200bhere on shop-discord"
    assert "due in" in fields["Deadline"] and "America/New_York" in fields["Deadline"]
    assert fields["Draft"] == "A reply is drafted: press Show draft."  # collapsed
    assert fields["Note"].startswith("A question: add the answer")
    assert item.suggestion and item.suggestion not in everything
    assert buttons_of(sent) == {
        "answered": False, "snooze1h": False, "snoozeopen": False, "dismiss": False,
        "draft": False,
    }  # fmt: skip
    assert all(b["custom_id"].endswith(f":{item.id}") for b in sent["components"][0]["components"])


def test_the_slash_commands_are_registered_when_the_bot_is_ready(bot: Bot) -> None:
    [put] = bot.fake.wait_for("PUT", rf"/applications/{fd.APP_ID}/commands")
    assert (
        [c["name"] for c in put.body]
        == ["inbox", "report", "snooze"]
        == [c["name"] for c in COMMANDS]
    )


# -- buttons --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "still_enabled"),
    [
        ("answered", "answered", set()),
        ("dismiss", "dismissed", set()),
        ("snooze1h", "snoozed", {"answered", "dismiss", "draft"}),
        ("snoozeopen", "snoozed", {"answered", "dismiss", "draft"}),
    ],
)
def test_each_button_changes_the_item_and_edits_the_message(
    bot: Bot, action: str, status: str, still_enabled: set[str]
) -> None:
    item, dm = bot.alert("Do you ship to Canada?")
    body = bot.press(action, item, dm)
    after = bot.item(item)
    assert after.status == status
    now = bot.clock()
    if action == "answered":
        assert after.answered_via == "manual" and after.answered_at == now
    if action == "snooze1h":
        assert after.snoozed_until == now + timedelta(hours=1)
    if action == "snoozeopen":
        # The source's own hours (Berlin), not the owner's (New York): Tuesday 09:00 Berlin.
        expected = sla.next_opening(now, bot.config.source("shop-discord").policy)
        assert after.snoozed_until == expected == datetime(2026, 3, 10, 8, tzinfo=UTC)

    assert body["type"] == 7  # UPDATE_MESSAGE: the DM itself is edited
    data = body["data"]
    assert data["allowed_mentions"] == {"parse": []}
    disabled = buttons_of(data)
    assert {a for a, off in disabled.items() if not off} == still_enabled
    [embed] = data["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    expected_status = {
        "answered": "✅ Answered (marked by you at Mon 09 Mar 10:00)",
        "dismissed": "🚫 Dismissed: needs no reply",
    }
    if status in expected_status:
        assert fields["Status"] == expected_status[status]
    else:
        assert fields["Status"].startswith("💤 Snoozed until ")
    assert embed["description"] == dm["embeds"][0]["description"]  # the comment stays shown


def test_show_draft_answers_privately_and_changes_nothing(bot: Bot) -> None:
    item, dm = bot.alert("Are you open on Sunday? @everyone")
    body = bot.press("draft", item, dm)
    assert body["type"] == 4 and body["data"]["flags"] == EPHEMERAL
    assert body["data"]["allowed_mentions"] == {"parse": []}
    assert item.suggestion and item.suggestion.strip() in body["data"]["content"]
    assert body["data"]["content"].startswith(f"Draft for item #{item.id}:\n```")
    assert bot.item(item).status == "open"


def test_a_press_by_anyone_else_is_refused_privately_and_changes_nothing(bot: Bot) -> None:
    item, dm = bot.alert("Where is my order?")
    for action in ("answered", "dismiss", "draft"):
        body = bot.press(action, item, dm, by=fd.STRANGER_ID)
        assert body == {
            "type": 4,
            "data": {
                "tts": False,
                "content": EPHEMERAL_REFUSAL,
                "flags": EPHEMERAL,
                "allowed_mentions": {"parse": []},
            },
        }
    assert bot.item(item).status == "open"
    assert not bot.fake.seen("PATCH", r"/channels/.*")


def test_a_second_press_on_an_answered_item_changes_nothing(bot: Bot) -> None:
    item, dm = bot.alert("Thanks!")
    bot.press("answered", item, dm)
    answered_at = bot.item(item).answered_at
    bot.clock.advance(minutes=10)
    body = bot.press("snooze1h", item, dm)
    assert bot.item(item).status == "answered" and bot.item(item).answered_at == answered_at
    assert all(buttons_of(body["data"]).values())  # every button disabled


# -- slash commands ------------------------------------------------------------------------------


def test_inbox_lists_open_items_privately(bot: Bot) -> None:
    first, _ = bot.alert("Do you ship to Canada?", external_id="a")
    second, _ = bot.alert(HOSTILE, external_id="b")
    body = bot.interact(fd.slash_command("inbox"))
    assert body["type"] == 4 and body["data"]["flags"] == EPHEMERAL
    assert body["data"]["allowed_mentions"] == {"parse": []}
    content = body["data"]["content"]
    assert content.startswith("**2 waiting for an answer**")
    assert f"**#{first.id}**" in content and f"**#{second.id}**" in content
    assert "@everyone" not in content and "due in" in content


def test_inbox_fits_one_message_however_long_it_is() -> None:
    now = datetime(2026, 3, 9, 14, tzinfo=UTC)
    items = [
        ItemRow(id=n, source="s", external_id=str(n), author="Ann", text="x" * 300,
                created_at=now, fetched_at=now, due_at=now + timedelta(hours=n))
        for n in range(1, 200)
    ]  # fmt: skip
    text = inbox_text(items, now)
    assert len(text) <= 1900 and text.endswith("more (`sameday inbox` lists them all)")
    assert inbox_text([], now) == "Nothing waiting for an answer. 🎉"


def test_report_thinks_first_then_shows_todays_report(bot: Bot) -> None:
    bot.alert("Hello?")
    payload = fd.slash_command("report")
    body = bot.interact(payload)
    assert body == {"type": 5, "data": {"flags": EPHEMERAL}}  # "thinking…", privately
    route = rf"/webhooks/{fd.APP_ID}/{payload['token']}/messages/@original"
    [edit] = bot.fake.wait_for("PATCH", route)
    assert edit.body["allowed_mentions"] == {"parse": []}
    content = edit.body["content"]
    assert content.startswith("```\nSameday report: Mon 09 Mar 2026 (America/New_York)\n")
    assert "1 received" in content and content.endswith("\n```")


def test_snooze_by_command_and_its_mistakes(bot: Bot) -> None:
    item, _ = bot.alert("Gift wrap?")
    body = bot.interact(fd.slash_command("snooze", item=item.id, duration="2h"))
    assert body["data"]["flags"] == EPHEMERAL
    assert body["data"]["content"].startswith(f"Item #{item.id} snoozed until Mon 09 Mar 12:00")
    assert bot.item(item).snoozed_until == bot.clock() + timedelta(hours=2)

    body = bot.interact(fd.slash_command("snooze", item=item.id, duration="tomorrow"))
    assert bot.item(item).snoozed_until == datetime(2026, 3, 10, 8, tzinfo=UTC)  # Berlin 09:00
    body = bot.interact(fd.slash_command("snooze", item=item.id, duration="soonish"))
    assert "Write 30m, 2h, 1d… or tomorrow" in body["data"]["content"]
    body = bot.interact(fd.slash_command("snooze", item=999, duration="1h"))
    assert body["data"]["content"] == "There is no item #999 (see /inbox)."
    body = bot.interact(fd.slash_command("snooze", by=fd.STRANGER_ID, item=item.id, duration="1h"))
    assert body["data"]["content"] == EPHEMERAL_REFUSAL
    assert bot.item(item).snoozed_until == datetime(2026, 3, 10, 8, tzinfo=UTC)


# -- failures and config --------------------------------------------------------------------------


def test_a_digest_or_report_is_one_dm_with_its_chart(bot: Bot) -> None:
    chart = Attachment("chart.png", b"\x89PNG\r\n\x1a\n", "image/png")
    bot.notifier.send(Message("Sameday report: Mon 09 Mar", "3 received @here", (chart,)))
    [call] = bot.fake.seen("POST", rf"/channels/{fd.DM_CHANNEL}/messages")
    assert call.files == ["chart.png"]  # multipart, with the JSON in payload_json
    assert call.body["allowed_mentions"] == {"parse": []}
    [embed] = call.body["embeds"]
    assert embed["description"] == "3 received @\u200bhere"
    assert embed["image"] == {"url": "attachment://chart.png"}


def test_a_refused_dm_fails_the_delivery_and_the_outbox_retries_it(bot: Bot) -> None:
    bot.fake.fail(
        "POST", f"/channels/{fd.DM_CHANNEL}/messages", 403,
        {"message": "Cannot send messages to this user", "code": 50007},
    )  # fmt: skip
    bot.source.records = [Record("x1", "t", None, "Ann", False, "hi danashop", None,
                                 bot.clock() - timedelta(minutes=1), "message")]  # fmt: skip
    poll_source(bot.config.source("shop-discord"), bot.source, bot.store,  # type: ignore[arg-type]
                clock=bot.clock, channels=channels([bot.notifier]))  # fmt: skip
    report = bot.deliverer.deliver_due()
    assert report.failed == 1
    error = report.channels["dm"].error or ""
    assert "Discord refused the DM to user 114941315417899012" in error
    bot.fake.failures.clear()
    bot.clock.advance(minutes=1)
    assert bot.deliverer.deliver_due().sent == 1


def test_a_wrong_token_fails_deliveries_and_says_why(tmp_path: Path, clock: Clock) -> None:
    with FakeDiscord() as fake:
        fake.token = "the-new-token"
        conf = make_config(tmp_path, fake.api_base)
        store = Store(conf.storage_url)
        [notifier] = build_notifiers(conf, store=store, clock=clock)

        with pytest.raises(DeliveryError, match="the bot token is wrong or was reset") as caught:
            notifier.send(Message("t", "b"))
        assert fd.TOKEN not in str(caught.value)
        assert isinstance(notifier, DiscordNotifier)
        notifier.close()
        store.close()


def test_the_channel_takes_the_sources_token_and_the_owners_id(tmp_path: Path) -> None:
    conf = make_config(tmp_path, "http://127.0.0.1:9/api/v10")
    [channel] = conf.notify
    assert channel.token == fd.TOKEN and channel.user_id == str(fd.OWNER_ID)
    assert channel.api_base == "http://127.0.0.1:9/api/v10"
    assert fd.TOKEN in conf.secrets  # masked in every log line and stored error


@pytest.mark.parametrize(
    ("notify", "problem"),
    [
        ("  - {type: discord, token: abcdef, user_id: '12x'}\n",
         "notify[0].user_id: expected a Discord user id"),
        ("  - {type: discord, url: 'json://x'}\n", "a discord channel takes no url"),
        ("  - {url: 'json://localhost', user_id: '1'}\n",
         "user_id: only for a channel of type: discord"),
        ("  - {type: discord, name: a}\n  - {type: discord, name: b}\n",
         "notify[1].token: notify[0] is a discord channel with the same bot token"),
    ],
)  # fmt: skip
def test_discord_channel_mistakes_name_the_key_and_the_fix(
    tmp_path: Path, notify: str, problem: str
) -> None:
    with pytest.raises(ConfigFileError) as caught:
        make_config(tmp_path, "http://127.0.0.1:9/api/v10", notify)
    assert problem in str(caught.value)


def test_a_discord_channel_without_a_token_anywhere_says_where_to_put_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(
            "owner: {identities: {discord: ['1']}}\nnotify:\n  - {type: discord}\n",
            path=tmp_path / "x.yaml",
            environ={},
        )
    assert (
        'notify[0].type: a discord channel needs the bot\'s token: add token: "${DISCORD_TOKEN}"'
        in str(caught.value)
    )
    with pytest.raises(ConfigFileError, match="needs the user to message: add user_id"):
        parse_config(
            "notify:\n  - {type: discord, token: abcdef}\n", path=tmp_path / "y.yaml", environ={}
        )


def test_escape_makes_markup_and_mentions_inert() -> None:
    assert escape("**hi** @everyone <@123> <@&45> <#6>\nline two\x1b[2J") == (
        "\\*\\*hi\\*\\* @\u200beveryone <@\u200b123> <@\u200b&45> <#6>\nline two[2J"
    )


def test_a_notifier_shares_the_sources_client(tmp_path: Path, clock: Clock) -> None:
    with FakeDiscord() as fake:
        conf = make_config(tmp_path, fake.api_base)
        store = Store(conf.storage_url)
        source = conf.source("shop-discord")
        listening = DiscordConnector(
            source.settings,  # type: ignore[arg-type]
            ConnectorContext(source="shop-discord", owner_identities=source.owner_identities),
        )
        listening.listen(lambda: None)
        [notifier] = build_notifiers(conf, store=store, clock=clock)
        assert isinstance(notifier, DiscordNotifier)
        notifier.open()
        assert len(fd.discord_chat.running_gateways()) == 1  # one client, one login
        fake.wait_ready()
        assert len(fake.seen("GET", r"/users/@me")) == 1
        listening.stop_listening()
        assert fd.discord_chat.running_gateways()  # the notifier still holds it
        notifier.close()
        deadline = time.monotonic() + 5
        while fd.discord_chat.running_gateways() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not fd.discord_chat.running_gateways()
        store.close()


def test_the_commented_discord_examples_are_valid(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parents[1] / "config.example.yaml").read_text()
    source = re.search(r"^  # - name: discord\n(?:  #   .*\n)+", example, re.MULTILINE)
    channel = re.search(r"^#   - type: discord\n(?:#     .*\n)+", example, re.MULTILINE)
    assert source and channel, "config.example.yaml lost its discord examples"
    text = (
        "owner: {identities: {discord: ['123456789012345678']}}\n"
        "sources:\n" + re.sub(r"^  # ", "  ", source[0], flags=re.MULTILINE)
        + "notify:\n" + re.sub(r"^#", "", channel[0], flags=re.MULTILINE)
    )  # fmt: skip
    conf = parse_config(text, path=tmp_path / "x.yaml", environ={"DISCORD_TOKEN": fd.TOKEN})
    assert conf.source("discord").settings.keywords == ["danashop"]  # type: ignore[attr-defined]
    assert conf.notify[0].user_id == "123456789012345678" and conf.notify[0].token == fd.TOKEN
