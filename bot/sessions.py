"""Thread sessions: a thread's Gemini history, model, config and image versions.

One ``sessions`` row per thread. Its history is the SDK's own JSON
(``Content.model_dump(mode="json", exclude_none=True)``) with image bytes moved
out: an ``inline_data.data`` (or ``inlineData.data``) string in the SDK's form
(URL-safe, padded base64) becomes ``{"$blob": sha256, "size": n}`` and its
bytes go to ``blobs`` (``ON CONFLICT DO NOTHING``: an image that every turn resends is
stored once). ``load`` puts the same strings back, so a resumed thread sends
exactly what an uninterrupted one would, thought signatures included. A string
in any other form stays inline, so nothing is ever altered.

Images from a backup (``add_foreign_image``): Gemini has answered consecutive
user turns with 400 "Please ensure that multiturn requests alternate between
user and model" (the SDK and the sandbox accept them, so neither settles it).
So a backup's image is stored as a *pending* user turn (a short note plus the
image) at the end of the history and is never sent as a turn of its own:
``load`` hands it over apart (``Session.pending``) and ``Session.next_request``
merges it into the next user turn (notes before the prompt, images before the
references). When that Gemini exchange is appended, its user turn, which now
carries the images, replaces the pending turn. Several backup images in a row
fold into one pending turn.

Trimming: when the history (as sent, base64 included) outgrows
``max_history_bytes``, the oldest exchanges (a user turn and the model's answer)
go first; the newest one always stays. ``trimmed`` is then set on the thread, and
``AppendResult.trimmed_now`` is true the first time only, so the thread is told once.

Blobs are never deleted: ``versions`` keep every image for "revert to v2", and
an image only a trimmed turn used stays as well (disk only; no GC yet).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import JSON, GenerationRequest, ImageInput
from bot.history import (
    Blobs,
    Turn,
    b64,
    blobs_in,
    dumps,
    externalize,
    mime_of,
    refs,
    restore,
    sha256,
    trim,
)
from bot.store import Row, Store

# Gemini refuses requests over 20 MB with inline data, counted as sent (base64).
# 14 MiB (14.7 MB) of history leaves about 5 MB for the new turn: the prompt, a
# ~3.5 MB upload (4.7 MB in base64) and the JSON around it.
DEFAULT_MAX_HISTORY_BYTES = 14 * 1024 * 1024
FOREIGN_NOTE = "Image v{version}, made by {model} from the prompt: {prompt}"
_VERSION_COLUMNS = "v.n, v.model, v.blob, v.job_id, v.created_at"


@dataclass(frozen=True, slots=True)
class ThreadKey:
    platform: str
    workspace: str
    channel: str
    thread: str

    @property
    def id(self) -> str:
        """The ``sessions.key``: JSON, so no separator can clash with an id."""
        return json.dumps([self.platform, self.workspace, self.channel, self.thread])


@dataclass(frozen=True, slots=True)
class Version:
    n: int
    model: str
    blob_sha: str
    job_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class AppendResult:
    version: int
    trimmed_now: bool  # the history was trimmed for the first time: tell the thread


@dataclass(frozen=True, slots=True)
class Session:
    key: ThreadKey
    model: str | None  # the Gemini model of the history; None before any Gemini turn
    config: dict[str, Any]
    history: tuple[Turn, ...]  # complete exchanges, for GenerationRequest.history
    trimmed: bool
    versions: list[Version]
    pending: Turn | None = None  # backup images waiting to ride in the next user turn
    made_on: str | None = None  # the provider channel of ``model`` (None: not recorded)

    def next_request(
        self,
        *,
        prompt: str,
        aspect_ratio: str | None = None,
        size: str | None = None,
        references: Sequence[ImageInput] = (),
    ) -> GenerationRequest:
        """The thread's next Gemini request, pending backup images merged into its
        user turn (so do not pass the latest image again as a reference)."""
        notes: list[str] = []
        carried: list[ImageInput] = []
        for part in self.pending["parts"] if self.pending else ():
            if isinstance(part.get("text"), str):
                notes.append(part["text"])
            for blob in blobs_in(part):
                data = base64.urlsafe_b64decode(blob["data"])
                carried.append(ImageInput(data, mime_of(blob)))
        return GenerationRequest(
            prompt="\n\n".join(["\n".join(notes), prompt]) if notes else prompt,
            aspect_ratio=aspect_ratio,
            size=size,
            references=(*carried, *references),
            history=self.history,
            history_origin=(self.model, self.made_on) if self.model and self.history else None,
        )


@dataclass(slots=True)
class _State:
    """A thread's row as ``append`` and ``add_foreign_image`` change it (images as references)."""

    history: list[Turn] = field(default_factory=list)
    model: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    trimmed: bool = False
    made_on: str | None = None

    @classmethod
    async def read(cls, db: Store, key: ThreadKey) -> _State | None:
        row = await db.fetchone(
            "SELECT history, model, config, trimmed, made_on FROM sessions WHERE key = ?",
            (key.id,),
        )
        if row is None:
            return None
        history, config = json.loads(row["history"]), json.loads(row["config"])
        return cls(history, row["model"], config, bool(row["trimmed"]), row["made_on"])

    @property
    def pending(self) -> Turn | None:
        return self.history[-1] if self.history and self.history[-1].get("role") == "user" else None


class SessionStore:
    def __init__(self, store: Store, *, max_history_bytes: int = DEFAULT_MAX_HISTORY_BYTES) -> None:
        self._store = store
        self._max = max_history_bytes
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def store(self) -> Store:
        return self._store

    def lock(self, key: ThreadKey) -> asyncio.Lock:
        """The thread's lock: hold it from ``load`` to ``append`` so that edits in
        one thread queue instead of racing. Forgotten once nobody holds it."""
        lock = self._locks.get(key.id)
        if lock is None:
            lock = self._locks[key.id] = asyncio.Lock()
        return lock

    async def load(self, key: ThreadKey) -> Session | None:
        async with self._store.transaction() as db:  # one consistent view
            state = await _State.read(db, key)
            if state is None:
                return None
            shas = sorted({sha for turn in state.history for sha in refs(turn)})
            marks = ",".join("?" * len(shas))
            found = (  # none: PostgreSQL refuses an empty IN ()
                await db.fetchall(f"SELECT sha256, data FROM blobs WHERE sha256 IN ({marks})", shas)
                if shas
                else []
            )
            rows = await db.fetchall(
                f"SELECT {_VERSION_COLUMNS} FROM versions v WHERE session_key = ? ORDER BY n",
                (key.id,),
            )
        data = {r["sha256"]: bytes(r["data"]) for r in found}
        if missing := set(shas) - data.keys():
            raise LookupError(f"session {key.id}: images missing from blobs: {sorted(missing)}")
        pending = state.history.pop() if state.pending else None
        return Session(
            key=key,
            model=state.model,
            config=state.config,
            history=tuple(restore(turn, data) for turn in state.history),
            trimmed=state.trimmed,
            versions=[_version(r) for r in rows],
            pending=restore(pending, data) if pending else None,
            made_on=state.made_on,
        )

    async def append(
        self,
        key: ThreadKey,
        *,
        model: str,
        config: Mapping[str, Any],
        turns: Sequence[JSON],
        image: tuple[bytes, str],
        job_id: str | None = None,
        channel: str | None = None,
        rebased: bool = False,
    ) -> AppendResult:
        """Add a Gemini exchange (``ProviderImage.turns``) and its image as the next version.
        ``rebased``: the exchange was sent without the earlier turns (another model or
        channel made them, see bot.rebase), so it replaces them; ``channel`` is where
        ``model`` answered."""
        if not turns or turns[0].get("role") != "user":
            raise ValueError("append takes a Gemini exchange: a user turn, then the model's")
        new, blobs = externalize(turns)
        async with self._store.transaction() as db:
            state = await _State.read(db, key) or _State()
            if rebased:
                state.history = []  # the latest image and pending ones rode in new[0]
            elif state.pending is not None:  # backup images: next_request put them in new[0]
                if not refs(state.pending) <= refs(new[0]):
                    raise ValueError("pending backup images were not sent: use next_request")
                state.history.pop()
            state.history += new
            state.model, state.config, state.made_on = model, dict(config), channel
            return await self._save(db, key, state, blobs, image, made_by=model, job_id=job_id)

    async def add_foreign_image(
        self,
        key: ThreadKey,
        *,
        model: str,
        image: tuple[bytes, str],
        prompt: str,
        job_id: str | None = None,
    ) -> AppendResult:
        """Record an image made by a non-Gemini backup, as (part of) the pending user turn."""
        async with self._store.transaction() as db:
            state = await _State.read(db, key) or _State()
            note = FOREIGN_NOTE.format(version=await _next_n(db, key), model=model, prompt=prompt)
            picture = {"inline_data": {"data": b64(image[0]), "mime_type": image[1]}}
            (turn,), blobs = externalize([{"parts": [{"text": note}, picture], "role": "user"}])
            if state.pending is not None:
                state.pending["parts"] += turn["parts"]
            else:
                state.history.append(turn)
            return await self._save(db, key, state, blobs, image, made_by=model, job_id=job_id)

    async def latest_image(self, key: ThreadKey) -> tuple[bytes, str, Version] | None:
        return await self._image(key, None)

    async def image(self, key: ThreadKey, n: int) -> tuple[bytes, str, Version] | None:
        """Version ``n``'s image (None if the thread has no such version)."""
        return await self._image(key, n)

    async def made_by_job(self, key: ThreadKey, job_id: str) -> tuple[bytes, str, Version] | None:
        """The version a job already made (a run cut off after saving it), if any."""
        row = await self._store.fetchone(
            f"SELECT {_VERSION_COLUMNS}, data, mime_type FROM versions v JOIN blobs b"
            " ON b.sha256 = v.blob WHERE v.session_key = ? AND v.job_id = ? LIMIT 1",
            (key.id, job_id),
        )
        return None if row is None else (bytes(row["data"]), row["mime_type"], _version(row))

    async def _image(self, key: ThreadKey, n: int | None) -> tuple[bytes, str, Version] | None:
        which = "" if n is None else " AND v.n = ?"
        row = await self._store.fetchone(
            f"SELECT {_VERSION_COLUMNS}, data, mime_type FROM versions v JOIN blobs b"
            f" ON b.sha256 = v.blob WHERE v.session_key = ?{which} ORDER BY v.n DESC LIMIT 1",
            (key.id,) if n is None else (key.id, n),
        )
        return None if row is None else (bytes(row["data"]), row["mime_type"], _version(row))

    async def _save(
        self,
        db: Store,
        key: ThreadKey,
        state: _State,
        blobs: Blobs,
        image: tuple[bytes, str],
        *,
        made_by: str,
        job_id: str | None,
    ) -> AppendResult:
        now, sha, was_trimmed = time.time(), sha256(image[0]), state.trimmed
        kept, dropped = trim(state.history, self._max)
        for digest, (data, mime) in {**blobs, sha: image}.items():
            await db.execute(
                "INSERT INTO blobs (sha256, mime_type, size, data, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (digest, mime, len(data), data, now),
            )
        await db.execute(
            "INSERT INTO sessions (key, platform, workspace, channel, thread,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key.id, key.platform, key.workspace, key.channel, key.thread, now, now),
        )
        config, trimmed = json.dumps(state.config), was_trimmed or dropped
        await db.execute(
            "UPDATE sessions SET history = ?, model = ?, config = ?, trimmed = ?, made_on = ?,"
            " updated_at = ? WHERE key = ?",
            (dumps(kept), state.model, config, trimmed, state.made_on, now, key.id),
        )
        n = await _next_n(db, key)
        await db.execute(
            "INSERT INTO versions (session_key, n, model, blob, job_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key.id, n, made_by, sha, job_id, now),
        )
        return AppendResult(version=n, trimmed_now=dropped and not was_trimmed)


async def _next_n(db: Store, key: ThreadKey) -> int:
    row = await db.fetchone(
        "SELECT coalesce(max(n), 0) + 1 FROM versions WHERE session_key = ?", (key.id,)
    )
    return int(row[0]) if row else 1


def _version(row: Row) -> Version:
    return Version(row["n"], row["model"], row["blob"], row["job_id"], row["created_at"])
