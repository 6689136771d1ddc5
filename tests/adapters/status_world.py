"""A real router (``build_router``: the SDK-backed providers) against the in-process
sandbox, served by the real web app on 127.0.0.1 — for the status page's tests
and its browser test. The models' typical latency is set low (``IMAGINE_CONFIG``)
so a tripped route is probed again after the shortest open period (1 s)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from adapters.providers.routes import build_router
from adapters.sandbox import Sandbox
from adapters.web import Mount, web_app, web_server
from bot.config import Settings
from bot.domain import GenerationRequest
from bot.router import Router
from bot.status_history import StatusHistory

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
LATENCY = {PRO: 0.08, FLASH: 0.04, GPT: 0.06}


@dataclass
class StatusWorld:
    sandbox: Sandbox
    router: Router
    history: StatusHistory
    app: web.Application
    base: str  # http://127.0.0.1:<port>

    async def generate(self, prompt: str = "a lighthouse at dusk") -> str:
        """One request through the router; the model that made it."""
        return (await self.router.generate(GenerationRequest(prompt=prompt))).model


@contextlib.asynccontextmanager
async def status_world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    token: str | None = None,
    every_s: float = 0.5,
    mounts: Iterable[Mount] = (),
) -> AsyncIterator[StatusWorld]:
    config = tmp_path / "imagine.toml"
    config.write_text(
        "".join(f'[models."{m}"]\nlatency_s = {s}\ntimeout_s = 5\n\n' for m, s in LATENCY.items())
    )
    async with Sandbox(seed=11, image_px=32) as sb:
        for model, seconds in LATENCY.items():
            sb.set_latency(model, seconds)
        env = {
            "GEMINI_API_KEY": "k",
            "GEMINI_BASE_URL": sb.gemini_base_url,
            "OPENAI_API_KEY": "k",
            "OPENAI_BASE_URL": sb.openai_base_url,
            "IMAGINE_MODELS": ",".join(LATENCY),
            "IMAGINE_CONFIG": str(config),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        router, _ = build_router(Settings(_env_file=None))  # type: ignore[call-arg]
        history = StatusHistory(router.board, every_s=every_s, keep_s=300)
        app = web_app(router, mounts, token=token, history=history)
        history.start()
        try:
            async with web_server(app, "127.0.0.1", 0) as port:
                yield StatusWorld(sb, router, history, app, f"http://127.0.0.1:{port}")
        finally:
            await history.aclose()
            await router.aclose()
