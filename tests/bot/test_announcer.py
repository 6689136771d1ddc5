import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.announcer import Announcer
from bot.breaker import BreakerPolicy
from bot.guild_settings import GuildSettings
from bot.health import HealthBoard, HealthEvent, HealthPolicy, HealthState
from bot.store import Store
from tests.bot.fakes import allow

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"
NORMAL, DELAYED, DOWN = HealthState.NORMAL, HealthState.DELAYED, HealthState.DOWN
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeTimer:
    """A monotonic clock and a ``sleep`` on it: sleepers wake when ``advance`` passes them."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """Counts from the moment it is called (a coroutine would count from its first step)."""
        entry = (self.now + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        entry[1].add_done_callback(lambda _: self._sleepers.remove(entry))
        return entry[1]

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, fut in list(self._sleepers):
            if due <= self.now and not fut.done():
                fut.set_result(None)


@dataclass
class Poster:
    platform: str
    posts: list[tuple[str, str, str]] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # workspace -> "raise" | "hang"
    cancelled: int = 0

    async def post_status(self, *, workspace: str, channel: str, text: str) -> None:
        how = self.broken.get(workspace)
        if how == "raise":
            raise RuntimeError("401 invalid_auth token=xoxb-secret-123")
        if how == "hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        self.posts.append((workspace, channel, text))

    def texts(self, workspace: str) -> list[str]:
        return [t for w, _, t in self.posts if w == workspace]


@pytest.fixture
async def guilds(tmp_path: Path) -> AsyncIterator[GuildSettings]:
    store = await Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    settings = GuildSettings(store)
    for workspace, channel in (
        ("slack:T1", "C-status"),
        ("slack:T2", "C-ops"),
        ("discord:G1", "111"),
        ("discord:G2", "222"),
    ):
        await settings.set_status_channel(workspace, channel, by="admin")
    await settings.set_status_channel("slack:T3", None, by="admin")  # no status channel
    yield settings
    await store.close()


def make_board(timer: FakeTimer) -> HealthBoard:
    board = HealthBoard(timer, policy=HealthPolicy(), breaker_policy=BreakerPolicy(open_s=30))
    for label in (PRO, FLASH, GPT):
        board.add(label, model=label, channel="google", typical_latency_s=1.0)
    return board


def ev(
    kind: str,
    route: str,
    state: HealthState,
    previous: HealthState,
    reason: str = "",
    down_for_s: float | None = None,
) -> HealthEvent:
    return HealthEvent(kind, route, state, previous, AT, reason=reason, down_for_s=down_for_s)


def moved(primary: str | None, previous: str | None) -> HealthEvent:
    return HealthEvent(
        "primary_changed", None, None, None, AT, primary=primary, previous_primary=previous
    )


class Rig:
    def __init__(self, guilds: GuildSettings, **kw: float) -> None:
        self.timer = FakeTimer()
        self.board = make_board(self.timer)
        self.slack, self.discord = Poster("slack"), Poster("discord")
        self.announcer = Announcer(
            self.board,
            guilds,
            [self.slack, self.discord],
            clock=self.timer,
            sleep=self.timer.sleep,
            **kw,
        )

    async def at(self, seconds: float, *events: HealthEvent) -> None:
        """Move the clock forward (what falls due meanwhile is dealt with first), then
        deliver events, and wait until the announcer is done."""
        await self.announcer.wait_idle()
        self.timer.advance(seconds)
        await self.announcer.wait_idle()
        for event in events:
            self.announcer.on_event(event)
        await self.announcer.wait_idle()

    def said(self) -> list[str]:
        return self.slack.texts("slack:T1")


@pytest.fixture
async def rig(guilds: GuildSettings) -> AsyncIterator[Rig]:
    r = Rig(guilds)
    r.announcer.start()
    yield r
    await r.announcer.aclose()


def go_down(route: str = PRO, to: str | None = FLASH) -> tuple[HealthEvent, HealthEvent]:
    return ev("down", route, DOWN, NORMAL, reason="overloaded"), moved(to, route)


def come_back(route: str = PRO, down_for: float | None = None) -> tuple[HealthEvent, HealthEvent]:
    back = ev("recovered", route, NORMAL, DOWN, down_for_s=down_for)
    return back, moved(route, FLASH)


async def test_a_settled_down_reaches_every_status_channel_of_each_platform(rig: Rig) -> None:
    await rig.at(0, *go_down())
    await rig.at(19.9)
    assert rig.slack.posts == [] and rig.discord.posts == []
    await rig.at(0.1)
    text = f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}."
    assert sorted(rig.slack.posts) == [("slack:T1", "C-status", text), ("slack:T2", "C-ops", text)]
    assert sorted(rig.discord.posts) == [("discord:G1", "111", text), ("discord:G2", "222", text)]
    await rig.at(600)  # the primary change was already said by the "down"
    assert len(rig.slack.posts) == 2 and len(rig.discord.posts) == 2


async def test_a_flap_inside_the_settle_window_says_nothing_and_costs_no_cooldown(
    rig: Rig,
) -> None:
    await rig.at(0, *go_down())
    await rig.at(5, *come_back(down_for=5))
    await rig.at(100)
    assert rig.slack.posts == [] and rig.discord.posts == []
    await rig.at(0, *go_down())
    await rig.at(20)
    assert rig.said() == [f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}."]


async def test_recovery_is_said_at_once_with_how_long_it_was_down(rig: Rig) -> None:
    await rig.at(0, *go_down())
    await rig.at(20)
    await rig.at(705, *come_back(down_for=725.0))
    assert rig.said()[1:] == [f"🟢 {PRO} recovered after 12 min. Requests go to it again."]
    await rig.at(60)  # the primary moving back was said with the recovery
    assert len(rig.said()) == 2


async def test_without_the_boards_figure_the_down_time_is_measured(rig: Rig) -> None:
    await rig.at(0, ev("down", GPT, DOWN, NORMAL, reason="timeout"))
    await rig.at(7480, ev("recovered", GPT, NORMAL, DOWN))
    assert rig.said() == [
        f"🔴 {GPT} is down — timing out.",  # it was not the primary: requests go on as before
        f"🟢 {GPT} recovered after 2 h 4 min.",
    ]


async def test_a_recovery_of_an_unannounced_down_is_not_said(rig: Rig) -> None:
    await rig.at(0, ev("down", GPT, DOWN, NORMAL, reason="overloaded"))
    await rig.at(19, ev("recovered", GPT, NORMAL, DOWN, down_for_s=19.0))
    await rig.at(600)
    assert rig.said() == []


async def test_cooldown_limits_a_flapping_model_to_one_down_and_recovery(rig: Rig) -> None:
    await rig.at(0, *go_down())
    await rig.at(20)  # t=20: down said
    await rig.at(10, *come_back(down_for=30))  # t=30: recovery said
    for _ in range(5):  # t=30…230: down for 25 s, up for 15 s, again and again
        await rig.at(15, *go_down())
        await rig.at(25, *come_back(down_for=25))
    assert rig.said() == [
        f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}.",
        f"🟢 {PRO} recovered after 30 s. Requests go to it again.",
    ]
    await rig.at(15, *go_down())  # t=245: down again, and this time it stays down
    await rig.at(74.9)  # t=319.9: still inside the cooldown of the first "down"
    assert len(rig.said()) == 2
    await rig.at(0.1)  # t=320: the cooldown is over and it is still down: said now
    assert rig.said()[2] == f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}."
    await rig.at(45, *come_back(down_for=120))
    assert rig.said()[3] == f"🟢 {PRO} recovered after 2 min. Requests go to it again."


async def test_slow_then_down_then_back_but_slow(rig: Rig) -> None:
    board = rig.board
    for _ in range(6):  # some history, so the slow text can quote the p50
        token = board[PRO].begin()
        rig.timer.advance(4.2)
        board[PRO].succeeded(token)
    await rig.at(0, ev("delayed", PRO, DELAYED, NORMAL, reason="slow"), moved(FLASH, PRO))
    back = ev("recovered", PRO, NORMAL, DELAYED)
    await rig.at(10, back, moved(PRO, FLASH))  # a fast answer inside the window: nothing said
    await rig.at(10, ev("delayed", PRO, DELAYED, NORMAL, reason="slow"), moved(FLASH, PRO))
    await rig.at(20)
    await rig.at(30, ev("down", PRO, DOWN, DELAYED, reason="rate_limited"))
    await rig.at(20)
    await rig.at(40, ev("recovered", PRO, DELAYED, DOWN, down_for_s=40.0))
    await rig.at(20)
    assert rig.said() == [
        f"🟡 {PRO} is slow (p50 4.2 s). Requests go to {FLASH}.",
        f"🔴 {PRO} is down — rate-limited (429).",  # channels already know where requests go
        f"🟡 {PRO} is back after 40 s down, but still slow.",
    ]


async def test_primary_changes_collapse_to_the_latest_and_cool_down(rig: Rig) -> None:
    await rig.at(0, moved(FLASH, PRO))
    await rig.at(5, moved(PRO, FLASH))  # back where it began: nothing to say
    await rig.at(30)
    assert rig.said() == []
    await rig.at(0, moved(FLASH, PRO))
    await rig.at(5, moved(GPT, FLASH))
    await rig.at(15)
    assert rig.said() == [f"Now generating with {GPT} (was {PRO})."]
    await rig.at(0, moved(None, GPT))  # no model at all: said without waiting for the cooldown
    await rig.at(20, moved(PRO, None))
    await rig.at(20)
    assert rig.said()[1:] == [
        f"🔴 No image model is available right now (was {GPT}).",
        f"Now generating with {PRO}.",
    ]
    await rig.at(0, moved(FLASH, PRO))  # right after the last one: held for the cooldown
    await rig.at(299.9)
    assert len(rig.said()) == 3
    await rig.at(0.1)
    assert rig.said()[3] == f"Now generating with {FLASH} (was {PRO})."


async def test_a_failing_or_hanging_poster_does_not_stop_the_others(
    guilds: GuildSettings, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(guilds, post_timeout_s=0.05)
    r.discord.broken = {"discord:G1": "raise", "discord:G2": "hang"}
    r.slack.broken = {"slack:T2": "hang"}
    caplog.set_level(logging.WARNING, logger="bot.announcer")
    async with r.announcer:
        await r.at(0, *go_down())
        await r.at(20)
        await r.at(60, *come_back(down_for=80))
    assert [w for w, _, _ in r.slack.posts] == ["slack:T1", "slack:T1"]  # both announcements
    assert r.discord.posts == [] and r.discord.cancelled == 2 and r.slack.cancelled == 2
    assert "RuntimeError" in caplog.text and "timed out" in caplog.text
    assert "xoxb" not in caplog.text and "invalid_auth" not in caplog.text


async def test_aclose_cancels_a_post_in_flight_and_unsubscribes(guilds: GuildSettings) -> None:
    r = Rig(guilds)  # the default 10 s post timeout: the hang is still running at close
    r.slack.broken = {"slack:T1": "hang"}
    r.announcer.start()
    await r.at(0, *go_down())
    r.timer.advance(20)
    for _ in range(100):  # until the post to T1 is under way
        if len(r.slack.posts) == 1:
            break
        await asyncio.sleep(0.01)
    async with asyncio.timeout(1):
        await r.announcer.aclose()
    assert r.slack.cancelled == 1 and r.slack.posts[0][0] == "slack:T2"
    assert r.board._subscribers == []  # nothing left behind on the board
    await r.announcer.aclose()  # twice is fine


async def test_a_real_board_going_down_and_back(rig: Rig) -> None:
    board, timer = rig.board, rig.timer
    for _ in range(5):
        token = board[PRO].begin()
        timer.advance(1.0)
        board[PRO].succeeded(token)
    for _ in range(4):  # after 5 successes, 4 failures in a row trip the breaker
        token = board[PRO].begin()
        timer.advance(0.1)
        board[PRO].failed(token, "overloaded")
        board.refresh()
    assert board[PRO].state() is DOWN
    await rig.at(20)
    assert rig.said() == [f"🔴 {PRO} is down — overloaded (503). Requests go to {FLASH}."]
    await rig.at(22)  # the breaker's 30 s are over: a probe gets through
    assert allow(board[PRO].breaker)
    token = board[PRO].begin()
    timer.advance(1.0)
    board[PRO].succeeded(token)
    board.refresh()
    await rig.at(60)
    assert rig.said()[1:] == [f"🟢 {PRO} recovered after 43 s. Requests go to it again."]
    assert rig.discord.texts("discord:G2") == rig.said()
