"""Discord-only behaviour end to end (the shared scenarios are in ``test_contract.py``):
the real discord.py client behind ``imagine-bot run``, the fake Discord on 127.0.0.1,
the sandbox models over the real SDKs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.sandbox import Fault
from tests.platforms.discord_bot import _buttons, discord_world
from tests.platforms.slack_bot import PRO


async def test_imagine_answers_with_the_image_buttons_and_a_thread(
    tmp_path: Path, monkeypatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        interaction = await w.discord.slash("imagine", {"prompt": "a red fox", "aspect": "16:9"})
        msg = await w.finished(interaction)
        assert w.discord.callbacks[0]["type"] == 5  # deferred ("thinking…") within 3 s
        [image] = w.images(msg)
        assert image.startswith(b"\x89PNG")
        embed = msg["embeds"][0]
        assert embed["title"] == "a red fox" and PRO in str(embed)
        assert embed["image"]["url"] == msg["attachments"][0]["url"]
        assert sorted(_buttons(msg)) == ["retry", "upscale", "vary"]
        thread = await w.discord.wait_for(lambda: w.discord.threads or None)
        assert thread[0]["id"] == msg["id"] and thread[0]["name"] == "a red fox"


async def test_an_image_over_the_upload_limit_is_shrunk_and_says_so(
    tmp_path: Path, monkeypatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        interaction = await w.discord.slash(
            "imagine", {"prompt": "a big fox"}, attachment_size_limit=1000
        )
        msg = await w.finished(interaction)
        [image] = w.images(msg)
        assert len(image) <= 1000 and image.startswith(b"\xff\xd8")  # a JPEG that fits
        assert "upload limit" in str(msg["embeds"])


async def test_a_job_that_outlives_its_token_is_still_delivered(
    tmp_path: Path, monkeypatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        w.sandbox.script(PRO, [Fault("slow", latency=1.0)])
        interaction = await w.discord.slash("imagine", {"prompt": "a patient fox"})
        await w.discord.wait_for(lambda: w.sandbox.calls or None)
        w.discord.expire_token(interaction["token"])  # as if 15 minutes had passed
        msg = await w.finished(interaction)
        assert len(w.images(msg)) == 1 and sorted(_buttons(msg)) == ["retry", "upscale", "vary"]


async def test_in_dms_a_reply_to_the_image_is_the_next_edit(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(tmp_path, monkeypatch, DISCORD_GUILD_IDS="") as w:  # global
        interaction = await w.discord.slash("imagine", {"prompt": "a fox"}, guild=False)
        msg = await w.finished(interaction)
        dm = int(msg["channel_id"])
        await w.discord.user_message(dm, "make it blue", message_reference=msg["id"])
        edited = await w.discord.wait_for(
            lambda: [
                m for m in w.discord.messages(dm) if m.get("attachments") and m["id"] != msg["id"]
            ]
        )
        assert "v2" in str(edited[-1]["embeds"]) and not w.discord.threads
        assert w.sandbox.calls[-1].body["contents"][-1]["parts"][0]["text"] == "make it blue"


async def test_a_non_admin_is_refused_privately(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        interaction = await w.discord.slash("imagine-admin budget", {"usd": 1.0})
        await w.discord.wait_for(lambda: w.discord.callbacks or None)
        (callback,) = [c for c in w.discord.callbacks if c["token"] == interaction["token"]]
        assert callback["data"]["flags"] & 64 and "Manage Server" in callback["data"]["content"]
        assert w.app is not None
        limits = await w.app.quotas.get_limits(f"discord:{w.discord.guild_id}")
        assert limits.monthly_budget_usd == 50
        await asyncio.sleep(0)


async def test_a_reference_attachment_is_sent_to_the_model(tmp_path: Path, monkeypatch) -> None:
    from tests.adapters.helpers import png

    reference = png(40, 30)
    async with discord_world(tmp_path, monkeypatch) as w:
        interaction = await w.discord.slash(
            "imagine",
            {"prompt": "this cat, in a hat"},
            attachments={"reference": ("cat.png", reference)},
        )
        await w.finished(interaction)
        assert [data for data, _ in w.sandbox.calls[-1].images] == [reference]


async def test_usage_shows_the_server_and_the_caller(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        interaction = await w.discord.slash("imagine-usage", {})
        await w.discord.wait_for(
            lambda: [c for c in w.discord.callbacks if c["token"] == interaction["token"]]
        )
        (callback,) = [c for c in w.discord.callbacks if c["token"] == interaction["token"]]
        shown = str(callback["data"]["embeds"])
        assert callback["data"]["flags"] & 64 and "1 image" in shown and "100" in shown


async def test_imagine_inside_a_thread_can_still_be_varied(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        first = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        thread = int(first["id"])
        await w.discord.wait_for(lambda: w.discord.store.channel(thread))
        inner = await w.discord.slash("imagine", {"prompt": "a hare"}, channel=thread)
        msg = await w.finished(inner)
        vary = next(
            c["custom_id"]
            for r in msg["components"]
            for c in r["components"]
            if ":vary:" in c["custom_id"]
        )
        await w.discord.click(vary, msg["id"])
        varied = await w.discord.wait_for(
            lambda: [
                m
                for m in w.discord.messages(thread)
                if m.get("attachments") and m["id"] != msg["id"]
            ]
        )
        assert "v2" in str(varied[-1]["embeds"]) and len(w.sandbox.calls) == 3


async def test_a_reply_in_the_channel_is_not_an_edit(tmp_path: Path, monkeypatch) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        msg = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        await w.discord.user_message(
            w.discord.channel_id, "nice one!", author=w.discord.bob, message_reference=msg["id"]
        )
        await asyncio.sleep(0.5)
        assert len(w.sandbox.calls) == 1


async def test_a_refused_imagine_never_shows_in_the_channel(tmp_path: Path, monkeypatch) -> None:
    """Like Slack, the job's message is posted only once the job is accepted: a quota
    refusal is one private answer, with no "thinking…" posted and then deleted."""
    async with discord_world(tmp_path, monkeypatch, IMAGINE_DAILY_IMAGES_PER_GUILD="1") as w:
        await w.finished(await w.discord.slash("imagine", {"prompt": "one"}))
        refused = await w.discord.slash("imagine", {"prompt": "two"})
        said = await w.discord.wait_for(
            lambda: [c for c in w.discord.callbacks if c["token"] == refused["token"]] or None
        )
        await asyncio.sleep(0.3)
        assert [c["type"] for c in said] == [4]  # a message, not a deferral
        assert said[0]["data"]["flags"] & 64 and "limit is reached" in said[0]["data"]["content"]


async def test_a_thread_edit_the_bot_cannot_post_is_answered_not_dropped(
    tmp_path: Path, monkeypatch
) -> None:
    """Discord refuses the edit's status message (403 Missing Permissions): the person is
    told in words, nothing is queued or charged, and no traceback reaches the log."""
    async with discord_world(tmp_path, monkeypatch) as w:
        msg = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        thread = int(msg["id"])
        await w.discord.wait_for(lambda: w.discord.store.channel(thread))
        w.discord.refuse_next(f"POST /channels/{thread}/messages")
        await w.discord.user_message(thread, "make it blue")
        said = await w.discord.wait_for(
            lambda: (
                [m for m in w.discord.messages(thread) if "permission" in (m.get("content") or "")]
                or None
            )
        )
        assert "nothing was queued or charged" in said[0]["content"]
        await asyncio.sleep(0.3)
        assert len(w.sandbox.calls) == 1
        assert w.app is not None
        usage = await w.app.quotas.usage(f"discord:{w.discord.guild_id}")
        assert usage.images_today == 1 and usage.images_reserved == 0
