"""Fault scripts: windows, first_n, seeded probability, and the oracle view."""

from __future__ import annotations

import pytest

from adapters.sandbox.faults import Behaviour, Fault, fault_delay, proto_duration


def test_first_matching_rule_wins_inside_its_window() -> None:
    b = Behaviour()
    b.script("m", [Fault("overloaded", start=10, end=20), Fault("server_error")], now=100.0)
    assert b.pick("m", 105.0) == Fault("server_error")
    assert b.pick("m", 112.0) == Fault("overloaded", start=10, end=20)
    assert b.pick("m", 120.0) == Fault("server_error")  # end is exclusive
    assert b.pick("other", 112.0) is None


def test_star_script_covers_models_without_their_own() -> None:
    b = Behaviour()
    b.script("*", [Fault("empty")], now=0.0)
    b.script("m", [], now=0.0)
    assert b.pick("any-model", 1.0) == Fault("empty")
    assert b.pick("m", 1.0) is None


def test_first_n_uses_a_rule_up() -> None:
    b = Behaviour()
    rule = Fault("rate_limited", first_n=2)
    b.script("m", [rule], now=0.0)
    assert [b.pick("m", t) for t in (1.0, 2.0, 3.0)] == [rule, rule, None]
    assert b.active("m", 1.5) == [rule]
    assert b.active("m", 2.5) == []  # used up at t=2


def test_probability_is_seeded_and_roughly_right() -> None:
    def run(seed: int) -> list[bool]:
        b = Behaviour(seed=seed)
        b.script("m", [Fault("overloaded", probability=0.3)], now=0.0)
        return [b.pick("m", 1.0) is not None for _ in range(1000)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 250 < sum(run(1)) < 350


def test_active_faults_is_the_window_view() -> None:
    b = Behaviour()
    flaky = Fault("overloaded", probability=0.5, start=5, end=15)
    b.script("m", [flaky], now=1000.0)
    assert b.active("m", 1004.0) == []
    assert b.active("m", 1010.0) == [flaky]
    assert b.active("m", 1015.0) == []


def test_delays() -> None:
    assert fault_delay(None, 2.0) == 2.0
    assert fault_delay(Fault("slow", factor=3), 2.0) == 6.0
    assert fault_delay(Fault("slow", latency=9), 2.0) == 9.0
    assert fault_delay(Fault("overloaded"), 2.0) == 0.0  # errors come back at once
    assert fault_delay(Fault("overloaded", latency=0.5), 2.0) == 0.5
    assert fault_delay(Fault("text_only"), 2.0) == 2.0  # the model ran


def test_latency_jitter_stays_within_bounds() -> None:
    b = Behaviour(seed=3)
    b.set_latency("m", 1.0, jitter=0.2)
    draws = [b.draw_latency("m") for _ in range(200)]
    assert min(draws) >= 0.8 and max(draws) <= 1.2 and len(set(draws)) > 100


def test_bad_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("meltdown")
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_dict({"kind": "hang", "duration": 3})
    assert Fault.from_dict(Fault("slow", factor=2).as_dict()) == Fault("slow", factor=2)


def test_proto_durations() -> None:
    assert proto_duration(27) == "27s"
    assert proto_duration(1.5) == "1.500s"
