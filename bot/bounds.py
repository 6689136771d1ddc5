"""The largest numbers a person can type or configure, in one place: the settings
(``bot.config``), ``/imagine-admin quota`` / ``budget`` (``bot.admin``, and Discord's
typed options), the ledger (``bot.quotas``) and the README's *Limits* table agree.

Money is kept in integer micro-dollars in a 64-bit INTEGER column: the largest
budget, $1,000,000, is 10¹² of them, far inside the 9.2 × 10¹⁸ the column holds,
and sums of a month's images stay there too.
"""

from __future__ import annotations

import math

MAX_DAILY_IMAGES = 1_000_000  # images a workspace may make a day (0: unlimited)
MAX_BUDGET_USD = 1_000_000  # USD a workspace may spend a month (0: unlimited)
MAX_WORKERS = 1_000  # jobs generating at once, all workspaces
MAX_GUILD_CONCURRENCY = 1_000  # jobs of one workspace generating at once (0: unlimited)
MAX_DEADLINE_S = 3_600  # one request's whole walk down the chain
MAX_HISTORY_MB = 1_024  # history sent with an edit
MAX_WAIT_S = 86_400  # shutdown grace, announcement settle and cool-down
MIN_LEASE_S, MAX_LEASE_S = 1, 3_600  # how long a silent process keeps its jobs
MAX_DB_POOL = 100  # PostgreSQL connections one process may hold
MAX_ASPECT_SIDE = 10_000  # either side of an aspect ratio (3840:2160 is 16:9)
MAX_RPM = 100_000  # a route's requests per minute (0: not paced); the window keeps each call


def finite_or_none(value: object) -> object:
    """``value`` with every NaN or infinite float (in dicts and lists) as None, so that
    ``json.dumps(..., allow_nan=False)`` always writes valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def check_rpm(value: object, where: str) -> int:
    """A configured ``rpm``: a whole number from 0 (not paced) to ``MAX_RPM``; anything
    else is a ``ValueError`` naming ``where`` and the value."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_RPM
    if not ok:
        raise ValueError(
            f"{where}: rpm must be a whole number of requests per minute from 0 (not "
            f"paced) to {MAX_RPM:,}, not {value!r}"
        )
    assert isinstance(value, int)
    return value
