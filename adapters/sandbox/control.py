"""Control endpoints under ``/_sandbox/`` for out-of-process use (the standalone server).

- ``POST /_sandbox/script`` ``{"model": ..., "faults": [...]}``: a fault script.
- ``POST /_sandbox/latency`` ``{"model": ..., "seconds": ..., "jitter": ...}``.
- ``POST /_sandbox/reset``: forget calls, latencies and scripts.
- ``GET /_sandbox/calls``: every recorded generation call (summaries).
- ``GET /_sandbox/models``: every offer, with ``live``.
- ``POST /_sandbox/models`` ``{"model": ..., "api": ..., "offered": bool, "shutdown_date": ...}``:
  ``offered`` true (or absent with ``api``) offers the model on ``api`` with the
  optional date; false withdraws it; absent without ``api`` sets (or with null,
  cancels) the shutdown date of an offered model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from adapters.sandbox.faults import Fault

if TYPE_CHECKING:
    from adapters.sandbox.server import Sandbox


def add_control_routes(app: web.Application, sb: Sandbox) -> None:
    control = Control(sb)
    app.router.add_post("/_sandbox/script", control.script)
    app.router.add_post("/_sandbox/latency", control.latency)
    app.router.add_post("/_sandbox/reset", control.reset)
    app.router.add_get("/_sandbox/calls", control.calls)
    app.router.add_get("/_sandbox/models", control.models)
    app.router.add_post("/_sandbox/models", control.models)


def _bad(what: str, exc: Exception) -> web.Response:
    return web.json_response({"error": f"bad {what}: {exc!r}"}, status=400)


class Control:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    async def script(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            model = str(data["model"])
            faults = [Fault.from_dict(f) for f in data.get("faults", [])]
        except (KeyError, TypeError, ValueError) as exc:
            return _bad("script", exc)
        self.sb.script(model, faults)
        return web.json_response({"model": model, "faults": [f.as_dict() for f in faults]})

    async def latency(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            model, seconds = str(data["model"]), float(data["seconds"])
            jitter = float(data.get("jitter", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            return _bad("latency", exc)
        self.sb.set_latency(model, seconds, jitter)
        return web.json_response({"ok": True})

    async def reset(self, request: web.Request) -> web.Response:
        self.sb.reset()
        return web.json_response({"ok": True})

    async def calls(self, request: web.Request) -> web.Response:
        return web.json_response([c.summary() for c in self.sb.calls])

    async def models(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                data = await request.json()
                model = str(data["model"])
                offered = data.get("offered")
                if offered is True or (offered is None and "api" in data):
                    self.sb.offer(model, str(data["api"]), shutdown_date=data.get("shutdown_date"))
                elif offered is False:
                    self.sb.withdraw(model)
                elif offered is None and "shutdown_date" in data:
                    self.sb.set_shutdown(model, data["shutdown_date"])
                else:
                    raise ValueError("give offered (true/false), api or shutdown_date")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                return _bad("model change", exc)
        return web.json_response({"models": self.sb.registry.state()})
