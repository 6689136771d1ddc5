"""A thread survives a model change: another model (an alias's successor, a failover,
an admin's new chain) gets the history it accepts — the latest image as a user
image, no foreign thought signatures — and the user never sees a 400."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from bot.domain import GenerationRequest, ImageInput
from bot.errors import HistoryRejected, ProviderOverloaded
from bot.quotas import Quotas
from bot.rebase import for_route, latest_image, rebased
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.bot.direct import imagine
from tests.bot.fakes import PNG, GeminiLikeProvider, make_router

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"
WHO = Requester("slack", "T1", "U1")
THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")


def _history() -> tuple[dict[str, object], ...]:
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode()

    draft, final = PNG + b"draft", PNG + b"v1"
    return (
        {"role": "user", "parts": [{"text": "a red fox"}]},
        {
            "role": "model",
            "parts": [
                {"inline_data": {"data": b64(draft), "mime_type": "image/png"}, "thought": True},
                {
                    "inline_data": {"data": b64(final), "mime_type": "image/png"},
                    "thought_signature": "s",
                },
            ],
        },
    )


def test_same_model_and_channel_is_left_byte_identical() -> None:
    request = GenerationRequest("bluer", history=_history(), history_origin=(PRO, "google"))
    assert for_route(request, PRO, "google") is request
    legacy = replace(request, history_origin=(PRO, None))  # rows from before the column
    assert for_route(legacy, PRO, "google") is legacy


@pytest.mark.parametrize(
    ("model", "channel"), [(FLASH, "google"), (PRO, "relay"), ("gemini-3-pro-image", "vertex")]
)
def test_another_model_or_channel_gets_the_latest_image_and_no_signatures(model, channel) -> None:
    ref = ImageInput(PNG + b"ref", "image/png")
    request = GenerationRequest(
        "make it blue", references=(ref,), history=_history(), history_origin=(PRO, "google")
    )
    out = for_route(request, model, channel) if channel != "vertex" else rebased(request)
    assert out.history == () and out.history_origin is None
    assert out.references == (ImageInput(PNG + b"v1", "image/png"), ref)  # not the draft
    assert out.prompt.endswith("make it blue") and "“a red fox”" in out.prompt
    assert latest_image(_history()) == ImageInput(PNG + b"v1", "image/png")


@pytest.fixture
async def world(
    tmp_path: Path,
) -> AsyncIterator[tuple[ImagineService, GeminiLikeProvider, SessionStore]]:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    quotas = Quotas(store, user_rate=None)
    provider = GeminiLikeProvider()
    sessions = SessionStore(store)
    service = ImagineService(
        images=PillowInspector(),
        router=make_router(provider, chain=(PRO, FLASH)),
        quotas=quotas,
        sessions=sessions,
    )
    yield service, provider, sessions
    await quotas.aclose()
    await store.close()


async def test_failover_mid_thread_continues_on_flash_without_a_400(world) -> None:
    service, provider, sessions = world
    first = await imagine(service, ImagineCommand(WHO, "a red fox", thread=THREAD))
    assert first.model == PRO and first.version == 1
    provider.fail[PRO] = [ProviderOverloaded(model=PRO)]
    second = await imagine(service, ImagineCommand(WHO, "make it blue", thread=THREAD))
    assert second.model == FLASH and second.version == 2  # no 400 reached the user
    assert provider.models_called() == [PRO, PRO, FLASH]  # Flash was never sent Pro's turns
    sent = provider.calls[-1][1]
    assert sent.history == () and sent.references[0].data == first.image  # the picture kept
    session = await sessions.load(THREAD)
    assert session is not None and session.model == FLASH and session.made_on == "google"
    # the thread is Flash's now: its next turn resumes with Flash's own signature
    third = await imagine(service, ImagineCommand(WHO, "add snow", chain=[FLASH], thread=THREAD))
    assert third.model == FLASH and provider.calls[-1][1].history != ()


async def test_a_stored_thread_on_a_shut_down_id_moves_to_the_successor(world) -> None:
    service, provider, sessions = world
    await imagine(service, ImagineCommand(WHO, "a red fox", thread=THREAD))
    await sessions.store.execute(  # as an old release stored it, before the shutdown
        "UPDATE sessions SET model = 'gemini-3-pro-image-preview', made_on = NULL"
    )
    reply = await imagine(service, ImagineCommand(WHO, "make it blue", thread=THREAD))
    assert reply.model == PRO and reply.version == 2
    assert provider.models_called() == [PRO, PRO]  # the old id never reached the wire
    assert provider.calls[-1][1].history == ()  # the preview's signatures are not sent


async def test_a_signature_refused_anyway_is_resent_rebased_once(world) -> None:
    service, provider, _ = world
    await imagine(service, ImagineCommand(WHO, "a red fox", thread=THREAD))
    provider.fail[PRO] = [HistoryRejected("Corrupted thought signature.", model=PRO, status=400)]
    reply = await imagine(service, ImagineCommand(WHO, "make it blue", thread=THREAD))
    assert reply.model == PRO and not reply.fallback  # same model, e.g. after a key rotation
    assert [r.history == () for _, r in provider.calls] == [True, False, True]
