"""A shut-down id anywhere a team stored it keeps working: it resolves to its successor
with one warning naming both (env and IMAGINE_CONFIG: tests/bot/test_catalog.py)."""

import logging
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from adapters.imaging import PillowInspector
from bot.aliases import Aliases, stored_aliases
from bot.catalog import load_catalog
from bot.guild_settings import GuildSettings
from bot.quotas import Quotas
from bot.service import ImagineCommand, ImagineService, Requester
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.bot.direct import imagine
from tests.bot.fakes import CHAIN, PNG, ScriptedProvider, make_router

PRO, FLASH, GPT = CHAIN
TODAY = date(2026, 12, 7)
WHO = Requester("slack", "T1", "U1")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(f"sqlite:///{tmp_path}/db.sqlite") as s:
        yield s


def test_each_old_id_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    aliases = Aliases(load_catalog(), today=lambda: TODAY)
    with caplog.at_level(logging.WARNING, logger="bot.aliases"):
        chain = aliases.chain(["gpt-image-1.5", "gemini-2.5-flash-image", "gpt-image-1.5", PRO])
        aliases("gpt-image-1.5")
    assert chain == [GPT, FLASH, PRO]
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"model 'gpt-image-1.5' was shut down on 2026-12-01; its successor '{GPT}' is used instead",
        f"model 'gemini-2.5-flash-image' was shut down on 2026-10-02; "
        f"its successor '{FLASH}' is used instead",
    ]


async def test_a_workspace_chain_stored_with_old_ids_still_routes(store: Store) -> None:
    provider = ScriptedProvider()
    router = make_router(provider)
    guilds = GuildSettings(store, usable_model=lambda m: m in CHAIN, resolve=router.resolve)
    await store.execute(  # written by an earlier release, before the shutdowns
        "INSERT INTO guild_settings (workspace, name, value, updated_at)"
        " VALUES ('slack:T1', 'models', '[\"gpt-image-1.5\", \"gemini-3-pro-image-preview\"]', 0)"
    )
    assert (await guilds.get("slack:T1")).models == (GPT, PRO)
    quotas = Quotas(store, user_rate=None)
    service = ImagineService(
        images=PillowInspector(),
        router=router,
        quotas=quotas,
        sessions=SessionStore(store),
        guilds=guilds,
    )
    reply = await imagine(service, ImagineCommand(WHO, "a fox"))
    await quotas.aclose()
    assert reply.model == GPT and provider.calls[0][0] == GPT
    await guilds.set_models("slack:T1", ["gpt-image-1.5", PRO], by="admin")  # old ids accepted
    row = await store.fetchone("SELECT value FROM guild_settings WHERE name = 'models'")
    assert row is not None and row["value"] == f'["{GPT}", "{PRO}"]'  # … stored as current


async def test_stored_old_ids_are_found_for_start_up_and_doctor(store: Store) -> None:
    sessions = SessionStore(store)
    for n in (1, 2):
        key = ThreadKey("slack", "T1", "C1", f"t{n}")
        turns = ({"role": "user", "parts": [{"text": "x"}]}, {"role": "model", "parts": []})
        await sessions.append(key, model=PRO, config={}, turns=turns, image=(PNG, "image/png"))
    await store.execute("UPDATE sessions SET model = 'gemini-3-pro-image-preview'")
    await store.execute(
        "INSERT INTO jobs (id, platform, workspace, channel, thread, user, kind, created_at)"
        " VALUES ('j1', 'slack', 'T1', 'C1', 't1', 'U1', 'edit', 0)"
    )
    await store.execute(
        "INSERT INTO guild_settings (workspace, name, value, updated_at)"
        " VALUES ('slack:T2', 'models', '[\"gpt-image-1.5\", \"gemini-3-pro-image\"]', 0)"
    )
    found = await stored_aliases(store, load_catalog(), TODAY)
    assert found == {
        "gemini-3-pro-image-preview": (
            "model 'gemini-3-pro-image-preview' was shut down on 2026-06-25; its successor "
            "'gemini-3-pro-image' is used instead (stored in: 2 thread(s), 1 with queued jobs)"
        ),
        "gpt-image-1.5": (
            "model 'gpt-image-1.5' was shut down on 2026-12-01; its successor "
            f"'{GPT}' is used instead (stored in: workspace chain)"
        ),
    }


async def test_a_job_queued_before_the_upgrade_runs_on_the_successor(tmp_path: Path) -> None:
    from tests.bot.test_service_jobs import _submit, _world

    w = await _world(tmp_path)  # not started yet: the job waits in the queue
    key = ThreadKey("slack", "T1", "C1", "1.0")
    turns = ({"role": "user", "parts": [{"text": "a fox"}]}, {"role": "model", "parts": []})
    await SessionStore(w.store).append(
        key, model=PRO, config={}, turns=turns, image=(PNG, "image/png")
    )
    await w.store.execute("UPDATE sessions SET model = 'gemini-3-pro-image-preview'")
    job_id = await _submit(w, "make it blue")
    await w.service.start()
    await w.service.runner.join()
    reply = w.sink.delivered[job_id]
    assert reply.model == PRO and reply.version == 2 and not reply.fallback
    assert [m for m, _ in w.provider.calls] == [PRO]
    await w.service.aclose(grace_s=0)
    await w.quotas.aclose()
    await w.store.close()
