"""Ports the core calls and adapters implement. Keyword-only, small."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.domain import Attempt, ImageCheck, ImageLimits, OfferedModel

if TYPE_CHECKING:
    from bot.catalog import ModelSpec
    from bot.commands import Reply
    from bot.domain import GenerationRequest, ProviderImage
    from bot.intake import Placed
    from bot.jobs import Job
    from bot.messages import UserError
    from bot.progress import Progress

Clock = Callable[[], float]
"""Monotonic seconds; ``time.monotonic`` in production, a fake in tests."""

AttemptStarted = Callable[[str, tuple[Attempt, ...]], None]
"""``(model id, attempts finished before this one)``: a call to a model was just sent."""


class Claims(Protocol):
    """ "Am I the first?" across processes (Redis ``SET NX`` with a TTL): ``claim`` is
    True for the first caller of ``key``, then False for every caller until ``ttl_s``
    has passed. Never raises: when it cannot tell, True (a line said twice is better
    than one never said)."""

    async def claim(self, key: str, *, ttl_s: float) -> bool: ...


class Pacer(Protocol):
    """Requests per minute per route, within a vendor's rate limit (``bot.pacing``;
    shared between processes through Redis: ``adapters.shared.pacing``). ``take``
    answers at once — it never waits for the minute to pass — and never raises."""

    async def take(self, key: str, *, rpm: int) -> bool:
        """One request's place in the last minute's ``rpm`` for ``key`` (True, and
        counted), or none left (False: the caller passes the route over)."""
        ...


@runtime_checkable
class ImageProvider(Protocol):
    """One channel to one vendor API (Google direct, a relay, Vertex, OpenAI).

    ``generate`` makes exactly one call, with the SDK's own retries off, and
    raises only ``bot.errors.ProviderError`` subclasses (or lets
    ``TimeoutError`` / ``CancelledError`` through). The router owns timeouts.
    """

    @property
    def channel(self) -> str: ...

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ModelLister(Protocol):
    """A provider that can say which models its channel serves, without spending an
    image. None: the channel has no model list (many relays); skip it quietly."""

    async def list_models(self) -> list[OfferedModel] | None: ...


@runtime_checkable
class ImageInspector(Protocol):
    """Decodes an image — off the event loop — to see that it is whole and within
    ``limits`` before anyone is charged for it: every reference a person sends (checked
    before anything is reserved) and every image a model returns (a bad one is an
    ``EmptyResult``: the next model is tried and nothing is billed)."""

    @property
    def limits(self) -> ImageLimits: ...

    async def inspect(self, data: bytes) -> ImageCheck: ...


class Placer(Protocol):
    """Shows one request's job to people — built by the adapter for each event.

    ``place`` is called once the job is accepted (validated, reserved) and before
    it is queued: post the job's status message (a new thread's first message when
    ``job.thread`` is "") and say where it went. A refused request is never shown.
    ``withdraw`` takes the message back if queueing then fails (best effort)."""

    async def place(self, job: Job) -> Placed: ...

    async def withdraw(self, placed: Placed) -> None: ...


class JobSink(Protocol):
    """Where a platform adapter shows a job to people: one per platform.

    The service calls it from the job's worker: ``progress`` as the job moves
    (queued → generating on X → fell back to Y), then exactly one of ``deliver``
    (the image, into the job's thread) or ``fail`` (words a person can act on),
    and after a restart ``job_resumed`` / ``job_failed`` (the runner's
    ``JobNotifier``). ``deliver`` raising means the person did not get the image:
    the job fails and nothing is billed. The others are best effort.

    ``deliver`` posts the image under ``bot.jobs.image_name`` (the job's id in the
    file name). A run that resumes a job an earlier run was delivering when it was
    cut off calls ``already_delivered`` first: look for that earlier post
    (``bot.jobs.names_job``); if it is there, bring the status message up to date
    as ``deliver`` would, without posting the image again, and return True; if
    not, False (``deliver`` follows). Raising: the platform could not say (the
    job then fails unbilled, as for a failed ``deliver``).
    """

    async def progress(self, job: Job, event: Progress) -> None: ...

    async def deliver(self, job: Job, reply: Reply) -> None: ...

    async def already_delivered(self, job: Job, reply: Reply) -> bool: ...

    async def fail(self, job: Job, error: UserError) -> None: ...

    async def job_resumed(self, job: Job) -> None: ...

    async def job_failed(self, job: Job, *, reason: str) -> None: ...
