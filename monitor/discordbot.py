"""The owner's Discord bot: each alert as a direct message with buttons, and slash commands.

A ``notify: [{type: discord, user_id: "123"}]`` channel is a `DiscordNotifier`. Each alert is one
DM to that user: an embed (who wrote what, where, the deadline) and five buttons — Answered,
Snooze 1 h, Snooze until the next opening (the item's source's business hours), Dismiss (needs no
reply), Show draft. A press changes the item in the store and edits the message in place: its
new state, and the buttons that no longer apply disabled. Show draft answers with the suggested
reply, visible to the owner only. Three slash commands work in the DM (and in servers, answered
privately): ``/inbox``, ``/report`` and ``/snooze item duration``. Only the configured user may
act; anyone else gets a refusal only they can see, and nothing changes.

**Threading.** The bot is the same `discord.Client` as the Discord sources' (one per token,
`connectors.discord_chat.DiscordGateway`, in its own thread and event loop). `send` and
`send_alert` are called by the daemon's delivery lane: they run the sending coroutine on the
gateway's loop and wait for Discord's answer, so a send returns only once Discord accepted the
DM and raises `DeliveryError` otherwise (the outbox then retries, as for any channel). Button
presses and commands arrive on the loop thread; their store calls run in a worker thread
(`asyncio.to_thread`) so the gateway's heartbeat never waits for the database.

**Untrusted text.** Comment text and authors are escaped (`discord.utils.escape_markdown`, then
`monitor.alerts.safe`, which makes ``@everyone``, ``@here`` and ``<@id>`` inert), and every
message sent or edited carries ``allowed_mentions`` with nothing allowed: a comment cannot ping
anyone, whatever it contains.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import discord

from connectors.base import ConnectorError
from connectors.discord_chat import (
    DiscordGateway,
    acquire_gateway,
    release_gateway,
)
from monitor import sla
from monitor.alerts import AlertView, Level, Message, render_alert, safe
from monitor.config import Config
from monitor.durations import parse_duration
from monitor.models import ItemRow
from monitor.notify import DEFAULT_GIVE_UP, DeliveryError, _ChannelSettings, identity
from monitor.store import Store, UnknownItem
from monitor.views import current_draft, deadline_phrase, local, printable, trim

log = logging.getLogger("sameday.discordbot")

NOBODY = discord.AllowedMentions.none()
EPHEMERAL_REFUSAL = "Only the owner of this Sameday can do that."
_CUSTOM_ID = re.compile(r"^sameday:(answered|snooze1h|snoozeopen|dismiss|draft):(\d+)$")
# (action, label, style): the buttons of every alert, in order (one row holds five).
BUTTONS = (
    ("answered", "Answered", discord.ButtonStyle.success),
    ("snooze1h", "Snooze 1 h", discord.ButtonStyle.secondary),
    ("snoozeopen", "Until opening", discord.ButtonStyle.secondary),
    ("dismiss", "Dismiss", discord.ButtonStyle.danger),
    ("draft", "Show draft", discord.ButtonStyle.primary),
)
_SNOOZES = frozenset({"snooze1h", "snoozeopen"})
_FINAL = frozenset({"answered", "dismissed", "baseline"})
_COLOURS = {
    Level.NEW: discord.Colour.blurple(),
    Level.REMINDER: discord.Colour.orange(),
    Level.OVERDUE: discord.Colour.red(),
    "answered": discord.Colour.green(),
    "dismissed": discord.Colour.light_grey(),
    "snoozed": discord.Colour.dark_blue(),
}
# Discord's limits: an embed's description holds 4096 characters, a message 2000.
_DESCRIPTION = 4000
_CONTENT = 1900

COMMANDS: list[dict[str, Any]] = [
    {
        "name": "inbox",
        "type": 1,
        "description": "What still needs an answer, soonest deadline first",
        "contexts": [0, 1],  # servers and the bot's DM; answers are private either way
    },
    {
        "name": "report",
        "type": 1,
        "description": "Today's same-day report",
        "contexts": [0, 1],
    },
    {
        "name": "snooze",
        "type": 1,
        "description": "Hide an item until later",
        "contexts": [0, 1],
        "options": [
            {
                "type": 4,
                "name": "item",
                "description": "The item's number (see /inbox)",
                "required": True,
                "min_value": 1,
            },
            {
                "type": 3,
                "name": "duration",
                "description": "30m, 2h, 1d… or tomorrow (the next opening)",
                "required": True,
            },
        ],
    },
]


def escape(text: str) -> str:
    """Untrusted text for a Discord message: markup shown as typed, mentions inert.

    >>> escape("**hi** @everyone <@123>")
    '\\\\*\\\\*hi\\\\*\\\\* @\\u200beveryone <@\\u200b123>'
    """
    lines = [printable(line) for line in text.split("\n")]
    return safe(discord.utils.escape_markdown("\n".join(lines)))


def _quoted(text: str, width: int) -> str:
    flat = text if len(text) <= width else text[: width - 1] + "…"
    return f"“{escape(flat)}”"


def _web_link(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


def _when(moment: datetime, zone: ZoneInfo) -> str:
    # <t:…> shows in the reader's own time zone and language; the owner's zone follows.
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:f> (<t:{stamp}:R>) · {local(moment, zone)} {zone.key}"


def alert_embed(alert: AlertView, now: datetime, zone: ZoneInfo) -> discord.Embed:
    """The embed of one alert: the comment, its author and source, the deadline, the item."""
    headline = render_alert(alert, now, zone).title  # the wording every channel shares
    embed = discord.Embed(
        title=headline[:256],
        description=_quoted(alert.text, 1500),
        colour=_COLOURS[alert.level],
        url=_web_link(alert.url),
        timestamp=alert.created_at,
    )
    embed.add_field(
        name="From", value=f"{escape(trim(alert.author, 80))} on {escape(alert.source)}"
    )
    embed.add_field(
        name="Deadline", value=f"{_when(alert.due_at, zone)}: {deadline_phrase(alert.due_at, now)}"
    )
    if alert.hint:
        embed.add_field(name="Note", value=escape(trim(alert.hint, 300)), inline=False)
    if alert.suggestion:
        # Collapsed: the draft is one press away (Show draft), not in every notification.
        embed.add_field(name="Draft", value="A reply is drafted: press Show draft.", inline=False)
    embed.set_footer(text=f"Item #{alert.item_id} · {alert.level}")
    return embed


def buttons(item_id: int, *, status: str = "open", has_draft: bool = True) -> discord.ui.View:
    """The alert's buttons, disabled where they no longer apply (needs a running loop)."""
    view = discord.ui.View(timeout=None)
    for action, label, style in BUTTONS:
        disabled = (
            status in _FINAL
            or (status == "snoozed" and action in _SNOOZES)
            or (action == "draft" and not has_draft)
        )
        view.add_item(
            discord.ui.Button(
                label=label, style=style, custom_id=f"sameday:{action}:{item_id}", disabled=disabled
            )
        )
    # Stopped before sending: discord.py then keeps no state for it; presses arrive as raw
    # interactions, also after a restart, and are answered by `on_interaction`.
    view.stop()
    return view


def status_line(item: ItemRow, zone: ZoneInfo) -> str | None:
    """How an item stands now, for the message's Status field (None while it is open)."""
    if item.status == "answered":
        how = "marked by you" if item.answered_via == "manual" else "your reply was seen"
        at = f" at {local(item.answered_at, zone)}" if item.answered_at else ""
        return f"✅ Answered ({how}{at})"
    if item.status == "dismissed":
        return "🚫 Dismissed: needs no reply"
    if item.status == "snoozed" and item.snoozed_until is not None:
        return f"💤 Snoozed until {local(item.snoozed_until, zone)} ({zone.key})"
    if item.status == "baseline":
        return "Older than the watch: not counted"
    return None


class DiscordNotifier(_ChannelSettings):
    """Alerts as DMs from the bot to the owner, with buttons that change the item.

    `config` gives the policies (snooze until the next opening, the report's day) and `store`
    the items the buttons change; without a store, presses are answered with an explanation.
    """

    def __init__(
        self,
        name: str,
        *,
        token: str,
        user_id: int | str,
        config: Config,
        store: Store | None = None,
        api_base: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        min_level: Level | str = Level.NEW,
        digest: str | None = None,
        give_up_after: timedelta = DEFAULT_GIVE_UP,
        redact: Callable[[str], str] = identity,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(name, min_level=min_level, digest=digest, give_up_after=give_up_after)
        self.token = token
        self.user_id = int(user_id)
        self.config = config
        self.store = store
        self.api_base = api_base
        self.clock = clock
        self.redact = redact
        self.timeout = timeout  # a send waits this long for Discord, then fails (and retries)
        self.zone = config.default_policy.timezone
        self._gateway: DiscordGateway | None = None
        self._lock = threading.Lock()
        self._dm_channel: int | None = None
        self._registered = False

    def describe(self) -> str:
        return f"{self.name} (Discord DM to user {self.user_id})"

    # -- life cycle (the daemon opens it at start, so presses are heard between alerts) --------

    def open(self) -> None:
        """Join the shared Discord client (starting it if needed) and answer interactions."""
        with self._lock:
            if self._gateway is not None:
                return
            gateway = acquire_gateway(self.token, self.api_base)
            try:
                gateway.set_handler(self)
            except ValueError:
                release_gateway(gateway)
                raise
            self._gateway = gateway

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            gateway, self._gateway = self._gateway, None
        if gateway is not None:
            gateway.set_handler(None)
            release_gateway(gateway, timeout)

    # -- sending (the delivery lane's thread) ---------------------------------------------------

    def send(self, message: Message) -> None:
        """A digest or the daily report: one DM with the text in an embed (and its files)."""

        async def post(client: discord.Client) -> None:
            embed = discord.Embed(
                title=trim(message.title, 256),
                description=escape(message.body)[:_DESCRIPTION],
                colour=discord.Colour.blurple(),
            )
            files = [
                discord.File(io.BytesIO(a.content), filename=a.name) for a in message.attachments
            ]
            images = [a for a in message.attachments if a.mimetype.startswith("image/")]
            if images:
                embed.set_image(url=f"attachment://{images[0].name}")
            channel = await self._channel(client)
            await channel.send(
                content=escape(trim(message.title, 200)),
                embed=embed,
                files=files,
                allowed_mentions=NOBODY,
            )

        self._deliver(post)

    def send_alert(self, alert: AlertView, now: datetime, zone: ZoneInfo) -> None:
        """One alert: a DM with its embed and buttons."""

        async def post(client: discord.Client) -> None:
            channel = await self._channel(client)
            await channel.send(
                content=escape(render_alert(alert, now, zone).title),
                embed=alert_embed(alert, now, zone),
                view=buttons(alert.item_id, has_draft=bool(alert.suggestion)),
                allowed_mentions=NOBODY,
            )

        self._deliver(post)

    def _deliver(self, post: Callable[[discord.Client], Awaitable[None]]) -> None:
        self.open()
        gateway = self._gateway
        assert gateway is not None
        try:
            gateway.call(post, self.timeout)
        except ConnectorError as exc:  # not signed in: a refused token, Discord unreachable
            raise DeliveryError(self.redact(str(exc))) from None
        except discord.Forbidden as exc:
            raise DeliveryError(
                f"Discord refused the DM to user {self.user_id} ({exc.status} {exc.text}): that "
                "user must share a server with the bot and allow direct messages from its members"
            ) from None
        except discord.NotFound as exc:
            raise DeliveryError(
                f"Discord knows no user {self.user_id} ({exc.text}): check notify[].user_id"
            ) from None
        except discord.HTTPException as exc:
            if exc.status == 401:
                raise DeliveryError(
                    "the bot token is wrong or was reset: put a new one in the config"
                ) from None
            raise DeliveryError(
                self.redact(f"Discord refused the message: {exc.status} {exc.text}")
            ) from None
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise DeliveryError(self.redact(f"cannot reach Discord: {exc}")) from None

    async def _channel(self, client: discord.Client) -> discord.PartialMessageable:
        # One DM channel per user, opened once (POST /users/@me/channels) and then reused.
        if self._dm_channel is None:
            data = await client.http.start_private_message(self.user_id)
            self._dm_channel = int(data["id"])
        return client.get_partial_messageable(self._dm_channel, type=discord.ChannelType.private)

    # -- the gateway's loop thread ----------------------------------------------------------------

    async def on_ready(self, client: discord.Client) -> None:
        """Register the slash commands (once per process: a bulk overwrite, so it is idempotent)."""
        if self._registered or client.application_id is None:
            return
        try:
            await client.http.bulk_upsert_global_commands(client.application_id, COMMANDS)
        except discord.HTTPException as exc:
            log.warning("could not register the slash commands: %s %s", exc.status, exc.text)
            return
        self._registered = True
        log.info("slash commands registered: %s", ", ".join(f"/{c['name']}" for c in COMMANDS))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A button press or slash command: ours are answered, others' are left alone."""
        data: dict[str, Any] = dict(interaction.data or {})
        step: Callable[[], Awaitable[None]]
        if interaction.type is discord.InteractionType.component:
            match = _CUSTOM_ID.match(str(data.get("custom_id", "")))
            if match is None:
                return
            action, item_id = match[1], int(match[2])

            def step() -> Awaitable[None]:
                return self._press(interaction, action, item_id)
        elif interaction.type is discord.InteractionType.application_command:
            command = {"inbox": self._inbox, "report": self._report, "snooze": self._snooze}.get(
                str(data.get("name"))
            )
            if command is None:
                return

            def step() -> Awaitable[None]:
                return command(interaction, _options(data))
        else:
            return
        if interaction.user.id != self.user_id:
            log.info("refused %s from Discord user %s", _what(interaction), interaction.user.id)
            await interaction.response.send_message(
                EPHEMERAL_REFUSAL, ephemeral=True, allowed_mentions=NOBODY
            )
            return
        try:
            await step()
        except Exception as exc:  # the store failing: say so, privately, and log it
            log.exception("Discord %s failed", _what(interaction))
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    escape(self.redact(f"Sameday could not do that: {exc}"))[:_CONTENT],
                    ephemeral=True,
                    allowed_mentions=NOBODY,
                )

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(
            text[:_CONTENT], ephemeral=True, allowed_mentions=NOBODY
        )

    async def _item(self, interaction: discord.Interaction, item_id: int) -> ItemRow | None:
        store = self.store
        if store is None:
            await self._reply(interaction, "This bot is not connected to a Sameday store.")
            return None
        try:
            return await asyncio.to_thread(store.item, item_id)
        except UnknownItem:
            await self._reply(interaction, f"There is no item #{item_id} (see /inbox).")
            return None

    async def _press(self, interaction: discord.Interaction, action: str, item_id: int) -> None:
        item = await self._item(interaction, item_id)
        if item is None:
            return
        now = self.clock()
        if action == "draft":
            draft = current_draft(item, now)
            if not draft:
                await self._reply(interaction, f"No draft for item #{item_id}.")
                return
            # A code block: copied as written, markup and mentions inert in it.
            fenced = draft.replace("```", "`\u200b``")
            await self._reply(interaction, f"Draft for item #{item_id}:\n```\n{fenced}\n```")
            return
        if item.status not in _FINAL:  # an answered item stays answered, whatever is pressed
            item = await asyncio.to_thread(self._apply, action, item, now)
            log.info("item %s %s from Discord", item_id, item.status)
        original = interaction.message.embeds if interaction.message else []
        await interaction.response.edit_message(
            embed=self._restyled(original, item),
            view=buttons(item_id, status=item.status, has_draft=bool(current_draft(item, now))),
            allowed_mentions=NOBODY,
        )

    def _apply(self, action: str, item: ItemRow, now: datetime) -> ItemRow:
        """The store change a button asks for (a worker thread)."""
        store = self.store
        assert store is not None and item.id is not None
        if action == "answered":
            return store.mark_answered(item.id, now)
        if action == "dismiss":
            return store.dismiss(item.id, now)
        if action == "snooze1h":
            return store.snooze(item.id, now + timedelta(hours=1))
        return store.snooze(item.id, sla.next_opening(now, self._policy(item.source)))

    def _policy(self, source: str) -> sla.Policy:
        try:
            return self.config.source(source).policy
        except KeyError:  # a source since removed from the config: the owner's hours
            return self.config.default_policy

    def _restyled(self, embeds: list[discord.Embed], item: ItemRow) -> discord.Embed:
        """The alert's embed as sent, with the item's state in a Status field."""
        if embeds:
            embed = discord.Embed.from_dict(embeds[0].to_dict())
        else:
            embed = discord.Embed(title=f"Item #{item.id}", description=_quoted(item.text, 1500))
        kept = [f for f in embed.fields if f.name != "Status"]
        embed.clear_fields()
        for f in kept:
            embed.add_field(name=f.name, value=f.value, inline=f.inline)
        line = status_line(item, self.zone)
        if line:
            embed.add_field(name="Status", value=line, inline=False)
        if item.status in _COLOURS:
            embed.colour = _COLOURS[item.status]
        return embed

    # -- slash commands -----------------------------------------------------------------------

    async def _inbox(self, interaction: discord.Interaction, _options: dict[str, Any]) -> None:
        store = self.store
        if store is None:
            await self._reply(interaction, "This bot is not connected to a Sameday store.")
            return
        now = self.clock()
        items = await asyncio.to_thread(store.inbox, now)
        await self._reply(interaction, inbox_text(items, now))

    async def _report(self, interaction: discord.Interaction, _options: dict[str, Any]) -> None:
        store = self.store
        if store is None:
            await self._reply(interaction, "This bot is not connected to a Sameday store.")
            return
        # Building a report may take longer than the 3 s Discord waits for an answer: say
        # "thinking…" first, then put the report in its place.
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await asyncio.to_thread(self._report_text, store, self.clock())
        await interaction.edit_original_response(content=text, allowed_mentions=NOBODY)

    def _report_text(self, store: Store, now: datetime) -> str:
        from monitor.report_build import build_report, today
        from monitor.report_render import render_text

        text = render_text(build_report(store, self.config, today(self.config, now), now))
        # render_text fits a chat message already; the cut only guards the fence.
        fenced = text.rstrip("\n").replace("```", "`\u200b``")[: _CONTENT - 10]
        return f"```\n{fenced}\n```"

    async def _snooze(self, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        item_id = int(options.get("item", 0))
        duration = str(options.get("duration", "")).strip()
        now = self.clock()
        if duration.casefold() not in ("tomorrow", "opening"):
            try:
                length = parse_duration(duration).as_timedelta()
            except ValueError:
                await self._reply(
                    interaction,
                    "Snooze for how long? Write 30m, 2h, 1d… or tomorrow, "
                    f"not “{escape(duration)}”.",
                )
                return
        item = await self._item(interaction, item_id)
        if item is None:
            return
        if item.status in _FINAL:
            await self._reply(interaction, f"Item #{item_id} is {item.status} already.")
            return
        store = self.store
        assert store is not None
        if duration.casefold() in ("tomorrow", "opening"):
            until = sla.next_opening(now, self._policy(item.source))
        else:
            until = now + length
        item = await asyncio.to_thread(store.snooze, item_id, until)
        await self._reply(
            interaction,
            f"Item #{item_id} snoozed until {local(until, self.zone)} ({self.zone.key}): "
            f"{escape(trim(item.author, 40))}: {_quoted(item.text, 120)}",
        )


def inbox_text(items: list[ItemRow], now: datetime, limit: int = _CONTENT) -> str:
    """Open items by deadline, one line each, cut to fit one Discord message."""
    if not items:
        return "Nothing waiting for an answer. 🎉"
    head = f"**{len(items)} waiting for an answer** (soonest deadline first):"
    lines = [head]
    used = len(head)
    for index, item in enumerate(items):
        line = (
            f"**#{item.id}** {escape(trim(item.author, 40))} on {escape(item.source)}, "
            f"{deadline_phrase(item.due_at, now)}: {_quoted(trim(item.text, 110), 120)}"
        )
        more = len(items) - index
        if used + len(line) + 1 > limit - 40:
            lines.append(f"… and {more} more (`sameday inbox` lists them all)")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _options(data: dict[str, Any]) -> dict[str, Any]:
    options = data.get("options") or []
    return {str(o.get("name")): o.get("value") for o in options if isinstance(o, dict)}


def _what(interaction: discord.Interaction) -> str:
    data: dict[str, Any] = dict(interaction.data or {})
    if interaction.type is discord.InteractionType.component:
        return f"button {data.get('custom_id')}"
    return f"/{data.get('name')}"
