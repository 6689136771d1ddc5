"""A bot process with one durable job, to be killed and restarted (for test_job_crash).

    python -m tests.integration.job_crash run DB_URL GEMINI_BASE_URL
    python -m tests.integration.job_crash recover DB_URL GEMINI_BASE_URL resume|fail

``run`` submits the job (a platform event with a reference image) and starts the
runner; the handler reserves quota, prints ``RUNNING <job_id> <run>`` and calls
Gemini (the sandbox) through the real SDK, then stores the image, records the
delivery, settles and prints ``DELIVERED <job_id>``. ``run`` never ends on its
own: the test kills it. ``recover`` is the restarted bot: the platform delivers
the event again (``SUBMIT <job_id> created=False``), restart recovery prints its
notices (``RESUMED <job_id>`` / ``FAILED <job_id> <reason>``) and a ``RECOVERY``
summary, the runner works off the queue, and it prints ``DONE``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from adapters.providers import GeminiProvider
from bot.catalog import load_catalog
from bot.domain import GenerationRequest, ImageInput
from bot.history import sha256
from bot.jobs import Job, JobStore
from bot.quotas import Quotas
from bot.scheduler import JobRunner
from bot.store import Store
from tests.adapters.helpers import API_KEY, png

MODEL = "gemini-3-pro-image-preview"
EVENT = "interaction-1234"  # the Discord interaction id


def say(line: str) -> None:
    print(line, flush=True)


class PrintingNotifier:
    async def job_resumed(self, job: Job) -> None:
        say(f"RESUMED {job.id}")

    async def job_failed(self, job: Job, *, reason: str) -> None:
        say(f"FAILED {job.id} {reason}")


class Bot:
    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.jobs = JobStore(store)
        self.quotas = Quotas(store, daily_images=10, monthly_budget_usd=5.0, user_rate=None)
        self.provider = GeminiProvider("google", api_key=API_KEY, base_url=base_url)
        self.runner = JobRunner(self.jobs, self.quotas, handler=self.handle, concurrency=2)

    async def aclose(self) -> None:
        await self.runner.aclose()
        await self.provider.aclose()
        await self.quotas.aclose()

    async def submit(self) -> None:
        job, created = await self.runner.submit(
            platform="discord",
            workspace="G1",
            channel="C1",
            thread="T1",
            user="U1",
            kind="edit",
            payload={"prompt": "the same cat, in a hat", "aspect_ratio": "1:1"},
            idempotency_key=EVENT,
            references=(ImageInput(png(), "image/png"),),
        )
        say(f"SUBMIT {job.id} created={created}")

    async def handle(self, job: Job) -> None:
        """What the service does for a job, in the order that cannot bill twice."""
        model = load_catalog().models[MODEL]
        request = GenerationRequest(
            job.payload["prompt"],
            aspect_ratio=job.payload["aspect_ratio"],
            references=await self.jobs.load_references(job),
        )
        reservation = await self.quotas.reserve(
            workspace=job.tenant, user=job.user, estimate_usd=model.price_for(None), job_id=job.id
        )
        say(f"RUNNING {job.id} {job.runs}")
        try:
            async with asyncio.timeout(model.timeout_s):
                image = await self.provider.generate(model=model, request=request)
        except Exception:
            await self.quotas.release(reservation)
            raise
        sha = sha256(image.data)
        await self.store.execute(
            "INSERT OR IGNORE INTO blobs (sha256, mime_type, size, data, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (sha, image.mime_type, len(image.data), image.data, time.time()),
        )
        cost = model.price_for(None)
        if await self.jobs.mark_delivered(
            job.id, attempts=(), cost_usd=cost, model=MODEL, result={"blob": sha}
        ):
            await self.quotas.settle(reservation, cost_usd=cost, model=MODEL)
            say(f"DELIVERED {job.id}")


async def main(mode: str, db_url: str, base_url: str, policy: str = "resume") -> None:
    async with await Store.open(db_url) as store:
        bot = Bot(store, base_url)
        try:
            await bot.submit()
            if mode == "run":
                await bot.runner.start()
                await asyncio.Event().wait()  # until killed
            report = await bot.runner.recover(
                resume=policy == "resume", notifier=PrintingNotifier()
            )
            say(
                f"RECOVERY requeued={len(report.requeued)} resumed={len(report.resumed)}"
                f" failed={len(report.failed)} released={report.released} settled={report.settled}"
            )
            await bot.runner.start()
            await asyncio.wait_for(bot.runner.join(), 20)
        finally:
            await bot.aclose()
    say("DONE")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
