"""The sandbox under load: in a child process (default) or on this event loop.

The child is ``python -m adapters.sandbox``, driven through its ``/_sandbox/*``
control endpoints, so the fake vendor does not share an event loop with the
router it is judging.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, Protocol

import aiohttp

from adapters.sandbox.faults import Behaviour, Fault

from .config import ROOT, clock


class SandboxHandle(Protocol):
    gemini_base_url: str
    openai_base_url: str

    async def reset(self) -> None: ...
    async def set_latency(self, model: str, seconds: float, jitter: float) -> None: ...
    async def script(self, model: str, faults: list[Fault]) -> None: ...
    def active_faults(self, model: str, at: float) -> list[Fault]: ...
    async def calls(self) -> list[dict[str, Any]]: ...
    async def stop(self) -> None: ...


class ChildSandbox:
    """``python -m adapters.sandbox`` in a child process, driven by its control endpoints.

    Fault windows are mirrored in a local ``Behaviour`` (same code as the server's),
    set at the midpoint of the control call, so ``active_faults`` needs no round trip.
    """

    def __init__(self, seed: int, image_px: int) -> None:
        self.seed, self.image_px = seed, image_px
        self.proc: asyncio.subprocess.Process | None = None
        self.session: aiohttp.ClientSession | None = None
        self.mirror = Behaviour(seed=seed)
        self.gemini_base_url = self.openai_base_url = ""

    async def start(self) -> ChildSandbox:
        self.proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "adapters.sandbox", "--port", "0"),
            *("--seed", str(self.seed), "--image-px", str(self.image_px)),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        async with asyncio.timeout(30):
            while not (self.gemini_base_url and self.openai_base_url):
                line = (await self.proc.stdout.readline()).decode().strip()
                if not line:
                    raise RuntimeError("the sandbox exited before it printed its address")
                key, _, value = line.partition("=")
                if key == "gemini_base_url":
                    self.gemini_base_url = value
                elif key == "openai_base_url":
                    self.openai_base_url = value
        self.session = aiohttp.ClientSession(base_url=self.gemini_base_url)
        return self

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        assert self.session is not None
        async with self.session.post(path, json=body) as resp:
            resp.raise_for_status()

    async def reset(self) -> None:
        await self._post("/_sandbox/reset", {})
        self.mirror = Behaviour(seed=self.seed)

    async def set_latency(self, model: str, seconds: float, jitter: float) -> None:
        await self._post(
            "/_sandbox/latency", {"model": model, "seconds": seconds, "jitter": jitter}
        )
        self.mirror.set_latency(model, seconds, jitter)

    async def script(self, model: str, faults: list[Fault]) -> None:
        before = clock()
        await self._post(
            "/_sandbox/script", {"model": model, "faults": [f.as_dict() for f in faults]}
        )
        self.mirror.script(model, faults, (before + clock()) / 2)

    def active_faults(self, model: str, at: float) -> list[Fault]:
        return self.mirror.active(model, at)

    async def calls(self) -> list[dict[str, Any]]:
        assert self.session is not None
        async with self.session.get("/_sandbox/calls") as resp:
            resp.raise_for_status()
            data: list[dict[str, Any]] = await resp.json()
            return data

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


class InProcessSandbox:
    """The ``Sandbox`` on this event loop (``--sandbox inprocess``): one core for everything."""

    def __init__(self, seed: int, image_px: int) -> None:
        from adapters.sandbox.server import Sandbox

        self.sb = Sandbox(seed=seed, image_px=image_px)
        self.gemini_base_url = self.openai_base_url = ""

    async def start(self) -> InProcessSandbox:
        await self.sb.start()
        self.gemini_base_url, self.openai_base_url = (
            self.sb.gemini_base_url,
            self.sb.openai_base_url,
        )
        return self

    async def reset(self) -> None:
        self.sb.reset()

    async def set_latency(self, model: str, seconds: float, jitter: float) -> None:
        self.sb.set_latency(model, seconds, jitter)

    async def script(self, model: str, faults: list[Fault]) -> None:
        self.sb.script(model, faults)

    def active_faults(self, model: str, at: float) -> list[Fault]:
        return self.sb.active_faults(model, at=at)

    async def calls(self) -> list[dict[str, Any]]:
        return [c.summary() for c in self.sb.calls]

    async def stop(self) -> None:
        await self.sb.stop()


def hard_fault(sb: SandboxHandle, model: str, at: float, kinds: frozenset[str]) -> bool:
    """Was ``model`` inside a scheduled (probability 1) fault window of ``kinds`` at ``at``?"""
    return any(f.kind in kinds and f.probability >= 1.0 for f in sb.active_faults(model, at))
