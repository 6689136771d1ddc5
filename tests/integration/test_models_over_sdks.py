"""Today's models on the wire: the real google-genai and openai SDKs against the sandbox,
which serves the catalogue's ids, lists them, answers shut-down ids with the vendor's
404 and refuses thought signatures another model or key made (400)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from adapters.providers import GeminiProvider, OpenAIImagesProvider
from adapters.sandbox import Fault, Sandbox
from bot.aliases import Aliases
from bot.catalog import load_catalog
from bot.domain import GenerationRequest, Outcome
from bot.freshness import Freshness
from bot.health import HealthBoard, HealthState
from bot.quotas import Quotas
from bot.router import Route, Router, RouterPolicy
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.bot.direct import imagine

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
WHO = Requester("slack", "T1", "U1")
THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
TODAY = date.today()


@dataclass
class World:
    sb: Sandbox
    router: Router
    service: ImagineService
    sessions: SessionStore
    events: list


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with Sandbox(seed=11, image_px=64, thoughts=True) as sb:
        google = GeminiProvider("google", api_key="k", base_url=sb.gemini_base_url)
        oai = OpenAIImagesProvider("openai", api_key="k", base_url=sb.openai_base_url)
        catalog = load_catalog()
        board = HealthBoard(time.monotonic)
        routes = []
        for model_id, provider in ((PRO, google), (FLASH, google), (GPT, oai)):
            spec = replace(catalog.models[model_id], latency_s=0.05, timeout_s=10)
            board.add(model_id, model=model_id, channel=provider.channel, typical_latency_s=0.05)
            routes.append(Route(model_id, spec, provider))
        aliases = Aliases(catalog)
        router = Router(
            routes,
            board=board,
            policy=RouterPolicy(deadline_s=10),
            resolve=aliases,
            successor=aliases.successor,
        )
        events: list = []
        board.subscribe(events.append)
        store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
        quotas = Quotas(store, user_rate=None)
        sessions = SessionStore(store)
        service = ImagineService(
            images=PillowInspector(), router=router, quotas=quotas, sessions=sessions
        )
        try:
            yield World(sb, router, service, sessions, events)
        finally:
            await quotas.aclose()
            await store.close()
            await router.aclose()


def _signatures(body: dict) -> list[str]:
    return [
        p.get("thoughtSignature") or p.get("thought_signature")
        for turn in body.get("contents", [])
        for p in turn.get("parts", [])
        if p.get("thoughtSignature") or p.get("thought_signature")
    ]


async def test_the_sandbox_refuses_a_foreign_signature_as_gemini_does(world: World) -> None:
    """The premise: sending Pro's turns to Flash as they are is a 400."""
    first = await imagine(world.service, ImagineCommand(WHO, "a red fox", thread=THREAD))
    assert first.model == PRO
    session = await world.sessions.load(THREAD)
    assert session is not None and session.history
    request = GenerationRequest("make it blue", history=session.history)
    flash = next(r for r in world.router.routes if r.model.id == FLASH)
    with pytest.raises(Exception) as info:
        await flash.provider.generate(model=flash.model, request=request)
    assert getattr(info.value, "status", None) == 400
    assert world.sb.calls[-1].status == 400


async def test_a_thread_begun_on_pro_continues_on_flash_without_a_400(world: World) -> None:
    first = await imagine(world.service, ImagineCommand(WHO, "a red fox", thread=THREAD))
    assert first.model == PRO and first.version == 1
    world.sb.script(PRO, [Fault("overloaded")])
    second = await imagine(world.service, ImagineCommand(WHO, "make it blue", thread=THREAD))
    assert second.model == FLASH and second.version == 2 and second.fallback
    flash_calls = world.sb.calls_for(FLASH)
    assert [c.status for c in flash_calls] == [200]  # no 400 on the way
    body = flash_calls[0].body
    assert _signatures(body) == []  # no foreign signature was sent
    assert flash_calls[0].images[0][0] == first.image  # the picture travelled as a user image
    world.sb.script(PRO, [])
    third = await imagine(
        world.service,  # Flash again: its own signatures, resumed as is
        ImagineCommand(WHO, "add snow", chain=[FLASH], thread=THREAD),
    )
    assert third.model == FLASH and third.version == 3
    assert len(_signatures(world.sb.calls_for(FLASH)[-1].body)) >= 1


async def test_a_thread_stored_on_a_shut_down_preview_id_moves_on(world: World) -> None:
    world.sb.offer("gemini-3-pro-image-preview", "gemini")  # as it was before 2026-06-25
    preview = replace(world.router.routes[0].model, id="gemini-3-pro-image-preview")
    session_router = world.router.routes[0]
    request = GenerationRequest("a red fox")
    made = await session_router.provider.generate(model=preview, request=request)
    await world.sessions.append(
        THREAD,
        model="gemini-3-pro-image-preview",
        config={},
        turns=made.turns,
        image=(made.data, made.mime_type),
    )
    world.sb.withdraw("gemini-3-pro-image-preview")  # … and then shut down
    reply = await imagine(world.service, ImagineCommand(WHO, "make it blue", thread=THREAD))
    assert reply.model == PRO and reply.version == 2 and not reply.fallback
    assert [c.model for c in world.sb.calls[-1:]] == [PRO]
    assert world.sb.calls[-1].status == 200 and _signatures(world.sb.calls[-1].body) == []


async def test_a_model_shut_down_mid_run_is_switched_off_and_named(world: World) -> None:
    world.router.board[PRO].breaker.trip(hold_s=60)  # Pro away: Flash serves
    assert (await world.router.generate(GenerationRequest("x"))).model == FLASH
    world.sb.withdraw(FLASH)  # the vendor shuts it down: 404 from now on
    result = await world.router.generate(GenerationRequest("x"))
    assert result.model == GPT
    assert [(a.model, a.outcome, a.status) for a in result.attempts][-2:] == [
        (FLASH, Outcome.MISCONFIGURED, 404),
        (GPT, Outcome.OK, None),
    ]
    for _ in range(3):
        assert (await world.router.generate(GenerationRequest("x"))).model == GPT
    assert len(world.sb.calls_for(FLASH)) == 2  # one good call, one 404, then never again
    downs = [e for e in world.events if e.kind == "down" and e.route == FLASH]
    assert [e.note for e in downs] == ["not offered by google"]  # said once


async def test_freshness_reads_both_lists_through_the_sdks(world: World) -> None:
    world.sb.withdraw(FLASH)
    world.sb.set_shutdown(GPT, (TODAY + timedelta(days=10)).isoformat())
    fresh = Freshness(world.router, load_catalog())
    await fresh.check()
    assert world.router.board[FLASH].state() is HealthState.DOWN
    assert world.router.board[FLASH].offline == "not offered by google"
    assert world.sb.calls_for(FLASH) == []  # found out without a call
    assert {c for c, o in fresh.offers.items() if o.models} == {"google", "openai"}
    (notice,) = fresh.notices()
    assert (notice.model, notice.on) == (GPT, TODAY + timedelta(days=10))
    assert world.router.board.notices == [notice.text]
    world.sb.offer(FLASH, "gemini")
    await fresh.check()
    assert world.router.board[FLASH].state() is HealthState.NORMAL
