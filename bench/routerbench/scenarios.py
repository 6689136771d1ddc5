"""The fault schedules S1–S5 (sandbox ``Fault`` scripts); see bench/README.md."""

from __future__ import annotations

from dataclasses import dataclass, replace

from adapters.sandbox.faults import Fault

from .config import ERROR_S, FLASH, PRIMARY, RETRY_AFTER_S


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    faults: dict[str, list[Fault]]


def scenarios(duration: float) -> dict[str, Scenario]:
    half, third = duration / 2, duration / 3
    down = Fault("overloaded", latency=ERROR_S)
    return {
        s.name: s
        for s in (
            Scenario(
                "S1",
                "primary 503 on 45 % of calls at random",
                {PRIMARY: [Fault("overloaded", probability=0.45, latency=ERROR_S)]},
            ),
            Scenario(
                "S2",
                "primary down (503) for the first half",
                {PRIMARY: [replace(down, end=half)]},
            ),
            Scenario(
                "S3",
                "primary 3x slower for the second half",
                {PRIMARY: [Fault("slow", start=half, factor=3.0)]},
            ),
            Scenario(
                "S4",
                f"primary down; flash 429 (retry {RETRY_AFTER_S:g} s) in the middle third",
                {
                    PRIMARY: [down],
                    FLASH: [
                        Fault(
                            "rate_limited",
                            start=third,
                            end=2 * third,
                            retry_after=RETRY_AFTER_S,
                            latency=ERROR_S,
                        )
                    ],
                },
            ),
            Scenario(
                "S5",
                "primary hangs (no answer) for the second half",
                {PRIMARY: [Fault("hang", start=half)]},
            ),
        )
    }
