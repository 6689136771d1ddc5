"""A bot process with one durable job, to be killed and restarted (for test_job_crash).

    python -m tests.integration.job_crash run DB_URL GEMINI_BASE_URL
    python -m tests.integration.job_crash recover DB_URL GEMINI_BASE_URL resume|fail

``run`` submits the job (a platform event with a reference image) to the real
``ImagineService`` and starts its runner; the service reserves quota and calls
Gemini (the sandbox) through the real SDK — the sink prints ``RUNNING <job_id>
<run>`` as the call goes out — then stores the thread's session, delivers
(``DELIVERED <job_id>``), records the delivery and settles. ``run`` never ends on its
own: the test kills it. ``recover`` is the restarted bot: the platform delivers
the event again (``SUBMIT <job_id> created=False``), restart recovery prints its
notices (``RESUMED <job_id>`` / ``FAILED <job_id> <reason>``) and a ``RECOVERY``
summary, the runner works off the queue, and it prints ``DONE``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from adapters.imaging import PillowInspector
from adapters.providers import GeminiProvider
from bot.catalog import load_catalog
from bot.health import HealthBoard
from bot.jobs import Job
from bot.messages import UserError
from bot.progress import Progress, Stage
from bot.quotas import Quotas
from bot.router import Route, Router
from bot.service import ImagineCommand, ImagineService, Reply, Requester
from bot.sessions import SessionStore
from bot.store import Store
from tests.adapters.helpers import API_KEY, png

MODEL = "gemini-3-pro-image"
EVENT = "interaction-1234"  # the Discord interaction id


def say(line: str) -> None:
    print(line, flush=True)


class PrintingSink:
    """The platform: what a person in the thread would see, one line each."""

    async def progress(self, job: Job, event: Progress) -> None:
        if event.stage is Stage.GENERATING:
            say(f"RUNNING {job.id} {job.runs}")

    async def deliver(self, job: Job, reply: Reply) -> None:
        say(f"DELIVERED {job.id}")

    async def fail(self, job: Job, error: UserError) -> None:
        say(f"FAILED {job.id} {error.code}")

    async def job_resumed(self, job: Job) -> None:
        say(f"RESUMED {job.id}")

    async def job_failed(self, job: Job, *, reason: str) -> None:
        say(f"FAILED {job.id} {reason}")


class Bot:
    def __init__(self, store: Store, base_url: str) -> None:
        self.quotas = Quotas(store, daily_images=10, monthly_budget_usd=5.0, user_rate=None)
        self.provider = GeminiProvider("google", api_key=API_KEY, base_url=base_url)
        board = HealthBoard(time.monotonic)
        spec = load_catalog().models[MODEL]
        board.add(MODEL, model=MODEL, channel="google", typical_latency_s=spec.latency_s)
        router = Router([Route(MODEL, spec, self.provider)], board=board)
        self.service = ImagineService(
            images=PillowInspector(),
            router=router,
            quotas=self.quotas,
            sessions=SessionStore(store),
            sinks={"discord": PrintingSink()},
            concurrency=2,
        )

    async def aclose(self) -> None:
        await self.service.aclose()
        await self.provider.aclose()
        await self.quotas.aclose()

    async def submit(self) -> None:
        cmd = ImagineCommand(
            Requester("discord", "G1", "U1"),
            "the same cat, in a hat",
            aspect="1:1",
            references=(("cat.png", png()),),
        )
        ticket = await self.service.submit(
            cmd, channel="C1", thread="T1", idempotency_key=EVENT, kind="edit"
        )
        say(f"SUBMIT {ticket.job.id} created={ticket.created}")


async def main(mode: str, db_url: str, base_url: str, policy: str = "resume") -> None:
    async with await Store.open(db_url) as store:
        bot = Bot(store, base_url)
        try:
            await bot.submit()
            if mode == "run":  # registered (a lease whose pid dies with it), no recovery
                await bot.service.start(recover=False)
                await asyncio.Event().wait()  # until killed
            report = await bot.service.recover(resume=policy == "resume")
            say(
                f"RECOVERY requeued={len(report.requeued)} resumed={len(report.resumed)}"
                f" failed={len(report.failed)} released={report.released} settled={report.settled}"
            )
            await bot.service.runner.start()
            await asyncio.wait_for(bot.service.runner.join(), 20)
        finally:
            await bot.aclose()
    say("DONE")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
