"""FakeSlack: Slack's side of the wire on 127.0.0.1, for the real slack_sdk / slack_bolt.

    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        app = AsyncApp(client=client, signing_secret=fake.signing_secret)
        async with serve(app.web_app(path="/slack/events")) as bot:
            status, body, elapsed = await fake.slash_command(f"{bot}/slack/events", text="a fox")
            await fake.wait_for(lambda: fake.bot_messages(fake.default_channel))

It serves the Web API (``/api/<method>``, recorded in ``fake.calls``), upload
URLs, ``url_private`` downloads (bot token required, else Slack's HTML login
page), ``response_url``s and Socket Mode (``apps.connections.open`` + WebSocket, up to
ten connections, each envelope to one of them: ``slack_fake_socket``);
and it sends what Slack sends: signed slash commands, events and button clicks.
Web API state and methods: ``slack_fake_state``; what Slack sends (payloads,
signed POSTs): ``slack_fake_send``; shapes, signing, block limits: ``slack_fake_wire``
(image blocks and elements take only PNG, JPEG or GIF files, as Slack's do).
Close Socket Mode clients before the fake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.platforms.slack_fake_send import Delivery, SlackSends
from tests.platforms.slack_fake_socket import MAX_CONNECTIONS, SocketMode
from tests.platforms.slack_fake_state import Json
from tests.platforms.slack_fake_wire import LOGIN_PAGE, SLACK_ACK_DEADLINE, Workspace

__all__ = [
    "MAX_CONNECTIONS",
    "SLACK_ACK_DEADLINE",
    "Delivery",
    "FakeSlack",
    "Workspace",
    "serve",
]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app (e.g. ``AsyncApp.web_app()``) on 127.0.0.1:<random>; yield its URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class FakeSlack(SlackSends, SocketMode):
    """Slack on 127.0.0.1:<random>. Identity (``bot_token``, ``team_id``...), payload
    builders and signed delivery come from ``SlackSends``; state from ``SlackState``;
    Socket Mode (several connections, one gets each envelope) from ``SocketMode``."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        default_user: str = "U0FAKEUSER1",
        default_channel: str = "C0FAKECHAN1",
    ) -> None:
        super().__init__(workspace, default_user=default_user, default_channel=default_channel)
        self._init_socket_mode()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{tail:.+}", self._download)
        app.router.add_post("/{kind:commands|actions}/{team}/{n}/{secret}", self._response_url)
        app.router.add_get("/link/", self._socket)
        return app

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        self.base_url = self.url
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close_sockets()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- server side ---------------------------------------------------------------------

    async def _web_api(self, request: web.Request) -> web.Response:
        args: Json = dict(request.query)
        is_json = request.content_type == "application/json"
        if request.method == "POST" and request.body_exists:
            if is_json:
                try:
                    body = await request.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    return _json(200, {"ok": False, "error": "invalid_json"}, {})
                args.update(body)
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        header = request.headers.get("Authorization", "")
        body_token = args.pop("token", None)  # Slack ignores a token inside a JSON body
        token = header[7:].strip() if header.startswith("Bearer ") else None
        if token is None and not is_json and isinstance(body_token, str):
            token = body_token
        reply = self.call(request.match_info["method"], args, token)
        if late := self.late.get(request.match_info["method"]):
            await asyncio.sleep(late)  # done already; only the answer is late
        return _json(reply.status, reply.body, reply.headers)

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        failure = self.take_failure("upload")
        if failure is not None:
            return web.Response(status=failure.status, text=failure.error)
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="Not Found")
        stored.data = data
        self.touch()
        if late := self.late.get("upload"):
            await asyncio.sleep(late)
        return web.Response(text=f"OK - {len(data)}")  # text/plain, as files.slack.com

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
        authorized = request.headers.get("Authorization") == f"Bearer {self.bot_token}"
        self.downloads.append((file_id, authorized))
        self.touch()
        if not authorized:  # real Slack: 200 with the sign-in page, not 401
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        stored = self.files.get(file_id)
        if stored is None or stored.data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, content_type=stored.mimetype)

    async def _response_url(self, request: web.Request) -> web.Response:
        url = self.url + request.path.lstrip("/")
        if url not in self._issued_response_urls:
            return web.Response(status=404, text="invalid_url")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        failure = self.take_failure("response_url")
        if failure is not None:
            return web.Response(status=failure.status, text=failure.error)
        self.responses.append((url, body))
        self.touch()
        return web.Response(text="ok")


def _json(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
