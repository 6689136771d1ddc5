from datetime import UTC, datetime, timedelta

import pytest

from bot.breaker import BreakerPolicy
from bot.health import HealthBoard, HealthEvent, HealthPolicy, HealthState
from bot.status_text import (
    announcement,
    delayed_text,
    down_text,
    duration,
    primary_text,
    recovered_text,
    status_lines,
    status_view,
)
from tests.bot.fakes import FakeClock

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
WALL = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (725, "12 min"),
        (7200, "2 h"),
        (7500, "2 h 5 min"),
        (90000, "1 d 1 h"),
        (-3, "0 s"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def board_with_a_mix() -> tuple[HealthBoard, FakeClock]:
    """pro down for over 4 min, flash normal with one failure in six, gpt slow."""
    clock = FakeClock()
    board = HealthBoard(
        clock,
        policy=HealthPolicy(),
        breaker_policy=BreakerPolicy(open_s=30),
        wall=lambda: WALL + timedelta(seconds=clock.now),
    )
    for label, latency in ((PRO, 1.0), (FLASH, 0.5), (GPT, 1.0)):
        board.add(label, model=label, channel="google", typical_latency_s=latency)

    def call(label: str, seconds: float, outcome: str = "ok") -> None:
        token = board[label].begin()
        clock.advance(seconds)
        if outcome == "ok":
            board[label].succeeded(token)
        else:
            board[label].failed(token, outcome)
        board.refresh()

    for _ in range(4):
        call(PRO, 0.1, "overloaded")
    clock.advance(240)
    for _ in range(10):
        call(GPT, 1.0)
    for _ in range(4):
        call(GPT, 3.0)
    for outcome in ("ok", "ok", "overloaded", "ok", "ok", "ok"):
        call(FLASH, 0.5, outcome)
    return board, clock


def test_the_status_view_of_a_mix_of_states() -> None:
    board, clock = board_with_a_mix()
    view = status_view(board, WALL + timedelta(seconds=clock.now))
    assert (view.primary, view.online, view.total) == (FLASH, 2, 3)
    pro, flash, gpt = view.rows
    assert (pro.emoji, pro.state_word, pro.reason) == ("🔴", "down", "overloaded (503)")
    assert pro.since == "down for 4 min" and not pro.primary
    assert (pro.p50, pro.success) == ("—", "—")  # its calls are older than the window
    assert (flash.emoji, flash.state_word, flash.since, flash.reason) == ("🟢", "normal", "", "")
    assert (flash.p50, flash.success, flash.primary) == ("0.5 s", "83 %", True)
    assert (gpt.emoji, gpt.state_word, gpt.reason) == ("🟡", "delayed", "responding slowly")
    assert gpt.since.startswith("delayed for ") and gpt.p50 == "1.0 s" and gpt.success == "100 %"
    assert status_lines(view) == [
        f"Primary: `{FLASH}` · 2/3 models online",
        f"🔴 `{PRO}` — down for 4 min: overloaded (503) · p50 — · ok —",
        f"🟢 `{FLASH}` (primary) — normal · p50 0.5 s · ok 83 %",
        f"🟡 `{GPT}` — {gpt.since}: responding slowly · p50 1.0 s · ok 100 %",
    ]


def test_with_every_model_down_nothing_is_online() -> None:
    clock = FakeClock()
    board = HealthBoard(clock, wall=lambda: WALL)
    board.add(PRO, model=PRO, channel="google", typical_latency_s=1.0)
    board[PRO].trip(hold_s=600)
    board[PRO].last_failure = "misconfigured"
    view = status_view(board, WALL)
    assert (view.primary, view.online, view.total) == (None, 0, 1)
    assert status_lines(view) == [
        "No model is available right now · 0/1 models online",
        f"🔴 `{PRO}` — down: switched off (configuration problem) · p50 — · ok —",
    ]


def ev(
    kind: str, state: HealthState, reason: str = "", down_for_s: float | None = None
) -> HealthEvent:
    previous = HealthState.NORMAL if kind != "recovered" else HealthState.DOWN
    return HealthEvent(kind, PRO, state, previous, WALL, reason=reason, down_for_s=down_for_s)


def test_announcement_texts() -> None:
    down = ev("down", HealthState.DOWN, reason="overloaded")
    assert down_text(down, primary=FLASH) == (
        f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}."
    )
    assert down_text(down, primary=None) == (
        f"🔴 {PRO} is down — overloaded (503). No model is available right now."
    )
    assert down_text(down, primary=FLASH, moved=False) == f"🔴 {PRO} is down — overloaded (503)."
    slow = ev("delayed", HealthState.DELAYED, reason="slow")
    assert delayed_text(slow, primary=FLASH, p50_ms=4200) == (
        f"🟡 {PRO} is slow (p50 4.2 s). Requests go to {FLASH}."
    )
    stalled = ev("delayed", HealthState.DELAYED, reason="stalled")
    assert delayed_text(stalled, primary=PRO) == f"🟡 {PRO} is not answering in time."
    back = ev("recovered", HealthState.NORMAL, down_for_s=725.0)
    assert recovered_text(back) == f"🟢 {PRO} recovered after 12 min."
    assert recovered_text(back, down_for_s=45, primary=PRO) == (
        f"🟢 {PRO} recovered after 45 s. Requests go to it again."
    )
    partly = ev("recovered", HealthState.DELAYED, down_for_s=7500.0)
    assert recovered_text(partly) == f"🟡 {PRO} is back after 2 h 5 min down, but still slow."
    moved = HealthEvent(
        "primary_changed", None, None, None, WALL, primary=FLASH, previous_primary=PRO
    )
    assert primary_text(moved) == f"Now generating with {FLASH} (was {PRO})."
    assert announcement(moved) == primary_text(moved)
    assert announcement(down, primary=FLASH) == down_text(down, primary=FLASH)
    assert announcement(back) == recovered_text(back)


def test_reasons_are_our_words_never_raw_error_text() -> None:
    leaky = ev("down", HealthState.DOWN, reason="ClientError 401: key=AIzaSy-secret expired")
    text = down_text(leaky, primary=FLASH)
    assert text == f"🔴 {PRO} is down — unavailable. Requests go to {FLASH}."
    assert "secret" not in text and "401" not in text
    assert down_text(ev("down", HealthState.DOWN, reason=""), primary=FLASH).startswith(
        f"🔴 {PRO} is down — unavailable."
    )
