"""Once per period, across restarts: "may I say this now?" as one atomic statement.

``claim(key, every_s)`` is true for the first caller and then false until
``every_s`` has passed since it was last said (e.g. a shutdown notice once per
model per week, however often the bot restarts or checks).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.store import Store


class NoticeLog:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store, self._clock = store, clock

    async def claim(self, key: str, *, every_s: float) -> bool:
        now = self._clock()
        row = await self._store.fetchone(
            "INSERT INTO notices (key, said_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET said_at = excluded.said_at WHERE notices.said_at <= ? RETURNING key",
            (key, now, now - every_s),
        )
        return row is not None
