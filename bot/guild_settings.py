"""Per-workspace settings: status channel, model chain, safety failover, admins.

The service-level operations the platforms' admin commands call. Each value is
one row (``guild_settings``), written by a single atomic upsert; what is not set
falls back to the installation's defaults (``IMAGINE_ADMIN_USERS``,
``IMAGINE_SAFETY_FAILOVER``, the configured chain). Quota overrides live with
the ledger (``Quotas.set_override``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.errors import InputError
from bot.store import Store


@dataclass(frozen=True, slots=True)
class GuildConfig:
    status_channel: str | None
    models: tuple[str, ...] | None  # None: the installation's chain
    safety_failover: bool
    admins: frozenset[str]  # stored admins plus IMAGINE_ADMIN_USERS


class GuildSettings:
    def __init__(
        self,
        store: Store,
        *,
        default_admins: Iterable[str] = (),
        default_safety_failover: bool = False,
        usable_model: Callable[[str], bool] = lambda _: True,
        resolve: Callable[[str], str] = lambda model_id: model_id,
    ) -> None:
        self._store = store
        self._admins = frozenset(a for a in default_admins if a)
        self._safety = default_safety_failover
        self._usable = usable_model
        self._resolve = resolve  # a shut-down id → its successor (stored chains keep working)

    async def get(self, workspace: str) -> GuildConfig:
        rows = await self._store.fetchall(
            "SELECT name, value FROM guild_settings WHERE workspace = ?", (workspace,)
        )
        values: dict[str, Any] = {row["name"]: json.loads(row["value"]) for row in rows}
        models = values.get("models")
        return GuildConfig(
            status_channel=values.get("status_channel"),
            models=tuple(dict.fromkeys(self._resolve(m) for m in models)) if models else None,
            safety_failover=bool(values.get("safety_failover", self._safety)),
            admins=self._admins | frozenset(values.get("admins", ())),
        )

    async def is_admin(self, workspace: str, user: str) -> bool:
        return user in (await self.get(workspace)).admins

    async def set_status_channel(self, workspace: str, channel: str | None, *, by: str) -> None:
        await self._put(workspace, "status_channel", channel, by)

    async def set_models(self, workspace: str, models: Iterable[str] | None, *, by: str) -> None:
        """The workspace's own chain, best first; None or empty: back to the default."""
        chain = [self._resolve(m.strip()) for m in models or () if m.strip()]
        unusable = [m for m in chain if not self._usable(m)]
        if unusable:
            raise InputError("unknown_model", ", ".join(unusable))
        await self._put(workspace, "models", list(dict.fromkeys(chain)) or None, by)

    async def set_safety_failover(self, workspace: str, on: bool, *, by: str) -> None:
        await self._put(workspace, "safety_failover", on, by)

    async def set_admins(self, workspace: str, users: Iterable[str], *, by: str) -> None:
        await self._put(workspace, "admins", sorted({u for u in users if u}) or None, by)

    async def _put(self, workspace: str, name: str, value: Any, by: str) -> None:
        if value is None:
            await self._store.execute(
                "DELETE FROM guild_settings WHERE workspace = ? AND name = ?", (workspace, name)
            )
            return
        await self._store.execute(
            "INSERT INTO guild_settings (workspace, name, value, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace, name) DO UPDATE SET "
            "value = excluded.value, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            (workspace, name, json.dumps(value), by, time.time()),
        )

    async def status_channels(self) -> dict[str, str]:
        """Every workspace that set a status channel: ``{workspace: channel}``."""
        rows = await self._store.fetchall(
            "SELECT workspace, value FROM guild_settings WHERE name = 'status_channel'"
        )
        return {row["workspace"]: json.loads(row["value"]) for row in rows}
