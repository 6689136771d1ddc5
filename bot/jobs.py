"""Durable job records: every request is a ``jobs`` row that outlives the process.

    queued ──mark_running──▶ running ──mark_delivered──▶ delivered
       │                       │  ▲
       │                       │  └── requeue (recovery after a crash)
       └──────mark_failed──────┴──────mark_failed──────▶ failed

Each change of state is one conditional UPDATE (``… WHERE state = 'running'``),
so a second ``mark_delivered`` or a late ``mark_failed`` changes nothing and
returns False: a job is delivered at most once. ``submit`` with the platform
event's id as ``idempotency_key`` (unique per platform) returns the existing job
and ``created=False`` when the event is delivered again, so a retried webhook
never makes a second job, hence never a second charge.

A job keeps what it needs to run again after a restart: ``payload`` (prompt,
options; JSON) and its reference images, stored in the content-addressed
``blobs`` table and named by sha256 in ``Job.references``. Once finished it
records the attempt log, the cost, the model, a result reference (e.g. thread
key and version, or a blob sha) and an error code.

Delivering is not one step a crash respects: the platform may have the image
while the row still says running. So before posting, ``mark_delivering``
records the intent in the payload (``payload.delivering``: version, model,
when), and the image goes out under a name that carries the job's id
(``image_name``). A run resumed with that record asks the platform whether the
image is already there (``names_job``) before posting it again.

Quota reservations carry the job's id, so restart recovery (bot.adoption) can
find what a crashed run left reserved (``Quotas.held_by``, ``Quotas.left_open``).

Every job has an owner (``jobs.owner``): the worker (process, ``JobStore.worker``) that
submitted it, or that ``adopt``ed it once its owner was dead (``bot.leases``). Only the
owner starts it (``mark_running``). ``JobStore`` writes here and inherits its reads and
``adopt`` from ``bot.job_queries.JobQueries``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bot.domain import Attempt, ImageInput
from bot.history import sha256
from bot.job_queries import ADOPT_BATCH, JobQueries
from bot.job_record import (
    COLUMNS,
    JOB_MARK,
    UNFINISHED,
    Job,
    JobState,
    attempts_json,
    image_name,
    job_from_row,
    names_job,
)
from bot.meter import Meter, SafeMeter
from bot.quotas import to_micros
from bot.store import Store

__all__ = [
    "ADOPT_BATCH",
    "JOB_MARK",
    "UNFINISHED",
    "Job",
    "JobState",
    "JobStore",
    "image_name",
    "names_job",
]


class JobStore(JobQueries):
    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], float] = time.time,
        meter: Meter | None = None,
        worker: str | None = None,
    ) -> None:
        """``worker``: this process's id as the owner of jobs (``bot.leases``; default a
        fresh one: every JobStore is a process of its own)."""
        super().__init__(store, worker=worker)
        self._now = now
        self._meter = SafeMeter(meter)  # told of each state change this process makes

    async def submit(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        thread: str,
        user: str,
        kind: str,
        payload: Mapping[str, Any],
        idempotency_key: str | None,
        references: Sequence[ImageInput] = (),
    ) -> tuple[Job, bool]:
        """A new queued job, or the one ``idempotency_key`` already made (``created=False``)."""
        now, job_id = self._now(), uuid.uuid4().hex
        shas = [sha256(ref.data) for ref in references]
        insert = (
            'INSERT INTO jobs (id, platform, workspace, channel, thread, "user", kind,'
            " idempotency_key, payload, refs, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?) ON CONFLICT (platform, idempotency_key) DO NOTHING"
            f" RETURNING {COLUMNS}"
        )
        values = (
            *(job_id, platform, workspace, channel, thread, user, kind),
            *(idempotency_key, json.dumps(dict(payload)), json.dumps(shas), now, self.worker),
        )
        if not references:  # one statement: the ack path of most requests waits on it
            row = await self._store.returning(insert, values)
        else:
            async with self._store.transaction() as db:
                for sha, ref in zip(shas, references, strict=True):
                    await db.execute(
                        "INSERT INTO blobs (sha256, mime_type, size, data, created_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (sha, ref.mime_type, len(ref.data), ref.data, now),
                    )
                row = await db.returning(insert, values)
        if row is not None:
            self._meter.job(state=JobState.QUEUED)
            return job_from_row(row), True
        first = await self._store.fetchone(  # the event came again: its job stands
            f"SELECT {COLUMNS} FROM jobs WHERE platform = ? AND idempotency_key = ?",
            (platform, idempotency_key),
        )
        assert first is not None  # jobs are never deleted
        return job_from_row(first), False

    async def place(
        self, job_id: str, *, thread: str, message: str = "", extra: Mapping[str, Any]
    ) -> Job:
        """Where a just-accepted job shows: its thread, its status message and the
        adapter's notes about it (``payload.extra``). Only while it is queued."""
        row = await self._store.returning(
            "UPDATE jobs SET thread = ?, message = ?,"
            f" payload = {self._store.json_set('payload', 'extra')}"
            f" WHERE id = ? AND state = 'queued' RETURNING {COLUMNS}",
            (thread, message, json.dumps(dict(extra)), job_id),
        )
        job = job_from_row(row) if row is not None else await self.get(job_id)
        assert job is not None  # jobs are never deleted
        return job

    async def mark_delivering(self, job_id: str, *, version: int | None, model: str) -> bool:
        """Record, before the image is posted, that it is about to be (``Job.delivering``):
        a run that resumes the job then looks for the post before posting again. False:
        the job is not this process's to post any more (another adopted it while this one
        stalled past its lease) — post nothing."""
        record = {"version": version, "model": model, "at": self._now()}
        changed = await self._store.execute(
            f"UPDATE jobs SET payload = {self._store.json_set('payload', 'delivering')}"
            " WHERE id = ? AND state = 'running' AND owner = ?",
            (json.dumps(record), job_id, self.worker),
        )
        return changed > 0

    # -- state changes: one conditional UPDATE each; False if the job was not in the old state
    async def mark_running(self, job_id: str) -> bool:
        """Only for the job's owner: a worker whose job another adopted (its lease had
        lapsed) does not start it as well."""
        return await self._move(
            job_id,
            ("queued",),
            JobState.RUNNING,
            "runs = runs + 1, started_at = ?",
            self._now(),
            owner=self.worker,
        )

    async def mark_delivered(
        self,
        job_id: str,
        *,
        attempts: Iterable[Attempt | Mapping[str, Any]],
        cost_usd: float,
        model: str,
        result: Mapping[str, Any],
    ) -> bool:
        return await self._move(
            job_id,
            ("running",),
            JobState.DELIVERED,
            "attempts = ?, cost_musd = ?, model = ?, result = ?,"
            " error_code = NULL, finished_at = ?",
            attempts_json(attempts),
            to_micros(cost_usd),
            model,
            json.dumps(dict(result)),
            self._now(),
        )

    async def mark_failed(
        self, job_id: str, *, error_code: str, attempts: Iterable[Attempt | Mapping[str, Any]]
    ) -> bool:
        """From queued or running; a delivered job stays delivered. Only this process's
        job: one that stalled past its lease never fails the job its adopter is making."""
        return await self._move(
            job_id,
            ("queued", "running"),
            JobState.FAILED,
            "error_code = ?, attempts = ?, finished_at = ?",
            error_code,
            attempts_json(attempts),
            self._now(),
            owner=self.worker,
        )

    async def requeue(self, job_id: str) -> bool:
        """Running → queued: a run a crash or shutdown interrupted will start again."""
        return await self._move(job_id, ("running",), JobState.QUEUED)

    async def _move(
        self,
        job_id: str,
        old: Sequence[str],
        new: JobState,
        assign: str = "",
        *values: Any,
        owner: str | None = None,
    ) -> bool:
        marks = ",".join("?" * len(old))
        changed = await self._store.execute(
            f"UPDATE jobs SET state = ?{', ' + assign if assign else ''}"
            f" WHERE id = ? AND state IN ({marks}){' AND owner = ?' if owner else ''}",
            (str(new), *values, job_id, *old, *((owner,) if owner else ())),
        )
        if changed > 0:
            self._meter.job(state=new)
        return changed > 0
