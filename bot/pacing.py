"""Provider pacing in one process: at most ``rpm`` calls to a route in any 60 seconds.

A vendor's rate limit is counted per project (or key) and per model — Gemini:
"Rate limits are applied per project, not per API key", and they "vary depending on
the specific model" (https://ai.google.dev/gemini-api/docs/rate-limits); OpenAI keeps
a project's limits per model (``max_requests_per_1_minute``, the project rate-limits
API) — so the pace is kept per route: one model on one channel (its key). ``rpm`` is
set per channel in the catalogue (``[channels.<name>] rpm = 60``; 0 or absent: not
paced) and applies to each model on it. Checked 2026-12-07.

The window slides (the last 60 s, not the clock's minute), so no minute ever holds
more than ``rpm`` calls. A route with no place left is passed over like a busy one:
the walk goes on to the next model at once and never waits for the minute to pass.
Processes sharing a Redis share the count (``adapters.shared.pacing``).
"""

from __future__ import annotations

import time
from collections import deque

from bot.bounds import MAX_RPM
from bot.ports import Clock

WINDOW_S = 60.0

__all__ = ["MAX_RPM", "WINDOW_S", "LocalPacer"]


class LocalPacer:
    """A ``bot.ports.Pacer`` in memory: the times of the last minute's calls per key."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    async def take(self, key: str, *, rpm: int) -> bool:
        return self.take_now(key, rpm=rpm)

    def take_now(self, key: str, *, rpm: int) -> bool:
        """``take`` without awaiting (the Redis pacer falls back to it)."""
        if rpm <= 0:
            return True
        now = self._clock()
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - WINDOW_S:
            sent.popleft()
        if len(sent) >= rpm:
            return False
        sent.append(now)
        return True
