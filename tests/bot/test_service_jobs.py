"""Jobs through ImagineService: submit → queue → make → deliver → bill, over real
SQLite and a scripted provider, seen through a recording platform sink."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from bot.errors import InputError, ProviderOverloaded, QuotaExceeded
from bot.intake import Placed
from bot.jobs import Job, JobState
from bot.messages import UserError
from bot.progress import Progress, Stage
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService, Reply, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.bot.fakes import ScriptedProvider, make_router

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
WHO = Requester("slack", "T1", "U1")


@dataclass
class Sink:
    events: list[tuple[str, Progress]] = field(default_factory=list)
    delivered: dict[str, Reply] = field(default_factory=dict)
    failed: dict[str, UserError] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    gone: dict[str, str] = field(default_factory=dict)
    broken: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def progress(self, job: Job, event: Progress) -> None:
        self.events.append((job.id, event))

    async def deliver(self, job: Job, reply: Reply) -> None:
        if self.broken:
            raise ConnectionError("chat API down")
        self.delivered[job.id] = reply
        self.done.set()

    async def fail(self, job: Job, error: UserError) -> None:
        self.failed[job.id] = error
        self.done.set()

    async def job_resumed(self, job: Job) -> None:
        self.resumed.append(job.id)

    async def job_failed(self, job: Job, *, reason: str) -> None:
        self.gone[job.id] = reason


@dataclass
class World:
    service: ImagineService
    provider: ScriptedProvider
    quotas: Quotas
    sink: Sink
    store: Store


async def _world(tmp_path: Path, **kw: int) -> World:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    quotas = Quotas(store, user_rate=None, daily_images=kw.pop("daily", 100))
    provider = ScriptedProvider()
    sink = Sink()
    service = ImagineService(
        images=PillowInspector(),
        router=make_router(provider),
        quotas=quotas,
        sessions=SessionStore(store),
        sinks={"slack": sink},
        **kw,
    )
    return World(service, provider, quotas, sink, store)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await _world(tmp_path)
    await w.service.start()
    yield w
    await w.service.aclose()
    await w.quotas.aclose()
    await w.store.close()


async def _submit(w: World, prompt: str = "a fox", *, key: str | None = None, **kw) -> str:
    cmd = ImagineCommand(WHO, prompt, **kw)
    ticket = await w.service.submit(cmd, channel="C1", thread="1.0", idempotency_key=key)
    return ticket.job.id


async def test_a_job_is_delivered_billed_and_recorded(world: World) -> None:
    job_id = await _submit(world)
    await world.service.runner.join()
    reply = world.sink.delivered[job_id]
    assert reply.model == PRO and reply.version == 1 and reply.elapsed_s is not None
    stages = [e.stage for j, e in world.sink.events if j == job_id]
    assert stages == [Stage.GENERATING]
    job = await world.service.jobs.get(job_id)
    assert job is not None and job.state is JobState.DELIVERED and job.model == PRO
    usage = await world.quotas.usage(WHO.ledger_key)
    assert usage.images_today == 1 and usage.spent_usd == 0.134 and usage.reserved_usd == 0


async def test_progress_says_which_model_it_fell_back_to_and_why(world: World) -> None:
    world.provider.scripts[PRO] = [ProviderOverloaded(model=PRO)]
    job_id = await _submit(world)
    await world.service.runner.join()
    events = [e for j, e in world.sink.events if j == job_id]
    assert [e.stage for e in events] == [Stage.GENERATING, Stage.FELL_BACK]
    assert events[1].describe() == f"{PRO} is overloaded (503) — trying {FLASH}…"
    reply = world.sink.delivered[job_id]
    assert reply.fallback and f"Made with backup model {FLASH}" in reply.notices[0]


async def test_a_redelivered_event_makes_no_second_job_or_charge(world: World) -> None:
    first = await _submit(world, key="Ev1")
    again = await world.service.submit(
        ImagineCommand(WHO, "a fox"), channel="C1", thread="1.0", idempotency_key="Ev1"
    )
    assert again.job.id == first and not again.created
    await world.service.runner.join()
    assert len(world.sink.delivered) == 1 and world.provider.count(PRO) == 1
    assert (await world.quotas.usage(WHO.ledger_key)).images_today == 1


async def test_bad_input_is_refused_before_a_job_exists(world: World) -> None:
    with pytest.raises(InputError):
        await _submit(world, "   ")
    assert await world.service.jobs.unfinished() == []
    assert world.provider.calls == []


async def test_quota_refusal_at_submit_calls_no_model(tmp_path: Path) -> None:
    w = await _world(tmp_path, daily=1)
    try:
        await _submit(w)
        with pytest.raises(QuotaExceeded) as info:
            await _submit(w, "another")
        assert info.value.limit == "daily images"
        await w.service.start()
        await w.service.runner.join()
        assert len(w.provider.calls) == 1 and len(w.sink.delivered) == 1
    finally:
        await w.service.aclose()
        await w.quotas.aclose()
        await w.store.close()


async def test_all_models_failing_tells_the_thread_and_bills_nothing(world: World) -> None:
    world.provider.then = {m: ProviderOverloaded(model=m) for m in (PRO, FLASH, GPT)}
    job_id = await _submit(world)
    await world.service.runner.join()
    assert world.sink.failed[job_id].code == "all_models_failed"
    assert world.sink.events[-1][1].stage is Stage.FAILED
    job = await world.service.jobs.get(job_id)
    assert job is not None and job.state is JobState.FAILED and job.attempts
    usage = await world.quotas.usage(WHO.ledger_key)
    assert usage.images_today == 0 and usage.reserved_usd == 0


async def test_an_undeliverable_image_is_not_billed(world: World) -> None:
    world.sink.broken = True
    job_id = await _submit(world)
    await world.service.runner.join()
    job = await world.service.jobs.get(job_id)
    assert job is not None and job.error_code == "delivery_failed"
    assert (await world.quotas.usage(WHO.ledger_key)).spent_usd == 0


async def test_a_thread_gets_one_version_per_job(world: World) -> None:
    first = await _submit(world)
    await world.service.runner.join()
    job_id = await _submit(world, "make it blue")
    await world.service.runner.join()
    assert world.sink.delivered[job_id].version == 2
    sent = world.provider.calls[-1][1]  # the edit carried the thread's image v1
    assert sent.references[0].data == world.sink.delivered[first].image
    assert "make it blue" in sent.prompt


async def test_one_workspace_runs_at_most_its_cap(tmp_path: Path) -> None:
    w = await _world(tmp_path, concurrency=4, per_workspace=1)
    w.provider.then = {PRO: 0.05}
    running = peak = 0
    real = w.provider.generate

    async def counting(**kw):  # type: ignore[no-untyped-def]
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await real(**kw)
        finally:
            running -= 1

    w.provider.generate = counting  # type: ignore[method-assign]
    try:
        for n in range(3):
            await _submit(w, f"fox {n}")
        await w.service.start()
        await w.service.runner.join()
        assert peak == 1 and len(w.sink.delivered) == 3
    finally:
        await w.service.aclose()
        await w.quotas.aclose()
        await w.store.close()


async def test_a_job_cut_off_by_a_restart_is_resumed_and_billed_once(tmp_path: Path) -> None:
    w = await _world(tmp_path)
    job_id = await _submit(w)
    assert await w.service.jobs.mark_running(job_id)  # its worker starts it; the process "dies"
    await w.quotas.aclose()
    second = await _world(tmp_path)  # a new process on the same database
    try:
        recovery = await second.service.start()
        await second.service.runner.join()
        assert recovery.resumed == (job_id,) and second.sink.resumed == [job_id]
        assert job_id in second.sink.delivered
        usage = await second.quotas.usage(WHO.ledger_key)
        assert usage.images_today == 1 and usage.reserved_usd == 0
    finally:
        await second.service.aclose()
        await second.quotas.aclose()
        await second.store.close()
        await w.store.close()


class _Placer:
    def __init__(self, place: Callable[[Job], Awaitable[Placed]]) -> None:
        self.place = place

    async def withdraw(self, placed: Placed) -> None:
        pass


async def test_a_job_holds_its_place_but_runs_only_once_placed(world: World) -> None:
    told: list[tuple[str, int | None]] = []

    async def place(job: Job) -> Placed:
        assert told == [(job.id, 1)]  # the person could be answered "Queued (#1)" already
        assert world.service.runner.position(job.id) == 1
        await asyncio.sleep(0.05)  # a worker is free, yet the job waits for its message
        assert world.provider.calls == [] and world.service.runner.running == []
        return Placed("9.9", "9.9", {"status_ts": "9.9"})

    ticket = await world.service.submit(
        ImagineCommand(WHO, "a fox"),
        channel="C1",
        thread="",
        idempotency_key="E1",
        placer=_Placer(place),
        accepted=lambda job, at: told.append((job.id, at)),
    )
    assert ticket.job.thread == "9.9" and ticket.job.payload["extra"] == {"status_ts": "9.9"}
    await world.service.runner.join()
    assert ticket.job.id in world.sink.delivered


async def test_a_placement_that_fails_leaves_nothing_queued_or_reserved(world: World) -> None:
    async def place(job: Job) -> Placed:
        raise ConnectionError("chat API down")

    with pytest.raises(ConnectionError):
        await world.service.submit(
            ImagineCommand(WHO, "a fox"),
            channel="C1",
            thread="",
            idempotency_key="E2",
            placer=_Placer(place),
        )
    assert await world.service.jobs.unfinished() == []
    assert world.service.load() == (0, 0)  # its held place in the queue is given up
    usage = await world.quotas.usage(WHO.ledger_key)
    assert usage.reserved_usd == 0 and usage.images_reserved == 0 and world.provider.calls == []
