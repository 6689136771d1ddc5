"""Slack's side of Socket Mode for ``FakeSlack``: the WebSocket at ``/link/`` that a
ticket from ``apps.connections.open`` opens, and the envelopes Slack pushes down it.

As Slack does (checked 2026-12-07):

- an app may hold **up to 10** Socket Mode connections at once; each envelope goes to
  **one** of them (https://api.slack.com/apis/socket-mode; bolt-python#1105, Slack's
  zimeg: "You're right to find the limit of 10 open connections");
- the 11th is told ``{"type": "disconnect", "reason": "too_many_websockets"}`` instead of
  ``hello`` (bolt-js#2021's wire log; bolt-js#2225, Slack's filmaj: "each Slack app ID is
  allowed a maximum of 10 concurrent websocket (socket-mode) connections");
- an envelope is acked by sending back its ``envelope_id`` within 3 s; an ``events_api``
  envelope that is not is delivered again, up to 3 more times (the Events API's retry
  policy, as secondary sources describe it; the primary page was not readable here),
  with ``retry_attempt`` counting up and ``retry_reason: "timeout"`` — the Socket Mode
  values slackapi/java-slack-sdk's ``EventContext`` comment and node-slack-sdk's tests
  show. Slash commands and clicks carry no retry fields and are not retried (the
  person is shown an error): the fake records them in ``unacked``. Unconfirmed at the
  source: whether Slack ever re-sends a command envelope over Socket Mode.

The fake spreads envelopes round-robin over the open connections, skipping any it has
asked to reconnect (``socket_disconnect``) while another is open; a retry goes to the
next connection, so usually another one. ``ack_timeout`` may be shortened in tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tests.platforms.slack_fake_wire import SLACK_ACK_DEADLINE, Workspace

Json = dict[str, Any]
MAX_CONNECTIONS = 10
EVENT_RETRIES = 3
RETRY_REASON = "timeout"


@dataclass
class Link:
    """One open Socket Mode connection; ``n`` counts connections in the order opened."""

    n: int
    ws: web.WebSocketResponse
    draining: bool = False  # told to reconnect: nothing new while another link is open
    envelopes: list[str] = field(default_factory=list)  # envelope_ids delivered here


@dataclass(frozen=True)
class Sent:
    """One envelope on the wire: which connection got it, and which attempt it was."""

    link: int
    envelope_id: str
    type: str
    retry_attempt: int


class SocketMode:
    ws: Workspace
    tickets: set[str]
    acks: dict[str, Json]
    # and, from SlackState: touch() and wait_for()

    def _init_socket_mode(self) -> None:
        self.socket_messages: list[Json] = []  # every text frame a Socket Mode client sent
        self.links: list[Link] = []  # open connections, oldest first
        self.sent: list[Sent] = []  # every envelope delivered, retries included
        self.unacked: list[str] = []  # commands/clicks nobody acked in time (not retried)
        self.refused_links = 0  # connections turned away: too_many_websockets
        self.ack_timeout = SLACK_ACK_DEADLINE
        self._opened = 0
        self._turn = 0
        self._watchers: set[asyncio.Task[None]] = set()

    @property
    def sockets(self) -> list[web.WebSocketResponse]:
        return [link.ws for link in self.links]

    async def _close_sockets(self) -> None:
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        for link in list(self.links):
            await link.ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack stopping")

    # -- server side ---------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(timeout=1.0)  # autoping answers the SDK's pings
        await ws.prepare(request)
        self._opened += 1
        if len(self.links) >= MAX_CONNECTIONS:
            self.refused_links += 1
            host = f"applink-{self._opened}"
            await ws.send_str(
                json.dumps(
                    {
                        "type": "disconnect",
                        "reason": "too_many_websockets",
                        "debug_info": {"host": host},
                    }
                )
            )
            await ws.close()
            self.touch()
            return ws
        link = Link(self._opened, ws)
        self.links.append(link)
        await ws.send_str(json.dumps(self._hello(link)))
        self.touch()
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                self.socket_messages.append(message)
                if isinstance(message, dict) and message.get("envelope_id"):
                    self.acks.setdefault(str(message["envelope_id"]), message)
                self.touch()
        finally:
            self.links.remove(link)
            self.touch()
        return ws

    def _hello(self, link: Link) -> Json:
        return {
            "type": "hello",
            "num_connections": len(self.links),
            "debug_info": {
                "host": f"applink-fake-{link.n}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.ws.api_app_id},
        }

    # -- what Slack sends --------------------------------------------------------------

    async def socket_send(
        self,
        type: str,
        payload: Json,
        *,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109 - a test helper's deadline, as in wait_for
    ) -> str:
        """Push an envelope (``slash_commands``/``events_api``/``interactive``) to one open
        connection (the next in turn), waiting up to ``timeout`` for one; an unacked event
        is sent again (see the module). Returns the ``envelope_id``."""
        envelope: Json = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "payload": payload,
            "type": type,
            "accepts_response_payload": type == "slash_commands"
            or payload.get("type") in ("view_submission", "block_suggestion"),
        }
        if type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        link = await self.wait_for(self._next_link, timeout)
        await self._deliver(link, envelope)
        return str(envelope["envelope_id"])

    def _next_link(self, avoid: int | None = None) -> Link | None:
        ready = [link for link in self.links if not link.draining] or list(self.links)
        others = [link for link in ready if link.n != avoid] or ready
        if not others:
            return None
        self._turn += 1
        return others[self._turn % len(others)]

    async def _deliver(self, link: Link, envelope: Json) -> None:
        envelope_id = str(envelope["envelope_id"])
        link.envelopes.append(envelope_id)
        self.sent.append(
            Sent(link.n, envelope_id, str(envelope["type"]), int(envelope.get("retry_attempt", 0)))
        )
        try:
            await link.ws.send_str(json.dumps(envelope))
        except ConnectionError:
            pass  # closing under us: unacked, so retried (an event) or lost (as on Slack)
        task = asyncio.create_task(self._await_ack(link, envelope))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        self.touch()

    async def _await_ack(self, link: Link, envelope: Json) -> None:
        envelope_id = str(envelope["envelope_id"])
        try:
            await self.wait_for(lambda: envelope_id in self.acks, self.ack_timeout)
            return
        except TimeoutError:
            pass
        attempt = int(envelope.get("retry_attempt", 0))
        if envelope["type"] != "events_api" or attempt >= EVENT_RETRIES:
            self.unacked.append(envelope_id)
            self.touch()
            return
        again = {**envelope, "retry_attempt": attempt + 1, "retry_reason": RETRY_REASON}
        try:
            target = await self.wait_for(lambda: self._next_link(avoid=link.n), 5.0)
        except TimeoutError:
            self.unacked.append(envelope_id)
            return
        await self._deliver(target, again)

    def delivered_to(self, envelope_id: str) -> list[int]:
        """The connections (``Link.n``) an envelope went to, in order."""
        return [s.link for s in self.sent if s.envelope_id == envelope_id]

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> Json:  # noqa: ASYNC109
        """The client's ``{"envelope_id": ..., "payload"?: ...}`` for that envelope."""
        return await self.wait_for(lambda: self.acks.get(envelope_id), timeout)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask connected clients to reconnect, as Slack does every few hours."""
        for link in list(self.links):
            link.draining = True
            await link.ws.send_str(
                json.dumps(
                    {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-1"}}
                )
            )
