"""The whole bot as ``imagine-bot run`` starts it (``adapters.app.serve``), in the
test's event loop, with the sandbox models behind the real SDKs. The platform
worlds (``slack_bot``, ``discord_bot``) add their fake and what people see."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from adapters.app import App, serve
from adapters.sandbox import Sandbox
from bot.config import Settings

KEY = "sk-test-not-a-real-key-0123456789"


def model_env(sandbox: Sandbox, data: Path) -> dict[str, str]:
    """Models at the sandbox, data in ``data``, quick announcements, no rate limit."""
    return {
        "GEMINI_API_KEY": KEY,
        "GEMINI_BASE_URL": sandbox.gemini_base_url,
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": sandbox.openai_base_url,
        "IMAGINE_DATA_DIR": str(data),
        "IMAGINE_HTTP_PORT": "0",
        "IMAGINE_SHUTDOWN_GRACE_S": "0",
        "IMAGINE_ANNOUNCE_SETTLE_S": "0.2",
        "IMAGINE_USER_RATE": "",
    }


@dataclass
class RunningBot:
    sandbox: Sandbox
    env: dict[str, str]
    app: App | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start ``serve`` (settings from the environment) and wait until it is up."""
        self._stop = asyncio.Event()
        up: asyncio.Future[tuple[App, int]] = asyncio.get_running_loop().create_future()

        async def started(app: App, port: int) -> None:
            up.set_result((app, port))

        self._task = asyncio.create_task(serve(Settings(), stop=self._stop, started=started))
        done, _ = await asyncio.wait([self._task, up], timeout=20, return_when="FIRST_COMPLETED")
        if self._task in done:
            self._task.result()  # raises what stopped it
        self.app, port = up.result()
        await self.ready(port)

    async def ready(self, port: int) -> None:
        """What the platform needs once the bot serves (its URL, its commands)."""

    async def stop(self) -> None:
        """SIGTERM's path: ``serve`` returns once the stop event is set."""
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """The end of the test: the bot stops (a world may close more of its own)."""
        await self.stop()


W = TypeVar("W", bound=RunningBot)


@contextlib.asynccontextmanager
async def running(
    world: W, monkeypatch: pytest.MonkeyPatch, *, start: bool = True
) -> AsyncIterator[W]:
    """``world`` with its environment set (its ``env``), started, and closed at the end."""
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    try:
        if start:
            await world.start()
        yield world
    finally:
        await world.close()
