"""The Slack platform: one ``AsyncApp`` with the bot's listeners, reached either
over **Socket Mode** (``SLACK_APP_TOKEN`` set: no public URL needed) or over
**HTTP** at ``/slack/events`` on the bot's own web server (``SLACK_SIGNING_SECRET``
verifies every request; a bad or stale signature gets 401).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

import aiohttp
import yarl
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.compose import App
from adapters.slack.commands import Commands
from adapters.slack.listeners import Listeners
from adapters.slack.sink import SlackSink
from bot.config import Settings
from bot.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = "https://slack.com/api/"


@dataclass
class SlackPlatform:
    bolt: AsyncApp
    sink: SlackSink
    app_token: str | None
    http: aiohttp.ClientSession  # one connection pool: Web API calls and file downloads
    _socket: AsyncSocketModeHandler | None = field(default=None, init=False)

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def mount(self, web_app: web.Application) -> None:
        """HTTP mode: serve Slack's requests at ``/slack/events`` (Socket Mode: nothing
        is served — requests come only over the authenticated socket)."""
        if self.socket_mode:
            return

        async def events(request: web.Request) -> web.StreamResponse:
            response = await self.bolt.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app.router.add_post(EVENTS_PATH, events)

    async def start(self) -> None:
        if self.app_token is not None:
            self._socket = AsyncSocketModeHandler(self.bolt, self.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode")
        else:
            log.info("Slack: taking requests at %s", EVENTS_PATH)

    async def aclose(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None

    async def close_http(self) -> None:
        """After the jobs: they still post through this pool while they finish."""
        await self.http.close()


def build_slack(app: App, settings: Settings) -> SlackPlatform | None:
    """The Slack platform if ``SLACK_BOT_TOKEN`` is set, else None."""
    token = settings.lookup("SLACK_BOT_TOKEN")
    if not token:
        return None
    app_token = settings.lookup("SLACK_APP_TOKEN")
    secret = settings.lookup("SLACK_SIGNING_SECRET")
    if not app_token and not secret:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
            "SLACK_SIGNING_SECRET (HTTP mode) is"
        )
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…)")
    base_url = (settings.lookup("SLACK_API_URL") or DEFAULT_API_URL).rstrip("/") + "/"
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    client = AsyncWebClient(token=token, base_url=base_url, session=http)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    bolt = AsyncApp(
        client=client,
        # Socket Mode serves no HTTP route; a random secret makes sure nothing verifies
        signing_secret=secret or secrets.token_hex(32),
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    Listeners(app.service, token, http, files_hosts(base_url)).register(bolt)
    Commands(app.router, app.quotas, app.guilds, settings.imagine_user_rate or None).register(bolt)
    sink = SlackSink(client)
    app.service.sinks["slack"] = sink
    return SlackPlatform(bolt, sink, app_token, http)


def files_hosts(api_url: str) -> frozenset[str]:
    """Where attached files may be fetched with the bot token: Slack's file host, or
    the host of a configured Web API base (GovSlack, a proxy, tests) — never elsewhere."""
    host = yarl.URL(api_url).host or ""
    return frozenset({"files.slack.com", "files.slack-gov.com", host})
