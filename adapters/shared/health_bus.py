"""``bot.shared_health.HealthBus`` over Redis: breaker news on one pub/sub channel
(``<prefix>health``), and each trip also kept as a key (``<prefix>trip:<route>``)
for as long as it is in force, so a process that starts — or reconnects — during an
outage learns of it at once instead of finding out with its own users' requests.

A message is JSON: ``{"origin", "route", "opened", "open_s", "hold_s", "reason"}``;
durations are relative (seconds from now), so the processes' clocks need not agree —
pub/sub delivery takes milliseconds. A process ignores its own messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from adapters.shared.link import FAILURES, RedisLink, raise_if_cancelled
from bot.health import BreakerNews

log = logging.getLogger(__name__)


class RedisHealthBus:
    def __init__(self, link: RedisLink, *, retry_s: float = 1.0) -> None:
        self._link, self._retry_s = link, retry_s
        self._channel = link.channel("health")

    def _trip_key(self, route: str) -> str:
        return self._link.key(f"trip:{route}")

    async def publish(self, news: BreakerNews) -> None:
        link = self._link
        payload = json.dumps(
            {
                "origin": link.origin,
                "route": news.route,
                "opened": news.opened,
                "open_s": news.open_s,
                "hold_s": news.hold_s,
                "reason": news.reason,
            }
        )
        key = self._trip_key(news.route)
        in_force_ms = max(1, round(max(news.open_s, news.hold_s) * 1000))

        async def send() -> None:
            async with link.client.pipeline(transaction=False) as pipe:
                if news.opened:
                    pipe.set(key, payload, px=in_force_ms)
                else:
                    pipe.delete(key)
                pipe.publish(self._channel, payload)
                await pipe.execute()

        await link.run(send, None)

    async def listen(self, deliver: Callable[[BreakerNews], None]) -> None:
        while True:
            try:
                await self._follow(deliver)
            except FAILURES as exc:
                raise_if_cancelled()
                self._link.failed(exc)
            await asyncio.sleep(self._retry_s)

    async def _follow(self, deliver: Callable[[BreakerNews], None]) -> None:
        """Subscribe, deliver the trips in force, then every message, until the
        connection fails."""
        link = self._link
        pubsub = link.client.pubsub()
        try:
            async with asyncio.timeout(link.timeout_s):
                await pubsub.subscribe(self._channel)
                in_force = await self._in_force()
            link.ok()
            for trip in in_force:
                deliver(trip)
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                raise_if_cancelled()
                if message is not None and (news := self._decode(message.get("data"))):
                    deliver(news)
        finally:
            await _quietly_close(pubsub, link.timeout_s)

    async def _in_force(self) -> list[BreakerNews]:
        client, found = self._link.client, []
        keys = [k async for k in client.scan_iter(match=self._trip_key("*"), count=100)]
        for key in keys:
            async with client.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                payload, pttl = await pipe.execute()
            news = self._decode(payload)
            if news is not None and pttl > 0:
                left = pttl / 1000
                found.append(
                    BreakerNews(
                        news.route,
                        True,
                        open_s=min(news.open_s, left),
                        hold_s=min(news.hold_s, left),
                        reason=news.reason,
                    )
                )
        return found

    def _decode(self, data: Any) -> BreakerNews | None:
        """Another process's news; None: ours, or not news at all."""
        try:
            m = json.loads(data)
            if m["origin"] == self._link.origin:
                return None
            return BreakerNews(
                str(m["route"]),
                bool(m["opened"]),
                open_s=max(0.0, float(m["open_s"])),
                hold_s=max(0.0, float(m["hold_s"])),
                reason=str(m.get("reason", "")),
            )
        except (TypeError, ValueError, KeyError):
            log.debug("not breaker news on %s: %r", self._channel, data)
            return None


async def _quietly_close(pubsub: Any, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await pubsub.aclose()
    except FAILURES:
        pass  # the connection is gone already
