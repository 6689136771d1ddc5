"""`imagine-bot models` and `doctor` read each channel's model list through the real
SDKs (the sandbox process serves both lists) and spend nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.cli.conftest import SandboxProc

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
SOON = (date.today() + timedelta(days=10)).isoformat()
NOTICE = f"⏳ {GPT} shuts down on {SOON} — no successor is named yet."


@pytest.fixture
def shutdown_soon(sandbox_proc: SandboxProc) -> Iterator[None]:
    sandbox_proc._post("/_sandbox/models", {"model": GPT, "shutdown_date": SOON})
    try:
        yield
    finally:
        sandbox_proc._post("/_sandbox/models", {"model": GPT, "shutdown_date": None})


@pytest.fixture
def flash_withdrawn(sandbox_proc: SandboxProc) -> Iterator[None]:
    sandbox_proc._post("/_sandbox/models", {"model": FLASH, "offered": False})
    try:
        yield
    finally:
        sandbox_proc._post("/_sandbox/models", {"model": FLASH, "api": "gemini", "offered": True})


def test_models_shows_the_lineup_offers_and_a_shutdown(
    cli, sandbox_proc: SandboxProc, shutdown_soon: None
) -> None:
    run = cli("models", "--json", IMAGINE_MODELS=f"gemini-3-pro-image-preview,{FLASH},{GPT}")
    assert run.code == 0, run.stderr
    body = run.json
    assert body["chain"][0] == {"configured": "gemini-3-pro-image-preview", "model": PRO}
    assert [r["offered"] for r in body["routes"]] == [True, True, True]
    assert body["notices"] == [NOTICE]
    pro = next(m for m in body["models"] if m["id"] == PRO)
    assert pro["price_usd"] == {"1K": 0.134, "2K": 0.134, "4K": 0.24}
    assert pro["checked"] == "2026-12-07" and pro["source"].startswith("https://ai.google.dev/")
    retired = {r["id"]: r["successor"] for r in body["retired"]}
    assert retired["gpt-image-1.5"] == GPT
    assert sandbox_proc.calls() == []  # no image was made
    text = cli("models")
    assert text.code == 0 and NOTICE in text.stdout and "Chain: gemini-3-pro-image" in text.stdout


def test_doctor_says_a_shutdown_is_coming(cli, shutdown_soon: None) -> None:
    run = cli("doctor", "--json")
    assert run.code == 0, run.stderr
    assert {"level": "warn", "message": NOTICE} in run.json["checks"]


def test_doctor_and_models_see_a_chain_model_the_channel_does_not_offer(
    cli, sandbox_proc: SandboxProc, flash_withdrawn: None
) -> None:
    doctor = cli("doctor", "--json")
    message = f"{FLASH}: not offered by google (its successor is None)"
    found = [
        c for c in doctor.json["checks"] if FLASH in c["message"] and "offered" in c["message"]
    ]
    assert found and found[0]["level"] == "fail" and "not offered by google" in found[0]["message"]
    assert message not in doctor.stdout  # no "None" successor leaks into words
    models = cli("models", "--json").json
    assert [r["offered"] for r in models["routes"] if r["model"] == FLASH] == [False]
    assert sandbox_proc.calls() == []


def test_doctor_names_a_shut_down_id_and_its_successor(cli) -> None:
    run = cli("doctor", "--json", IMAGINE_MODELS=f"gpt-image-1.5,{PRO}")
    assert run.code == 0, run.stderr
    warning = (
        f"model 'gpt-image-1.5' was shut down on 2026-12-01; its successor '{GPT}' is used instead"
    )
    assert [c["level"] for c in run.json["checks"] if c["message"] == warning] == ["warn"]
    assert any(c["message"].startswith("usable routes: " + GPT) for c in run.json["checks"])
