"""What ``/imagine-admin …`` does, for every platform: the platform checks who may
run it (each has its own notion of a workspace admin) and renders the answer;
the change and the words said back are decided here, once.

    show                     the settings view (``None``: the platform draws it)
    status-channel           announce outages and recoveries in the caller's channel
    quota daily N            at most N images a day (0: unlimited; ≤ 1,000,000)
    budget USD               monthly cap in US dollars (0: unlimited; ≤ 1,000,000)
    models a,b,c | default   the workspace's model chain, best first
    safety-failover on|off   try the next model when one declines a prompt
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.bounds import MAX_BUDGET_USD, MAX_DAILY_IMAGES
from bot.errors import InputError
from bot.guild_settings import GuildSettings
from bot.quotas import Quotas

ADMIN_COMMANDS = (
    ("show", "see this workspace's settings"),
    ("status-channel", "announce model outages and recoveries in this channel"),
    (
        "quota daily N",
        f"at most N images a day for the workspace (0 = unlimited; N ≤ {MAX_DAILY_IMAGES:,})",
    ),
    ("budget USD", f"monthly spending cap in US dollars (0 = unlimited; ≤ {MAX_BUDGET_USD:,})"),
    ("models a,b,c", "the models to try, best first; `models default` goes back to the default"),
    ("safety-failover on|off", "when a model declines a prompt on safety grounds, try the next"),
)


class Help(str):
    """The answer is the usage text: the platform formats ``ADMIN_COMMANDS`` its way."""


@dataclass(frozen=True, slots=True)
class Admin:
    guilds: GuildSettings
    quotas: Quotas

    async def change(
        self, words: Sequence[str], *, workspace: str, user: str, channel: str, shown_as: str
    ) -> str | None:
        """Apply one admin command (already allowed); what to say, ``Help`` for an
        unknown one, None for ``show``. ``shown_as``: the caller's channel in the
        platform's words (``<#C1>``, ``#general``). ``InputError`` for a bad value."""
        verb = words[0].lower() if words else "show"
        args = list(words[1:])
        if verb == "show":
            return None
        if verb == "status-channel":
            await self.guilds.set_status_channel(workspace, channel, by=user)
            return f"Model outages and recoveries will be announced in {shown_as}."
        if verb == "quota" and len(args) == 2 and args[0].lower() == "daily":
            return await self.daily(workspace, int(number(args[1], whole=True)))
        if verb == "budget" and len(args) == 1:
            return await self.budget(workspace, number(args[0].lstrip("$")))
        if verb == "models" and len(args) >= 1:
            return await self.models(workspace, " ".join(args), by=user)
        if verb == "safety-failover" and len(args) == 1 and args[0].lower() in ("on", "off"):
            return await self.safety_failover(workspace, args[0].lower() == "on", by=user)
        return Help("help")

    async def daily(self, workspace: str, n: int) -> str:
        """InputError (naming the limit) past ``MAX_DAILY_IMAGES``."""
        if not 0 <= n <= MAX_DAILY_IMAGES:
            raise InputError("daily_too_large", f"{MAX_DAILY_IMAGES:,}")
        await self.quotas.set_override(workspace, daily_images=n)
        return f"Daily limit set to {n} images" + (" (unlimited)." if n == 0 else ".")

    async def budget(self, workspace: str, usd: float) -> str:
        """InputError (naming the limit) past ``MAX_BUDGET_USD``."""
        if not 0 <= usd <= MAX_BUDGET_USD:
            raise InputError("budget_too_large", f"{MAX_BUDGET_USD:,}")
        await self.quotas.set_override(workspace, monthly_budget_usd=usd)
        return f"Monthly budget set to ${usd:g}" + (" (unlimited)." if usd == 0 else ".")

    async def models(self, workspace: str, listed: str, *, by: str) -> str:
        chain = None if listed.strip().lower() == "default" else listed.replace(" ", "").split(",")
        await self.guilds.set_models(workspace, chain, by=by)
        return "Model chain: " + (", ".join(f"`{m}`" for m in chain) if chain else "default.")

    async def safety_failover(self, workspace: str, on: bool, *, by: str) -> str:
        await self.guilds.set_safety_failover(workspace, on, by=by)
        if on:
            return "A prompt one model declines on safety grounds will be tried on the next model."
        return "A prompt a model declines on safety grounds will not be tried elsewhere."


def number(text: str, *, whole: bool = False) -> float:
    """A typed number, 0 or more (the caller bounds it from above: its own limit)."""
    try:
        value = float(text)
    except ValueError:
        raise InputError("bad_number", text) from None
    if not math.isfinite(value) or value < 0 or (whole and value != int(value)):
        raise InputError("bad_number", text)
    return value
