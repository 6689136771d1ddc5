"""A thread's edit when no multi-turn model can take it: the thread's latest image is
edited by a backup instead, in the same request, and the reply's attempt log holds
both tries."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import ImagineCommand, Reply, Requester
from bot.domain import GenerationRequest, Outcome
from bot.errors import AllModelsFailed, ProviderOverloaded
from bot.making import Maker
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.bot.fakes import GeminiLikeProvider, make_router

PRO, GPT = "gemini-3-pro-image", "gpt-image-2.6-sunburst"
WHO = Requester("slack", "T1", "U1")
THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionStore]:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    yield SessionStore(store)
    await store.close()


async def turn(maker: Maker, prompt: str) -> tuple[Reply, list[str]]:
    """One turn of the thread; also which models were sent a call, in order."""
    sent: list[str] = []
    reply = await maker.make(
        ImagineCommand(WHO, prompt, thread=THREAD),
        GenerationRequest(prompt),
        on_attempt=lambda model, earlier: sent.append(model),
    )
    return reply, sent


async def test_no_multi_turn_model_up_edits_the_latest_image_on_a_backup(sessions) -> None:
    provider = GeminiLikeProvider()
    maker = Maker(make_router(provider, chain=(PRO, GPT)), sessions)
    first, _ = await turn(maker, "a red fox")
    provider.fail[PRO] = [ProviderOverloaded(model=PRO), ProviderOverloaded(model=PRO)]

    second, sent = await turn(maker, "make it blue")

    assert second.model == GPT and second.fallback and second.version == 2
    assert sent == [PRO, PRO, GPT]  # the thread on Pro, then the edit: Pro again, GPT
    assert [(a.model, a.outcome) for a in second.attempts] == [
        (PRO, Outcome.OVERLOADED),  # the thread's own turn (only Pro takes a history)
        (PRO, Outcome.OVERLOADED),  # the plain edit, on any edit-capable model
        (GPT, Outcome.OK),
    ]
    edit = provider.calls[-1][1]
    assert edit.prompt == "make it blue" and edit.history == ()
    assert [r.data for r in edit.references] == [first.image]  # the thread's latest image


async def test_a_thread_no_route_can_continue_is_edited_by_a_capable_one(sessions) -> None:
    provider = GeminiLikeProvider()
    first, _ = await turn(Maker(make_router(provider, chain=(PRO,)), sessions), "a red fox")
    only_gpt = Maker(make_router(provider, chain=(GPT,)), sessions)  # no multi-turn model

    second, sent = await turn(only_gpt, "make it blue")

    assert second.model == GPT and sent == [GPT]
    assert [(a.model, a.outcome) for a in second.attempts] == [(GPT, Outcome.OK)]
    assert [r.data for r in provider.calls[-1][1].references] == [first.image]


async def test_when_the_backup_fails_too_the_user_gets_all_models_failed(sessions) -> None:
    provider = GeminiLikeProvider()
    maker = Maker(make_router(provider, chain=(PRO, GPT)), sessions)
    await turn(maker, "a red fox")
    provider.fail[PRO] = [ProviderOverloaded(model=PRO)] * 2
    provider.fail[GPT] = [ProviderOverloaded(model=GPT)]

    with pytest.raises(AllModelsFailed) as info:
        await turn(maker, "make it blue")
    assert {a.model for a in info.value.attempts} == {PRO, GPT}
