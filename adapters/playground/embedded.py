"""With no model keys at all, the playground runs on the sandbox, in this process:
the real SDK-backed providers talk to it on 127.0.0.1 (placeholder images, no
spend), and the fault panel scripts it.

The sandbox's models answer at roughly their real pace, so failover looks as it
does in production; its announcements settle in seconds rather than minutes
(unless ``IMAGINE_ANNOUNCE_SETTLE_S`` / ``…_COOLDOWN_S`` are set), so a person
sees the status channel react within a minute.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

from adapters.sandbox import Fault, Sandbox
from bot.config import Settings

SANDBOX_KEY = "sandbox"  # not a secret: the local sandbox takes any key
LATENCY_S = {  # typical seconds per image, scaled down (a playground should feel quick)
    "gemini-3-pro-image": 2.0,
    "gemini-nano-banana-2.1": 1.0,
    "gpt-image-2.6-sunburst": 2.5,
}
SETTLE_S, COOLDOWN_S = 5.0, 20.0

FAULTS = {  # what the panel offers → the sandbox's script
    "normal": (),
    "overloaded": (Fault("overloaded"),),  # 503 "high demand"
    "rate_limited": (Fault("rate_limited", retry_after=10.0),),  # 429
    "hang": (Fault("hang"),),  # no answer until the bot gives up
    "slow": (Fault("slow", latency=12.0),),  # right, but late
}


def has_keys(settings: Settings) -> bool:
    """True if any channel the chain uses has a key (or needs none: Vertex)."""
    catalog = settings.catalog
    for model_id in catalog.chain:
        spec = catalog.models.get(model_id)
        for name in spec.channels if spec else ():
            channel = catalog.channels.get(name)
            if channel and (channel.vertex or settings.lookup(channel.api_key_env)):
                return True
    return False


@dataclass
class Embedded:
    sandbox: Sandbox
    faults: dict[str, str]  # model → the panel's current choice

    def set_fault(self, model: str, kind: str) -> None:
        if kind not in FAULTS:
            raise ValueError(kind)
        self.sandbox.script(model, FAULTS[kind])
        self.faults[model] = kind


async def open_sandbox(stack: AsyncExitStack, settings: Settings) -> tuple[Settings, Embedded]:
    """Start the sandbox (closed with ``stack``) and the settings that point at it."""
    sandbox = Sandbox(seed=int(time.time()), image_px=512, max_calls=1000)
    sandbox = await stack.enter_async_context(sandbox)
    for model, seconds in LATENCY_S.items():
        sandbox.set_latency(model, seconds, jitter=seconds / 4)
    pointed = settings.with_env(
        GEMINI_API_KEY=SANDBOX_KEY,
        GEMINI_BASE_URL=sandbox.gemini_base_url,
        OPENAI_API_KEY=SANDBOX_KEY,
        OPENAI_BASE_URL=sandbox.openai_base_url,
    )
    quicker: dict[str, float] = {}
    if "imagine_announce_settle_s" not in settings.model_fields_set:
        quicker["imagine_announce_settle_s"] = SETTLE_S
    if "imagine_announce_cooldown_s" not in settings.model_fields_set:
        quicker["imagine_announce_cooldown_s"] = COOLDOWN_S
    if quicker:
        env = pointed._env
        pointed = pointed.model_copy(update=quicker)
        pointed._env = env
    chain = settings.catalog.chain
    return pointed, Embedded(sandbox, dict.fromkeys(chain, "normal"))
