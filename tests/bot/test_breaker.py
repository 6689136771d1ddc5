import random

from bot.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from tests.bot.fakes import FakeClock, allow


def breaker(**kw: float) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker(BreakerPolicy(**kw), clock), clock  # type: ignore[arg-type]


def healthy(b: CircuitBreaker, clock: FakeClock, n: int = 20) -> None:
    for _ in range(n):
        clock.advance(0.5)
        b.record_success()


def test_healthy_model_trips_after_three_consecutive_failures() -> None:
    b, clock = breaker()
    healthy(b, clock)
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert not allow(b)


def test_new_model_that_is_down_trips_within_four_calls() -> None:
    b, _ = breaker()
    for _ in range(4):
        b.record_failure()
    assert b.state is BreakerState.OPEN


def test_coin_flip_503s_do_not_open_the_breaker() -> None:
    """45 % random failures: the primary keeps its traffic (its quality is the point)."""
    b, clock = breaker()
    rng = random.Random(7)
    opened = 0
    for _ in range(2000):
        clock.advance(0.04)
        if rng.random() < 0.45:
            b.record_failure()
        else:
            b.record_success()
        opened += b.state is not BreakerState.CLOSED
    assert opened == 0
    assert b.run_to_trip() == 12


def test_mostly_failing_model_trips_on_rate() -> None:
    b, clock = breaker()
    for i in range(40):
        clock.advance(0.1)
        if i % 10 == 0:
            b.record_success()
        else:
            b.record_failure()
        if b.state is BreakerState.OPEN:
            break
    assert b.state is BreakerState.OPEN


def test_half_open_admits_exactly_one_probe_and_success_closes() -> None:
    b, clock = breaker(open_s=30)
    healthy(b, clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(29.9)
    assert b.state is BreakerState.OPEN
    clock.advance(0.2)
    assert b.state is BreakerState.HALF_OPEN
    probe = b.admit()
    assert probe
    assert b.admit() is None  # the second caller waits for the probe's verdict
    b.record_success(probe)
    assert b.state is BreakerState.CLOSED
    assert allow(b) and allow(b)


def test_a_failed_probe_reopens_for_the_same_interval() -> None:
    """Time-based recovery: however long the outage, the model is tried again every
    interval (no doubling), so it is back within one interval of being healthy."""
    b, clock = breaker(open_s=30)
    for _ in range(4):
        b.record_failure()
    waits = []
    for _ in range(4):
        wait = b.reopens_in
        waits.append(round(wait))
        clock.advance(wait + 0.01)
        b.record_failure(b.admit() or 0)
        assert b.state is BreakerState.OPEN
    assert waits == [30, 30, 30, 30]


def test_coin_flip_model_after_an_outage_comes_back_quickly() -> None:
    """Back from an outage at 55 % success, the primary returns within a probe or two."""
    rng = random.Random(11)
    back_after = []
    for _ in range(200):
        b, clock = breaker(open_s=10)
        for _ in range(4):
            b.record_failure()
        start = clock.now
        while b.state is not BreakerState.CLOSED and clock.now - start < 600:
            clock.advance(0.5)
            ticket = b.admit()
            if ticket is not None:
                b.record_success(ticket) if rng.random() < 0.55 else b.record_failure(ticket)
        back_after.append(clock.now - start)
    back_after.sort()
    assert back_after[len(back_after) // 2] <= 21  # median: the first or second probe
    assert back_after[int(len(back_after) * 0.9)] <= 41  # 0.45⁴ ≈ 4 % need a fifth


def test_released_probe_frees_the_slot() -> None:
    b, clock = breaker(open_s=5)
    for _ in range(4):
        b.record_failure()
    clock.advance(6)
    probe = b.admit()
    assert probe
    b.release(0)  # an ordinary call ending frees nothing…
    assert b.admit() is None
    b.release(probe)  # …only the probe's own ticket does
    assert b.admit()


def test_429_with_retry_after_opens_at_once_and_holds() -> None:
    b, clock = breaker(open_s=10)
    healthy(b, clock)
    b.record_failure(retry_after=45)
    assert b.state is BreakerState.OPEN and b.held
    clock.advance(30)
    b.record_success()  # an old call coming back must not cut the vendor's hold short
    assert b.state is BreakerState.OPEN
    clock.advance(15.5)
    assert b.state is BreakerState.HALF_OPEN


def test_trip_with_hold_for_misconfigured_model() -> None:
    b, clock = breaker()
    b.trip(hold_s=600)
    clock.advance(599)
    assert b.state is BreakerState.OPEN
    clock.advance(2)
    assert b.state is BreakerState.HALF_OPEN


def test_a_late_429_from_an_old_call_extends_the_hold() -> None:
    b, clock = breaker(open_s=10)
    healthy(b, clock)
    b.record_failure(retry_after=2)  # opens: 10 s (at least the 2 s asked)
    clock.advance(0.1)
    b.record_failure(retry_after=2)  # a call that was already in flight
    assert round(b.reopens_in) == 10  # not 20
    clock.advance(10)
    b.record_failure(b.admit() or 0, retry_after=2)  # a probe answered 429: re-opens
    assert round(b.reopens_in) == 10  # one interval (at least the vendor's delay)


def test_a_non_probe_call_cannot_free_or_fail_the_probe() -> None:
    """Calls begun before the trip end while the probe is out: they must neither let a
    second probe in nor count as the probe's failure."""
    b, clock = breaker(open_s=5)
    healthy(b, clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(6)
    probe = b.admit()
    assert probe
    b.release(0)
    b.record_failure(0)
    b.record_failure(0)
    assert b.state is BreakerState.HALF_OPEN and b.admit() is None
    b.record_success(probe)
    assert b.state is BreakerState.CLOSED
