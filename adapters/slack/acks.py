"""Answering Slack within its 3 s: the ``ack`` carries the answer when it is ready in
time, else "Working on it…" goes at once and the answer follows, seen by the
requester alone, through the response URL.

``ack_first`` answers a request that becomes a job as soon as the job has its place
in the queue ("Queued (#n)"), before the job's message is posted: the ack waits on
the database only, never on another Slack call. In the rare case the message then
cannot be posted (the bot is not in the channel…), nothing is kept or charged and the
requester is told through the response URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

ACK_WITHIN_S = 2.0  # Slack wants the ack within 3 s
WORKING = "Working on it…"
T = TypeVar("T")


class Said(Protocol):
    @property
    def words(self) -> str | None: ...


S = TypeVar("S", bound=Said)


def _as_is(answer: Any) -> Any:
    return answer


async def ack_within(
    ack: Any, respond: Any, work: Awaitable[T], say: Callable[[T], Any] = _as_is
) -> T:
    """Ack with ``work``'s answer (``say(answer)``: words, or ``{"text", "blocks"}``) if
    it comes in time; else ack at once and send it, seen by the requester alone,
    through the response URL when it comes. Returns the answer."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait([task], timeout=ACK_WITHIN_S)
    if not done:
        await ack(WORKING)
    answer = await task
    said = say(answer)
    fields = said if isinstance(said, dict) else {"text": said}
    if done:
        await ack(**fields)
    else:
        await respond(**fields, response_type="ephemeral", replace_original=False)
    return answer


async def ack_first(
    ack: Any,
    respond: Any,
    work: Callable[[Callable[[S], None]], Awaitable[S]],
    queued: Callable[[S], bool],
) -> S:
    """``work(early)`` is the whole request; it calls ``early(answer)`` once the job is
    queued. Ack with the first answer there is (within ``ACK_WITHIN_S``); if that was
    "queued" and the outcome is not (showing the job failed), send the outcome through
    the response URL. Returns the outcome."""
    first: asyncio.Future[S] = asyncio.get_running_loop().create_future()

    def early(answer: S) -> None:
        if not first.done():
            first.set_result(answer)

    def finished(task: asyncio.Future[S]) -> None:
        if first.done():
            return
        if task.cancelled():
            first.cancel()
        elif (error := task.exception()) is not None:
            first.set_exception(error)
        else:
            first.set_result(task.result())

    task = asyncio.ensure_future(work(early))
    task.add_done_callback(finished)
    try:
        said = await ack_within(ack, respond, asyncio.shield(first), lambda a: a.words)
    finally:
        if not task.done():
            await asyncio.wait([task])
    outcome = task.result()
    if outcome is not said and queued(said) and not queued(outcome) and outcome.words:
        await respond(text=outcome.words, response_type="ephemeral", replace_original=False)
    return outcome
