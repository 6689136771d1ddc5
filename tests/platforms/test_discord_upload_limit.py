"""The upload limit always comes from Discord: the interaction's ``attachment_size_limit``,
else the guild's boost tier, else (DMs) the last interaction's — never a constant of ours.
End to end: ``imagine-bot run`` with the real discord.py against the fake Discord, which
refuses (413, code 40005) any file above the limit it announced for that route."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Collection
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.platforms.discord_bot import DiscordWorld, discord_world

MIB = 1024 * 1024
PNG, JPEG = b"\x89PNG", b"\xff\xd8"


@cache
def big_png() -> bytes:
    """About 15 MiB of random pixels (an uncompressed PNG), like a model's 4K PNG."""
    width, height = 2048, 2560
    noise = random.Random(15).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert 15 * MIB < len(data) < 16 * MIB
    return data


def models_make_big_images(
    w: DiscordWorld,
    monkeypatch: pytest.MonkeyPatch,
    *,
    kinds: Collection[str] = ("imagine", "edit", "vary", "upscale"),
    expire_tokens: bool = False,
) -> None:
    """Jobs of ``kinds`` get ``big_png()`` from the model. ``expire_tokens``: the
    interaction tokens lapse just before delivery, as after 15 minutes or a restart."""
    assert w.app is not None
    sink = w.app.service.sinks["discord"]
    deliver = sink.deliver

    async def big_deliver(job: Any, reply: Any) -> None:
        if expire_tokens:
            for token in list(w.discord.interactions.by_token):
                w.discord.expire_token(token)
        if job.kind in kinds:
            reply = replace(reply, image=big_png(), mime_type="image/png")
        await deliver(job, reply)

    monkeypatch.setattr(sink, "deliver", big_deliver)


def refused_uploads(w: DiscordWorld) -> list[str]:
    return [f"{c.method} {c.path}" for c in w.discord.calls if c.status == 413]


async def later_image(w: DiscordWorld, channel: int, after: dict[str, Any]) -> bytes:
    """The image of the next message with one in ``channel`` after ``after``."""
    found = await w.discord.wait_for(
        lambda: [
            m
            for m in w.discord.messages(channel)
            if m.get("attachments") and int(m["id"]) > int(after["id"])
        ],
        15,
    )
    [image] = w.images(found[-1])
    return image


# -- /imagine: the interaction's attachment_size_limit -------------------------------------


async def test_with_a_20_mib_limit_a_15_mib_image_is_uploaded_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        models_make_big_images(w, monkeypatch)
        interaction = await w.discord.slash(
            "imagine", {"prompt": "a detailed fox"}, attachment_size_limit=20 * MIB
        )
        msg = await w.finished(interaction, 30)
        [image] = w.images(msg)
        assert image == big_png()  # not re-encoded
        assert re.fullmatch(r"imagine-v1-[0-9a-f]{12}\.png", msg["attachments"][0]["filename"])
        assert "upload limit" not in str(msg["embeds"])
        assert not refused_uploads(w)


async def test_with_a_10_mib_limit_a_15_mib_image_is_fitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        models_make_big_images(w, monkeypatch)
        interaction = await w.discord.slash(
            "imagine", {"prompt": "a detailed fox"}, attachment_size_limit=10 * MIB
        )
        msg = await w.finished(interaction, 30)
        [image] = w.images(msg)
        assert image.startswith(JPEG) and len(image) <= 10 * MIB
        assert "10 MB upload limit" in str(msg["embeds"])
        assert not refused_uploads(w)


# -- after the 15-minute token (or a restart): the bot's own upload ------------------------


async def test_after_the_token_the_limit_discord_gave_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord's default raised to 20 MiB: the interaction said so, and the bot's own
    upload (the token has lapsed) may be as large — no 10 MiB constant gets in the way."""
    fake = {"upload_limit": 20 * MIB}
    async with discord_world(tmp_path, monkeypatch, fake_options=fake) as w:
        models_make_big_images(w, monkeypatch, expire_tokens=True)
        interaction = await w.discord.slash("imagine", {"prompt": "a detailed fox"})
        assert interaction["attachment_size_limit"] == 20 * MIB
        msg = await w.finished(interaction, 30)
        assert w.images(msg) == [big_png()]
        assert w.discord.calls_to("PATCH", "/channels/*/messages/*")  # as the bot
        assert not refused_uploads(w)


async def test_a_nitro_limit_the_bot_lacks_is_refitted_after_a_413(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoker's Nitro raised the interaction's limit; the bot's own upload (the
    token has lapsed) is held to the guild's 10 MiB: refused once, then fitted."""
    async with discord_world(tmp_path, monkeypatch) as w:
        models_make_big_images(w, monkeypatch, expire_tokens=True)
        interaction = await w.discord.slash(
            "imagine", {"prompt": "a detailed fox"}, attachment_size_limit=500 * MIB
        )
        msg = await w.finished(interaction, 30)
        [image] = w.images(msg)
        assert image.startswith(JPEG) and len(image) <= 10 * MIB
        status_message = f"/channels/{w.discord.channel_id}/messages/{msg['id']}"
        assert refused_uploads(w) == [f"PATCH {status_message}"]  # once, as the bot


# -- no interaction: a message in the image's thread ---------------------------------------


@pytest.mark.parametrize(("tier", "unchanged"), [(2, True), (0, False)])
async def test_a_thread_edit_uses_the_guilds_boost_tier_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tier: int, unchanged: bool
) -> None:
    """Tier 2: 50 MiB (discord.py's ``Guild.filesize_limit`` from the guild Discord sent)."""
    async with discord_world(tmp_path, monkeypatch, fake_options={"premium_tier": tier}) as w:
        models_make_big_images(w, monkeypatch, kinds={"edit"})
        first = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        thread = int(first["id"])
        await w.discord.wait_for(lambda: w.discord.store.channel(thread))
        said = await w.discord.user_message(thread, "make it detailed")
        image = await later_image(w, thread, said)
        if unchanged:
            assert image == big_png()
        else:
            assert image.startswith(JPEG) and len(image) <= 10 * MIB
        assert not refused_uploads(w)


# -- buttons: the click's interaction --------------------------------------------------------


async def test_vary_uses_the_clicks_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with discord_world(tmp_path, monkeypatch, fake_options={"upload_limit": 20 * MIB}) as w:
        models_make_big_images(w, monkeypatch, kinds={"vary"})
        first = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}))
        thread = int(first["id"])
        await w.discord.wait_for(lambda: w.discord.store.channel(thread))
        vary = next(
            c["custom_id"]
            for row in first["components"]
            for c in row["components"]
            if ":vary:" in c["custom_id"]
        )
        await w.discord.click(vary, first["id"], attachment_size_limit=20 * MIB)
        assert await later_image(w, thread, first) == big_png()
        assert not refused_uploads(w)


# -- DMs: no guild; the last interaction's limit --------------------------------------------


async def test_a_dm_reply_uses_the_limit_of_the_image_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = {"upload_limit": 20 * MIB}
    async with discord_world(tmp_path, monkeypatch, DISCORD_GUILD_IDS="", fake_options=fake) as w:
        models_make_big_images(w, monkeypatch, kinds={"edit"})
        first = await w.finished(await w.discord.slash("imagine", {"prompt": "a fox"}, guild=False))
        dm = int(first["channel_id"])
        await w.discord.user_message(dm, "make it detailed", message_reference=first["id"])
        assert await later_image(w, dm, first) == big_png()  # 20 MiB, not discord.py's 10
        assert not refused_uploads(w)
