"""One scenario list, two platforms: a ``Driver`` does what a person does on Slack or
Discord and reads back what they would see, so ``test_contract.py`` runs the same
scenarios against both adapters (each over its real library and wire fake)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from adapters.app import App
from adapters.sandbox import Sandbox
from tests.platforms.discord_bot import DiscordWorld
from tests.platforms.running_bot import RunningBot
from tests.platforms.slack_bot import ADMIN, SlackWorld


@dataclass
class Sent:
    handle: Any  # where the job shows (Slack: root ts; Discord: the interaction)
    private: str  # what only the requester saw (ack, refusal)
    elapsed: float


@dataclass
class Shown:
    images: list[bytes]  # images of the job's message and its thread, oldest first
    text: str  # all words on the job's message
    buttons: set[str] = field(default_factory=set)  # "retry", "vary", "upscale"


class _Driver:
    """What both drivers share: the running bot behind them."""

    def __init__(self, world: RunningBot) -> None:
        self.bot = world

    @property
    def sandbox(self) -> Sandbox:
        return self.bot.sandbox

    @property
    def app(self) -> App:
        assert self.bot.app is not None
        return self.bot.app

    async def restart(self) -> None:
        await self.bot.restart()


class SlackDriver(_Driver):
    name = "slack"

    def __init__(self, world: SlackWorld) -> None:
        super().__init__(world)
        self.w = world
        self._status = ""

    async def imagine(self, prompt: str, *, user: int = 0) -> Sent:
        before = {m["ts"] for m in self.w.roots()}
        t0 = time.monotonic()
        acked = await self.w.imagine(prompt, user=f"U{user:09d}")
        elapsed = time.monotonic() - t0
        await asyncio.sleep(0)
        new = [m["ts"] for m in self.w.roots() if m["ts"] not in before]
        return Sent(new[0] if new else None, acked.body, elapsed)

    def shown(self, handle: Any) -> Shown:
        msg = self.w.slack.find_message(self.w.slack.default_channel, handle) or {}
        files = [f for f in self.w.slack.files.values() if f.thread_ts == handle and f.data]
        buttons = {
            e["action_id"].removeprefix("imagine_")
            for b in msg.get("blocks") or []
            if b.get("type") == "actions"
            for e in b["elements"]
        }
        words = [msg.get("text", ""), json.dumps(msg.get("blocks") or [], ensure_ascii=False)]
        words += [f.initial_comment or "" for f in files]
        return Shown([f.data or b"" for f in files], "\n".join(words), buttons)

    async def reply(self, handle: Any, text: str, *, twice: bool = False) -> None:
        event = self.w.slack.message_event(text=text, thread_ts=handle)
        event_id = f"Ev{time.monotonic_ns()}"
        await self.w.slack.event(self.w.url, event, event_id=event_id)
        if twice:  # Slack retries a delivery it thinks failed, with the same event_id
            await self.w.slack.event(self.w.url, event, event_id=event_id, retry_num=1)

    async def click(self, handle: Any, action: str) -> None:
        msg = self.w.slack.find_message(self.w.slack.default_channel, handle) or {}
        values = {
            e["action_id"]: e["value"]
            for b in msg.get("blocks") or []
            if b.get("type") == "actions"
            for e in b["elements"]
        }
        await self.w.slack.block_action(
            self.w.url, f"imagine_{action}", values[f"imagine_{action}"], message_ts=handle
        )

    async def click_elsewhere(self, handle: Any, action: str) -> str:
        """The job's button, pressed on a message in another channel of the workspace
        (its value carries the job id); what the presser alone was told there."""
        slack, other = self.w.slack, "C0ELSEWHERE"
        msg = slack.find_message(slack.default_channel, handle) or {}
        copy = slack.store_message(other, text=msg.get("text", ""), blocks=msg.get("blocks"))
        told = len(slack.ephemerals)
        await slack.block_action(
            self.w.url, f"imagine_{action}", channel_id=other, message_ts=copy["ts"]
        )
        await slack.wait_for(lambda: len(slack.ephemerals) > told, 5)
        return "\n".join(e["text"] for e in slack.ephemerals[told:] if e["channel"] == other)

    def roots(self) -> list[Any]:
        return [m["ts"] for m in self.w.roots()]

    async def admin(self, words: str, *, admin: bool) -> str:
        user = ADMIN if admin else "U0NOBODY01"
        return (await self.w.command("/imagine-admin", words, user=user)).body

    async def status_channel_here(self, channel: str = "C0STATUS001") -> None:
        await self.w.slack.slash_command(
            self.w.url, command="/imagine-admin", text="status-channel", user_id=ADMIN,
            channel_id=channel,
        )  # fmt: skip
        self._status = channel

    def announcements(self) -> list[str]:
        return [m.get("text", "") for m in self.w.slack.bot_messages(self._status)]

    async def status(self) -> str:
        body = (await self.w.command("/imagine-status", user="U0FAKEUSER1")).body
        return json.dumps(json.loads(body), ensure_ascii=False)


class DiscordDriver(_Driver):
    name = "discord"

    def __init__(self, world: DiscordWorld) -> None:
        super().__init__(world)
        self.w = world
        self._status = 0

    async def imagine(self, prompt: str, *, user: int = 0) -> Sent:
        t0 = time.monotonic()
        options = _slash_options(prompt)
        interaction = await self.w.discord.slash("imagine", options)
        await self.w.discord.wait_for(lambda: self._acked(interaction), 5)
        elapsed = time.monotonic() - t0
        await self._settled(interaction)
        return Sent(interaction, self._private(interaction), elapsed)

    async def _settled(self, interaction: dict[str, Any]) -> None:
        """Until the command was refused privately or its job is queued."""
        key = f"interaction:{interaction['id']}"
        async with asyncio.timeout(10):
            while not self._private(interaction):
                row = await self.app.store.fetchone(
                    "SELECT state, runs FROM jobs WHERE platform = 'discord'"
                    " AND idempotency_key = ?",
                    (key,),
                )
                if row is not None and (row[0] != "failed" or row[1] > 0):
                    return  # queued (a refusal fails it before it ever runs)
                await asyncio.sleep(0.02)

    def _acked(self, interaction: dict[str, Any]) -> bool:
        return any(c["token"] == interaction["token"] for c in self.w.discord.callbacks)

    def _private(self, interaction: dict[str, Any]) -> str:
        fake = self.w.discord
        said = [
            (c.get("data") or {}).get("content") or ""
            for c in fake.callbacks
            if c["token"] == interaction["token"]
        ]
        record = fake.interactions.by_token[interaction["token"]]
        for mid in sorted(record.message_ids):
            msg = fake.message(mid)
            if msg and msg["flags"] & 64:
                said.append(msg.get("content") or "")
        return "\n".join(s for s in said if s)

    def _root(self, handle: Any) -> dict[str, Any] | None:
        return self.w.discord.original_response(handle["token"])

    def shown(self, handle: Any) -> Shown:
        fake = self.w.discord
        msg = self._root(handle) or {}
        images = self.w.images(msg)
        if msg.get("id"):
            for m in fake.messages(int(msg["id"])) if fake.store.channel(int(msg["id"])) else []:
                images += self.w.images(m)
        buttons = {
            c["custom_id"].split(":")[1]
            for row in msg.get("components") or []
            for c in row.get("components") or []
        }
        words = [msg.get("content") or "", json.dumps(msg.get("embeds") or [], ensure_ascii=False)]
        if msg.get("id") and fake.store.channel(int(msg["id"])):
            words += [
                json.dumps(m.get("embeds") or [], ensure_ascii=False)
                for m in fake.messages(int(msg["id"]))
            ]
        return Shown(images, "\n".join(words), buttons)

    async def reply(self, handle: Any, text: str, *, twice: bool = False) -> None:
        msg = self._root(handle)
        assert msg is not None
        thread = int(msg["id"])
        await self.w.discord.wait_for(lambda: self.w.discord.store.channel(thread))
        sent = await self.w.discord.user_message(thread, text)
        if twice:  # the gateway replays a dispatch after a RESUME
            await self.w.discord.gateway.publish_message("MESSAGE_CREATE", sent)

    async def click(self, handle: Any, action: str) -> None:
        msg = self._root(handle)
        assert msg is not None
        ids = [c["custom_id"] for row in msg["components"] for c in row["components"]]
        (custom_id,) = [i for i in ids if i.split(":")[1] == action]
        interaction = await self.w.discord.click(custom_id, msg["id"])
        await self.w.discord.wait_for(lambda: self._acked(interaction), 5)

    async def click_elsewhere(self, handle: Any, action: str) -> str:
        """The job's button on a bot message in another channel of the same server;
        what the presser alone was told."""
        fake = self.w.discord
        msg = self._root(handle)
        assert msg is not None
        other = fake.store.add_text_channel("elsewhere")
        body = {"content": "", "components": msg["components"]}
        copy = fake.store.create_message(other, fake.store.bot_user, body)
        ids = [c["custom_id"] for row in msg["components"] for c in row["components"]]
        (custom_id,) = [i for i in ids if i.split(":")[1] == action]
        interaction = await fake.click(custom_id, copy["id"])
        await fake.wait_for(lambda: self._private(interaction) or None, 5)
        return self._private(interaction)

    def roots(self) -> list[Any]:
        return [c for c in self.w.discord.callbacks if c["type"] == 5]

    async def admin(self, words: str, *, admin: bool) -> str:
        verb, *args = words.split()
        fake = self.w.discord
        name, options = _admin_options(verb, args)
        user = fake.mod if admin else fake.alice
        interaction = await fake.slash(f"imagine-admin {name}", options, user=user)
        await fake.wait_for(lambda: self._private(interaction) or None, 5)
        return self._private(interaction)

    async def status_channel_here(self) -> None:
        fake = self.w.discord
        await fake.slash("imagine-admin status-channel", {}, user=fake.mod)
        self._status = fake.channel_id
        await fake.wait_for(lambda: any(c["type"] == 4 for c in fake.callbacks), 5)

    def announcements(self) -> list[str]:
        fake = self.w.discord
        bot = str(fake.bot_user.id)
        return [
            m.get("content") or ""
            for m in fake.messages(self._status)
            if m["author"]["id"] == bot and not m.get("interaction_metadata") and m.get("content")
        ]

    async def status(self) -> str:
        fake = self.w.discord
        interaction = await fake.slash("imagine-status", {})
        await fake.wait_for(lambda: self._acked(interaction), 5)
        (cb,) = [c for c in fake.callbacks if c["token"] == interaction["token"]]
        return json.dumps(cb["data"], ensure_ascii=False)


def _slash_options(text: str) -> dict[str, Any]:
    """Slack's ``prompt --ar 16:9`` as Discord's typed options."""
    words, options, i = text.split(), {}, 0
    prompt: list[str] = []
    while i < len(words):
        if words[i] in ("--ar", "--size") and i + 1 < len(words):
            options["aspect" if words[i] == "--ar" else "size"] = words[i + 1]
            i += 2
        else:
            prompt.append(words[i])
            i += 1
    return {"prompt": " ".join(prompt) if prompt else text, **options}


def _admin_options(verb: str, args: list[str]) -> tuple[str, dict[str, Any]]:
    if verb == "quota":
        return "quota", {"daily": int(args[1])}
    if verb == "budget":
        return "budget", {"usd": float(args[0])}
    if verb == "models":
        return "models", {"chain": args[0]}
    if verb == "safety-failover":
        return "safety-failover", {"on": args[0] == "on"}
    return verb, {}
