"""ImagineService over real SQLite (store, ledger, sessions) and a scripted provider."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from bot.errors import AllModelsFailed, InputError, ProviderOverloaded
from bot.messages import user_error
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.bot.direct import imagine
from tests.bot.fakes import PNG, ScriptedProvider, make_router

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
WHO = Requester("slack", "T1", "U1")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[ImagineService, ScriptedProvider, Quotas]]:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    quotas = Quotas(store, user_rate=None)
    provider = ScriptedProvider()
    service = ImagineService(
        images=PillowInspector(),
        router=make_router(provider),
        quotas=quotas,
        sessions=SessionStore(store),
    )
    yield service, provider, quotas
    await quotas.aclose()
    await store.close()


BAD = [
    (ImagineCommand(WHO, "   "), "empty"),
    (ImagineCommand(WHO, "x" * 5000), "too long"),
    (ImagineCommand(WHO, "x", aspect="wide"), "Aspect ratio"),
    (ImagineCommand(WHO, "x", size="8K"), "Size"),
    (ImagineCommand(WHO, "x", references=(("notes.txt", b"hello"),)), "isn't a PNG"),
    (ImagineCommand(WHO, "x", references=(("big.png", PNG + b"0" * 11_000_000),)), "too large"),
    (ImagineCommand(WHO, "x", references=tuple((f"{i}.png", PNG) for i in range(20))), "can do"),
]


@pytest.mark.parametrize(("command", "words"), BAD)
async def test_bad_input_gets_a_message_and_no_charge(world, command, words) -> None:
    service, provider, quotas = world
    with pytest.raises(InputError) as info:
        await service.submit(command, channel="C1", thread="", idempotency_key="Ev1")
    assert words in user_error(info.value).message
    assert provider.calls == []
    usage = await quotas.usage(WHO.ledger_key)
    assert usage.images_today == 0 and usage.images_reserved == 0 and usage.reserved_usd == 0


async def test_success_settles_at_the_serving_models_price(world) -> None:
    service, provider, quotas = world
    provider.scripts[PRO] = [ProviderOverloaded(model=PRO)]
    reply = await imagine(service, ImagineCommand(WHO, "a fox"))
    assert reply.model == FLASH and reply.fallback and reply.notices
    usage = await quotas.usage(WHO.ledger_key)
    assert usage.images_today == 1 and usage.spent_usd == 0.0336 and usage.reserved_usd == 0


async def test_failure_is_released(world) -> None:
    service, provider, quotas = world
    provider.then = {m: ProviderOverloaded(model=m) for m in (PRO, FLASH, GPT)}
    with pytest.raises(AllModelsFailed):
        await imagine(service, ImagineCommand(WHO, "a fox"))
    usage = await quotas.usage(WHO.ledger_key)
    assert usage.images_today == 0 and usage.spent_usd == 0 and usage.reserved_usd == 0
