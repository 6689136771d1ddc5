"""One aiohttp server that plays both Gemini ``generateContent`` and OpenAI Images.

    async with Sandbox(seed=0, image_px=256) as sb:
        sb.set_latency("gemini-3-pro-image-preview", 0.2)
        sb.script("gpt-image-1.5", [Fault("overloaded", end=5.0)])
        ... point the real SDKs at sb.gemini_base_url / sb.openai_base_url ...
        assert sb.calls[-1].outcome == "ok"

Every request is recorded in ``sb.calls`` the moment it arrives. Shutdown is
prompt: hanging and sleeping handlers drop their connections when the sandbox
closes, and a handler whose client went away is cancelled (no leaked tasks).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aiohttp import web
from multidict import CIMultiDict

from adapters.sandbox import gemini, openai_images
from adapters.sandbox.faults import Behaviour, Fault, fault_delay
from adapters.sandbox.records import Call, Parsed


class Api(Protocol):
    name: str

    async def parse(self, request: web.Request) -> Parsed | web.Response: ...

    def check_auth(
        self, request: web.Request, keys: frozenset[str] | None
    ) -> web.Response | None: ...

    async def respond(self, sb: Sandbox, parsed: Parsed, fault: Fault | None) -> web.Response: ...


class Sandbox:
    """Wire-faithful fake of Gemini and OpenAI Images on 127.0.0.1 (port 0 by default)."""

    def __init__(
        self,
        seed: int = 0,
        image_px: int = 256,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] | None = None,
        thoughts: bool = False,
        max_calls: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seed = seed
        self.image_px = image_px
        self.host = host
        self.port = port
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.thoughts = thoughts  # also answer with thought parts (text + draft image)
        self.max_calls = max_calls  # keep only the newest calls (long-running servers)
        self.clock = clock
        self.calls: list[Call] = []
        self.behaviour = Behaviour(seed=seed)
        self._counter = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gemini_base_url(self) -> str:
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        gemini_api, openai_api = gemini.GeminiApi(), openai_images.OpenAIImagesApi()
        app.router.add_post("/{version}/{rest:.+:generateContent}", self._route(gemini_api))
        app.router.add_post("/v1/images/generations", self._route(openai_api))
        app.router.add_post("/v1/images/edits", self._route(openai_api))
        app.router.add_post("/_sandbox/script", self._control_script)
        app.router.add_post("/_sandbox/latency", self._control_latency)
        app.router.add_post("/_sandbox/reset", self._control_reset)
        app.router.add_get("/_sandbox/calls", self._control_calls)
        return app

    async def start(self) -> Sandbox:
        self._closing.clear()
        runner = web.AppRunner(
            self.app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- behaviour ---------------------------------------------------------------

    def set_latency(self, model: str, seconds: float, jitter: float = 0.0) -> None:
        """Normal answer time of ``model`` ("*": every model without its own)."""
        self.behaviour.set_latency(model, seconds, jitter)

    def script(self, model: str, faults: Iterable[Fault]) -> None:
        """Replace ``model``'s fault rules; their windows count from now."""
        self.behaviour.script(model, faults, self.clock())

    def active_faults(self, model: str, at: float | None = None) -> list[Fault]:
        """Rules of ``model`` in force at monotonic time ``at`` (default: now)."""
        return self.behaviour.active(model, self.clock() if at is None else at)

    def reset(self) -> None:
        """Forget calls, latencies and fault scripts."""
        self.calls.clear()
        self.behaviour.reset()

    def calls_for(self, model: str) -> list[Call]:
        return [c for c in self.calls if c.model == model]

    def next_counter(self) -> int:
        self._counter += 1
        return self._counter

    def signature(self, model: str, counter: int) -> str:
        """A thought signature: base64 of bytes unique to one response."""
        raw = f"sandbox-sig:{self.seed}:{model}:{counter}:".encode() + bytes(
            [counter % 251, 0xFB, 0xFF]
        )
        return base64.b64encode(raw).decode("ascii")

    # -- request pipeline --------------------------------------------------------

    def _route(self, api: Api) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, api)

        return handler

    async def _serve(self, request: web.Request, api: Api) -> web.StreamResponse:
        call = Call(
            api=api.name,
            path=request.path,
            started=self.clock(),
            headers=CIMultiDict(request.headers),
        )
        self.calls.append(call)
        if self.max_calls is not None and len(self.calls) > self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls]
        try:
            parsed = await api.parse(request)
            if isinstance(parsed, web.Response):
                return self._answer(call, "invalid", parsed)
            call.model, call.body = parsed.model, parsed.body
            call.prompt, call.images = parsed.prompt, parsed.images
            denied = api.check_auth(request, self.api_keys)
            if denied is not None:
                return self._answer(call, "unauthorized", denied)
            fault = self.behaviour.pick(parsed.model, self.clock())
            call.fault, call.outcome = fault, (fault.kind if fault else "ok")
            kind = fault.kind if fault else None
            delay = (
                None
                if kind == "hang"
                else fault_delay(fault, self.behaviour.draw_latency(parsed.model))
            )
            if not await self._pause(delay):  # the sandbox is shutting down
                call.outcome = "hang" if kind == "hang" else "dropped"
                return self._drop(request)
            if kind in ("hang", "disconnect"):
                return self._drop(request)
            return self._answer(call, call.outcome, await api.respond(self, parsed, fault))
        finally:
            call.finished = self.clock()

    async def _pause(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (None: forever); False if the sandbox began closing."""
        if self._closing.is_set():
            return False
        if seconds is not None and seconds <= 0:
            return True
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            return True
        return False

    @staticmethod
    def _answer(call: Call, outcome: str, response: web.Response) -> web.Response:
        call.outcome, call.status = outcome, response.status
        return response

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without an answer (the client sees a disconnect)."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=499)

    # -- control endpoints (for out-of-process use) ------------------------------

    async def _control_script(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            model = str(data["model"])
            faults = [Fault.from_dict(f) for f in data.get("faults", [])]
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": f"bad script: {exc!r}"}, status=400)
        self.script(model, faults)
        return web.json_response({"model": model, "faults": [f.as_dict() for f in faults]})

    async def _control_latency(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            model, seconds = str(data["model"]), float(data["seconds"])
            jitter = float(data.get("jitter", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": f"bad latency: {exc!r}"}, status=400)
        self.set_latency(model, seconds, jitter)
        return web.json_response({"ok": True})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response([c.summary() for c in self.calls])
