"""Images are decoded, not sniffed: bad references are refused before anything is
reserved; a model's bad image is no image (the next model, not billed), and so is an
oversize answer, chunked or not; a relay's HTML page fails over at once; control
characters never reach the model. The real SDKs, the sandbox on 127.0.0.1, real SQLite."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from adapters.providers import GeminiProvider, OpenAIImagesProvider
from adapters.sandbox import Fault, Sandbox
from adapters.sandbox.images import bomb_png, truncated
from bot.catalog import load_catalog
from bot.domain import ImageLimits, Outcome
from bot.health import HealthBoard
from bot.intake import NewImage, Placed, Queued, References, Refused
from bot.jobs import Job
from bot.quotas import Quotas
from bot.router import Route, Router, RouterPolicy
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.adapters.helpers import png
from tests.bot.direct import imagine

PRO, FLASH, RELAY = "gemini-3-pro-image", "gemini-nano-banana-2.1", "seedream-4.5"
GPT = "gpt-image-2.6-sunburst"
WHO = Requester("slack", "T1", "U1")
LIMITS = ImageLimits(max_bytes=1024 * 1024, max_pixels=4_000_000)  # the sandbox's ~3 MB is over


@dataclass
class World:
    sb: Sandbox
    service: ImagineService
    quotas: Quotas


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with Sandbox(seed=5, image_px=64) as sb:
        images = PillowInspector(LIMITS)
        google = GeminiProvider("google", api_key="k", base_url=sb.gemini_base_url, images=images)
        oai = OpenAIImagesProvider(
            "openai", api_key="k", base_url=sb.openai_base_url, images=images
        )
        relay = OpenAIImagesProvider(
            "relay", api_key="k", base_url=sb.openai_base_url, images=images
        )
        catalog = load_catalog()
        board = HealthBoard(time.monotonic)
        routes = []
        for model_id, provider in ((PRO, google), (FLASH, google), (RELAY, relay), (GPT, oai)):
            spec = replace(catalog.models[model_id], latency_s=0.05, timeout_s=10)
            board.add(model_id, model=model_id, channel=provider.channel, typical_latency_s=0.05)
            routes.append(Route(model_id, spec, provider))
        router = Router(routes, board=board, policy=RouterPolicy(deadline_s=10, hedge=False))
        store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
        quotas = Quotas(store, user_rate=None)
        service = ImagineService(
            router=router, quotas=quotas, sessions=SessionStore(store), images=images
        )
        try:
            yield World(sb, service, quotas)
        finally:
            await quotas.aclose()
            await router.aclose()
            await store.close()


def _price(world: World, model: str) -> float:
    return next(r.model for r in world.service.router.routes if r.model.id == model).price_for(None)


class Shown:
    """A platform's placer: what it was asked to show in the channel."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    async def place(self, job: Job) -> Placed:
        self.jobs.append(job)
        return Placed(thread=f"t{len(self.jobs)}", message=f"m{len(self.jobs)}")

    async def withdraw(self, placed: Placed) -> None:
        return None


def _new(prompt: str, refs: References = ()) -> NewImage:
    async def fetch() -> References:
        return refs

    return NewImage(WHO, "C1", prompt, key=f"ev-{prompt[:20]}-{len(refs)}", attachments=fetch)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        (
            "half.png",
            truncated(png(400, 300)),
            "couldn't be read: the file is damaged or incomplete",
        ),
        ("bomb.png", bomb_png(), "has too many pixels"),
        ("wide.png", png(2100, 2000), "2100×2000 pixels; the limit is 4 megapixels"),
    ],
)
async def test_a_bad_reference_is_refused_before_anything_is_reserved(
    world: World, name: str, data: bytes, words: str
) -> None:
    shown = Shown()
    answer = await world.service.take(
        _new("the same, in ink", (("ok.png", png()), (name, data))), shown
    )
    assert isinstance(answer, Refused)
    assert name in answer.words and words in answer.words and "nothing was charged" in answer.words
    assert world.sb.calls == [] and shown.jobs == []  # no model asked, nothing shown
    usage = await world.quotas.usage(WHO.ledger_key)
    assert usage.images_reserved == 0 and usage.reserved_usd == 0 and usage.in_flight == 0


async def test_a_good_reference_goes_to_the_model(world: World) -> None:
    reply = await imagine(
        world.service, ImagineCommand(WHO, "in ink", references=(("a.png", png()),))
    )
    assert reply.model == PRO
    assert world.sb.calls[-1].images == [(png(), "image/png")]


@pytest.mark.parametrize(
    "kind", ["truncated_image", "bomb_image", "oversize_image", "oversize_chunked"]
)
async def test_a_bad_image_from_a_model_fails_over_and_is_not_billed(
    world: World, kind: str
) -> None:
    world.sb.script(PRO, [Fault(kind)])
    reply = await imagine(world.service, ImagineCommand(WHO, "a lighthouse"))
    assert reply.model == FLASH
    assert "returned no image" in " ".join(reply.said())
    assert [a.outcome for a in reply.attempts] == [Outcome.EMPTY_RESULT, Outcome.OK]
    assert len(world.sb.calls_for(PRO)) == 1  # not retried on the same model
    usage = await world.quotas.usage(WHO.ledger_key)
    assert set(usage.by_model) == {FLASH}  # the bad image cost the person nothing
    assert usage.spent_usd == pytest.approx(_price(world, FLASH))


async def test_an_answer_sent_chunked_within_the_cap_is_an_image(world: World) -> None:
    world.sb.script(PRO, [Fault("chunked")])
    reply = await imagine(world.service, ImagineCommand(WHO, "a lighthouse"))
    assert reply.model == PRO and [a.outcome for a in reply.attempts] == [Outcome.OK]
    assert world.sb.calls_for(PRO)[0].outcome == "chunked"


async def test_a_relay_answering_an_html_page_fails_over_at_once(world: World) -> None:
    world.sb.script(RELAY, [Fault("html")])
    cmd = replace(ImagineCommand(WHO, "a lighthouse"), chain=(RELAY, GPT))
    reply = await imagine(world.service, cmd)
    assert reply.model == GPT and "returned no image" in " ".join(reply.said())
    assert len(world.sb.calls_for(RELAY)) == 1  # one call: not retried as a server error
    assert reply.attempts[0].outcome is Outcome.EMPTY_RESULT


async def test_control_characters_never_reach_the_model_or_the_channel(world: World) -> None:
    shown = Shown()
    typed = "a fox\x1b[2J\x07 in\tthe snow\x00\x7f\r\nat dusk\x9b"
    answer = await world.service.take(_new(typed), shown)
    assert isinstance(answer, Queued)
    clean = "a fox[2J in\tthe snow\nat dusk"
    assert [job.payload["prompt"] for job in shown.jobs] == [clean]  # what the channel shows
    await imagine(world.service, ImagineCommand(WHO, typed))
    assert [c.prompt for c in world.sb.calls] == [clean]  # what the model was sent


@pytest.mark.parametrize("kind", ["oversize_image", "oversize_chunked"])
async def test_an_oversize_image_from_an_openai_model_is_no_image(world: World, kind: str) -> None:
    world.sb.script(GPT, [Fault(kind)])
    cmd = replace(ImagineCommand(WHO, "a lighthouse"), chain=(GPT, FLASH))
    reply = await imagine(world.service, cmd)
    assert reply.model == FLASH and reply.attempts[0].outcome is Outcome.EMPTY_RESULT
    assert len(world.sb.calls_for(GPT)) == 1
