"""``imagine-bot usage``: a workspace's images and spend, per model and user, with its limits."""

from __future__ import annotations

from typing import Any

from adapters.cli.commands import EXIT_OK, Output, Wiring
from bot.config import Settings


def ledger_key(guild: str) -> str:
    """CLI guilds live under "cli:"; a full key ("slack:T123") is taken as it is."""
    return guild if ":" in guild else f"cli:{guild}"


async def usage(args: Any, settings: Settings, wiring: Wiring, out: Output) -> int:
    workspace = ledger_key(args.guild)
    async with wiring.app(settings) as app:
        u = await app.quotas.usage(workspace)
    daily = u.limits.daily_images or "unlimited"
    budget = f"${u.limits.monthly_budget_usd:.2f}" if u.limits.monthly_budget_usd else "unlimited"
    lines = [
        f"{workspace}: {u.images_today} images today (limit {daily}, resets "
        f"{u.daily_resets_at:%Y-%m-%d %H:%M} UTC)",
        f"spent ${u.spent_usd:.3f} this month (budget {budget}, resets "
        f"{u.monthly_resets_at:%Y-%m-%d} UTC)",
    ]
    for title, table in (("by model", u.by_model), ("by user", u.by_user)):
        for name, t in sorted(table.items()):
            lines.append(f"  {title}: {name:<28} {t.images_month:>4} images  ${t.spent_usd:.3f}")
    obj = {
        "workspace": workspace,
        "images_today": u.images_today,
        "spent_usd": u.spent_usd,
        "reserved_usd": u.reserved_usd,
        "limits": {
            "daily_images": u.limits.daily_images,
            "monthly_budget_usd": u.limits.monthly_budget_usd,
        },
        "daily_resets_at": u.daily_resets_at.isoformat(),
        "monthly_resets_at": u.monthly_resets_at.isoformat(),
        "by_model": {k: vars_of(t) for k, t in u.by_model.items()},
        "by_user": {k: vars_of(t) for k, t in u.by_user.items()},
    }
    out.emit(obj, "\n".join(lines))
    return EXIT_OK


def vars_of(tally: Any) -> dict[str, Any]:
    return {
        "images_today": tally.images_today,
        "images_month": tally.images_month,
        "spent_usd": tally.spent_usd,
    }
