"""The whole bot as ``imagine-bot run`` starts it (``adapters.runtime.serve``),
talking to the fake Slack over the real slack-bolt / slack-sdk and to the sandbox
over the real google-genai / openai SDKs. One ``SlackWorld`` per test; ``restart``
stops the bot (SIGTERM's path) and starts a new one on the same database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.compose import App
from adapters.runtime import serve
from adapters.sandbox import Sandbox
from bot.config import Settings
from tests.platforms.slack_fake import Delivery, FakeSlack

KEY = "sk-test-not-a-real-key-0123456789"
PRO, FLASH, GPT = "gemini-3-pro-image-preview", "gemini-2.5-flash-image", "gpt-image-1.5"
ADMIN = "UADMIN0001"


@dataclass
class SlackWorld:
    slack: FakeSlack
    sandbox: Sandbox
    env: dict[str, str]
    app: App | None = None
    url: str = ""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        up: asyncio.Future[tuple[App, int]] = asyncio.get_running_loop().create_future()

        async def started(app: App, port: int) -> None:
            up.set_result((app, port))

        self._task = asyncio.create_task(serve(Settings(), stop=self._stop, started=started))
        done, _ = await asyncio.wait([self._task, up], timeout=20, return_when="FIRST_COMPLETED")
        if self._task in done:
            self._task.result()  # raises what stopped it
        self.app, port = up.result()
        self.url = f"http://127.0.0.1:{port}/slack/events"

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

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
        "GEMINI_API_KEY": KEY,
        "GEMINI_BASE_URL": sandbox.gemini_base_url,
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": sandbox.openai_base_url,
        "IMAGINE_DATA_DIR": str(data),
        "IMAGINE_HTTP_PORT": "0",
        "IMAGINE_SHUTDOWN_GRACE_S": "0",
        "IMAGINE_ANNOUNCE_SETTLE_S": "0.2",
        "IMAGINE_ADMIN_USERS": ADMIN,
        "IMAGINE_USER_RATE": "",
        **extra,
    }


@contextlib.asynccontextmanager
async def slack_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, start: bool = True, **extra: str
) -> AsyncIterator[SlackWorld]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    async with Sandbox(seed=7, image_px=64) as sandbox, FakeSlack() as slack:
        env = slack_env(slack, sandbox, tmp_path / "data", **extra)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        world = SlackWorld(slack, sandbox, env)
        try:
            if start:
                await world.start()
            yield world
        finally:
            await world.stop()


def elapsed_since(t0: float) -> float:
    return time.monotonic() - t0
