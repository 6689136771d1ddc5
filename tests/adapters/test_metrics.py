"""``GET /metrics``: jobs through the real service and router, the real SDKs against
the sandbox on 127.0.0.1, scraped over HTTP and parsed with prometheus_client's
own parser; the figures must be the attempts the jobs' logs and the sandbox saw."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from adapters.imaging import PillowInspector
from adapters.metrics import PromMeter, metrics_mount
from adapters.providers.routes import build_router
from adapters.sandbox import Fault, Sandbox
from adapters.web import web_app, web_server
from bot.config import Settings
from bot.errors import QuotaExceeded
from bot.jobs import Job
from bot.messages import UserError
from bot.progress import Progress
from bot.quotas import Quotas
from bot.router import Router
from bot.service import ImagineCommand, ImagineService, Reply, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.adapters.helpers import API_KEY

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
SECRET_PROMPT = "a lighthouse painted by Zorblax Quimby"
WHO = Requester("slack", "TSECRETWS9", "USECRETUSER7")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Sink:
    def __init__(self) -> None:
        self.delivered: dict[str, Reply] = {}

    async def progress(self, job: Job, event: Progress) -> None:
        pass

    async def deliver(self, job: Job, reply: Reply) -> None:
        self.delivered[job.id] = reply

    async def fail(self, job: Job, error: UserError) -> None:
        raise AssertionError(f"job failed: {error}")

    async def job_resumed(self, job: Job) -> None:
        pass

    async def job_failed(self, job: Job, *, reason: str) -> None:
        pass


@dataclass
class World:
    sandbox: Sandbox
    router: Router
    service: ImagineService
    sink: Sink
    url: str

    async def scrape(self) -> tuple[str, Samples]:
        async with aiohttp.ClientSession() as http, http.get(self.url) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
            body = await resp.text()
        samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }
        return body, samples

    async def make(self, n: int) -> str:
        cmd = ImagineCommand(WHO, f"{SECRET_PROMPT} #{n}")
        ticket = await self.service.submit(
            cmd, channel="CSECRET", thread=f"17000000{n}.000100", idempotency_key=f"ev-{n}"
        )
        await self.service.runner.join()
        return ticket.job.id


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with Sandbox(seed=5, image_px=64) as sb:
        for model, seconds in ((PRO, 0.05), (FLASH, 0.02), (GPT, 0.03)):
            sb.set_latency(model, seconds)
        for name, value in {
            "GEMINI_API_KEY": API_KEY,
            "GEMINI_BASE_URL": sb.gemini_base_url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": sb.openai_base_url,
            "IMAGINE_MODELS": f"{PRO},{FLASH},{GPT}",
            "IMAGINE_CONFIG": "",
        }.items():
            monkeypatch.setenv(name, value)
        meter = PromMeter()
        router, _ = build_router(Settings(_env_file=None), meter=meter)  # type: ignore[call-arg]
        store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
        quotas = Quotas(store, daily_images=5, user_rate=None, meter=meter)
        sink = Sink()
        service = ImagineService(
            images=PillowInspector(),
            router=router,
            quotas=quotas,
            sessions=SessionStore(store),
            sinks={"slack": sink},
            meter=meter,
        )
        app = web_app(router, [metrics_mount(meter, router, service)])
        try:
            await service.start()
            async with web_server(app, "127.0.0.1", 0) as port:
                yield World(sb, router, service, sink, f"http://127.0.0.1:{port}/metrics")
        finally:
            await service.aclose()
            await router.aclose()
            await quotas.aclose()
            await store.close()


def at(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_the_figures_are_the_attempts_made(world: World) -> None:
    world.sandbox.script(PRO, [Fault("overloaded")])  # every call: 503 "high demand"
    jobs = [await world.make(n) for n in range(5)]
    body, samples = await world.scrape()

    replies = [world.sink.delivered[job] for job in jobs]
    made = Counter((a.model, a.channel, str(a.outcome)) for r in replies for a in r.attempts)
    # four 503s in a row trip a new route's breaker; the next request skips it
    assert made == {
        (PRO, "google", "overloaded"): 4,
        (PRO, "google", "skipped"): 1,
        (FLASH, "google", "ok"): 5,
    }
    assert len(world.sandbox.calls_for(PRO)) == 4 and len(world.sandbox.calls_for(FLASH)) == 5
    for (model, channel, outcome), n in made.items():
        where = {"model": model, "channel": channel, "outcome": outcome}
        assert at(samples, "imagine_attempts_total", **where) == n
        sent = n if outcome != "skipped" else 0
        assert at(samples, "imagine_attempt_duration_seconds_count", **where) == sent
    assert at(samples, "imagine_attempts_total", model=GPT, channel="openai", outcome="ok") == 0
    seconds = sum(a.latency_ms for r in replies for a in r.attempts if a.model == FLASH) / 1000
    flash_ok = {"model": FLASH, "channel": "google", "outcome": "ok"}
    assert at(samples, "imagine_attempt_duration_seconds_sum", **flash_ok) == pytest.approx(seconds)
    fell = {"from_model": PRO, "to_model": FLASH, "reason": "overloaded"}
    assert at(samples, "imagine_fallbacks_total", **fell) == 5
    spend = at(samples, "imagine_spend_usd_total", model=FLASH, channel="google")
    assert spend == pytest.approx(sum(r.cost_usd for r in replies)) and spend > 0

    def breaker(model: str, state: str) -> float:
        channel = "openai" if model == GPT else "google"
        return at(samples, "imagine_breaker_state", model=model, channel=channel, state=state)

    assert breaker(PRO, "open") == 1 and breaker(PRO, "closed") == 0
    assert breaker(FLASH, "closed") == 1 and breaker(GPT, "closed") == 1
    assert at(samples, "imagine_route_health", model=PRO, channel="google", state="down") == 1
    for state in ("queued", "running", "delivered"):
        assert at(samples, "imagine_jobs_total", state=state) == 5
    assert at(samples, "imagine_queue_wait_seconds_count") == 5
    assert at(samples, "imagine_queue_depth") == 0 and at(samples, "imagine_jobs_running") == 0
    for private in ("Zorblax", "SECRET", *jobs, "17000000"):
        assert private not in body


async def test_quota_refusals_and_a_busy_queue(world: World) -> None:
    for n in range(5):
        await world.make(n)
    with pytest.raises(QuotaExceeded):
        await world.make(5)  # the workspace's 5 images a day are made
    world.sandbox.set_latency(PRO, 0.5)
    cmd = ImagineCommand(Requester("slack", "TOTHER", "U2"), SECRET_PROMPT)  # its own cap
    await world.service.submit(cmd, channel="C", thread="t-busy", idempotency_key="busy")
    await asyncio.sleep(0.2)  # generating (PRO answers after 0.5 s)
    _, samples = await world.scrape()
    assert at(samples, "imagine_quota_refusals_total", kind="daily_images") == 1
    assert at(samples, "imagine_quota_refusals_total", kind="rate") == 0
    assert at(samples, "imagine_jobs_total", state="failed") == 1  # the refused one's row
    assert at(samples, "imagine_jobs_running") == 1
    assert at(samples, "imagine_in_flight", model=PRO, channel="google") == 1
    await world.service.runner.join()


def test_label_values_stay_in_their_sets_and_registries_apart() -> None:
    one, two = PromMeter(), PromMeter()  # two apps in one process: no clash
    one.attempt(model=PRO, channel="google", outcome="a prompt leaked here", seconds=1.0)
    one.job(state="U123")
    one.refused(kind="user U123")
    one.fallback(primary=PRO, model=FLASH, reason="vendor text")
    body = one.render().decode()
    assert "leaked" not in body and "U123" not in body and "vendor text" not in body
    assert 'outcome="other"' in body and 'kind="other"' in body and 'reason="other"' in body
    assert "imagine_attempts_total{" not in two.render().decode()
