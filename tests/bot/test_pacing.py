"""Provider pacing in the core: the in-process window (a fake clock, no sleeping), the
router passing over a route whose minute is spent, and the catalogue's ``rpm``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import load_catalog
from bot.domain import GenerationRequest
from bot.errors import AllModelsFailed, ConfigError
from bot.messages import SKIPPED_PACED, notices
from bot.pacing import LocalPacer
from tests.bot.fakes import FakeClock, ScriptedProvider, make_router
from tests.bot.test_meter import Recording

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
REQ = GenerationRequest(prompt="a red fox in snow")


async def _takes(pacer: LocalPacer, n: int, key: str = "k", rpm: int = 3) -> list[bool]:
    return [await pacer.take(key, rpm=rpm) for _ in range(n)]


async def test_the_window_holds_rpm_calls_and_slides() -> None:
    clock = FakeClock()
    pacer = LocalPacer(clock)
    assert await _takes(pacer, 4) == [True, True, True, False]  # a refusal is not counted
    clock.advance(30)
    assert await _takes(pacer, 1) == [False]  # the minute slides; it is not the clock's
    clock.advance(30.001)  # the first three are a minute old
    assert await _takes(pacer, 4) == [True, True, True, False]
    assert await _takes(pacer, 2, key="other") == [True, True]  # each key its own
    assert await _takes(pacer, 50, rpm=0) == [True] * 50  # 0: not paced


async def test_a_spent_primary_is_passed_over_at_once_and_said_so() -> None:
    clock, meter = FakeClock(), Recording()
    p = ScriptedProvider()
    router = make_router(p, clock=clock, rpm={PRO: 2}, meter=meter)
    first = [await router.generate(REQ) for _ in range(2)]
    assert [r.model for r in first] == [PRO, PRO]
    t0 = time.monotonic()
    third = await router.generate(REQ)
    assert time.monotonic() - t0 < 0.5  # no waiting for the minute
    assert (third.model, third.fallback, third.fallback_reason) == (FLASH, True, "paced")
    skipped = third.attempts[0]
    assert (skipped.model, str(skipped.outcome), skipped.detail) == (PRO, "skipped", SKIPPED_PACED)
    assert p.count(PRO) == 2  # never sent over the pace
    assert notices(third) == [
        f"Made with backup model {FLASH} — {PRO} is at its requests-per-minute limit."
    ]
    assert {"model": PRO, "channel": "fake", "outcome": "paced", "seconds": None} in meter.of(
        "attempt"
    )
    assert router.board[PRO].state().value == "normal"  # pacing is not a failure
    clock.advance(60)
    assert (await router.generate(REQ)).model == PRO  # a new minute


async def test_every_route_paced_out_is_all_models_failed() -> None:
    clock = FakeClock()
    router = make_router(ScriptedProvider(), clock=clock, rpm={PRO: 1, FLASH: 1, GPT: 1})
    assert [(await router.generate(REQ)).model for _ in range(3)] == [PRO, FLASH, GPT]
    with pytest.raises(AllModelsFailed) as failed:
        await router.generate(REQ)
    assert [a.detail for a in failed.value.attempts] == [SKIPPED_PACED] * 3


async def test_a_failing_pacer_never_stops_an_image() -> None:
    class Broken:
        async def take(self, key: str, *, rpm: int) -> bool:
            raise RuntimeError("pacer bug")

    router = make_router(ScriptedProvider(), rpm={PRO: 1}, pacer=Broken())
    assert (await router.generate(REQ)).model == PRO


def test_rpm_is_read_per_channel(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text("[channels.google]\nrpm = 60\n[channels.openai]\nrpm = 0\n")
    catalog = load_catalog(overlay)
    assert (catalog.channels["google"].rpm, catalog.channels["openai"].rpm) == (60, 0)
    assert load_catalog().channels["google"].rpm == 0  # absent: not paced


@pytest.mark.parametrize("value", ["-1", '"x"', "1e30", "true", "2.5", "100001"])
def test_a_bad_rpm_is_a_clear_config_error(tmp_path: Path, value: Any) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(f"[channels.google]\nrpm = {value}\n")
    with pytest.raises(ConfigError, match=r"channel 'google': rpm must be a whole number") as e:
        load_catalog(overlay)
    assert "from 0 (not paced) to 100,000" in str(e.value)
