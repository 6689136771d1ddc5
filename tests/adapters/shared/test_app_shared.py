"""The composition root opens the Redis parts only with IMAGINE_REDIS_URL, and closes
them with everything else."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from adapters.app import open_app
from adapters.shared import SharedPacer
from bot.config import Settings
from bot.errors import QuotaExceeded
from bot.pacing import LocalPacer


async def test_the_app_counts_the_rate_in_redis_with_a_url(tmp_path: Path, redis_url: str) -> None:
    workspace = f"test-{uuid.uuid4().hex}"
    settings = Settings(
        _env_file=None,
        imagine_data_dir=tmp_path,
        imagine_redis_url=redis_url,
        imagine_user_rate="1/minute",
    )
    client = Redis.from_url(redis_url)
    try:
        async with open_app(settings) as app:
            await app.quotas.reserve(workspace=workspace, user="U1", estimate_usd=0.1)
            async with open_app(settings) as other:  # another process, the same Redis
                try:
                    await other.quotas.reserve(workspace=workspace, user="U1", estimate_usd=0.1)
                except QuotaExceeded as exc:
                    assert exc.limit == "rate"
                else:
                    raise AssertionError("the second process did not see the first's hit")
            keys = [k async for k in client.scan_iter(match=f"imagine:limits*{workspace}*")]
            assert keys
    finally:
        if keys := [k async for k in client.scan_iter(match=f"imagine:limits*{workspace}*")]:
            await client.delete(*keys)
        await client.aclose()


async def test_without_a_url_each_process_counts_its_own_rate(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, imagine_data_dir=tmp_path, imagine_user_rate="1/minute")
    assert settings.imagine_redis_url is None
    async with open_app(settings) as app, open_app(settings) as other:
        await app.quotas.reserve(workspace="w", user="U1", estimate_usd=0.1)
        await other.quotas.reserve(workspace="w", user="U1", estimate_usd=0.1)


async def test_the_app_paces_in_redis_with_a_url(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "not-a-real-key")
    config = tmp_path / "imagine.toml"
    config.write_text("[channels.google]\nrpm = 60\n")
    settings = Settings(
        _env_file=None,
        imagine_data_dir=tmp_path,
        imagine_config=config,
        imagine_redis_url=redis_url,
    )
    async with open_app(settings) as app:
        assert isinstance(app.router.pacer, SharedPacer)
        paced = {r.model.id: r.rpm for r in app.router.routes if r.provider.channel == "google"}
        assert paced and set(paced.values()) == {60}
    alone = Settings(_env_file=None, imagine_data_dir=tmp_path, imagine_config=config)
    async with open_app(alone) as app:
        assert isinstance(app.router.pacer, LocalPacer)
