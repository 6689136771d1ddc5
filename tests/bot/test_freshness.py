"""Live freshness over fake channels: a model the channel does not list is 🔴 without a
call, a shutdown 10 days away becomes a notice, a relay without a list is skipped, a
404 at call time switches the route off and is announced once with the successor."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.catalog import load_catalog
from bot.domain import GenerationRequest, OfferedModel
from bot.errors import ModelNotOffered
from bot.freshness import Freshness
from bot.health import HealthState
from bot.status_text import status_lines, status_view
from tests.bot.fakes import CHAIN, ScriptedProvider, make_router

PRO, FLASH, GPT = CHAIN
TODAY = date(2026, 12, 7)


@dataclass
class ListingProvider(ScriptedProvider):
    listed: list[OfferedModel] | None = field(default_factory=list)
    list_calls: int = 0

    async def list_models(self) -> list[OfferedModel] | None:
        self.list_calls += 1
        return self.listed


def _fresh(provider: ScriptedProvider):
    router = make_router(provider)
    return router, Freshness(router, load_catalog(), today=lambda: TODAY)


async def test_a_chain_model_the_channel_does_not_list_is_down_without_a_call() -> None:
    provider = ListingProvider(listed=[OfferedModel(PRO), OfferedModel(GPT)])
    router, fresh = _fresh(provider)
    events = []
    router.board.subscribe(events.append)
    await fresh.check()
    assert router.board[FLASH].state() is HealthState.DOWN
    view = status_view(router.board, datetime.now(UTC))
    flash = next(r for r in view.rows if r.model == FLASH)
    assert flash.reason == "not offered by fake" and view.online == 2
    router.board[PRO].trip(hold_s=60)  # PRO down for a minute: next is FLASH, skipped
    result = await router.generate(GenerationRequest("a fox"))
    assert result.model == GPT and provider.count(FLASH) == 0  # never called
    assert [e.note for e in events if e.route == FLASH] == ["not offered by fake"]
    provider.listed = [OfferedModel(m) for m in CHAIN]  # listed again → back on
    await fresh.check()
    assert router.board[FLASH].state() is HealthState.NORMAL


async def test_a_shutdown_ten_days_away_is_a_notice_with_the_successor() -> None:
    soon = TODAY + timedelta(days=10)
    provider = ListingProvider(
        listed=[OfferedModel(PRO), OfferedModel(FLASH), OfferedModel(GPT, shutdown=soon)]
    )
    router, fresh = _fresh(provider)
    await fresh.check()
    (notice,) = fresh.notices()
    assert notice.model == GPT and notice.on == soon
    assert notice.text == f"⏳ {GPT} shuts down on 2026-12-17 — no successor is named yet."
    lines = status_lines(status_view(router.board, datetime.now(UTC)))
    assert lines[-1] == notice.text  # /imagine-status says it
    far = ListingProvider(listed=[OfferedModel(GPT, shutdown=TODAY + timedelta(days=45))])
    _, later = _fresh(far)
    await later.check()
    assert later.notices() == []  # beyond 30 days: nothing yet


async def test_a_channel_without_a_list_or_failing_to_list_is_skipped_quietly() -> None:
    relay = ListingProvider(listed=None)
    router, fresh = _fresh(relay)
    await fresh.check()
    assert all(router.board[m].state() is HealthState.NORMAL for m in CHAIN)
    assert fresh.offers["fake"].models is None and fresh.offers["fake"].error is None

    class Broken(ListingProvider):
        async def list_models(self) -> list[OfferedModel] | None:
            raise ConnectionError("nope")

    router, fresh = _fresh(Broken())
    await fresh.check()
    assert fresh.offers["fake"].error == "ConnectionError"
    assert all(router.board[m].state() is HealthState.NORMAL for m in CHAIN)
    plain, _ = _fresh(ScriptedProvider())  # a provider without list_models at all
    await Freshness(plain, load_catalog()).check()


async def test_a_404_mid_run_switches_the_route_off_and_names_the_successor() -> None:
    provider = ScriptedProvider(then={FLASH: ModelNotOffered(model=FLASH, status=404)})
    router = make_router(provider, chain=("gemini-3.1-flash-image", GPT))
    router.board[GPT]
    events = []
    router.board.subscribe(events.append)
    provider.then["gemini-3.1-flash-image"] = ModelNotOffered(status=404)
    first = await router.generate(GenerationRequest("a fox"))
    assert first.model == GPT
    for _ in range(3):
        assert (await router.generate(GenerationRequest("a fox"))).model == GPT
    assert provider.count("gemini-3.1-flash-image") == 1  # switched off after one 404
    (down,) = [e for e in events if e.kind == "down"]
    assert down.note == "not offered by fake (its successor is gemini-nano-banana-2.1)"


@pytest.mark.parametrize("interval", [0.01])
async def test_the_daily_task_is_owned_and_hands_on_notices(interval) -> None:
    import asyncio

    soon = TODAY + timedelta(days=3)
    provider = ListingProvider(listed=[OfferedModel(m, soon if m == GPT else None) for m in CHAIN])
    router = make_router(provider)
    said: list[list[str]] = []
    three = asyncio.Event()

    async def on_notices(notices) -> None:
        said.append([n.text for n in notices])
        if len(said) == 3:
            three.set()

    fresh = Freshness(router, load_catalog(), today=lambda: TODAY, interval_s=interval)
    fresh.start(on_notices)
    await asyncio.wait_for(three.wait(), 5)
    await fresh.aclose()
    assert said[0] == [f"⏳ {GPT} shuts down on 2026-12-10 — no successor is named yet."]
    calls = provider.list_calls
    await asyncio.sleep(0.05)
    assert provider.list_calls == calls  # cancelled for good


async def test_the_404_is_announced_once_in_the_status_channel(tmp_path) -> None:
    from bot.announcer import Announcer
    from bot.guild_settings import GuildSettings
    from bot.store import Store
    from tests.bot.test_announcer import Poster

    async with await Store.open(f"sqlite:///{tmp_path}/db.sqlite") as store:
        guilds = GuildSettings(store)
        await guilds.set_status_channel("slack:T1", "C-status", by="admin")
        provider = ScriptedProvider(then={"gemini-3.1-flash-image": ModelNotOffered(status=404)})
        router = make_router(provider, chain=("gemini-3.1-flash-image", GPT))
        slack = Poster("slack")
        async with Announcer(router.board, guilds, [slack], settle_s=0.0) as announcer:
            for _ in range(4):
                await router.generate(GenerationRequest("a fox"))
            await announcer.wait_idle()
        downs = [text for _, _, text in slack.posts if "🔴" in text]
        assert downs == [
            "🔴 gemini-3.1-flash-image is down — not offered by fake "
            f"(its successor is gemini-nano-banana-2.1). Requests go to {GPT}."
        ]
