"""``imagine-bot run`` SIGKILLed while the chat platform takes its time answering the
upload, restarted on the same database: every image shows once, none is lost, each
is billed once — and nobody is told "picking it up again" about an image already there.

A real bot process (``python -m adapters.cli run``) against the fake Slack / fake
Discord and the sandbox in this process; the fake takes the upload at once and
answers it late (``answer_late``), and the bot is killed inside that wait. Some
rounds are cut before the platform has the image (Slack: the raw upload answers
late, nothing is shared yet), so resuming must post it, once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import names_job
from bot.messages import JOB_RESUMED
from tests.adapters.helpers import eventually
from tests.integration.bot_process import BotProcess
from tests.platforms.discord_bot import discord_world
from tests.platforms.slack_bot import slack_world

LATE_S = 6.0  # how late the platform answers the upload; the kill comes well inside it
JOBS = 3  # per round


def ledger(data: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each job's state, and the states of its quota reservations (oldest first)."""
    with sqlite3.connect(data / "imagine.db") as db:
        jobs = dict(db.execute("SELECT id, state FROM jobs").fetchall())
        held: dict[str, list[str]] = {job: [] for job in jobs}
        for job, state in db.execute("SELECT job_id, state FROM quota_reservations ORDER BY id"):
            held.setdefault(job, []).append(state)
    return jobs, held


def assert_billed_once(data: Path, n: int) -> None:
    jobs, held = ledger(data)
    assert len(jobs) == n and set(jobs.values()) == {"delivered"}, jobs
    for job, states in held.items():
        assert states.count("settled") == 1, (job, states)  # charged once
        assert set(states) <= {"settled", "released"}, (job, states)  # nothing left held


# -- Slack --------------------------------------------------------------------------------

ROUNDS_SLACK = ("files.completeUploadExternal", "upload", "files.completeUploadExternal")


async def test_slack_killed_while_answering_the_upload_posts_each_image_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False) as w:
        slack, channel, data = w.slack, w.slack.default_channel, tmp_path / "data"
        roots: list[str] = []
        for n, late in enumerate(ROUNDS_SLACK):
            slack.answer_late(late, LATE_S)
            bot = await BotProcess.start(w.env, tmp_path)
            url = f"http://127.0.0.1:{bot.port}/slack/events"
            for i in range(JOBS):
                await slack.slash_command(url, command="/imagine", text=f"a fox {n}.{i}")
            want = len(roots) + JOBS
            await slack.wait_for(lambda want=want: len(w.roots()) == want, 10)
            roots = [m["ts"] for m in w.roots()]
            fresh = roots[-JOBS:]

            def cut(fresh: list[str] = fresh, late: str = late, k: int = len(roots)) -> bool:
                files = [f for f in slack.files.values() if f.user == slack.ws.bot_user_id]
                if late == "upload":  # the bytes are in, nothing is shared yet
                    return sum(f.data is not None for f in files) == k
                return sum(f.thread_ts in fresh for f in files) == JOBS

            await slack.wait_for(cut, 20)
            await bot.kill()
            slack.answer_late(late, 0)

            bot = await BotProcess.start(w.env, tmp_path)

            def finished(fresh: list[str] = fresh) -> bool:
                shown = [slack.find_message(channel, ts) or {} for ts in fresh]
                return all("imagine_vary" in str(m.get("blocks")) for m in shown)

            await slack.wait_for(finished, 20)
            # the buttons show a moment before the job is recorded delivered: stopping in
            # between would leave it running (resumed at the next start, as designed)
            await eventually(lambda: set(ledger(data)[0].values()) == {"delivered"}, 20)
            await bot.stop()

            for ts in roots:  # every image once, in its own thread, under its job's name
                posted = [f for f in slack.files.values() if f.thread_ts == ts]
                assert len(posted) == 1, (n, ts, [f.name for f in posted])
            told = " ".join(str(m) for m in slack.messages[channel])
            assert JOB_RESUMED not in told  # no "picking it up again" after any round
        assert_billed_once(data, JOBS * len(ROUNDS_SLACK))
        _, held = ledger(data)
        for job, _states in held.items():
            (posted,) = [f for f in slack.files.values() if names_job(f.name, job) and f.shares]
            assert posted.thread_ts in roots


# -- Discord ------------------------------------------------------------------------------

ROUNDS_DISCORD = 2
EDIT = "PATCH /webhooks/*/messages/*"  # the status message becomes the image


async def test_discord_killed_while_answering_the_upload_posts_each_image_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_world(tmp_path, monkeypatch, start=False) as w:
        fake, data = w.discord, tmp_path / "data"
        asked: list[dict[str, Any]] = []
        for _n in range(ROUNDS_DISCORD):
            fake.answer_late(EDIT, LATE_S)
            before = fake.gateway.session_id
            bot = await BotProcess.start(w.env, tmp_path)
            await fake.wait_for(lambda b=before: fake.gateway.session_id not in (None, b), 20)
            await fake.wait_for(lambda: fake.guild_commands() or None, 20)
            fresh = [await fake.slash("imagine", {"prompt": f"a cat {i}"}) for i in range(JOBS)]
            asked += fresh

            def cut(fresh: list[dict[str, Any]] = fresh) -> bool:
                shown = [fake.original_response(i["token"]) or {} for i in fresh]
                return all(m.get("attachments") for m in shown)

            await fake.wait_for(cut, 20)
            await bot.kill()
            fake.answer_late(EDIT, 0)
            uploads_before_restart = len([c for c in fake.calls if c.files])

            before = fake.gateway.session_id
            bot = await BotProcess.start(w.env, tmp_path)
            await fake.wait_for(lambda b=before: fake.gateway.session_id not in (None, b), 20)

            def finished(k: int = len(asked)) -> bool:
                jobs, _ = ledger(data)
                return len(jobs) == k and set(jobs.values()) == {"delivered"}

            await eventually(finished, 20)  # the database changes without a call to the fake
            await bot.stop()
            uploads = [c for c in fake.calls if c.files]
            assert len(uploads) == uploads_before_restart == len(asked)  # each image once
            told = " ".join(str(c.json) for c in fake.calls)
            assert JOB_RESUMED not in told  # never "picking it up again"
            for interaction in asked:  # the image and its buttons, as delivered
                msg = fake.original_response(interaction["token"]) or {}
                assert len(msg.get("attachments") or []) == 1
                assert "vary" in str(msg.get("components"))
        assert_billed_once(data, len(asked))
