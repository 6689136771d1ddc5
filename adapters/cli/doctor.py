"""``imagine-bot doctor``: is this installation able to make images? No image is
made (a test image costs money): each channel is only asked for its model list,
which is free. Keys are reported as set or missing, never shown. Also: shutdowns
coming up, and shut-down ids that stored settings or threads still name."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from adapters.cli.commands import EXIT_FAILED, EXIT_OK, Output, Wiring
from adapters.discord.settings import DiscordSettings
from adapters.slack.settings import SlackSettings
from adapters.web_guard import check_bind
from bot.aliases import stored_aliases
from bot.catalog import Catalog
from bot.config import Settings
from bot.errors import ConfigError
from bot.freshness import Freshness
from bot.router import Router
from bot.store import Store, database_path, scheme

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
            checks.extend(await _freshness(router, catalog))
        else:
            checks.append((FAIL, "no usable model: set GEMINI_API_KEY and/or OPENAI_API_KEY"))
    finally:
        await router.aclose()
    checks.extend(await _stored(settings, catalog))
    checks.extend(await _redis(settings))
    checks.extend(platform_checks(settings))
    return _report(out, checks)


async def _freshness(router: Router, catalog: Catalog) -> list[tuple[str, str]]:
    """What each channel's model list says (no image is made)."""
    fresh = Freshness(router, catalog)
    await fresh.check()
    found: list[tuple[str, str]] = []
    for offer in fresh.offers.values():
        if offer.error:
            found.append((WARN, f"channel {offer.channel}: model list unavailable ({offer.error})"))
    for route in router.routes:
        note = router.board[route.label].offline
        if note:
            found.append((FAIL, f"{route.label}: {note} — it is skipped"))
    found += [(WARN, notice.text) for notice in fresh.notices()]
    return found


async def _redis(settings: Settings) -> list[tuple[str, str]]:
    """With IMAGINE_REDIS_URL: does Redis answer (the URL's password never shown)."""
    if not settings.imagine_redis_url:
        return []
    from adapters.shared.link import RedisLink  # redis is imported only when configured

    link = RedisLink(settings.imagine_redis_url, timeout_s=2.0)
    try:
        answered = await link.run(link.client.ping, False)
    finally:
        await link.aclose()
    if answered:
        return [(OK, f"Redis at {link.where}: answers (health, rate limits shared)")]
    return [(FAIL, f"Redis at {link.where}: no answer — each process would be on its own")]


async def _stored(settings: Settings, catalog: Catalog) -> list[tuple[str, str]]:
    """Shut-down ids still named by the database (they keep working, via the successor)."""
    if scheme(settings.database_url) == "sqlite":  # a server database always exists
        path = database_path(settings.database_url)
        if path == ":memory:" or not await asyncio.to_thread(Path(path).is_file):
            return []
    try:
        store = await Store.open(settings.database_url, pool=settings.imagine_database_pool)
    except ConfigError as exc:  # e.g. PostgreSQL unreachable (the URL's password never shown)
        return [(FAIL, f"Database: {exc}")]
    async with store:
        stored = await stored_aliases(store, catalog, date.today())
    return [(WARN, text) for text in stored.values()]


def platform_checks(settings: Settings) -> list[tuple[str, str]]:
    """Which chat platforms ``imagine-bot run`` would start, and how (tokens never shown)."""
    found: list[tuple[str, str]] = []
    slack = SlackSettings.read(settings)
    if slack is not None:
        if not slack.app_token_ok:
            found.append((FAIL, "Slack: SLACK_APP_TOKEN is not an app-level token (xapp-…)"))
        elif slack.socket_mode:
            found.append((OK, "Slack: Socket Mode (SLACK_APP_TOKEN set; no public URL needed)"))
        elif slack.signing_secret:
            where = f"{settings.imagine_http_host}:{settings.imagine_http_port}/slack/events"
            found.append((OK, f"Slack: HTTP mode, requests signed, served at {where}"))
        else:
            missing = "Slack: SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor "
            found.append((FAIL, missing + "SLACK_SIGNING_SECRET is"))
    try:
        discord = DiscordSettings.read(settings)
    except ConfigError as exc:
        found.append((FAIL, f"Discord: {exc}"))
    else:
        if discord is not None:
            ids = ",".join(str(g) for g in discord.guild_ids)
            sync = f"commands synced to servers {ids}" if ids else "commands synced globally"
            found.append((OK, f"Discord: DISCORD_TOKEN set, {sync}, {_shards(discord)}"))
    secret = settings.imagine_web_token
    try:
        check_bind(settings.imagine_http_host, secret.get_secret_value() if secret else None)
    except ConfigError as exc:
        found.append((FAIL, f"Web server: {exc}"))
    mode = settings.imagine_playground
    if mode == "on" or (mode == "auto" and not found):
        where = f"http://{settings.imagine_http_host}:{settings.imagine_http_port}/"
        found.append((OK, f"Playground: served at {where} (IMAGINE_PLAYGROUND={mode})"))
    if not any(m.startswith(("Slack", "Discord")) for _, m in found):
        none = "no chat platform configured: Slack needs SLACK_BOT_TOKEN, Discord DISCORD_TOKEN"
        found.append((WARN if mode == "off" else OK, none))
    return found


def _report(out: Output, checks: list[tuple[str, str]]) -> int:
    failed = any(level == FAIL for level, _ in checks)
    out.emit(
        {"ok": not failed, "checks": [{"level": lv, "message": m} for lv, m in checks]},
        "\n".join(f"{MARK[lv]} {m}" for lv, m in checks),
    )
    return EXIT_FAILED if failed else EXIT_OK


def _shards(discord: DiscordSettings) -> str:
    if discord.shard_count is None:
        return "shards as Discord recommends, all in this process"
    if discord.shard_ids is None:
        return f"all {discord.shard_count} shards in this process"
    mine = ",".join(str(i) for i in discord.shard_ids)
    return f"shards {mine} of {discord.shard_count} in this process"
