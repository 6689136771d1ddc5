"""``/imagine-status``, ``/imagine-usage`` and ``/imagine-admin`` in the playground:
answered to the caller alone, as plain lines (the page shows them as text).

The playground is one workspace on the machine it runs on. With no admins named
(``IMAGINE_ADMIN_USERS`` or stored), whoever can open the page (loopback, or
with ``IMAGINE_WEB_TOKEN``) is its admin; with some, only those names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.parts import Parts
from bot.admin import ADMIN_COMMANDS, Admin, Help
from bot.errors import InputError
from bot.messages import user_error
from bot.status_text import status_lines, status_view
from bot.usage_text import budget, usage_view

NOT_ADMIN = (
    "Only the users listed in IMAGINE_ADMIN_USERS can change imagine-bot's settings here. "
    "Nothing was changed."
)


@dataclass(frozen=True, slots=True)
class Commands:
    parts: Parts
    workspace: str  # the ledger's key: "playground:local"

    def status(self) -> str:
        return "\n".join(status_lines(status_view(self.parts.router.board, datetime.now(UTC))))

    async def usage(self, user: str) -> str:
        quotas = self.parts.quotas
        whole = await quotas.usage(self.workspace)
        mine = await quotas.usage(self.workspace, user=user)
        v = usage_view(workspace=whole, mine=mine, limits=whole.limits, rate=self.parts.user_rate)
        lines = [
            f"Workspace images today: {v.today} (resets {v.daily_resets})",
            f"Workspace spend this month: {v.spent} (resets {v.monthly_resets})",
            f"You today: {v.you_today} · this month: {v.you_month}",
        ]
        lines += [f"`{model}` — {line}" for model, line in v.by_model]
        return "\n".join([*lines, " · ".join(v.notes)])

    async def admin(self, user: str, channel: str, words: list[str]) -> str:
        admins = (await self.parts.guilds.get(self.workspace)).admins
        if admins and user not in admins:
            return NOT_ADMIN
        changes = Admin(self.parts.guilds, self.parts.quotas)
        try:
            said = await changes.change(
                words, workspace=self.workspace, user=user, channel=channel, shown_as=f"#{channel}"
            )
        except InputError as exc:
            return user_error(exc).message
        if isinstance(said, Help):
            lines = [f"/imagine-admin {name} — {what}" for name, what in ADMIN_COMMANDS]
            return "\n".join(["/imagine-admin — workspace settings:", *lines])
        return said if said is not None else await self._settings()

    async def _settings(self) -> str:
        cfg = await self.parts.guilds.get(self.workspace)
        limits = await self.parts.quotas.get_limits(self.workspace)
        default = [r.model.id for r in self.parts.router.routes]
        chain = list(cfg.models) if cfg.models else default
        origin = "set here" if cfg.models else "the default"
        return "\n".join(
            [
                "imagine-bot settings",
                f"Status channel: #{cfg.status_channel}"
                if cfg.status_channel
                else "Status channel: not set (run /imagine-admin status-channel in a channel)",
                f"Daily images: {limits.daily_images or 'unlimited'}",
                f"Monthly budget: {budget(limits)}",
                f"Safety failover: {'on' if cfg.safety_failover else 'off'}",
                f"Models ({origin}): {' → '.join(chain) or 'none'}",
            ]
        )
