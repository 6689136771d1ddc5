"""The whole bot as ``imagine-bot run`` starts it, with Discord configured: the real
discord.py against the fake Discord, the sandbox models over the real SDKs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import Sandbox
from tests.platforms.discord_fake import FakeDiscord
from tests.platforms.running_bot import RunningBot, model_env, running

ADMIN_ID = "4242"


@dataclass
class DiscordWorld(RunningBot):
    discord: FakeDiscord = field(kw_only=True)

    async def ready(self, port: int) -> None:
        fake = self.discord
        await fake.wait_for(lambda: fake.guild_commands() or fake.global_commands or None)

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
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    start: bool = True,
    fake_options: Mapping[str, Any] | None = None,
    **extra: str,
) -> AsyncIterator[DiscordWorld]:
    """``fake_options``: ``FakeDiscord``'s (e.g. ``upload_limit``, ``premium_tier``);
    ``extra``: more environment."""
    monkeypatch.chdir(tmp_path)
    async with (
        Sandbox(seed=7, image_px=64) as sandbox,
        FakeDiscord(**(fake_options or {})) as fake,
    ):
        env = {  # the bot's own client is pointed at the fake: no discord.py global moves
            "DISCORD_TOKEN": fake.token,
            "DISCORD_API_BASE": fake.rest_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DISCORD_GUILD_IDS": str(fake.guild_id),
            "IMAGINE_ADMIN_USERS": ADMIN_ID,
            **model_env(sandbox, tmp_path / "data"),
            **extra,
        }
        world = DiscordWorld(sandbox, env, discord=fake)
        async with running(world, monkeypatch, start=start) as w:
            yield w
