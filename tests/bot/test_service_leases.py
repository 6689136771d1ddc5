"""Two bot processes (two ``ImagineService``s, each with its own connection or pool) on one
database, SQLite then PostgreSQL: while one is alive its running job stays its own;
when it dies the other adopts the job within its lease, tells the user, delivers it
once and bills it once."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.imaging import PillowInspector
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService
from bot.sessions import SessionStore
from bot.store import Store
from tests.adapters.helpers import eventually
from tests.bot.fakes import CHAIN, ScriptedProvider, make_router
from tests.bot.test_service_jobs import WHO, Sink

LEASE_S = 1.0


@dataclass
class Bot:
    service: ImagineService
    provider: ScriptedProvider
    quotas: Quotas
    sink: Sink


@asynccontextmanager
async def bot(db_url: str) -> AsyncIterator[Bot]:
    """One process: its own store, ledger, provider and platform; started, closed after."""
    async with await Store.open(db_url) as store:
        quotas = Quotas(store, user_rate=None, daily_images=100)
        provider, sink = ScriptedProvider(), Sink()
        service = ImagineService(
            images=PillowInspector(),
            router=make_router(provider),
            quotas=quotas,
            sessions=SessionStore(store),
            sinks={"slack": sink},
            lease_s=LEASE_S,
        )
        await service.start()
        try:
            yield Bot(service, provider, quotas, sink)
        finally:
            await service.aclose()
            await quotas.aclose()


async def test_a_dead_process_s_running_job_is_adopted_delivered_and_billed_once(
    db_url: str,
) -> None:
    async with bot(db_url) as a, bot(db_url) as b:
        a.provider.then = dict.fromkeys(CHAIN, 60.0)  # every model hangs for a
        cmd = ImagineCommand(WHO, "a fox")
        ticket = await a.service.submit(cmd, channel="C1", thread="1.0", idempotency_key="E1")
        job_id = ticket.job.id
        await eventually(lambda: a.provider.calls)
        await asyncio.sleep(LEASE_S * 2)  # a beats: b leaves its job alone
        assert b.sink.resumed == [] and b.provider.calls == []
        await a.service.workers.stop()  # a dies mid-call: no beat, no shutdown
        await a.service.runner.aclose()
        await eventually(lambda: job_id in b.sink.delivered, within=LEASE_S * 2 + 10)
        await asyncio.wait_for(b.service.join(), 5)  # recorded and billed after posting
        assert b.sink.resumed == [job_id]  # the user is told once, by b
        assert a.sink.delivered == {} and len(b.provider.calls) == 1
        usage = await b.quotas.usage(WHO.ledger_key)
        assert (usage.images_today, usage.images_reserved, usage.reserved_usd) == (1, 0, 0)
        job = await b.service.job(job_id)
        assert job is not None and job.owner == b.service.jobs.worker and job.runs == 2


async def test_a_process_stalled_past_its_lease_does_not_post_the_adopted_job(
    db_url: str,
) -> None:
    """a's heartbeat stops but its call goes on (an event loop stalled, a database cut
    off): b adopts the job and posts it; when a's model answers at last, a posts
    nothing and fails nothing — the person sees one image, billed once."""
    async with bot(db_url) as a, bot(db_url) as b:
        a.provider.then = dict.fromkeys(CHAIN, LEASE_S * 4)  # answers after b took over
        cmd = ImagineCommand(WHO, "a fox")
        ticket = await a.service.submit(cmd, channel="C1", thread="1.0", idempotency_key="E1")
        job_id = ticket.job.id
        await eventually(lambda: a.provider.calls)
        await a.service.workers.stop()  # stalled: no beat, but alive
        await eventually(lambda: job_id in b.sink.delivered, within=LEASE_S * 2 + 10)
        await asyncio.wait_for(b.service.join(), 5)
        await asyncio.wait_for(a.service.join(), LEASE_S * 4 + 5)  # a's call ends, late
        assert a.sink.delivered == {} and list(b.sink.delivered) == [job_id]
        job = await b.service.job(job_id)
        assert job is not None and job.state.value == "delivered"
        usage = await b.quotas.usage(WHO.ledger_key)
        assert (usage.images_today, usage.images_reserved, usage.reserved_usd) == (1, 0, 0)
