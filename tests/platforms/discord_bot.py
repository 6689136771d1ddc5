"""The whole bot as ``imagine-bot run`` starts it, with Discord configured: the real
discord.py against the fake Discord, the sandbox models over the real SDKs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.compose import App
from adapters.runtime import serve
from adapters.sandbox import Sandbox
from bot.config import Settings
from tests.platforms.discord_fake import FakeDiscord, patch_discord
from tests.platforms.slack_bot import KEY

ADMIN_ID = "4242"


@dataclass
class DiscordWorld:
    discord: FakeDiscord
    sandbox: Sandbox
    env: dict[str, str]
    app: App | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        up: asyncio.Future[App] = asyncio.get_running_loop().create_future()

        async def started(app: App, port: int) -> None:
            up.set_result(app)

        self._task = asyncio.create_task(serve(Settings(), stop=self._stop, started=started))
        done, _ = await asyncio.wait([self._task, up], timeout=20, return_when="FIRST_COMPLETED")
        if self._task in done:
            self._task.result()
        self.app = up.result()
        fake = self.discord
        await fake.wait_for(lambda: fake.guild_commands() or fake.global_commands or None)

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- what people see -------------------------------------------------------
    def images(self, message: dict[str, Any] | None) -> list[bytes]:
        if not message:
            return []
        return [self.discord.attachment_bytes(a) for a in message.get("attachments") or []]

    async def finished(self, interaction: dict[str, Any], within: float = 15) -> dict[str, Any]:
        """The command's response once it carries the image (or a failure)."""

        def done() -> dict[str, Any] | None:
            msg = self.discord.original_response(interaction["token"])
            if msg and (msg.get("attachments") or _buttons(msg) == ["retry"]):
                return msg
            return None

        return await self.discord.wait_for(done, within)


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        c["custom_id"].split(":")[1]
        for row in message.get("components") or []
        for c in row.get("components") or []
    ]


@contextlib.asynccontextmanager
async def discord_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, start: bool = True, **extra: str
) -> AsyncIterator[DiscordWorld]:
    monkeypatch.chdir(tmp_path)
    async with Sandbox(seed=7, image_px=64) as sandbox, FakeDiscord() as fake:
        with patch_discord(fake):
            env = {
                "DISCORD_TOKEN": fake.token,
                "DISCORD_API_BASE": fake.rest_base,
                "DISCORD_GATEWAY_URL": fake.gateway_url,
                "DISCORD_GUILD_IDS": str(fake.guild_id),
                "GEMINI_API_KEY": KEY,
                "GEMINI_BASE_URL": sandbox.gemini_base_url,
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": sandbox.openai_base_url,
                "IMAGINE_DATA_DIR": str(tmp_path / "data"),
                "IMAGINE_HTTP_PORT": "0",
                "IMAGINE_SHUTDOWN_GRACE_S": "0",
                "IMAGINE_ANNOUNCE_SETTLE_S": "0.2",
                "IMAGINE_ADMIN_USERS": ADMIN_ID,
                "IMAGINE_USER_RATE": "",
                **extra,
            }
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            world = DiscordWorld(fake, sandbox, env)
            try:
                if start:
                    await world.start()
                yield world
            finally:
                await world.stop()
