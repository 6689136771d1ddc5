from bot.breaker import BreakerPolicy
from bot.health import HealthBoard, HealthEvent, HealthPolicy, HealthState
from tests.bot.fakes import FakeClock, allow


def board() -> tuple[HealthBoard, FakeClock, list[HealthEvent]]:
    clock = FakeClock()
    b = HealthBoard(clock, policy=HealthPolicy(), breaker_policy=BreakerPolicy(open_s=30))
    for label, lat in (("pro", 1.0), ("flash", 0.5)):
        b.add(label, model=label, channel="google", typical_latency_s=lat)
    events: list[HealthEvent] = []
    b.subscribe(events.append)
    return b, clock, events


def call(b: HealthBoard, clock: FakeClock, label: str, seconds: float, ok: bool = True) -> None:
    rh = b[label]
    token = rh.begin()
    clock.advance(seconds)
    if ok:
        rh.succeeded(token)
    else:
        rh.failed(token, "overloaded")
    b.refresh()


def test_down_then_recovered_with_duration_and_primary_changes() -> None:
    b, clock, events = board()
    for _ in range(10):
        call(b, clock, "pro", 1.0)
    for _ in range(3):
        call(b, clock, "pro", 0.05, ok=False)
    assert b["pro"].state() is HealthState.DOWN
    assert [e.kind for e in events] == ["down", "primary_changed"]
    assert events[0].reason == "overloaded"
    assert events[1].primary == "flash" and events[1].previous_primary == "pro"
    clock.advance(31)
    assert allow(b["pro"].breaker)
    call(b, clock, "pro", 1.0)
    kinds = [e.kind for e in events]
    assert kinds[-2:] == ["recovered", "primary_changed"]
    recovered = events[-2]
    assert recovered.down_for_s is not None and 31 < recovered.down_for_s < 34
    assert b.primary() == "pro"


def test_slow_model_becomes_delayed_and_a_fast_answer_restores_it() -> None:
    b, clock, events = board()
    for _ in range(10):
        call(b, clock, "pro", 1.0)
    for _ in range(4):
        call(b, clock, "pro", 3.0)
    assert b["pro"].state() is HealthState.DELAYED
    assert events[0].kind == "delayed" and events[0].reason == "slow"
    assert b.primary() == "flash"
    call(b, clock, "pro", 1.1)
    assert b["pro"].state() is HealthState.NORMAL
    assert events[-2].kind == "recovered"


def test_a_hung_call_marks_the_model_delayed_before_any_timeout() -> None:
    b, clock, _ = board()
    for _ in range(10):
        call(b, clock, "pro", 1.0)
    rh = b["pro"]
    rh.begin()  # never answers
    clock.advance(1.2)
    assert rh.state() is HealthState.NORMAL
    clock.advance(0.5)  # past 1.5 × baseline p95
    assert rh.stalled() and rh.state() is HealthState.DELAYED


def test_snapshot_reports_rate_latency_and_since() -> None:
    b, clock, _ = board()
    call(b, clock, "pro", 1.0)
    call(b, clock, "pro", 0.1, ok=False)
    snap = {s.label: s for s in b.snapshot()}
    assert snap["pro"].success_rate == 0.5 and snap["pro"].p50_ms == 1000
    assert snap["pro"].state is HealthState.NORMAL and snap["pro"].since is None
    assert snap["flash"].calls == 0 and snap["flash"].p50_ms is None


def test_subscriber_errors_do_not_break_the_board() -> None:
    b, clock, events = board()

    def broken(_: HealthEvent) -> None:
        raise RuntimeError("boom")

    b.subscribe(broken)
    for _ in range(4):
        call(b, clock, "pro", 0.05, ok=False)
    assert any(e.kind == "down" for e in events)


def test_stall_is_proven_even_while_older_calls_still_succeed() -> None:
    """A slowdown starts: calls begun before it keep succeeding, so "no success since
    the call began" would hide the stall; "no later-started call succeeded" does not."""
    b, clock, _ = board()
    for _ in range(10):
        call(b, clock, "pro", 1.0)
    rh = b["pro"]
    old = rh.begin()
    clock.advance(0.5)
    rh.begin()  # starts after the slowdown: never answers in time
    clock.advance(0.5)
    rh.succeeded(old)  # the older call comes back normally
    assert not rh.stalled()
    assert rh.stall_due() == clock.now - 0.5 + rh.stall_after()
    clock.advance(rh.stall_after() - 0.4)
    assert rh.stalled() and rh.state() is HealthState.DELAYED
