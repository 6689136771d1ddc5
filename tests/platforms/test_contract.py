"""The scenario list every platform passes: the whole bot (``imagine-bot run``'s
``serve``) over the real slack-bolt / discord.py against wire fakes, the
playground over HTTP as its page drives it, and the sandbox models over the real
google-genai / openai SDKs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import Fault
from tests.platforms.contract import DiscordDriver, SlackDriver
from tests.platforms.discord_bot import discord_world
from tests.platforms.playground_bot import PlaygroundDriver, playground_world
from tests.platforms.slack_bot import FLASH, GPT, PRO, slack_world

PLATFORMS = ["slack", "discord", "playground"]


@contextlib.asynccontextmanager
async def bot(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> AsyncIterator[Any]:
    if platform == "slack":
        async with slack_world(tmp_path, monkeypatch, **env) as w:
            yield SlackDriver(w)
    elif platform == "playground":
        async with playground_world(tmp_path, monkeypatch, **env) as p:
            yield PlaygroundDriver(p)
    else:
        async with discord_world(tmp_path, monkeypatch, **env) as w:
            yield DiscordDriver(w)


async def done(d: Any, handle: Any, n: int = 1, within: float = 15) -> Any:
    """What the job's message shows once ``n`` images are out (or it failed)."""
    async with asyncio.timeout(within):
        while True:
            shown = d.shown(handle)
            if (len(shown.images) >= n and shown.buttons >= {"vary"}) or shown.buttons == {"retry"}:
                return shown
            await asyncio.sleep(0.05)


async def until(condition: Any, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the state changes over the wire
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_image_with_model_and_buttons(platform: str, tmp_path: Path, monkeypatch) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a red fox in the snow --ar 16:9")
        assert sent.elapsed < 3
        shown = await done(d, sent.handle)
        assert len(shown.images) == 1 and shown.images[0].startswith(b"\x89PNG")
        assert PRO in shown.text and shown.buttons == {"retry", "vary", "upscale"}
        config = d.sandbox.calls[-1].body["generationConfig"]["imageConfig"]
        assert config["aspectRatio"] == "16:9"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_thread_edits_keep_the_thought_signature_across_a_restart(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a cat")
        await done(d, sent.handle)
        await d.reply(sent.handle, "make it blue")
        await done(d, sent.handle, 2)
        first_edit = d.sandbox.calls[-1].body["contents"]
        assert first_edit[1]["role"] == "model" and "thoughtSignature" in str(first_edit[1])
        await d.restart()
        await d.reply(sent.handle, "now add a hat")
        await done(d, sent.handle, 3)
        assert d.sandbox.calls[-1].body["contents"][:3] == first_edit
        assert len(d.sandbox.calls) == 3


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_backup_model_notice(platform: str, tmp_path: Path, monkeypatch) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        d.sandbox.script(PRO, [Fault("overloaded")])
        sent = await d.imagine("a lighthouse")
        shown = await done(d, sent.handle)
        assert f"Made with backup model {FLASH} — {PRO} is overloaded (503)." in shown.text


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_redelivered_event_makes_no_second_job(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a boat")
        await done(d, sent.handle)
        await d.reply(sent.handle, "make it red", twice=True)
        await done(d, sent.handle, 2)
        await asyncio.sleep(0.5)
        assert len(d.shown(sent.handle).images) == 2 and len(d.sandbox.calls) == 2


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_quota_refusal_calls_no_model(platform: str, tmp_path: Path, monkeypatch) -> None:
    async with bot(platform, tmp_path, monkeypatch, IMAGINE_DAILY_IMAGES_PER_GUILD="1") as d:
        await done(d, (await d.imagine("one")).handle)
        refused = await d.imagine("two")
        assert "daily images limit is reached (1 of 1)" in refused.private
        assert "resets" in refused.private
        if platform == "slack":  # the refused prompt never appeared in the channel
            assert refused.handle is None and not d.w.slack.deleted
        await asyncio.sleep(0.3)
        assert len(d.sandbox.calls) == 1


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_bad_input_gets_a_clear_private_message(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        assert "the prompt is empty" in (await d.imagine("   ")).private
        assert "x" * 10 not in (await d.imagine("x" * 5000)).private
        assert d.sandbox.calls == []


def workspace(d: Any, platform: str) -> str:
    """The ledger's key for the driver's workspace."""
    return getattr(d, "workspace", None) or f"{platform}:" + (
        d.w.slack.team_id if platform == "slack" else str(d.w.discord.guild_id)
    )


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_admin_settings_are_for_admins_only(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        assert "Nothing was changed" in await d.admin("quota daily 5", admin=False)
        assert "Daily limit set to 5" in await d.admin("quota daily 5", admin=True)
        assert "Monthly budget set to $20" in await d.admin("budget 20", admin=True)
        limits = await d.app.quotas.get_limits(workspace(d, platform))
        assert (limits.daily_images, limits.monthly_budget_usd) == (5, 20)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_huge_admin_numbers_are_refused_naming_the_limit(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    """Issue 13.7: no traceback, HTTP 500 or silence — an answer naming the limit."""
    async with bot(platform, tmp_path, monkeypatch) as d:
        typed = [] if platform == "discord" else ["quota daily 1e30"]  # Discord: an integer
        typed += ["quota daily 1000001"]  # option; its range is enforced by Discord too
        for words in typed:
            assert "at most 1,000,000 images" in await d.admin(words, admin=True)
        for words in ("budget 1e300", "budget 1000000.5"):
            assert "at most $1,000,000" in await d.admin(words, admin=True)
        limits = await d.app.quotas.get_limits(workspace(d, platform))
        assert limits == await d.app.quotas.get_limits("nobody:here")  # nothing changed


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_outage_and_recovery_are_announced(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        await d.status_channel_here()
        d.sandbox.script(PRO, [Fault("overloaded")])
        for n in range(15):  # until the breaker trips and the outage has settled
            await done(d, (await d.imagine(f"fox {n}")).handle)
            await asyncio.sleep(0.3)
            if any("🔴" in a for a in d.announcements()):
                break
        (down,) = [a for a in d.announcements() if "🔴" in a]
        assert f"{PRO} is down" in down
        assert "🔴" in await d.status()
        d.sandbox.script(PRO, [])
        await asyncio.sleep(10.5)  # the breaker's first open period; then a probe succeeds
        await done(d, (await d.imagine("fox again")).handle)
        await until(lambda: any("🟢" in a for a in d.announcements()))
        (up,) = [a for a in d.announcements() if "🟢" in a]
        assert f"{PRO} recovered after" in up


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_fifty_at_once_are_all_acknowledged_and_delivered(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await asyncio.gather(*(d.imagine(f"fox number {n}", user=n) for n in range(50)))
        assert max(s.elapsed for s in sent) < 3
        assert all(s.handle is not None for s in sent)
        shown = await asyncio.gather(*(done(d, s.handle, within=60) for s in sent))
        assert all(len(s.images) == 1 for s in shown)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_job_cut_off_by_a_restart_is_finished(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        d.sandbox.script(PRO, [Fault("hang")])
        sent = await d.imagine("a slow fox")
        await until(lambda: [c for c in d.sandbox.calls if c.outcome == "hang"])
        d.sandbox.script(PRO, [])
        await d.restart()
        shown = await done(d, sent.handle)
        assert len(shown.images) == 1


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_safety_block_says_how_to_rephrase(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        d.sandbox.script(PRO, [Fault("image_safety")])
        sent = await d.imagine("a portrait in the style of a living painter")
        await until(lambda: "safety" in d.shown(sent.handle).text)
        text = d.shown(sent.handle).text
        assert "style" in text and "nothing was charged" in text and not d.shown(sent.handle).images


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_when_every_model_fails_there_is_a_retry_button(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        for model in (PRO, FLASH, GPT):
            d.sandbox.script(model, [Fault("overloaded")])
        sent = await d.imagine("a fox")
        shown = await done(d, sent.handle)
        assert shown.buttons == {"retry"} and "Nothing was charged" in shown.text
        assert "UNAVAILABLE" not in shown.text and "Traceback" not in shown.text


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_vary_and_upscale_add_versions(platform: str, tmp_path: Path, monkeypatch) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a fox")
        await done(d, sent.handle)
        await d.click(sent.handle, "vary")
        await done(d, sent.handle, 2)
        await d.click(sent.handle, "upscale")
        await done(d, sent.handle, 3)
        assert d.sandbox.calls[-1].body["generationConfig"]["imageConfig"]["imageSize"] == "4K"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_button_pressed_in_another_channel_is_refused(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    """Issue 13.6: a job's Vary / Upscale / Retry pressed in another channel of the same
    workspace is refused privately there — no model called, nothing reserved or charged."""
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a fox")
        await done(d, sent.handle)
        for action in ("vary", "upscale", "retry"):
            said = await d.click_elsewhere(sent.handle, action)
            assert "belongs to an image in another channel" in said, said
        await asyncio.sleep(0.3)
        assert len(d.sandbox.calls) == 1
        usage = await d.app.quotas.usage(workspace(d, platform))
        assert (usage.images_today, usage.images_reserved, usage.in_flight) == (1, 0, 0)
        await d.click(sent.handle, "vary")  # in its own channel it still works
        await done(d, sent.handle, 2)
        assert len(d.sandbox.calls) == 2


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_buttons_work_after_a_restart(platform: str, tmp_path: Path, monkeypatch) -> None:
    async with bot(platform, tmp_path, monkeypatch) as d:
        sent = await d.imagine("a fox")
        await done(d, sent.handle)
        await d.restart()
        await d.click(sent.handle, "vary")
        await done(d, sent.handle, 2)
        assert "variation" in d.sandbox.calls[-1].prompt


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_coming_shutdown_is_in_the_status_and_announced_once(
    platform: str, tmp_path: Path, monkeypatch
) -> None:
    soon = (date.today() + timedelta(days=10)).isoformat()
    notice = f"⏳ {GPT} shuts down on {soon}"
    async with bot(platform, tmp_path, monkeypatch) as d:
        await d.status_channel_here()
        d.sandbox.set_shutdown(GPT, soon)  # OpenAI's model list now says so
        for _ in range(2):  # each start checks the lists; a week has not passed
            await d.restart()
            await until(lambda: any(notice in a for a in d.announcements()))
            await until(lambda: any(notice in n for n in d.bot.app.router.board.notices))
        await asyncio.sleep(0.3)
        assert len([a for a in d.announcements() if "⏳" in a]) == 1
        assert notice in await d.status()
