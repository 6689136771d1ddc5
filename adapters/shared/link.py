"""One Redis connection for everything processes share, and one voice for its state.

Every call runs under ``timeout_s`` and never raises for Redis' sake: a failure
gives the caller its fallback (each user falls back to per-process behaviour),
and the first of a run of failures is logged once as a warning; the first success
after them, once at info. Keys and channels carry ``prefix`` (tests use one each).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits.aio.storage import RedisStorage
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILURES = (RedisError, OSError, TimeoutError)


def raise_if_cancelled() -> None:
    """Re-raise a cancellation of this task that redis-py swallowed: one that lands as
    its own read timeout fires can come back as a timeout (or a reply), and a
    task that goes on would never stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RedisLink:
    def __init__(self, url: str, *, prefix: str = "imagine:", timeout_s: float = 1.0) -> None:
        self.client = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=5,
            retry=Retry(NoBackoff(), 0),  # the callers' own loops retry, in their own time
        )
        self.prefix, self.timeout_s = prefix, timeout_s
        # this process, told apart from the others (its own messages come back to it)
        self.origin = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        kw = self.client.connection_pool.connection_kwargs
        where = kw.get("path") or f"{kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
        self.where = f"{where}/{kw.get('db', 0)}"  # never the password
        self.down = False

    def key(self, name: str) -> str:
        return self.prefix + name

    def limits_storage(self, name: str) -> RedisStorage:
        """``limits``' Redis storage on this link's connections, its keys under ``name``."""
        return RedisStorage(
            "async+redis://",  # the link's pool below; the URI only picks the server kind
            implementation="redispy",
            key_prefix=self.key(name),
            connection_pool=self.client.connection_pool,  # type: ignore[arg-type]  # documented
        )

    def channel(self, name: str) -> str:
        """A pub/sub channel's name. Redis has one set of channels per server, whatever
        the database number, so the number is in the name: two bots on one server with
        ``/0`` and ``/1`` never hear each other's news."""
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        return f"{self.prefix}{name}@{db}"

    async def either(
        self, call: Callable[[], Awaitable[T]], otherwise: Callable[[], Awaitable[T]]
    ) -> T:
        """``await call()`` under the timeout; ``await otherwise()`` if Redis fails it."""
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await call()
        except FAILURES as exc:
            raise_if_cancelled()
            self.failed(exc)
            return await otherwise()
        raise_if_cancelled()
        self.ok()
        return result

    async def run(self, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        """``await call()`` under the timeout; ``fallback`` if Redis fails it."""

        async def give() -> T:
            return fallback

        return await self.either(call, give)

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning(
                "Redis at %s is unavailable (%s): health, rate limits, pacing and"
                " announcements are per process until it is back",
                self.where,
                type(exc).__name__,
            )

    def ok(self) -> None:
        if self.down:
            self.down = False
            log.info(
                "Redis at %s is back: health, rate limits, pacing and announcements shared",
                self.where,
            )

    async def aclose(self) -> None:
        await self.client.aclose()
