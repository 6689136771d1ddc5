"""The whole bot as ``imagine-bot run`` starts it (``adapters.app.serve``),
talking to the fake Slack over the real slack-bolt / slack-sdk and to the sandbox
over the real google-genai / openai SDKs. One ``SlackWorld`` per test; ``restart``
stops the bot (SIGTERM's path) and starts a new one on the same database."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import Sandbox
from tests.platforms.running_bot import RunningBot, model_env, running
from tests.platforms.slack_fake import Delivery, FakeSlack

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
ADMIN = "UADMIN0001"


@dataclass
class SlackWorld(RunningBot):
    slack: FakeSlack = field(kw_only=True)
    url: str = ""

    async def ready(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"

    # -- doing what people do ---------------------------------------------------
    async def imagine(self, text: str, *, user: str = "U0FAKEUSER1") -> Delivery:
        return await self.slack.slash_command(self.url, command="/imagine", text=text, user_id=user)

    async def command(self, command: str, text: str = "", *, user: str = ADMIN) -> Delivery:
        return await self.slack.slash_command(self.url, command=command, text=text, user_id=user)

    async def reply_in_thread(self, thread_ts: str, text: str, **kw: Any) -> Delivery:
        event = self.slack.message_event(text=text, thread_ts=thread_ts)
        return await self.slack.event(self.url, event, **kw)

    # -- what people see -------------------------------------------------------
    async def image_in_thread(self, root_ts: str, n: int = 1, within: float = 15) -> list[Any]:
        """Wait for the n-th image in the thread of ``root_ts``; all of them, oldest first."""

        def found() -> list[Any] | None:
            files = [f for f in self.slack.files.values() if f.thread_ts == root_ts]
            return files if len(files) >= n else None

        return await self.slack.wait_for(found, within)

    def roots(self) -> list[dict[str, Any]]:
        channel = self.slack.default_channel
        return [
            m
            for m in self.slack.bot_messages(channel)
            if m.get("thread_ts") in (None, m["ts"]) and not m.get("files")
        ]

    async def root(self, within: float = 5) -> dict[str, Any]:
        """The newest job root message in the channel."""
        return await self.slack.wait_for(lambda: (self.roots() or [None])[-1], within)


def slack_env(slack: FakeSlack, sandbox: Sandbox, data: Path, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "IMAGINE_ADMIN_USERS": ADMIN,
        **model_env(sandbox, data),
        **extra,
    }


@contextlib.asynccontextmanager
async def slack_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, start: bool = True, **extra: str
) -> AsyncIterator[SlackWorld]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    async with Sandbox(seed=7, image_px=64) as sandbox, FakeSlack() as slack:
        env = slack_env(slack, sandbox, tmp_path / "data", **extra)
        async with running(SlackWorld(sandbox, env, slack=slack), monkeypatch, start=start) as w:
            yield w


def elapsed_since(t0: float) -> float:
    return time.monotonic() - t0
