"""Slack-only behaviour end to end (the scenarios both platforms share are in
``test_contract.py``): the real slack-bolt app behind ``imagine-bot run``'s web
server, the fake Slack on 127.0.0.1, the sandbox models over the real SDKs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.sandbox import Fault
from tests.platforms.slack_bot import FLASH, PRO, slack_world


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


async def test_a_job_whose_message_cannot_be_posted_is_taken_back(
    tmp_path: Path, monkeypatch
) -> None:
    """The ack says "Queued" before the job's message is posted (the ack never waits on
    Slack); if the post is then refused, the requester is told privately and nothing
    runs or is charged."""
    async with slack_world(tmp_path, monkeypatch) as w:
        w.slack.fail_next("chat.postMessage", "not_in_channel")
        acked = await w.imagine("a red fox")
        assert acked.status == 200 and "Queued" in acked.body
        (_url, said), *_ = await w.slack.wait_for(lambda: w.slack.responses or None, 5)
        assert "invite me" in said["text"] and said["response_type"] == "ephemeral"
        assert w.roots() == [] and w.sandbox.calls == []
        ok = await w.imagine("a blue fox")  # the next one is queued and made as usual
        assert "Queued" in ok.body and await w.image_in_thread((await w.root())["ts"])
        assert len(w.slack.responses) == 1 and len(w.sandbox.calls) == 1


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
