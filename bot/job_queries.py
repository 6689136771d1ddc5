"""Reading the ``jobs`` table, and adopting: the queries ``bot.jobs.JobStore`` inherits.

``JobQueries`` finds a job by id, by thread or message, the unfinished ones, and a
job's reference images (the ``blobs`` table); ``adopt`` makes this worker the owner
of jobs whose owner is dead. Every job has an owner (``jobs.owner``): the worker
(process, ``worker``) that submitted it, or that adopted it once its owner was dead
(``bot.leases``); only the owner starts it (``JobStore.mark_running``). The writes
(submit, place, the changes of state) are ``bot.jobs``'.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.domain import ImageInput
from bot.job_record import COLUMNS, Job, job_from_row
from bot.store import Store

ADOPT_BATCH = 100  # jobs one adopt statement takes at most


class JobQueries:
    def __init__(self, store: Store, *, worker: str | None = None) -> None:
        """``worker``: this process's id as the owner of jobs (default a fresh one)."""
        self._store = store
        self.worker = worker or uuid.uuid4().hex

    async def get(self, job_id: str) -> Job | None:
        row = await self._store.fetchone(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else job_from_row(row)

    async def in_thread(self, platform: str, workspace: str, channel: str, thread: str) -> bool:
        """True if some job posts into this thread (a message there is an edit)."""
        row = await self._store.fetchone(
            "SELECT 1 FROM jobs WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND thread = ? LIMIT 1",
            (platform, workspace, channel, thread),
        )
        return row is not None

    async def thread_of_message(
        self, platform: str, workspace: str, channel: str, message: str
    ) -> str | None:
        """The job thread a message belongs to (its first message, or a job's status
        message): where there are no threads (Discord DMs), a reply to it is an edit."""
        row = await self._store.fetchone(
            "SELECT thread FROM jobs WHERE platform = ? AND workspace = ? AND channel = ?"
            " AND (thread = ? OR message = ?) LIMIT 1",
            (platform, workspace, channel, message, message),
        )
        return None if row is None else str(row["thread"])

    async def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        rows = await self._store.fetchall(
            f"SELECT {COLUMNS} FROM jobs WHERE state IN ('queued', 'running')"
            " ORDER BY created_at, rowid"
        )
        return [job_from_row(r) for r in rows]

    async def adopt(
        self,
        *,
        lease_s: float,
        gone: Sequence[str] = (),
        platforms: Sequence[str] | None = None,
        unserved_for: float | None = None,
        limit: int = ADOPT_BATCH,
    ) -> list[Job]:
        """Make this worker the owner of up to ``limit`` orphaned unfinished jobs (owner
        NULL, without a ``workers`` row seen in the last ``lease_s`` by the database's
        clock, or in ``gone``: see ``bot.leases``), oldest first; returns them. One
        statement: PostgreSQL locks the rows as it picks them and skips rows another
        adopter holds (``FOR UPDATE SKIP LOCKED``), so no job is adopted twice; SQLite has
        one writer at a time. Never this worker's own jobs (the batch loop ends).
        ``platforms``: only jobs of these (None: any); ``unserved_for``: only jobs of a
        platform no worker serving it was seen in the last ``unserved_for`` seconds."""
        lock = " FOR UPDATE SKIP LOCKED" if self._store.dialect == "postgresql" else ""
        dead = f" AND w.id NOT IN ({','.join('?' * len(gone))})" if gone else ""
        mine = "" if platforms is None else f" AND platform IN ({','.join('?' * len(platforms))})"
        if unserved_for is not None:
            mine += (
                " AND NOT EXISTS (SELECT 1 FROM workers s WHERE s.seen_at >="
                f" {self._store.clock()} - ? AND s.platforms LIKE '%,' || jobs.platform || ',%')"
            )
        rows = await self._store.fetchall(
            "UPDATE jobs SET owner = ? WHERE id IN (SELECT id FROM jobs"
            f" WHERE state IN ('queued', 'running'){mine} AND (owner IS NULL OR (owner <> ?"
            f" AND owner NOT IN (SELECT w.id FROM workers w"
            f" WHERE w.seen_at >= {self._store.clock()} - ?{dead})))"
            f" ORDER BY created_at, rowid LIMIT ?{lock}) RETURNING id",
            (
                *(self.worker, *(platforms or ())),
                *(() if unserved_for is None else (float(unserved_for),)),
                *(self.worker, float(lease_s), *gone, limit),
            ),
        )
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        taken = await self._store.fetchall(
            f"SELECT {COLUMNS} FROM jobs WHERE owner = ? AND id IN ({','.join('?' * len(ids))})"
            " ORDER BY created_at, rowid",
            (self.worker, *ids),
        )
        return [job_from_row(r) for r in taken]

    async def load_references(self, job: Job) -> tuple[ImageInput, ...]:
        """The job's reference images, from ``blobs`` (LookupError if one is missing)."""
        if not job.references:
            return ()
        marks = ",".join("?" * len(set(job.references)))
        rows = await self._store.fetchall(
            f"SELECT sha256, mime_type, data FROM blobs WHERE sha256 IN ({marks})",
            sorted(set(job.references)),
        )
        found = {r["sha256"]: ImageInput(bytes(r["data"]), r["mime_type"]) for r in rows}
        if missing := set(job.references) - found.keys():
            raise LookupError(f"job {job.id}: reference images missing: {sorted(missing)}")
        return tuple(found[sha] for sha in job.references)
