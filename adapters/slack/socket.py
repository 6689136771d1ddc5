"""Socket Mode for one process among several: Slack lets an app hold up to 10 Socket
Mode connections and gives each envelope to one of them, so up to 10 ``imagine-bot
run`` processes share the work (their jobs, quotas and de-duplication are in the
shared database). One more is refused: Slack answers its connection with
``{"type": "disconnect", "reason": "too_many_websockets"}`` (slackapi/bolt-js#2225 and
#2021; https://api.slack.com/apis/socket-mode, checked 2026-12-07).

slack-sdk's client reconnects at once on any ``disconnect``, so a refused process
would call ``apps.connections.open`` in a tight loop (1,500 times in 2 s against the
test fake; Slack rate-limits the method, Tier 3). ``SocketHandler`` is bolt's
``AsyncSocketModeHandler`` with a client that, after such a refusal, says so once and
waits (1 s, doubling to a minute) before trying again; a ``hello`` resets it, and
closing ends the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient

log = logging.getLogger(__name__)

REFUSED = "too_many_websockets"
FIRST_WAIT_S = 1.0
LONGEST_WAIT_S = 60.0


class RefusalAwareClient(SocketModeClient):
    """slack-sdk's aiohttp Socket Mode client, which waits after Slack refuses it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refusals = 0  # in a row, since the last hello
        self._tries = 0  # reconnections begun (the monitor and the disconnect both ask)
        self._closing = asyncio.Event()

    async def run_message_listeners(self, message: dict[str, Any], raw_message: str) -> None:
        kind = message.get("type")
        if kind == "hello":
            if self.refusals:
                log.info("Slack: Socket Mode connected after %d refusals", self.refusals)
            self.refusals = 0
        elif kind == "disconnect" and message.get("reason") == REFUSED:
            self.refusals += 1
            if self.refusals == 1:
                log.warning(
                    "Slack refused this Socket Mode connection: the app already has its "
                    "maximum of 10 (too_many_websockets) — run at most 10 processes in "
                    "Socket Mode, or use HTTP mode; trying again with growing waits"
                )
        await super().run_message_listeners(message, raw_message)

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        if self.refusals:
            tries = self._tries
            wait = min(LONGEST_WAIT_S, FIRST_WAIT_S * 2 ** (self.refusals - 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), wait)
            if self.closed or self._closing.is_set() or self._tries != tries:
                return  # closing, or another path has tried meanwhile
        self._tries += 1
        await super().connect_to_new_endpoint(force)

    async def close(self) -> None:
        self._closing.set()
        await super().close()  # type: ignore[no-untyped-call]


class SocketHandler(AsyncSocketModeHandler):
    """bolt's handler (``handle`` turns each envelope into a bolt request and acks it)
    over ``RefusalAwareClient``."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.app = app
        self.app_token = app_token
        self.client = RefusalAwareClient(
            app_token=app_token, logger=app.logger, web_client=app.client, ping_interval=10
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
