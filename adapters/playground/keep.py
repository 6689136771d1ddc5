"""Where the playground's room is kept between runs: ``<IMAGINE_DATA_DIR>/playground/``
— ``room.json`` (the posts) and ``images/`` (one file per made image), so a
thread and its images are still there after a restart, as on Slack or Discord.

Written off the event loop: the room is saved at most once a second while it
changes (``Saver``) and once more on the way out; a file is replaced whole
(written beside it, then renamed), so a crash leaves the previous room.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

SAVE_EVERY_S = 1.0
_NAME = re.compile(r"[\w-]{1,64}")


class Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.images = folder / "images"

    def load(self) -> dict[str, Any]:
        """What was saved (empty if nothing was, or it can't be read)."""
        try:
            data = json.loads((self.folder / "room.json").read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("playground: the saved room is unreadable (%s); starting empty", exc)
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, snapshot: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "room.json.tmp"
        tmp.write_text(json.dumps(snapshot), "utf-8")
        os.replace(tmp, self.folder / "room.json")

    def put_image(self, name: str, data: bytes) -> None:
        self.images.mkdir(parents=True, exist_ok=True)
        (self.images / _safe(name)).write_bytes(data)

    def read_image(self, name: str) -> bytes | None:
        if not _NAME.fullmatch(name):
            return None
        try:
            return (self.images / name).read_bytes()
        except OSError:
            return None

    def drop_image(self, name: str) -> None:
        (self.images / _safe(name)).unlink(missing_ok=True)


def _safe(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError("not an image name")
    return name


class Saver:
    """Saves ``snapshot()`` whenever ``changed()`` was called, at most every
    ``SAVE_EVERY_S``; ``aclose`` saves once more."""

    def __init__(self, keep: Keep, snapshot: Any) -> None:
        self._keep, self._snapshot = keep, snapshot
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def changed(self) -> None:
        self._dirty.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="playground-saver")

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            await self._save()
            await asyncio.sleep(SAVE_EVERY_S)

    async def _save(self) -> None:
        self._dirty.clear()
        try:
            await asyncio.to_thread(self._keep.save, self._snapshot())
        except OSError as exc:
            log.warning("playground: the room could not be saved (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._dirty.is_set():
            await self._save()
