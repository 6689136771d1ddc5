"""Issue 10: the best model comes back. One test per defect found in the code; each
fails on the router as it was (commit 93e1a64)."""

import asyncio
import random

from bot.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from bot.domain import GenerationRequest, Outcome
from bot.health import HealthPolicy, HealthState
from tests.bot.fakes import CHAIN, FakeClock, ScriptedProvider, allow, make_router

PRO, FLASH, GPT = CHAIN
REQ = GenerationRequest("a red fox in snow")


def breaker() -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker(BreakerPolicy(open_s=10), clock), clock


def healthy(b: CircuitBreaker, clock: FakeClock, n: int = 20) -> None:
    for _ in range(n):
        clock.advance(0.5)
        b.record_success(b.admit() or 0)


async def test_1_a_stalled_route_is_probed_to_the_end_and_comes_back() -> None:
    """Defect 1: the probe of a stalled route was cancelled as soon as the faster
    backup won its race, so the stall flag (cleared only by a success) never cleared."""
    p = ScriptedProvider(scripts={PRO: [10.0]}, then={FLASH: 0.1})
    router = make_router(p, health=HealthPolicy(probe_every_s=0.3))
    first = await router.generate(REQ)  # PRO hangs; the hedge to FLASH wins
    assert first.model == FLASH and router.board[PRO].state() is HealthState.DELAYED
    p.then = {PRO: 0.15, FLASH: 0.01}  # PRO answers again, but slower than FLASH
    await asyncio.sleep(0.35)  # a probe is due
    probe = await router.generate(REQ)
    assert probe.model == FLASH  # the user was served by the hedge…
    assert [a.outcome for a in probe.attempts if a.model == PRO] == [Outcome.BACKGROUND]
    await asyncio.sleep(0.3)  # …and the probe ran to its own answer
    assert router.board[PRO].state() is HealthState.NORMAL
    assert (await router.generate(REQ)).model == PRO
    await router.aclose()


def test_2_a_success_admitted_before_the_trip_cannot_close_the_breaker() -> None:
    """Defect 2: a slow call admitted while the model was fine came back after the
    trip and closed the breaker (and cleared its window) without any probe."""
    b, clock = breaker()
    healthy(b, clock)
    old = b.admit()
    assert old is not None
    for _ in range(3):
        b.record_failure(b.admit() or 0)
    assert b.state is BreakerState.OPEN
    clock.advance(1)
    b.record_success(old)
    assert b.state is BreakerState.OPEN and not allow(b)
    clock.advance(10)  # only a probe admitted while open can close it
    probe = b.admit()
    assert probe is not None
    b.record_success(probe)
    assert b.state is BreakerState.CLOSED


def test_3_old_successes_do_not_reset_the_failure_run() -> None:
    """Defect 3: slow successes admitted before an outage kept resetting the count of
    its fast 503s, so the breaker tripped one call latency late."""
    b, clock = breaker()
    healthy(b, clock)
    in_flight = [b.admit() or 0 for _ in range(20)]  # a slow model: 20 calls out
    for n in range(3):  # the outage: each new call fails fast, an old one returns OK
        clock.advance(0.04)
        b.record_failure(b.admit() or 0)
        b.record_success(in_flight[n])
    assert b.state is BreakerState.OPEN  # after 3 fast 503s, not after the 20 old calls


def test_3b_a_coin_flipping_slow_model_still_keeps_its_traffic() -> None:
    """The other side of judging by admission: 45 % fast 503s from a model whose
    successes take 20 s never form a run across the calls still in flight."""
    b, clock = breaker()
    rng = random.Random(3)
    pending: list[tuple[float, int]] = []
    for _ in range(3000):  # 25 requests a second for two minutes
        clock.advance(0.04)
        ticket = b.admit()
        assert ticket is not None, "the coin-flipping primary was switched off"
        if rng.random() < 0.45:
            b.record_failure(ticket)
        else:
            pending.append((clock.now + 20.0, ticket))
        while pending and pending[0][0] <= clock.now:
            b.record_success(pending.pop(0)[1])


def test_4_three_failures_trip_a_healthy_model_four_a_route_with_no_history() -> None:
    """Defect 4: the README said three for every model; a route with no history needs
    four (one unlucky start of a coin-flipping primary must not switch it off: tried at
    three, the 45 %-503 benchmark lost its primary for a probe interval at start-up).
    The rule is now stated as built; a healthy model still trips after three."""
    b, clock = breaker()
    for _ in range(3):
        b.record_failure(b.admit() or 0)
    assert b.state is BreakerState.CLOSED
    b.record_failure(b.admit() or 0)
    assert b.state is BreakerState.OPEN
    seen, clock = breaker()
    healthy(seen, clock)
    for _ in range(3):
        seen.record_failure(seen.admit() or 0)
    assert seen.state is BreakerState.OPEN


async def test_an_outage_ends_and_the_primary_is_back_within_one_interval() -> None:
    """Time-based recovery: the open period is the route's probe interval, the same
    after every failed probe, so however long the outage the primary is back within
    one interval of being healthy."""
    p = ScriptedProvider(then={PRO: RuntimeError("unused")})
    from bot.errors import ProviderOverloaded

    p.then = {PRO: ProviderOverloaded(model=PRO)}
    router = make_router(p, health=HealthPolicy(probe_every_s=0.2))
    for _ in range(12):  # a long outage: many failed probes
        await router.generate(REQ)
        await asyncio.sleep(0.05)
    assert router.board[PRO].state() is HealthState.DOWN
    assert router.board[PRO].breaker.reopens_in <= 0.2  # not doubled to minutes
    p.then = {}
    await asyncio.sleep(0.25)
    assert (await router.generate(REQ)).model == PRO
    assert router.board[PRO].state() is HealthState.NORMAL


async def test_two_models_of_one_vendor_failing_together_cost_fewer_calls() -> None:
    """Pro and Flash share Google's channel: once Pro is open, Flash trips after 2
    failures, and Pro's failed probe pushes Flash's probe back (never the reverse)."""
    from bot.errors import ProviderOverloaded

    p = ScriptedProvider(then={PRO: ProviderOverloaded(model=PRO)})
    router = make_router(p, breaker=BreakerPolicy(open_s=0.3))
    for _ in range(4):  # Pro goes down first (no history yet: a run of 4) …
        assert (await router.generate(REQ)).model == FLASH
    p.then[FLASH] = ProviderOverloaded(model=FLASH)  # … then the rest of Google
    for _ in range(3):
        assert (await router.generate(REQ)).model == GPT
    assert p.count(PRO) == 4 and p.count(FLASH) == 4 + 2  # Flash: a run of 2 sufficed
    assert router.board[FLASH].state() is HealthState.DOWN
    await asyncio.sleep(0.32)  # both half-open: Pro's probe fails first …
    await router.generate(REQ)
    assert p.count(PRO) == 5 and p.count(FLASH) == 6  # … so Flash waits another interval
    p.then = {}  # Google is back
    await asyncio.sleep(0.32)
    assert (await router.generate(REQ)).model == PRO


def test_a_route_one_failure_from_tripping_takes_one_call_at_a_time() -> None:
    """A model that has just gone down is not sent a burst it will refuse: once the
    next failure would trip the breaker, the other requests wait for that verdict on
    another route (the bench's cold S2/S4 starts sent 5–7 calls, not 4)."""
    b, _ = breaker()
    for _ in range(3):  # a route with no history trips at 4
        b.record_failure(b.admit() or 0)
    deciding = b.admit()
    assert deciding is not None and b.state is BreakerState.CLOSED
    assert b.admit() is None and b.admit() is None  # refused while the 4th is in flight
    b.record_failure(deciding)
    assert b.state is BreakerState.OPEN


def test_a_route_one_failure_from_tripping_is_free_again_after_a_success() -> None:
    b, _ = breaker()
    for _ in range(3):
        b.record_failure(b.admit() or 0)
    deciding = b.admit()
    assert b.admit() is None
    b.record_success(deciding or 0)
    assert b.admit() is not None and b.admit() is not None  # the run is over


def test_a_lower_sibling_is_not_probed_more_often_than_the_failing_better_one() -> None:
    """Pro's failed probe pushes Flash's probe back by Pro's interval when that is
    longer than Flash's own: while Google is down, Flash is not asked every 2 s when
    Pro is asked every 4 s."""
    b, clock = breaker()
    for _ in range(4):
        b.record_failure(b.admit() or 0)
    clock.advance(10.5)  # half-open: its own interval is over
    b.defer(at_least=20.0)
    clock.advance(19.0)
    assert b.state is BreakerState.OPEN
    clock.advance(1.5)
    assert b.state is BreakerState.HALF_OPEN


def test_a_hung_route_is_probed_once_per_quarter_stall_threshold_not_per_request() -> None:
    """A probe of a hung route is hedged at once, so a model that is only very slow
    bills both models for every probe: they are spaced, not sent with each request."""
    from bot.health import HealthBoard

    clock = FakeClock()
    board = HealthBoard(clock, policy=HealthPolicy(), breaker_policy=BreakerPolicy())
    board.add("pro", model="pro", channel="google", typical_latency_s=1.0)
    rh = board["pro"]
    for _ in range(10):
        token = rh.begin()
        clock.advance(1.0)
        rh.succeeded(token)
    rh.begin()  # never answers
    clock.advance(rh.stall_after() * 2)
    assert rh.state() is HealthState.DELAYED
    assert rh.claim_probe()  # the first request after the stall probes at once…
    assert not rh.claim_probe()  # …the next ones do not…
    clock.advance(rh.stall_after() / 4 + 0.01)
    assert rh.claim_probe()  # …until a quarter of the stall threshold has passed
