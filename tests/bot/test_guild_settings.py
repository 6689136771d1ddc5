from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from bot.errors import InputError, RequestRefused, SafetyBlocked
from bot.guild_settings import GuildSettings
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.bot.direct import imagine
from tests.bot.fakes import CHAIN, ScriptedProvider, make_router

PRO, FLASH, GPT = CHAIN
WHO = Requester("discord", "G1", "U1")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    yield s
    await s.close()


def settings(store: Store) -> GuildSettings:
    return GuildSettings(store, default_admins={"root"}, usable_model=lambda m: m in CHAIN)


async def test_defaults_overrides_and_reset(store: Store) -> None:
    guilds = settings(store)
    cfg = await guilds.get("discord:G1")
    assert cfg.status_channel is None and cfg.models is None and cfg.safety_failover is False
    assert cfg.admins == {"root"}
    await guilds.set_status_channel("discord:G1", "C42", by="root")
    await guilds.set_models("discord:G1", [GPT, " ", FLASH, GPT], by="root")
    await guilds.set_safety_failover("discord:G1", True, by="root")
    await guilds.set_admins("discord:G1", ["ana"], by="root")
    again = await settings(store).get("discord:G1")  # a fresh reader: it is in the database
    assert again.status_channel == "C42" and again.models == (GPT, FLASH)
    assert again.safety_failover is True and again.admins == {"root", "ana"}
    assert await guilds.is_admin("discord:G1", "ana") and not await guilds.is_admin(
        "discord:G2", "ana"
    )
    assert (await guilds.get("discord:G2")).models is None  # other guilds untouched
    await guilds.set_models("discord:G1", None, by="root")
    assert (await guilds.get("discord:G1")).models is None


async def test_unknown_or_retired_models_are_refused(store: Store) -> None:
    guilds = settings(store)
    with pytest.raises(InputError) as info:
        await guilds.set_models("discord:G1", [PRO, "gpt-image-1"], by="root")
    assert info.value.code == "unknown_model" and "gpt-image-1" in info.value.detail
    assert (await guilds.get("discord:G1")).models is None


async def test_the_service_applies_the_workspace_settings(store: Store) -> None:
    guilds = settings(store)
    quotas = Quotas(store, user_rate=None)
    provider = ScriptedProvider()
    service = ImagineService(
        images=PillowInspector(),
        router=make_router(provider),
        quotas=quotas,
        sessions=SessionStore(store),
        guilds=guilds,
    )
    try:
        await guilds.set_models("discord:G1", [GPT, PRO], by="root")
        assert (await imagine(service, ImagineCommand(WHO, "x"))).model == GPT
        other = Requester("discord", "G2", "U1")
        assert (await imagine(service, ImagineCommand(other, "x"))).model == PRO
        provider.scripts[GPT] = [SafetyBlocked(model=GPT)]
        with pytest.raises(RequestRefused):
            await imagine(service, ImagineCommand(WHO, "x"))
        await guilds.set_safety_failover("discord:G1", True, by="root")
        provider.scripts[GPT] = [SafetyBlocked(model=GPT)]
        assert (await imagine(service, ImagineCommand(WHO, "x"))).model == PRO
    finally:
        await quotas.aclose()
