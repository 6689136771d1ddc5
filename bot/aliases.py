"""Shut-down model ids → their successors, wherever an id comes from.

The configured chain, a workspace's stored chain, a stored thread's model and a
queued job's thread all pass through one ``Aliases`` (the router holds it), so
nothing a team stored breaks when a vendor shuts a model down. Each old id is
logged once per process, naming both ids.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date

from bot.catalog import Catalog
from bot.store import Store

log = logging.getLogger(__name__)


class Aliases:
    def __init__(
        self,
        catalog: Catalog,
        *,
        today: Callable[[], date] = date.today,
        warned: Iterable[str] = (),
    ) -> None:
        self._catalog = catalog
        self._today = today
        self._warned = set(warned)  # ids already reported (e.g. in the start-up warnings)

    def __call__(self, model_id: str) -> str:
        today = self._today()
        new = self._catalog.resolve(model_id, today)
        if new != model_id and model_id not in self._warned:
            self._warned.add(model_id)
            log.warning("%s", self._catalog.alias_warning(model_id, new, today))
        return new

    def chain(self, ids: Iterable[str]) -> list[str]:
        """``ids`` resolved, in order, without repeats."""
        return list(dict.fromkeys(self(m) for m in ids))

    def warned(self, ids: Iterable[str]) -> None:
        """``ids`` were reported already (at start-up): no second warning."""
        self._warned.update(ids)

    def successor(self, model_id: str) -> str | None:
        """The successor its vendor names (for "X is gone — use Y")."""
        return self._catalog.successor(model_id)


async def stored_aliases(store: Store, catalog: Catalog, today: date) -> dict[str, str]:
    """One warning per shut-down id that something stored still names (a workspace's
    chain, a thread's model, a queued job's thread), with where and its successor."""
    places: dict[str, list[str]] = {}
    rows = await store.fetchall("SELECT value FROM guild_settings WHERE name = 'models'")
    for row in rows:
        for model_id in _ids(row["value"]):
            places.setdefault(model_id, []).append("workspace chain")
    gone = sorted(
        {*catalog.retired, *(m.id for m in catalog.models.values() if m.is_retired(today))}
    )
    marks = ",".join("?" * len(gone))
    # only threads on a shut-down id: no scan of the rest (none: PostgreSQL refuses IN ())
    on_gone = (
        await store.fetchall(
            "SELECT s.model, count(*) AS n, sum(CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE"
            " j.state IN ('queued', 'running') AND j.platform = s.platform"
            " AND j.workspace = s.workspace AND j.channel = s.channel AND j.thread = s.thread)"
            " THEN 1 ELSE 0 END) AS queued"
            f" FROM sessions s WHERE s.model IN ({marks}) GROUP BY s.model",
            gone,
        )
        if gone
        else []
    )
    for row in on_gone:
        threads = f"{row['n']} thread(s)"
        if row["queued"]:
            threads += f", {row['queued']} with queued jobs"
        places.setdefault(row["model"], []).append(threads)
    out: dict[str, str] = {}
    for old, found in sorted(places.items()):
        new = catalog.resolve(old, today)
        if new != old:
            counts = Counter(found)
            said = ", ".join(f"{n} {w}s" if n > 1 else w for w, n in counts.items())
            out[old] = f"{catalog.alias_warning(old, new, today)} (stored in: {said})"
    return out


def _ids(value: str) -> list[str]:
    try:
        ids = json.loads(value)
    except ValueError:
        return []
    return [m for m in ids if isinstance(m, str)] if isinstance(ids, list) else []
