"""``imagine-bot doctor``: is this installation able to make images? No API calls
are made (a test image costs money); keys are reported as set or missing, never shown."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.cli import EXIT_FAILED, EXIT_OK, Output, Wiring
from bot.config import Settings
from bot.errors import ConfigError

OK, WARN, FAIL = "ok", "warn", "fail"
MARK = {OK: "✔", WARN: "⚠", FAIL: "✘"}


async def doctor(args: Any, settings: Settings, wiring: Wiring, out: Output) -> int:
    checks: list[tuple[str, str]] = []
    if settings.imagine_config is not None and not settings.imagine_config.is_file():
        checks.append((FAIL, f"IMAGINE_CONFIG={settings.imagine_config} does not exist"))
    try:
        catalog = settings.catalog
    except ConfigError as exc:
        checks.append((FAIL, f"model catalogue: {exc}"))
        return _report(out, checks)
    checks.append(
        (OK, f"catalogue: {len(catalog.models)} models, chain {' → '.join(catalog.chain)}")
    )
    used = {c for m in catalog.chain if m in catalog.models for c in catalog.models[m].channels}
    for name in sorted(used & set(catalog.channels)):
        channel = catalog.channels[name]
        key = settings.lookup(channel.api_key_env)
        base = channel.base_url or settings.lookup(channel.base_url_env) or "vendor default"
        if key or channel.vertex:
            checks.append(
                (OK, f"channel {name} ({channel.kind}): {channel.api_key_env} set, endpoint {base}")
            )
        else:
            checks.append(
                (
                    WARN,
                    f"channel {name} ({channel.kind}): {channel.api_key_env} is "
                    f"not set — its models are skipped",
                )
            )
    router, warnings = wiring.router(settings, today=date.today())
    try:
        for warning in warnings:
            if not any(warning in message for _, message in checks):
                checks.append((WARN, warning))
        if router.routes:
            checks.append((OK, "usable routes: " + ", ".join(r.label for r in router.routes)))
        else:
            checks.append((FAIL, "no usable model: set GEMINI_API_KEY and/or OPENAI_API_KEY"))
    finally:
        await router.aclose()
    return _report(out, checks)


def _report(out: Output, checks: list[tuple[str, str]]) -> int:
    failed = any(level == FAIL for level, _ in checks)
    out.emit(
        {"ok": not failed, "checks": [{"level": lv, "message": m} for lv, m in checks]},
        "\n".join(f"{MARK[lv]} {m}" for lv, m in checks),
    )
    return EXIT_FAILED if failed else EXIT_OK
