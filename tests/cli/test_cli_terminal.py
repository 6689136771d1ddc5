"""`imagine-bot imagine` as a job (adapters/cli/terminal.py): progress on stderr, billed
only once the image is saved, and no hand on the jobs of a bot sharing the database."""

import asyncio
from pathlib import Path

from bot.jobs import JobState, JobStore
from bot.store import Store
from tests.cli.conftest import SandboxProc

PRO, FLASH = "gemini-3-pro-image", "gemini-nano-banana-2.1"


def test_progress_on_stderr_and_an_unsaved_image_is_not_billed(
    cli, sandbox_proc: SandboxProc
) -> None:
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    made = cli("imagine", "x", "--guild", "team", "--json")
    assert made.code == 0, made.stderr
    assert f"{PRO} is overloaded (503) — trying {FLASH}…" in made.stderr
    unsaved = cli("imagine", "x", "--guild", "team", "--out", "/proc/nope/x.png", "--json")
    assert unsaved.code == 1 and "nothing was charged" in unsaved.json["message"]
    usage = cli("usage", "--guild", "team", "--json").json
    assert usage["images_today"] == 1 and usage["reserved_usd"] == 0


def test_a_bots_queued_job_in_the_same_database_is_left_alone(cli, tmp_path: Path) -> None:
    assert cli("imagine", "x", "--json").code == 0  # the database exists
    url = f"sqlite:///{tmp_path}/data/imagine.db"

    async def submit() -> str:
        async with await Store.open(url) as store:
            job, _ = await JobStore(store).submit(
                platform="slack",
                workspace="T1",
                channel="C1",
                thread="",
                user="U1",
                kind="imagine",
                payload={"prompt": "a fox"},
                idempotency_key="Ev1",
            )
            return job.id

    async def state(job_id: str) -> JobState | None:
        async with await Store.open(url) as store:
            job = await JobStore(store).get(job_id)
            return job.state if job else None

    job_id = asyncio.run(submit())
    assert cli("imagine", "y", "--json").code == 0
    assert asyncio.run(state(job_id)) is JobState.QUEUED  # the bot's to run, not the CLI's
