"""The playground's HTTP side: the page, its live stream, and what a person does
on it — translated into the same intakes Slack and Discord send the service.

    GET  /                    the page (static: page.html, page.js, page.css)
    GET  /play/info           channels, models, whether the sandbox runs, faults
    GET  /play/events?user=   server-sent events: the room, then each change
    POST /play/say            channel, text, [thread], [aspect], [size], [file], key
    POST /play/press          {"job", "press": retry|vary|upscale, "channel", "thread", "key"}
                              (the channel and thread of the post the button is on)
    POST /play/fault          {"model", "kind"} (sandbox only)
    GET  /play/image/{id}     a made image

Who someone is: the name the page sends (``X-Playground-User``, or ``user=``
on the stream), limited to a few plain characters; everyone is in one
workspace. Nothing a person typed is ever put into HTML here: the page inserts
it as text.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from importlib.resources import files

from aiohttp import web

from adapters.playground.commands import Commands
from adapters.playground.embedded import FAULTS, Embedded
from adapters.playground.form import Said, event_key, read_say
from adapters.playground.room import BOT, CHANNELS, STATUS_CHANNEL, Room
from adapters.playground.sink import PLATFORM, PlaygroundPlacer, status_post
from bot.commands import Requester
from bot.errors import InputError
from bot.intake import (
    AlreadyQueued,
    ButtonPress,
    Intake,
    NewImage,
    Press,
    Queued,
    Refused,
    ThreadMessage,
)
from bot.messages import ALREADY_ON_IT, queued_state, user_error
from bot.options import parse
from bot.service import ImagineService

log = logging.getLogger(__name__)

WORKSPACE = "local"
PAGE_FILES = {"/": ("page.html", "text/html"), "/play/page.js": ("page.js", "text/javascript")}
PAGE_FILES["/play/page.css"] = ("page.css", "text/css")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_NAME = re.compile(r"[\w .-]{1,32}")
UNKNOWN_COMMAND = "I know /imagine, /imagine-status, /imagine-usage and /imagine-admin."
PLAYGROUND_TROUBLE = "Something went wrong on our side — nothing was queued or charged."


def who(request: web.Request) -> str:
    name = (request.headers.get("X-Playground-User") or request.query.get("user") or "").strip()
    return name if _NAME.fullmatch(name) else "you"


@dataclass
class Handlers:
    room: Room
    service: ImagineService
    commands: Commands
    embedded: Embedded | None
    models: list[str]

    def mount(self, app: web.Application) -> None:
        for path in PAGE_FILES:
            app.router.add_get(path, self.page)
        app.router.add_get("/play/info", self.info)
        app.router.add_get("/play/events", self.events)
        app.router.add_post("/play/say", self.say)
        app.router.add_post("/play/press", self.press)
        app.router.add_post("/play/fault", self.fault)
        app.router.add_get("/play/image/{image}", self.image)
        app.router.add_get("/favicon.ico", _no_icon)

    async def page(self, request: web.Request) -> web.Response:
        name, kind = PAGE_FILES[request.path]
        return web.Response(body=_page_file(name), content_type=kind, headers=_headers())

    async def info(self, request: web.Request) -> web.Response:
        faults = self.embedded.faults if self.embedded else None
        return web.json_response(
            {
                "channels": CHANNELS,
                "status_channel": STATUS_CHANNEL,
                "models": self.models,
                "sandbox": self.embedded is not None,
                "faults": faults,
                "fault_kinds": list(FAULTS) if faults is not None else [],
            },
            headers=_headers(),
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await stream.prepare(request)
        async for change in self.room.changes(who(request)):
            await stream.write(f"data: {json.dumps(change)}\n\n".encode())
        return stream

    async def image(self, request: web.Request) -> web.Response:
        found = await self.room.image(request.match_info["image"])
        if found is None:
            raise web.HTTPNotFound(text="That image is no longer kept here.")
        data, mime = found
        if mime not in ("image/png", "image/jpeg", "image/webp", "image/gif"):
            mime = "application/octet-stream"
        return web.Response(body=data, content_type=mime, headers=_headers())

    # -- what a person does ----------------------------------------------------
    async def say(self, request: web.Request) -> web.Response:
        user = who(request)
        try:
            said = await read_say(request)
        except InputError as exc:
            return _refused(user_error(exc).message)
        if said.channel not in CHANNELS:
            return _refused("There is no such channel here.")
        if said.thread is not None:
            return await self._in_thread(user, said)
        if not said.text.startswith("/"):
            self.room.post(said.channel, user, said.text)
            return web.json_response({"ok": True})
        return await self._command(user, said)

    async def press(self, request: web.Request) -> web.Response:
        user = who(request)
        try:
            data = await request.json()
            press, job, channel = Press(str(data["press"])), str(data["job"]), data["channel"]
            thread = data.get("thread") or None
            if channel not in CHANNELS or not isinstance(thread, str | None):
                raise ValueError(channel)
        except (ValueError, KeyError, TypeError):
            return _refused("That button press was not understood.")
        key = event_key(data.get("key"))
        intake = ButtonPress(self._requester(user), job, press, key, channel, thread)
        return await self._take(intake, user, channel, thread)

    async def fault(self, request: web.Request) -> web.Response:
        if self.embedded is None:
            raise web.HTTPNotFound(text="The fault panel is there only with the sandbox models.")
        try:
            data = await request.json()
            model, kind = str(data["model"]), str(data["kind"])
            if model not in self.embedded.faults:
                raise ValueError(model)
            self.embedded.set_fault(model, kind)
        except (ValueError, KeyError, TypeError):
            return _refused("Pick one of the chain's models and one of the listed faults.")
        log.info("playground: %s set to %s", model, kind)
        return web.json_response({"faults": self.embedded.faults})

    # -- shared ----------------------------------------------------------------
    def _requester(self, user: str) -> Requester:
        return Requester(PLATFORM, WORKSPACE, user)

    async def _in_thread(self, user: str, said: Said) -> web.Response:
        root = self.room.get(said.thread or "")
        if root is not None and root.channel != said.channel:
            return _refused("That thread is in another channel.")
        shown = said.text + "".join(f"\n📎 {name}" for name in said.file_names)
        self.room.post(said.channel, user, shown, thread=said.thread)
        intake = ThreadMessage(
            self._requester(user),
            said.channel,
            said.thread,
            said.text,
            key=said.key,
            attachments=said.fetch,
        )
        return await self._take(intake, user, said.channel, said.thread)

    async def _command(self, user: str, said: Said) -> web.Response:
        name, _, rest = said.text.partition(" ")
        words, channel = rest.split(), said.channel
        if name == "/imagine":
            try:
                parsed = parse(rest)
            except InputError as exc:
                return self._tell(user, channel, None, user_error(exc).message)
            intake = NewImage(
                self._requester(user),
                channel,
                parsed.prompt,
                key=said.key,
                aspect=said.aspect or parsed.aspect,
                size=said.size or parsed.size,
                attachments=said.fetch,
            )
            return await self._take(intake, user, channel, None)
        if name == "/imagine-status":
            return self._tell(user, channel, None, self.commands.status(), error=False)
        if name == "/imagine-usage":
            return self._tell(user, channel, None, await self.commands.usage(user), error=False)
        if name == "/imagine-admin":
            answer = await self.commands.admin(user, channel, words)
            return self._tell(user, channel, None, answer, error=False)
        return self._tell(user, channel, None, UNKNOWN_COMMAND)

    async def _take(
        self, intake: Intake, user: str, channel: str, thread: str | None
    ) -> web.Response:
        try:
            answer = await self.service.take(intake, PlaygroundPlacer(self.room))
        except Exception as exc:
            log.error("could not queue a job (%s)", type(exc).__name__, exc_info=exc)
            return self._tell(user, channel, thread, PLAYGROUND_TROUBLE)
        if isinstance(answer, Refused):
            return self._tell(user, channel, thread, answer.words)
        if isinstance(answer, AlreadyQueued):
            return self._tell(user, channel, thread, ALREADY_ON_IT, error=False)
        if not isinstance(answer, Queued):  # NotForUs: a message in no job's thread
            return web.json_response({"ok": True, "job": None})
        job, position = answer.job, answer.position
        if position and position > 1 and self.service.position(job.id):
            self.room.update(status_post(job), state=queued_state(position))
        return web.json_response({"ok": True, "job": job.id})

    def _tell(
        self, user: str, channel: str, thread: str | None, words: str, *, error: bool = True
    ) -> web.Response:
        self.room.post(channel, BOT, words, thread=thread, private=user, error=error)
        return web.json_response({"ok": not error, "said": words})


@functools.cache
def _page_file(name: str) -> bytes:
    """The page's static files, read once (they ship with the package)."""
    return files("adapters.playground").joinpath(name).read_bytes()


def _refused(words: str) -> web.Response:
    return web.json_response({"ok": False, "said": words}, status=400)


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)
