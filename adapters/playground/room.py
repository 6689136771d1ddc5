"""The playground's chat: channels, posts, threads, images — what the page shows,
and the stream of changes it listens to. Kept between runs (``keep.py``).

A *post* is a message: in a channel (``thread`` None) or in the thread a root
post starts (``thread`` = the root's id). A job's status message is a post the
sink keeps current. ``private`` posts are for one person (like Slack's
ephemeral messages). Everything is bounded: the oldest posts and images are
dropped past ``MAX_POSTS`` / ``MAX_IMAGES`` (a playground, not an archive);
private posts are not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from adapters.playground.keep import Keep, Saver

CHANNELS = ("general", "art", "status")
STATUS_CHANNEL = "status"
BOT = "imagine-bot"
MAX_POSTS = 2000
MAX_IMAGES = 200
QUEUE_SIZE = 256  # a page that falls this far behind is sent the whole room again


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    channel: str
    thread: str | None
    author: str
    text: str
    at: float
    state: str = ""  # a job's status line
    detail: list[str] = field(default_factory=list)  # notices under the image
    image: str | None = None  # its URL on this server
    job: str | None = None  # the job the buttons act on
    buttons: bool = False
    private: str | None = None  # for this person alone
    requester: str | None = None  # a job's status message: who asked
    error: bool = False

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Room:
    def __init__(self, keep: Keep) -> None:
        # ids are thread keys in the database: never reuse one, even after a restart
        self._boot = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._keep = keep
        saved = keep.load()
        self._posts: OrderedDict[str, Post] = OrderedDict()
        for fields in saved.get("posts") or ():
            with contextlib.suppress(TypeError, KeyError):
                self._posts[fields["id"]] = Post(**fields)
        self._moved: dict[str, str] = dict(saved.get("moved") or {})
        self._images: OrderedDict[str, str] = OrderedDict(saved.get("images") or {})  # → mime
        self._listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.saver = Saver(keep, self._snapshot)

    def _snapshot(self) -> dict[str, Any]:
        posts = [p.public() for p in self._posts.values() if p.private is None]
        return {"posts": posts, "moved": self._moved, "images": self._images}

    # -- posts -----------------------------------------------------------------
    def post(
        self, channel: str, author: str, text: str, thread: str | None = None, **fields: Any
    ) -> Post:
        post = Post(
            f"m{self._boot}-{next(self._ids)}", channel, thread, author, text, time.time(), **fields
        )
        self._posts[post.id] = post
        while len(self._posts) > MAX_POSTS:
            self._posts.popitem(last=False)
        self._tell({"post": post.public()})
        return post

    def update(self, post_id: str, **changes: Any) -> Post | None:
        """Change a post (None if it is gone: dropped, or from before a restart)."""
        old = self._posts.get(self._moved.get(post_id, post_id))
        if old is None:
            return None
        new = replace(old, **changes)
        self._posts[new.id] = new
        self._tell({"post": new.public()})
        return new

    def moved(self, old: str, new: str) -> None:
        """``old`` (forgotten: dropped from the room) now shows as ``new``."""
        self._moved[old] = new
        while len(self._moved) > MAX_POSTS:
            del self._moved[next(iter(self._moved))]

    def remove(self, post_id: str) -> None:
        if self._posts.pop(post_id, None) is not None:
            self._tell({"removed": post_id})

    def get(self, post_id: str) -> Post | None:
        return self._posts.get(post_id)

    def posts(self, viewer: str | None = None) -> list[Post]:
        return [p for p in self._posts.values() if p.private in (None, viewer)]

    # -- images (kept as files) -----------------------------------------------
    async def add_image(self, data: bytes, mime_type: str) -> str:
        image_id = f"i{self._boot}-{next(self._ids)}"
        await asyncio.to_thread(self._keep.put_image, image_id, data)
        self._images[image_id] = mime_type
        while len(self._images) > MAX_IMAGES:
            old, _ = self._images.popitem(last=False)
            await asyncio.to_thread(self._keep.drop_image, old)
        self.saver.changed()
        return image_id

    async def image(self, image_id: str) -> tuple[bytes, str] | None:
        mime = self._images.get(image_id)
        data = await asyncio.to_thread(self._keep.read_image, image_id) if mime else None
        return (data, mime) if data is not None and mime else None

    # -- the page's stream -----------------------------------------------------
    async def changes(self, viewer: str | None) -> AsyncIterator[dict[str, Any]]:
        """The whole room, then each change a ``viewer`` may see, until ``close``."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        self._listeners.add(queue)
        try:
            yield {"room": [p.public() for p in self.posts(viewer)]}
            while (change := await queue.get()) is not None:
                if change.get("resync"):
                    yield {"room": [p.public() for p in self.posts(viewer)]}
                    continue
                private = (change.get("post") or {}).get("private")
                if private in (None, viewer):
                    yield change
        finally:
            self._listeners.discard(queue)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        for queue in list(self._listeners):
            _offer(queue, None)

    def _tell(self, change: dict[str, Any]) -> None:
        self.saver.changed()
        for queue in list(self._listeners):
            _offer(queue, change)


def _offer(queue: asyncio.Queue[dict[str, Any] | None], change: dict[str, Any] | None) -> None:
    if queue.full():  # a page that stopped reading: it gets the whole room again
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait({"resync": True} if change is not None else None)
        return
    queue.put_nowait(change)
