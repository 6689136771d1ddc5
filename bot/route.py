"""The routing layer's ground floor: a route (one model on one channel), the
router's policy, and ``WalkKit`` — what one request's walk needs from the router.

Imports run one way: ``bot.route`` → ``bot.attempt`` (one call) → ``bot.answer``
(the result) → ``bot.walk`` (one request) → ``bot.router``. A walk is handed a
``WalkKit`` built by the router; it never sees the router itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.catalog import ModelSpec
from bot.health import HealthBoard
from bot.ports import Claims, Clock, ImageProvider, Pacer


@dataclass(frozen=True, slots=True)
class RouterPolicy:
    deadline_s: float = 120.0
    failover_on_safety: bool = False
    hedge: bool = True
    hedge_factor: float = 1.5
    hedge_min_s: float = 0.2
    server_retries: int = 1
    retry_base_s: float = 0.5
    misconfigured_hold_s: float = 600.0
    background_probes: int = 8  # probes per route left to finish after their race


@dataclass(frozen=True, slots=True)
class Route:
    label: str
    model: ModelSpec
    provider: ImageProvider
    rpm: int = 0  # its channel's pace (``bot.pacing``); 0: not paced

    @property
    def pace_key(self) -> str:
        """The same in every process (labels may differ with their chains)."""
        return f"{self.provider.channel}:{self.model.id}"


# May this probe, which lost its request's race, finish in the background?
# (route label, its task) → False: cancel it as usual.
KeepProbe = Callable[[str, asyncio.Task[Any]], bool]


@dataclass(frozen=True, slots=True)
class WalkKit:
    """What a walk needs, and all it gets: the policy, the health board it reads and
    feeds, time and chance, every route (a failure speaks for its channel's other
    routes), the name of a model's successor, a keeper for probes that lost their
    race, the pacer that says whether a paced route has a call left this minute, and
    the claims that let one process of several probe a sick route (None: alone)."""

    policy: RouterPolicy
    board: HealthBoard
    clock: Clock
    rng: random.Random
    routes: Sequence[Route]  # all of them, in chain order
    successor: Callable[[str], str | None]  # the model its vendor names as a successor
    keep_probe: KeepProbe
    pacer: Pacer
    probes: Claims | None = None
