"""The Slack bot end to end: the real slack-bolt app behind ``imagine-bot run``'s
web server, the fake Slack on 127.0.0.1, the sandbox models over the real SDKs."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from adapters.sandbox import Fault
from tests.platforms.slack_bot import ADMIN, FLASH, PRO, slack_world


def _texts(blocks: list[dict]) -> str:
    out = []
    for b in blocks or []:
        for part in (b.get("text"), *(b.get("elements") or []), *(b.get("fields") or [])):
            if isinstance(part, dict):
                t = part.get("text")
                out.append(t.get("text", "") if isinstance(t, dict) else str(t or ""))
    return "\n".join(out)


def _buttons(message: dict) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    }


async def test_imagine_posts_the_image_into_the_job_thread(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        t0 = time.monotonic()
        acked = await w.imagine("a red fox in the snow --ar 16:9")
        assert acked.status == 200 and time.monotonic() - t0 < 3
        assert "Queued" in acked.body
        root = await w.root()
        (image,) = await w.image_in_thread(root["ts"])
        assert image.data and image.data.startswith(b"\x89PNG")
        assert f"made with `{PRO}`" in (image.initial_comment or "")
        done = await w.slack.wait_for(
            lambda: (
                _buttons(w.slack.find_message(w.slack.default_channel, root["ts"]) or {}) or None
            )
        )
        assert set(done) == {"imagine_retry", "imagine_vary", "imagine_upscale"}
        final = w.slack.find_message(w.slack.default_channel, root["ts"])
        assert (
            final is not None and PRO in _texts(final["blocks"]) and "v1" in _texts(final["blocks"])
        )
        sent = w.sandbox.calls[-1]
        assert (
            sent.model == PRO
            and sent.body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"
        )


async def test_a_thread_reply_edits_with_the_thought_signature_even_after_a_restart(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        await w.imagine("a cat")
        root = await w.root()
        await w.image_in_thread(root["ts"])
        await w.reply_in_thread(root["ts"], "make it blue")
        await w.image_in_thread(root["ts"], 2)
        first_edit = w.sandbox.calls[-1].body["contents"]
        assert first_edit[1]["role"] == "model" and "thoughtSignature" in str(first_edit[1])
        assert first_edit[-1]["parts"][0]["text"] == "make it blue"

        await w.restart()
        await w.reply_in_thread(root["ts"], "now add a hat")
        files = await w.image_in_thread(root["ts"], 3)
        resumed = w.sandbox.calls[-1].body["contents"]
        assert resumed[:3] == first_edit  # the restart lost nothing, signatures included
        assert "v3" in (files[-1].initial_comment or "")


async def test_a_backup_model_says_so_in_the_thread(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.sandbox.script(PRO, [Fault("overloaded")])
        await w.imagine("a lighthouse")
        root = await w.root()
        (image,) = await w.image_in_thread(root["ts"])
        assert (
            f"Made with backup model {FLASH} — {PRO} is overloaded (503)." in image.initial_comment
        )
        updates = [u for u in w.slack.updates if u["ts"] == root["ts"]]
        assert any(
            f"{PRO} is overloaded (503) — trying {FLASH}" in _texts(u["blocks"]) for u in updates
        )


async def test_a_redelivered_event_makes_no_second_job(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        await w.imagine("a boat")
        root = await w.root()
        await w.image_in_thread(root["ts"])
        event = w.slack.message_event(text="make it red", thread_ts=root["ts"])
        first = await w.slack.event(w.url, event, event_id="Ev0RETRY1")
        again = await w.slack.event(w.url, event, event_id="Ev0RETRY1", retry_num=1)
        assert first.status == again.status == 200
        await w.image_in_thread(root["ts"], 2)
        await asyncio.sleep(0.5)
        assert len([f for f in w.slack.files.values() if f.thread_ts == root["ts"]]) == 2
        assert len(w.sandbox.calls) == 2


async def test_quota_refusal_says_which_limit_and_calls_no_model(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch, IMAGINE_DAILY_IMAGES_PER_GUILD="1") as w:
        await w.imagine("one")
        await w.image_in_thread((await w.root())["ts"])
        refused = await w.imagine("two")
        assert "daily images limit is reached (1 of 1)" in refused.body and "resets" in refused.body
        await asyncio.sleep(0.3)
        assert len(w.sandbox.calls) == 1 and len(w.roots()) == 1  # its status message withdrawn


async def test_bad_input_gets_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        assert "the prompt is empty" in (await w.imagine("   ")).body
        assert "--chaos" in (await w.imagine("a fox --chaos 5")).body
        assert "Aspect ratio" in (await w.imagine("a fox --ar wide")).body
        assert w.sandbox.calls == [] and w.roots() == []


async def test_a_bad_signature_is_refused(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        bad = await w.slack.slash_command(w.url, command="/imagine", text="x", bad_signature=True)
        stale = await w.slack.slash_command(w.url, command="/imagine", text="x", stale=True)
        assert bad.status == stale.status == 401
        assert w.sandbox.calls == [] and w.roots() == []


async def test_admin_commands_are_for_admins_only(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        refused = await w.command("/imagine-admin", "quota daily 5", user="U0NOBODY01")
        assert "Only workspace admins" in refused.body
        ok = await w.command("/imagine-admin", "quota daily 5")
        assert "Daily limit set to 5" in ok.body
        w.slack.users["U0OWNER001"] = {"is_owner": True}
        assert (
            "Monthly budget set to $20"
            in (await w.command("/imagine-admin", "budget 20", user="U0OWNER001")).body
        )
        assert w.app is not None
        limits = await w.app.quotas.get_limits(f"slack:{w.slack.team_id}")
        assert (limits.daily_images, limits.monthly_budget_usd) == (5, 20)


async def test_outage_and_recovery_are_announced(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        status_channel = "C0STATUS001"
        said = await w.slack.slash_command(
            w.url,
            command="/imagine-admin",
            text="status-channel",
            user_id=ADMIN,
            channel_id=status_channel,
        )
        assert "announced" in said.body
        w.sandbox.script(PRO, [Fault("overloaded")])  # down: every call a 503

        def announced(emoji: str) -> list[dict] | None:
            said = [m for m in w.slack.bot_messages(status_channel) if emoji in m.get("text", "")]
            return said or None

        for n in range(15):  # until the breaker trips and the outage settles
            await w.imagine(f"fox {n}")
            await w.image_in_thread((await w.root())["ts"])
            if announced("🔴"):
                break
        down = await w.slack.wait_for(lambda: announced("🔴"), 5)
        assert f"{PRO} is down" in down[0]["text"] and len(down) == 1
        w.sandbox.script(PRO, [])
        status = await w.command("/imagine-status", user="U0FAKEUSER1")
        shown = json.loads(status.body)
        assert "2/3 models online" in shown["text"]
        assert "🔴" in json.dumps(shown["blocks"], ensure_ascii=False) and PRO in status.body
        await asyncio.sleep(10.5)  # the breaker's first open period; then a probe succeeds
        await w.imagine("fox again")
        up = await w.slack.wait_for(lambda: announced("🟢"), 15)
        assert f"{PRO} recovered after" in up[0]["text"]


async def test_fifty_concurrent_requests_are_all_acknowledged_and_delivered(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:

        async def one(n: int) -> float:
            t0 = time.monotonic()
            acked = await w.imagine(f"fox number {n}", user=f"U{n:09d}")
            assert acked.status == 200 and "Queued" in acked.body
            return time.monotonic() - t0

        waits = await asyncio.gather(*(one(n) for n in range(50)))
        assert max(waits) < 3
        delivered = lambda: [f for f in w.slack.files.values() if f.thread_ts]  # noqa: E731
        await w.slack.wait_for(lambda: len(delivered()) >= 50 or None, 60)
        roots = w.roots()
        assert len(roots) == 50
        assert {f.thread_ts for f in delivered()} == {r["ts"] for r in roots}


async def test_a_job_cut_off_by_a_restart_finishes_into_its_thread(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.sandbox.script(PRO, [Fault("hang")])
        await w.imagine("a slow fox")
        root = await w.root()
        await w.slack.wait_for(lambda: [c for c in w.sandbox.calls if c.outcome == "hang"] or None)
        w.sandbox.script(PRO, [])
        await w.restart()
        (image,) = await w.image_in_thread(root["ts"])
        told = [
            m
            for m in w.slack.thread(w.slack.default_channel, root["ts"])
            if "picking it up" in m.get("text", "")
        ]
        assert told and image.data


async def test_usage_shows_the_workspace_and_the_caller(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        await w.imagine("a fox")
        await w.image_in_thread((await w.root())["ts"])
        usage = await w.command("/imagine-usage", user="U0FAKEUSER1")
        assert usage.status == 200 and "1" in usage.body and "100" in usage.body


async def test_a_safety_block_explains_how_to_rephrase(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.sandbox.script(PRO, [Fault("image_safety")])
        await w.imagine("a portrait in the style of a living painter")
        root = await w.root()
        final = await w.slack.wait_for(
            lambda: (
                (m := w.slack.find_message(w.slack.default_channel, root["ts"]))
                and "safety" in _texts(m.get("blocks") or [])
                and m
            )
        )
        assert "style" in _texts(final["blocks"]) and "nothing was charged" in _texts(
            final["blocks"]
        )


@pytest.mark.parametrize("mode", ["socket"])
async def test_socket_mode_serves_imagine(tmp_path: Path, monkeypatch, mode: str) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False) as w:
        monkeypatch.setenv("SLACK_APP_TOKEN", w.slack.app_token)
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
        await w.start()
        envelope = await w.slack.socket_send("slash_commands", w.slack.slash_payload(text="a fox"))
        ack = await w.slack.wait_ack(envelope)
        assert "Queued" in ack["payload"]["text"]
        root = await w.root()
        await w.image_in_thread(root["ts"])
