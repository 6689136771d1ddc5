"""What the core tells its meter (``bot.meter``): each attempt, fallback, spend, job
state, queue wait and quota refusal once — and a meter that breaks fails nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.imaging import PillowInspector
from bot.errors import ProviderOverloaded, QuotaExceeded
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.bot.fakes import ScriptedProvider, make_router
from tests.bot.test_service_jobs import Sink

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"
WHO = Requester("slack", "T1", "U1")


class Recording:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def attempt(self, **kw: Any) -> None:
        self.events.append(("attempt", kw))

    def spent(self, **kw: Any) -> None:
        self.events.append(("spent", kw))

    def fallback(self, **kw: Any) -> None:
        self.events.append(("fallback", kw))

    def job(self, **kw: Any) -> None:
        self.events.append(("job", kw))

    def queue_wait(self, **kw: Any) -> None:
        self.events.append(("queue_wait", kw))

    def refused(self, **kw: Any) -> None:
        self.events.append(("refused", kw))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [kw for k, kw in self.events if k == kind]


class Broken(Recording):
    def __getattribute__(self, name: str) -> Any:
        if name in ("attempt", "spent", "fallback", "job", "queue_wait", "refused"):
            raise RuntimeError("metrics backend down")
        return super().__getattribute__(name)


@asynccontextmanager
async def _service(
    tmp_path: Path, meter: Recording
) -> AsyncIterator[tuple[ImagineService, ScriptedProvider, Sink, Quotas]]:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    quotas = Quotas(store, daily_images=1, user_rate=None, meter=meter)
    provider, sink = ScriptedProvider(), Sink()
    service = ImagineService(
        images=PillowInspector(),
        router=make_router(provider, meter=meter),
        quotas=quotas,
        sessions=SessionStore(store),
        sinks={"slack": sink},
        meter=meter,
    )
    await service.start()
    try:
        yield service, provider, sink, quotas
    finally:
        await service.aclose()
        await quotas.aclose()
        await store.close()


async def _one_job(service: ImagineService, prompt: str = "a fox") -> str:
    cmd = ImagineCommand(WHO, prompt)
    ticket = await service.submit(cmd, channel="C1", thread="1.0", idempotency_key=prompt)
    await service.runner.join()
    return ticket.job.id


async def test_each_attempt_fallback_job_and_refusal_is_told_once(tmp_path: Path) -> None:
    meter = Recording()
    async with _service(tmp_path, meter) as (service, provider, sink, _):
        provider.scripts[PRO] = [ProviderOverloaded(model=PRO)]
        job_id = await _one_job(service)
        with pytest.raises(QuotaExceeded):
            await _one_job(service, "another")  # one image a day
        reply = sink.delivered[job_id]
        told = [(a["model"], a["outcome"]) for a in meter.of("attempt")]
        assert told == [(a.model, str(a.outcome)) for a in reply.attempts]
        assert told == [(PRO, "overloaded"), (FLASH, "ok")]
        assert all(a["seconds"] is not None for a in meter.of("attempt"))
        assert meter.of("spent") == [{"model": FLASH, "channel": "fake", "usd": reply.cost_usd}]
        assert meter.of("fallback") == [{"primary": PRO, "model": FLASH, "reason": "overloaded"}]
        states = [j["state"] for j in meter.of("job")]
        assert states == ["queued", "running", "delivered", "queued", "failed"]
        assert len(meter.of("queue_wait")) == 1
        assert meter.of("refused") == [{"kind": "daily_images"}]


async def test_a_broken_meter_fails_no_job(tmp_path: Path, caplog) -> None:
    async with _service(tmp_path, Broken()) as (service, provider, sink, quotas):
        provider.scripts[PRO] = [ProviderOverloaded(model=PRO)]
        job_id = await _one_job(service)
        assert sink.delivered[job_id].model == FLASH and not sink.failed
        assert (await quotas.usage(WHO.ledger_key)).spent_usd > 0  # billed as usual
        assert "meter failed" in caplog.text
