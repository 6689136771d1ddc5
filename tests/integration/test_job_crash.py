"""A bot killed (SIGKILL) while Gemini hangs on its job: the next process resumes the job
and delivers it exactly once, billed once, or fails it with a notice, billed never.

Real processes, real SQLite, the real ``Quotas`` ledger, the real google-genai SDK
against the sandbox."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from adapters.sandbox import Fault, Sandbox
from bot.catalog import load_catalog
from bot.jobs import JobState, JobStore
from bot.quotas import Quotas
from bot.scheduler import INTERRUPTED, REASON_NOT_RESUMED
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.adapters.helpers import eventually
from tests.integration.job_crash import MODEL

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (sys.executable, "-m", "tests.integration.job_crash")
WORKSPACE = "discord:G1"


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *SCRIPT,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_to_end(*args: str) -> list[str]:
    child = await spawn(*args)
    out, err = await asyncio.wait_for(child.communicate(), timeout=30)
    assert child.returncode == 0, err.decode()
    return out.decode().splitlines()


async def kill_mid_call(sb: Sandbox, url: str) -> str:
    """Start the bot, wait until its Gemini call hangs at the sandbox, SIGKILL it."""
    sb.script(MODEL, [Fault("hang")])
    child = await spawn("run", url, sb.gemini_base_url)
    try:
        assert child.stdout is not None
        submitted = await asyncio.wait_for(child.stdout.readline(), timeout=15)
        running = await asyncio.wait_for(child.stdout.readline(), timeout=15)
        job_id = submitted.decode().split()[1]
        assert submitted.decode().split() == ["SUBMIT", job_id, "created=True"]
        assert running.decode().split() == ["RUNNING", job_id, "1"]
        await eventually(lambda: [c.outcome for c in sb.calls] == ["hang"], within=10)
    finally:
        child.kill()
        _, err = await child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()
    async with await Store.open(url) as store:  # what the dead process left behind
        job = await JobStore(store).get(job_id)
        assert job is not None and job.state is JobState.RUNNING
        assert await Quotas(store, user_rate=None).held_by(job_id) != []
    sb.script(MODEL, [])  # the model is healthy again
    return job_id


async def ledger(url: str, job_id: str) -> tuple[list[str], tuple[int, int, float, float]]:
    async with await Store.open(url) as store:
        rows = await store.fetchall(
            "SELECT state FROM quota_reservations WHERE job_id = ? ORDER BY id", (job_id,)
        )
        quotas = Quotas(store, user_rate=None)
        usage = await quotas.usage(WORKSPACE)
        await quotas.aclose()
    totals = (usage.images_today, usage.images_reserved, usage.spent_usd, usage.reserved_usd)
    return [r[0] for r in rows], totals


async def test_a_killed_job_is_resumed_and_delivered_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/imagine.db"
    price = load_catalog().models[MODEL].price_for(None)
    async with Sandbox(seed=5, image_px=64) as sb:
        job_id = await kill_mid_call(sb, url)

        second = await run_to_end("recover", url, sb.gemini_base_url, "resume")
        assert second == [
            f"SUBMIT {job_id} created=False",  # the platform redelivered the event
            f"RESUMED {job_id}",
            "RECOVERY requeued=0 resumed=1 failed=0 released=1 settled=0",
            f"RUNNING {job_id} 2",
            f"DELIVERED {job_id}",
            "DONE",
        ]
        third = await run_to_end("recover", url, sb.gemini_base_url, "resume")
        assert third == [
            f"SUBMIT {job_id} created=False",
            "RECOVERY requeued=0 resumed=0 failed=0 released=0 settled=0",
            "DONE",
        ]
        assert [c.outcome for c in sb.calls] == ["hang", "ok"]
        assert len(sb.calls[1].images) == 1  # the reference image survived the crash

    assert await ledger(url, job_id) == (["released", "settled"], (1, 0, price, 0))
    async with await Store.open(url) as store:
        job = await JobStore(store).get(job_id)
        assert job is not None and (job.state, job.runs) == (JobState.DELIVERED, 2)
        assert job.cost_usd == price and job.result is not None
        assert job.result == {"version": 1, "model": MODEL}
        thread = ThreadKey("discord", "G1", "C1", "T1")
        latest = await SessionStore(store).latest_image(thread)
        assert latest is not None and latest[2].job_id == job_id  # the thread has the image
        count = await store.fetchone("SELECT count(*) FROM jobs")
        assert count is not None and count[0] == 1  # one event, one job


async def test_a_killed_job_can_be_failed_with_a_notice_instead(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/imagine.db"
    async with Sandbox(seed=5, image_px=64) as sb:
        job_id = await kill_mid_call(sb, url)

        second = await run_to_end("recover", url, sb.gemini_base_url, "fail")
        assert second == [
            f"SUBMIT {job_id} created=False",
            f"FAILED {job_id} {REASON_NOT_RESUMED}",
            "RECOVERY requeued=0 resumed=0 failed=1 released=1 settled=0",
            "DONE",
        ]
        third = await run_to_end("recover", url, sb.gemini_base_url, "resume")
        assert third[1] == "RECOVERY requeued=0 resumed=0 failed=0 released=0 settled=0"
        assert [c.outcome for c in sb.calls] == ["hang"]  # never sent again

    assert await ledger(url, job_id) == (["released"], (0, 0, 0, 0))
    async with await Store.open(url) as store:
        job = await JobStore(store).get(job_id)
    assert job is not None and (job.state, job.error_code) == (JobState.FAILED, INTERRUPTED)
