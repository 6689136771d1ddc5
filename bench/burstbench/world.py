"""The world of one load run: the fake Slack (this process), the sandbox (a child
process, instant models) and the bot itself (``imagine-bot run`` in another child,
from any checkout), so neither fake spends the bot's CPU.

The bot is the real thing: ``python -m adapters.cli run`` in HTTP mode, with its
own SQLite file, talking to the fake Slack over slack-sdk and to the sandbox over
google-genai / openai. ``root`` picks the checkout it runs from (``PYTHONPATH``),
so a baseline commit (a ``git worktree``) and this one run side by side.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from routerbench.sandbox import ChildSandbox

from tests.platforms.slack_fake import FakeSlack

API_KEY = "bench-key-not-secret"
IMAGE_PX = 32  # placeholder images: rendering must not eat the shared 2 cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bot:
    """``imagine-bot run`` from ``root`` in a child process, on a fresh database."""

    root: Path
    slack: FakeSlack
    sandbox: ChildSandbox
    profile: Path | None = None  # run it under cProfile, written here on exit
    env: dict[str, str] = field(default_factory=dict)  # more settings, over the defaults below
    proc: asyncio.subprocess.Process | None = None
    url: str = ""

    async def start(self) -> Bot:
        self._data = tempfile.TemporaryDirectory(prefix="burst-bench-")
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "SLACK_"))},
            "PYTHONPATH": str(self.root),
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": self.slack.signing_secret,
            "SLACK_API_URL": self.slack.api_url,
            "GEMINI_API_KEY": API_KEY,
            "GEMINI_BASE_URL": self.sandbox.gemini_base_url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": self.sandbox.openai_base_url,
            "IMAGINE_DATA_DIR": self._data.name,
            "IMAGINE_HTTP_PORT": str(port),
            "IMAGINE_USER_RATE": "",
            "IMAGINE_DAILY_IMAGES_PER_GUILD": "0",
            "IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD": "0",
            "IMAGINE_SHUTDOWN_GRACE_S": "0",
            "IMAGINE_PLAYGROUND": "off",
            "IMAGINE_LOG_LEVEL": "WARNING",
            **self.env,
        }
        prof = ("-m", "cProfile", "-o", str(self.profile)) if self.profile else ()
        self.proc = await asyncio.create_subprocess_exec(
            *(sys.executable, *prof, "-m", "adapters.cli", "run"),
            cwd=self._data.name,  # no developer .env
            env=env,
        )
        self.url = f"http://127.0.0.1:{port}/slack/events"
        async with aiohttp.ClientSession() as http, asyncio.timeout(60):
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"the bot exited ({self.proc.returncode})")
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        return self

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._data.cleanup()


async def open_sandbox() -> ChildSandbox:
    """Instant models (the sandbox's default latency is 0)."""
    return await ChildSandbox(seed=1, image_px=IMAGE_PX).start()
