"""One aiohttp server that plays both Gemini ``generateContent`` and OpenAI Images.

    async with Sandbox(seed=0, image_px=256) as sb:
        sb.set_latency("gemini-3-pro-image", 0.2)
        sb.script("gpt-image-2.6-sunburst", [Fault("overloaded", end=5.0)])
        ... point the real SDKs at sb.gemini_base_url / sb.openai_base_url ...
        assert sb.calls[-1].outcome == "ok"

It serves the catalogue's models (see :mod:`adapters.sandbox.models`: ``offer``,
``withdraw``, ``set_shutdown``) and lists them (:mod:`adapters.sandbox.listing`).
A generation request goes: parse -> auth -> is the model served (else the
vendor's 404, outcome "not_found") -> per-model checks such as foreign thought
signatures (400, outcome "invalid") -> fault script -> answer.

Every generation request is recorded in ``sb.calls`` the moment it arrives
(model-list requests in ``sb.lookups``). Shutdown is prompt: hanging and
sleeping handlers drop their connections when the sandbox closes, and a
handler whose client went away is cancelled (no leaked tasks).
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from aiohttp import web
from multidict import CIMultiDict

from adapters.sandbox import gemini, openai_images
from adapters.sandbox.control import add_control_routes
from adapters.sandbox.faults import CHUNKED, Behaviour, Fault, chunked, fault_delay
from adapters.sandbox.listing import ModelLists
from adapters.sandbox.models import Offer, Registry
from adapters.sandbox.records import Call, Parsed
from adapters.sandbox.signatures import Signer, key_digest

_ISSUED_KEPT = 4096  # counters whose key signature() remembers


class Api(Protocol):
    name: str

    async def parse(self, request: web.Request) -> Parsed | web.Response: ...

    def check_auth(
        self, request: web.Request, keys: frozenset[str] | None
    ) -> web.Response | None: ...

    def request_key(self, request: web.Request) -> str: ...

    def not_found(self, parsed: Parsed) -> web.Response: ...

    def validate(self, sb: Sandbox, parsed: Parsed, offer: Offer) -> web.Response | None: ...

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
        models: Mapping[str, str] | None = None,
        today: Callable[[], datetime.date] = datetime.date.today,
    ) -> None:
        """``models``: id -> "gemini" | "openai" to serve (None: the built-in catalogue's);
        ``today`` decides when an announced shutdown date takes effect."""
        self.seed = seed
        self.image_px = image_px
        self.host = host
        self.port = port
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.thoughts = thoughts  # also answer with thought parts (text + draft image)
        self.max_calls = max_calls  # keep only the newest calls (long-running servers)
        self.clock = clock
        self.today = today
        self.calls: list[Call] = []
        self.lookups: list[Call] = []  # model-list requests (GET .../models[/{id}])
        self.behaviour = Behaviour(seed=seed)
        self.registry = Registry(models, today=lambda: self.today())
        self._signer = Signer(seed)
        self._issued: dict[int, bytes] = {}  # counter -> key digest it was signed for
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
        lists = ModelLists(self)
        add_control_routes(app, self)  # before "/{version}/models" could claim "/_sandbox/models"
        app.router.add_post("/{version}/{rest:.+:generateContent}", self._route(gemini_api))
        app.router.add_post("/v1/images/generations", self._route(openai_api))
        app.router.add_post("/v1/images/edits", self._route(openai_api))
        app.router.add_get("/{version}/models", lists.handle)
        app.router.add_get("/{version}/models/{model}", lists.handle)
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
        """Forget calls, latencies and fault scripts (the served models stay as they are)."""
        self.calls.clear()
        self.lookups.clear()
        self.behaviour.reset()

    # -- served models -----------------------------------------------------------

    def offer(
        self,
        model_id: str,
        api: str,
        *,
        shutdown_date: str | datetime.date | None = None,
        pixel_sizes: bool | None = None,
    ) -> Offer:
        """Serve ``model_id`` on ``api`` ("gemini" | "openai"), optionally until a date."""
        return self.registry.offer(
            model_id, api, shutdown_date=shutdown_date, pixel_sizes=pixel_sizes
        )

    def withdraw(self, model_id: str) -> None:
        """Stop serving ``model_id``: the vendor's 404 and absent from the lists."""
        self.registry.withdraw(model_id)

    def set_shutdown(self, model_id: str, when: str | datetime.date | None) -> None:
        """Announce ``model_id``'s shutdown ("YYYY-MM-DD"; None cancels). Listed in
        OpenAI's ``shutdown_date`` until ``today()`` reaches it; from then on, 404."""
        self.registry.set_shutdown(model_id, when)

    def serves(self, model_id: str) -> bool:
        return self.registry.live(model_id) is not None

    def calls_for(self, model: str) -> list[Call]:
        return [c for c in self.calls if c.model == model]

    def next_counter(self) -> int:
        self._counter += 1
        return self._counter

    def signature(self, model: str, counter: int, api_key: str | None = None) -> str:
        """The thought signature (standard base64) of answer ``counter`` by ``model`` to
        ``api_key``; None: the key that answer was made for (else the empty key).
        Deterministic in (seed, model, key, counter); see :mod:`.signatures`."""
        if api_key is None:
            digest = self._issued.get(counter, key_digest(""))
        else:
            digest = key_digest(api_key)
            self._issued.pop(counter, None)
            self._issued[counter] = digest
            while len(self._issued) > _ISSUED_KEPT:
                del self._issued[next(iter(self._issued))]
        return self._signer.make_b64(model, counter, digest)

    def owns_signature(self, raw: bytes, model: str, api_key: str) -> bool:
        """True if this sandbox made signature ``raw`` for ``model`` and ``api_key``."""
        return self._signer.verify(raw, model, key_digest(api_key))

    def record(self, into: list[Call], call: Call) -> None:
        """Append ``call`` to ``into``, keeping at most ``max_calls``."""
        into.append(call)
        if self.max_calls is not None and len(into) > self.max_calls:
            del into[: len(into) - self.max_calls]

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
        self.record(self.calls, call)
        try:
            parsed = await api.parse(request)
            if isinstance(parsed, web.Response):
                return self._answer(call, "invalid", parsed)
            call.model, call.body = parsed.model, parsed.body
            call.prompt, call.images = parsed.prompt, parsed.images
            denied = api.check_auth(request, self.api_keys)
            if denied is not None:
                return self._answer(call, "unauthorized", denied)
            parsed.api_key = api.request_key(request)
            offer = self.registry.live(parsed.model, api.name)
            if offer is None:  # unknown, withdrawn or shut down
                return self._answer(call, "not_found", api.not_found(parsed))
            refused = api.validate(self, parsed, offer)
            if refused is not None:
                return self._answer(call, "invalid", refused)
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
            response = await api.respond(self, parsed, fault)
            return self._answer(
                call, call.outcome, chunked(response) if kind in CHUNKED else response
            )
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
