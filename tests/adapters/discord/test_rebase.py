"""DISCORD_API_BASE / DISCORD_GATEWAY_URL move the bot's own discord.py client and
nothing else: discord.py's defaults stay, so another client in the process still
talks to Discord. (The whole bot over the fake Discord: tests/platforms.)"""

from __future__ import annotations

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.app import ImagineBot
from adapters.discord.rebase import Rebase, RebasedHTTPClient
from adapters.discord.settings import DiscordSettings

API = "http://127.0.0.1:9/api/v10"
GATEWAY = "ws://127.0.0.1:8"
DEFAULTS = ("https://discord.com/api/v10", yarl.URL("wss://gateway.discord.gg/"))


def settings(**kw: object) -> DiscordSettings:
    base = {"guild_ids": (), "message_content": True, "api_base": API, "gateway_url": GATEWAY}
    return DiscordSettings(token="not-a-token", **{**base, **kw})  # type: ignore[arg-type]


def test_rest_and_gateway_urls_are_rebased() -> None:
    rebase = Rebase(API, GATEWAY)
    me = Route("GET", "/users/@me")
    assert rebase(me.url) == f"{API}/users/@me"
    hook = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t")
    assert rebase(hook.url) == f"{API}/webhooks/1/t"  # interaction follow-ups go this way
    first = DiscordWebSocket.DEFAULT_GATEWAY.with_query(v=10, encoding="json")
    assert rebase(str(first)) == str(yarl.URL(GATEWAY).with_query(v=10, encoding="json"))
    resume = "ws://127.0.0.1:7/?v=10"  # Discord's resume_gateway_url: left as given
    attachment = "http://127.0.0.1:6/attachments/1/2/cat.png"
    assert rebase(resume) == resume and rebase(attachment) == attachment
    assert Rebase(None, None)(me.url) == me.url


def test_only_the_bot_s_client_moves() -> None:
    bot = ImagineBot(settings())
    assert isinstance(bot.http, RebasedHTTPClient)
    assert bot._connection.http is bot.http  # interactions and webhooks use this one too
    assert bot.tree._http is bot.http  # and so does the command tree (its sync)
    other = discord.Client(intents=discord.Intents.none())
    assert type(other.http) is discord.http.HTTPClient
    assert (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY) == DEFAULTS


def test_without_a_proxy_the_client_is_discord_py_s_own() -> None:
    bot = ImagineBot(settings(api_base=None, gateway_url=None))
    assert type(bot.http) is discord.http.HTTPClient
