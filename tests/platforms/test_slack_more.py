"""More of the Slack bot end to end: buttons, references, what it ignores,
/healthz, /metrics, and ``imagine-bot run`` as a real process stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from adapters.sandbox import Fault
from tests.adapters.helpers import png
from tests.platforms.slack_bot import FLASH, GPT, PRO, SlackWorld, slack_world
from tests.platforms.test_slack_bot import _buttons, _texts

ROOT = Path(__file__).resolve().parents[2]


async def _first_image(w: SlackWorld, prompt: str = "a fox") -> dict:
    await w.imagine(prompt)
    root = await w.root()
    await w.image_in_thread(root["ts"])
    channel = w.slack.default_channel
    return await w.slack.wait_for(
        lambda: (
            _buttons(w.slack.find_message(channel, root["ts"]) or {})
            and w.slack.find_message(channel, root["ts"])
        )
    )


async def test_vary_and_upscale_add_versions_and_retry_starts_a_new_thread(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        root = await _first_image(w)
        job_id = _buttons(root)["imagine_vary"]
        await w.slack.block_action(w.url, "imagine_vary", job_id, message_ts=root["ts"])
        files = await w.image_in_thread(root["ts"], 2)
        assert "v2" in (files[-1].initial_comment or "")
        await w.slack.block_action(w.url, "imagine_upscale", job_id, message_ts=root["ts"])
        await w.image_in_thread(root["ts"], 3)
        assert w.sandbox.calls[-1].body["generationConfig"]["imageConfig"]["imageSize"] == "4K"
        await w.slack.block_action(w.url, "imagine_retry", job_id, message_ts=root["ts"])
        await w.slack.wait_for(lambda: len(w.roots()) == 2 or None)
        retry_root = w.roots()[-1]
        await w.image_in_thread(retry_root["ts"])
        assert w.sandbox.calls[-1].prompt == "a fox"


async def test_a_file_attached_in_the_thread_is_a_reference(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        root = await _first_image(w)
        pasted = w.slack.add_file(png(), "image/png", "logo.png")
        event = w.slack.message_event(
            text="put this logo on it", thread_ts=root["ts"], files=[pasted]
        )
        await w.slack.event(w.url, event)
        await w.image_in_thread(root["ts"], 2)
        assert w.slack.downloads and all(with_token for _, with_token in w.slack.downloads)
        sent = json.dumps(w.sandbox.calls[-1].body["contents"][-1])
        assert "put this logo on it" in sent and "inlineData" in sent


async def test_a_text_file_in_the_thread_is_refused_privately(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        root = await _first_image(w)
        notes = w.slack.add_file(b"just words", "text/plain", "notes.txt")
        event = w.slack.message_event(text="use this", thread_ts=root["ts"], files=[notes])
        await w.slack.event(w.url, event)
        told = await w.slack.wait_for(lambda: w.slack.ephemerals or None)
        assert "notes.txt" in told[-1]["text"] and "isn't a PNG" in told[-1]["text"]
        assert len(w.sandbox.calls) == 1


async def test_other_threads_and_plain_messages_are_ignored(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        await w.slack.event(w.url, w.slack.message_event(text="hello team"))
        await w.slack.event(
            w.url, w.slack.message_event(text="lunch?", thread_ts="1699999999.000100")
        )
        await asyncio.sleep(0.5)
        assert w.sandbox.calls == [] and w.roots() == []


async def test_when_every_model_fails_the_message_offers_retry(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        for model in (PRO, FLASH, GPT):
            w.sandbox.script(model, [Fault("overloaded")])
        await w.imagine("a fox")
        root = await w.root()
        channel = w.slack.default_channel
        final = await w.slack.wait_for(
            lambda: (
                (m := w.slack.find_message(channel, root["ts"]))
                and "imagine_retry" in _buttons(m)
                and m
            )
        )
        assert "Nothing was charged" in _texts(final["blocks"])
        assert "Traceback" not in json.dumps(final) and "UNAVAILABLE" not in json.dumps(final)


async def test_healthz_reports_each_model(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        url = w.url.replace("/slack/events", "/healthz")
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body = await resp.json()
        assert resp.status == 200 and body["ok"] and body["primary"] == PRO
        assert [m["model"] for m in body["models"]] == [PRO, FLASH, GPT]


async def test_metrics_count_what_the_running_bot_did(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.sandbox.script(PRO, [Fault("overloaded")])
        await _first_image(w, "a fox named Zorblax")
        url = w.url.replace("/slack/events", "/metrics")
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body = await resp.text()
        assert resp.status == 200
        seen = {
            (s.name, frozenset(s.labels.values())): s.value
            for family in text_string_to_metric_families(body)
            for s in family.samples
        }

        def at(name: str, *values: str) -> float:
            return seen.get((name, frozenset(values)), 0.0)

        assert at("imagine_attempts_total", PRO, "google", "overloaded") == 1
        assert at("imagine_attempts_total", FLASH, "google", "ok") == 1
        assert at("imagine_fallbacks_total", PRO, FLASH, "overloaded") == 1
        assert at("imagine_queue_wait_seconds_count") == 1
        assert "Zorblax" not in body and "U0FAKEUSER1" not in body


async def test_sigterm_lets_the_running_job_finish_then_exits(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False, IMAGINE_SHUTDOWN_GRACE_S="10") as w:
        w.sandbox.set_latency(PRO, 1.5)
        env = {**os.environ, **w.env, "PYTHONPATH": str(ROOT)}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert child.stderr is not None
            port = None
            while port is None:
                line = (await asyncio.wait_for(child.stderr.readline(), 20)).decode()
                assert line, "the bot exited before serving"
                if "web server on" in line:
                    port = int(line.split(":")[-1].split()[0])
            w.url = f"http://127.0.0.1:{port}/slack/events"
            assert "Queued" in (await w.imagine("a slow fox")).body
            await w.slack.wait_for(lambda: w.sandbox.calls or None, 10)
            child.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(child.communicate(), 30)
        finally:
            if child.returncode is None:
                child.kill()
        assert child.returncode == 0, err.decode()[-2000:]
        assert len([f for f in w.slack.files.values() if f.thread_ts]) == 1  # delivered first
        assert w.env["SLACK_BOT_TOKEN"] not in err.decode() + out.decode()


async def test_socket_mode_serves_no_http_route(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False) as w:
        monkeypatch.setenv("SLACK_APP_TOKEN", w.slack.app_token)
        await w.start()  # the signing secret is still set: it must not matter
        forged = await w.slack.slash_command(w.url, command="/imagine", text="a fox")
        assert forged.status == 404 and w.roots() == []


async def test_a_large_attachment_arrives_whole(tmp_path: Path, monkeypatch) -> None:
    from PIL import Image

    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = __import__("io").BytesIO()
    noise.save(buffer, "PNG")
    big = buffer.getvalue()
    async with slack_world(tmp_path, monkeypatch) as w:
        root = await _first_image(w)
        pasted = w.slack.add_file(big, "image/png", "noise.png")
        event = w.slack.message_event(text="use this", thread_ts=root["ts"], files=[pasted])
        await w.slack.event(w.url, event)
        await w.image_in_thread(root["ts"], 2)
        assert [len(data) for data, _ in w.sandbox.calls[-1].images] == [len(big)]


async def test_a_refused_upload_is_told_with_retry_and_not_billed(
    tmp_path: Path, monkeypatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.slack.fail_next("files.getUploadURLExternal", error="internal_error")
        await w.imagine("a fox")
        root = await w.root()
        channel = w.slack.default_channel
        final = await w.slack.wait_for(
            lambda: (
                (m := w.slack.find_message(channel, root["ts"]))
                and "imagine_retry" in _buttons(m)
                and m
            )
        )
        assert "couldn't be posted" in _texts(final["blocks"])
        assert w.app is not None
        usage = await w.app.quotas.usage(f"slack:{w.slack.team_id}")
        assert usage.spent_usd == 0 and usage.reserved_usd == 0


async def test_a_rate_limited_update_is_retried(tmp_path: Path, monkeypatch) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.slack.fail_next("chat.update", error="ratelimited", retry_after=1)
        root = await _first_image(w)
        assert set(_buttons(root)) == {"imagine_retry", "imagine_vary", "imagine_upscale"}
