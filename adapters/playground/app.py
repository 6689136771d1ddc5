"""The playground: a third platform, served by the bot's own web server.

A small web chat that behaves like Slack: channels, ``/imagine`` with options
and a reference upload, the job's status message kept current, a thread per
image where each message is an edit, Retry · Vary · Upscale 4K, the status,
usage and admin commands, and a ``#status`` channel the announcer posts in. It
goes through the same service, quotas, jobs and router as Slack and Discord.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from adapters.parts import Parts
from adapters.playground.commands import Commands
from adapters.playground.embedded import Embedded
from adapters.playground.keep import Keep
from adapters.playground.room import STATUS_CHANNEL, Room
from adapters.playground.server import WORKSPACE, Handlers
from adapters.playground.sink import PLATFORM, PlaygroundSink

log = logging.getLogger(__name__)

SANDBOX_NOTE = (
    "Sandbox models: placeholder images, no spend (prices shown are what the real models "
    "would cost)."
)


@dataclass
class PlaygroundPlatform:
    room: Room
    sink: PlaygroundSink
    embedded: Embedded | None  # the in-process sandbox, when no model keys are set
    _handlers: Handlers | None = field(default=None, init=False)
    _parts: Parts | None = field(default=None, init=False)

    def attach(self, parts: Parts) -> None:
        workspace = f"{PLATFORM}:{WORKSPACE}"
        models = [r.label for r in parts.router.routes]
        commands = Commands(parts, workspace)
        self._parts = parts
        self._handlers = Handlers(self.room, parts.service, commands, self.embedded, models)

    def mount(self, web_app: web.Application) -> None:
        if self._handlers is not None:
            self._handlers.mount(web_app)

    async def start(self) -> None:
        """The status channel is ``#status`` unless an admin chose another."""
        if self._parts is None:
            return
        workspace = f"{PLATFORM}:{WORKSPACE}"
        guilds = self._parts.guilds
        if not (await guilds.get(workspace)).status_channel:
            await guilds.set_status_channel(workspace, STATUS_CHANNEL, by="playground")
        if self.embedded is not None and not any(p.text == SANDBOX_NOTE for p in self.room.posts()):
            self.room.post(STATUS_CHANNEL, "imagine-bot", SANDBOX_NOTE)
        self.room.saver.start()

    async def aclose(self) -> None:
        """Stop taking requests: the pages' streams end."""
        self.room.close()

    async def close_http(self) -> None:
        """After the jobs (they post into the room): the room is saved once more."""
        await self.room.saver.aclose()


def build_playground(embedded: Embedded | None, data_dir: Path) -> PlaygroundPlatform:
    room = Room(Keep(data_dir / "playground"))
    return PlaygroundPlatform(room, PlaygroundSink(room), embedded)
