"""``imagine-bot demo``: watch failover with no keys and no spend.

Starts the sandbox in this process, makes the primary answer 503 "high demand"
on a share of calls (and, optionally, go fully down for a while), points the
real SDK-backed providers at it, and runs requests through the real router.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from adapters.providers.routes import build_router
from adapters.sandbox import Fault, Sandbox
from bot.config import Settings
from bot.domain import GenerationRequest
from bot.errors import GenerationFailed
from bot.messages import notices, user_error

PROMPTS = ("a lighthouse at dusk", "a red fox in snow", "a bowl of ramen", "a paper boat")
LATENCY = {
    "gemini-3-pro-image": 0.8,
    "gemini-nano-banana-2.1": 0.4,
    "gpt-image-2.6-sunburst": 1.2,
}


async def demo(*, requests: int, overload: float, outage_s: float, out_dir: Path) -> int:
    logging.getLogger("bot.router").setLevel(logging.WARNING)  # the demo prints its own lines
    async with Sandbox(seed=1, image_px=256) as sb:
        primary = "gemini-3-pro-image"
        for model, seconds in LATENCY.items():
            sb.set_latency(model, seconds, jitter=seconds / 5)
        faults = [Fault("overloaded", probability=overload)]
        if outage_s:
            faults.insert(0, Fault("overloaded", start=2.0, end=2.0 + outage_s))
        sb.script(primary, faults)
        os.environ.update(
            GEMINI_API_KEY="demo",
            GEMINI_BASE_URL=sb.gemini_base_url,
            OPENAI_API_KEY="demo",
            OPENAI_BASE_URL=sb.openai_base_url,
            IMAGINE_MODELS=",".join(LATENCY),
            IMAGINE_CONFIG="",
        )
        router, _ = build_router(Settings(_env_file=None))  # type: ignore[call-arg]
        router.board.subscribe(
            lambda e: print(f"   ⚑ {e.kind}: {e.route or e.primary} {e.reason}".rstrip())
        )
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        print(
            f"sandbox on {sb.base_url}: {primary} overloaded on {overload:.0%} of calls"
            + (f", fully down for {outage_s:g} s from t=2 s" if outage_s else "")
        )
        started = time.monotonic()
        try:
            for i in range(requests):
                prompt = PROMPTS[i % len(PROMPTS)]
                t0 = time.monotonic()
                try:
                    result = await router.generate(GenerationRequest(prompt=prompt))
                except GenerationFailed as exc:
                    print(f"{i + 1:>3}. ✘ {user_error(exc).message}")
                    continue
                path = out_dir / f"demo-{i + 1:02d}-{result.model}.png"
                await asyncio.to_thread(path.write_bytes, result.image.data)
                tried = " → ".join(f"{a.model}:{a.outcome}" for a in result.attempts)
                print(f"{i + 1:>3}. t={t0 - started:5.1f}s {time.monotonic() - t0:4.1f}s  {tried}")
                for notice in notices(result):
                    print(f"     {notice}")
                await asyncio.sleep(0.3)
        finally:
            await router.aclose()
        print("\nstatus:")
        for s in router.board.snapshot():
            print(f"  {s.state.emoji} {s.label:<28} {s.reason}")
        print(f"images in {out_dir}/")
    return 0
