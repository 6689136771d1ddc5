"""The world of one scale run: N bot processes (burstbench's ``Bot``, each its own
port) sharing one PostgreSQL schema and one Redis database, the sandbox with a
real latency per image, and the CPU each of them used.

Each process is started, and warmed up with one ``/imagine`` delivered through
it, only after the one before it is up: a starting bot's restart recovery takes
every unfinished job in the database as its own (see the README), so none may
be in flight when the next one starts.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from burstbench.load import Firing
from burstbench.run import warm_up
from burstbench.world import Bot
from redis.asyncio import Redis
from routerbench.sandbox import ChildSandbox

from tests.platforms.slack_fake import FakeSlack

KEY_PREFIX = "imagine:"  # the bot's (adapters/shared: open_shared); not configurable


@dataclass(frozen=True)
class Settings:
    workers: int  # IMAGINE_WORKERS, each process
    guild_cap: int  # IMAGINE_GUILD_CONCURRENCY, each process
    latency_s: float  # the sandbox's time per image, every model
    jitter_s: float  # ± uniform
    log_level: str = "WARNING"  # IMAGINE_LOG_LEVEL (the bots' logs go to this stderr)


@asynccontextmanager
async def redis_db(base: str) -> AsyncIterator[str]:
    """A Redis database of ``base``'s server that holds no keys, highest number first
    (the bot's key prefix is fixed, so a database of our own is what keeps its keys
    apart); the bot's keys are deleted from it afterwards. Pub/sub channels are
    server-wide whatever the database: a no-fault run publishes nothing."""
    client = Redis.from_url(base, db=0)
    try:
        info = await client.info("keyspace")
        busy = {int(k[2:]) for k in info if k.startswith("db")}
        databases = int((await client.config_get("databases"))["databases"])
        free = [db for db in range(databases - 1, 0, -1) if db not in busy]
        if not free:
            raise RuntimeError(f"no empty Redis database at {base}")
        url = f"{base.rstrip('/').rsplit('/', 1)[0]}/{free[0]}"
    finally:
        await client.aclose()
    try:
        yield url
    finally:
        client = Redis.from_url(url)
        try:
            keys = [k async for k in client.scan_iter(match=KEY_PREFIX + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


async def redis_clients(url: str) -> int:
    """Connections to the server on ``url``'s database (the bots' links and
    subscriptions): proof that the processes really share this Redis."""
    client = Redis.from_url(url)
    try:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        me = await client.client_id()
        return sum(int(c["db"]) == db and int(c["id"]) != me for c in await client.client_list())
    finally:
        await client.aclose()


def cpu_s(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc); with
    ``children``, plus that of its children that have exited."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds of every PostgreSQL server on the machine (anyone's queries): each
    postmaster with its exited backends, and the live backends."""
    total = 0.0
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "comm").read_text().strip() == "postgres":
                parent = (d / "stat").read_text().rsplit(")", 1)[1].split()[1]
                top = (Path("/proc") / parent / "comm").read_text().strip() != "postgres"
                total += cpu_s(int(d.name), children=top)
        except OSError:
            pass  # gone meanwhile
    return total


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process, of this one ("bench": the fake
    Slack and the load) and of PostgreSQL."""
    return {
        **{k: cpu_s(p) for k, p in pids.items()},
        "bench": cpu_s(os.getpid()),
        "postgres": postgres_cpu_s(),
    }


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8]) / os.sysconf("SC_CLK_TCK")
    return total - idle / os.sysconf("SC_CLK_TCK"), total


async def start_bots(
    n: int,
    root: Path,
    slack: FakeSlack,
    sandbox: ChildSandbox,
    db_url: str,
    redis_url: str,
    s: Settings,
) -> list[Bot]:
    """``n`` processes of the bot from ``root``, one after another, each warmed up."""
    env = {
        "IMAGINE_DATABASE_URL": db_url,
        "IMAGINE_REDIS_URL": redis_url,
        "IMAGINE_WORKERS": str(s.workers),
        "IMAGINE_GUILD_CONCURRENCY": str(s.guild_cap),
        "IMAGINE_LOG_LEVEL": s.log_level,
    }
    bots: list[Bot] = []
    try:
        for _ in range(n):
            bot = await Bot(root, slack, sandbox, env=env).start()
            bots.append(bot)
            firing = Firing(slack, bot.url)
            try:
                await warm_up(firing)
            finally:
                await firing.aclose()
    except BaseException:
        for bot in bots:
            await bot.stop()
        raise
    return bots
