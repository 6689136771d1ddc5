"""``imagine-bot models [--json]``: the catalogue, what each channel offers, shutdown
dates and the chain. Asks each configured channel for its model list (no image is
made, nothing is spent); keys are never shown."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.cli.commands import EXIT_OK, Output, Wiring
from bot.catalog import Catalog, ModelSpec
from bot.config import Settings
from bot.freshness import Freshness


async def models(args: Any, settings: Settings, wiring: Wiring, out: Output) -> int:
    today = date.today()
    catalog = settings.catalog
    router, warnings = wiring.router(settings, today=today)
    try:
        freshness = Freshness(router, catalog, today=lambda: today)
        await freshness.check()
        offers = freshness.offers
        notices = [n.text for n in freshness.notices()]
        routes = [
            {
                "route": r.label,
                "model": r.model.id,
                "channel": r.provider.channel,
                "state": router.board[r.label].state().value,
                "offered": _offered(offers.get(r.provider.channel), r.model.id),
            }
            for r in router.routes
        ]
    finally:
        await router.aclose()
    chain = [{"configured": m, "model": catalog.resolve(m, today)} for m in catalog.chain]
    body = {
        "ok": True,
        "today": today.isoformat(),
        "chain": chain,
        "routes": routes,
        "channels": [
            {
                "channel": o.channel,
                "listed": o.models is not None,
                "error": o.error,
                "catalogue_models": sorted(set(o.models or ()) & set(catalog.models)),
            }
            for o in offers.values()
        ],
        "notices": notices,
        "warnings": warnings,
        "models": [_model(spec, today) for spec in catalog.models.values()],
        "retired": [
            {
                "id": r.id,
                "shut_down": r.shut_down.isoformat(),
                "successor": catalog.resolve(r.id, today),
                "source": r.source,
            }
            for r in catalog.retired.values()
        ],
    }
    out.emit(body, "\n".join(_text(body, catalog)))
    return EXIT_OK


def _offered(offer: Any, model: str) -> bool | None:
    if offer is None or offer.models is None:
        return None
    return model in offer.models


def _model(spec: ModelSpec, today: date) -> dict[str, Any]:
    return {
        "id": spec.id,
        "display": spec.display,
        "api": spec.api,
        "status": "shut down" if spec.is_retired(today) else spec.status,
        "channels": list(spec.channels),
        "sizes": list(spec.sizes),
        "aspect_ratios": list(spec.aspect_ratios),
        "max_refs": spec.max_refs,
        "edit": spec.edit,
        "multi_turn": spec.multi_turn,
        "thinking": list(spec.thinking),
        "price_usd": dict(spec.price),
        "latency_s": spec.latency_s,
        "shutdown": spec.retired.isoformat() if spec.retired else None,
        "successor": spec.replacement,
        "checked": spec.checked.isoformat() if spec.checked else None,
        "source": spec.source,
    }


def _text(body: dict[str, Any], catalog: Catalog) -> list[str]:
    chain = " → ".join(
        c["model"] if c["model"] == c["configured"] else f"{c['model']} (for {c['configured']})"
        for c in body["chain"]
    )
    lines = [f"Chain: {chain}", "", "Routes:"]
    for r in body["routes"]:
        seen = {True: "offered", False: "NOT offered", None: "no model list"}[r["offered"]]
        lines.append(f"  {r['route']:<32} {r['state']:<8} {seen} by {r['channel']}")
    if not body["routes"]:
        lines.append("  (none: no channel has a key; see `imagine-bot doctor`)")
    lines += ["", "Catalogue (prices USD per image 1K/2K/4K; checked on the date shown):"]
    for m in body["models"]:
        price = "/".join(f"{m['price_usd'].get(s, '–')}" for s in ("1K", "2K", "4K"))
        until = f", shuts down {m['shutdown']}" if m["shutdown"] else ""
        lines.append(
            f"  {m['id']:<30} {m['status']:<10} {','.join(m['sizes']):<9} refs {m['max_refs']:<2}"
            f" ${price}  ~{m['latency_s']:g}s  checked {m['checked'] or '?'}{until}"
        )
    lines += ["", "Shut down (requests go to the successor):"]
    lines += [f"  {r['id']:<30} {r['shut_down']}  → {r['successor']}" for r in body["retired"]]
    for label, items in (("Notices", body["notices"]), ("Warnings", body["warnings"])):
        if items:
            lines += ["", f"{label}:", *(f"  {item}" for item in items)]
    return lines
