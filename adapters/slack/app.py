"""The Slack platform: one ``AsyncApp`` with the bot's listeners, reached either
over **Socket Mode** (``SLACK_APP_TOKEN`` set: no public URL needed) or over
**HTTP** at ``/slack/events`` on the bot's own web server (``SLACK_SIGNING_SECRET``
verifies every request before its body is read: a missing, bad or stale signature
gets 401, a signed body that cannot be read 400 — ``http_events.py``; a payload
missing what a listener needs is answered in ``payloads.py``).

Either way several processes can share the work: Socket Mode gives each envelope to
one of the app's connections (up to 10: ``socket.py``), and in HTTP mode every
request is verified and handled by whichever process the load balancer picks.

Built in two steps (see ``adapters/app.py``): ``build_slack`` makes the client and
its sink, which the service is given; ``attach`` then registers the listeners
with the service and the admin commands with their parts.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

import aiohttp
import yarl
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.parts import Parts
from adapters.slack.commands import Commands
from adapters.slack.http_events import read_signed
from adapters.slack.listeners import Listeners
from adapters.slack.payloads import Screen
from adapters.slack.settings import SlackSettings
from adapters.slack.sink import SlackSink
from adapters.slack.socket import SocketHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


@dataclass
class SlackPlatform:
    settings: SlackSettings
    bolt: AsyncApp
    sink: SlackSink
    http: aiohttp.ClientSession  # one connection pool: Web API calls and file downloads
    _socket: SocketHandler | None = field(default=None, init=False)

    @property
    def socket_mode(self) -> bool:
        return self.settings.socket_mode

    def attach(self, parts: Parts) -> None:
        """The service (its sinks already include ours) and the admin commands' parts."""
        token, hosts = self.settings.bot_token, files_hosts(self.settings.api_url)
        Listeners(parts.service, token, self.http, hosts).register(self.bolt)
        Commands(parts.router, parts.quotas, parts.guilds, parts.user_rate, parts.history).register(
            self.bolt
        )

    def mount(self, web_app: web.Application) -> None:
        """HTTP mode: serve Slack's requests at ``/slack/events`` (Socket Mode: nothing
        is served — requests come only over the authenticated socket)."""
        if self.socket_mode:
            return

        secret = self.settings.signing_secret or ""  # HTTP mode: ``check`` made sure it is set

        async def events(request: web.Request) -> web.StreamResponse:
            bolt_request = await read_signed(request, secret)
            if isinstance(bolt_request, web.Response):
                return bolt_request
            return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

        web_app.router.add_post(EVENTS_PATH, events)

    async def start(self) -> None:
        if self.settings.app_token is not None:
            self._socket = SocketHandler(self.bolt, self.settings.app_token)
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


def build_slack(settings: SlackSettings) -> SlackPlatform:
    """The client and its sink (``settings.check()`` first); nothing connects until
    ``start``."""
    settings.check()
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, session=http)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    bolt = AsyncApp(
        client=client,
        # Socket Mode serves no HTTP route; a random secret makes sure nothing verifies
        signing_secret=settings.signing_secret or secrets.token_hex(32),
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    bolt.use(Screen())  # malformed payloads are answered before any listener is matched
    return SlackPlatform(settings, bolt, SlackSink(client), http)


def files_hosts(api_url: str) -> frozenset[str]:
    """Where attached files may be fetched with the bot token: Slack's file host, or
    the host of a configured Web API base (GovSlack, a proxy, tests) — never elsewhere."""
    host = yarl.URL(api_url).host or ""
    return frozenset({"files.slack.com", "files.slack-gov.com", host})
