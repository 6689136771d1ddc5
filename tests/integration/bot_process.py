"""``imagine-bot run`` as a child process, for the tests that kill one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BotProcess:
    """``imagine-bot run`` as a child process; its output is read as it comes (a full
    pipe would stall it)."""

    child: asyncio.subprocess.Process
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path) -> BotProcess:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run",
            cwd=cwd, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        bot = cls(child)
        bot._reader = asyncio.create_task(bot._read())
        async with asyncio.timeout(30):
            while not bot.port:
                assert child.returncode is None, "\n".join(bot.lines[-30:])
                await asyncio.sleep(0.05)
        return bot

    async def _read(self) -> None:
        assert self.child.stderr is not None
        while line := (await self.child.stderr.readline()).decode():
            self.lines.append(line.rstrip())
            if "web server on" in line and not self.port:
                self.port = int(line.split(":")[-1].split()[0])

    async def kill(self) -> None:
        self.child.kill()
        await self._ended(signal.SIGKILL)

    async def end(self) -> None:
        """Make sure it is gone (after a failed test: no bot outlives its test)."""
        if self.child.returncode is None:
            self.child.kill()
            await self.child.wait()

    async def stop(self) -> None:
        self.child.send_signal(signal.SIGTERM)
        await self._ended(0)

    async def _ended(self, expected: int) -> None:
        await asyncio.wait_for(self.child.wait(), 30)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
        code = self.child.returncode
        assert code == (-expected if expected else 0), "\n".join(self.lines[-30:])
