"""A job's record as read from the ``jobs`` table (``bot.jobs.JobStore`` writes it):
its state, what it needs to run again, its outcome, and the file name its image is
posted under (``image_name``: the job's id in it, so a resumed run finds an earlier post).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain import Attempt
from bot.quota_usage import MICRO
from bot.store import Row


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERED = "delivered"
    FAILED = "failed"


UNFINISHED = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class Job:
    id: str
    state: JobState
    platform: str
    workspace: str
    channel: str
    thread: str
    user: str
    kind: str  # e.g. "imagine", "edit"
    payload: dict[str, Any]
    references: tuple[str, ...]  # blob sha256s, in the order given
    idempotency_key: str | None
    runs: int  # how many times a worker started it (more than 1: resumed after a crash)
    attempts: tuple[dict[str, Any], ...]
    cost_usd: float | None
    model: str | None
    result: dict[str, Any] | None
    error_code: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    owner: str | None = None  # the worker (process) that runs it: bot.leases

    @property
    def tenant(self) -> str:
        """The fairness key: ``"platform:workspace"``."""
        return f"{self.platform}:{self.workspace}"

    @property
    def finished(self) -> bool:
        return self.state not in UNFINISHED

    @property
    def delivering(self) -> dict[str, Any] | None:
        """What an earlier run was posting when it was cut off (None: it posted nothing)."""
        found = self.payload.get("delivering")
        return dict(found) if isinstance(found, dict) else None


JOB_MARK = 12  # hex digits of the job id in an image's file name


def image_name(job_id: str, version: int | None, extension: str) -> str:
    """The file name a job's image is posted under, e.g. ``imagine-v2-3f2a9c0e1b4d.png``:
    the job's id in it lets a resumed run find an earlier post of the same image."""
    return f"imagine-v{version or 1}-{job_id[:JOB_MARK]}.{extension}"


def names_job(filename: str, job_id: str) -> bool:
    """True if ``filename`` is ``image_name`` of ``job_id`` (any version and extension)."""
    stem = filename.rsplit(".", 1)[0]
    return stem.startswith("imagine-v") and stem.endswith(f"-{job_id[:JOB_MARK]}")


COLUMNS = (
    'id, state, platform, workspace, channel, thread, "user", kind, payload, refs,'
    " idempotency_key, runs, attempts, cost_musd, model, result, error_code,"
    " created_at, started_at, finished_at, owner"
)


def job_from_row(row: Row) -> Job:
    cost, result = row["cost_musd"], row["result"]
    return Job(
        id=row["id"],
        state=JobState(row["state"]),
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        thread=row["thread"],
        user=row["user"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        references=tuple(json.loads(row["refs"])),
        idempotency_key=row["idempotency_key"],
        runs=row["runs"],
        attempts=tuple(json.loads(row["attempts"])),
        cost_usd=None if cost is None else cost / MICRO,
        model=row["model"],
        result=None if result is None else json.loads(result),
        error_code=row["error_code"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        owner=row["owner"],
    )


def attempts_json(attempts: Iterable[Attempt | Mapping[str, Any]]) -> str:
    return json.dumps([a.as_json() if isinstance(a, Attempt) else dict(a) for a in attempts])
