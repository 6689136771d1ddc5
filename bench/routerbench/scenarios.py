"""The fault schedules (sandbox ``Fault`` scripts); see bench/README.md.

- S1–S5 scale with ``--duration`` (T): the failover scenarios.
- R1–R5 have a fixed timeline in seconds: the recovery scenarios. Each starts
  with a healthy warm-up, then the fault, then a healthy stretch at least as long
  as the fault (R4's flapping excepted). They are not scaled by ``--duration`` or
  ``--quick``: recovery is judged in seconds (the 5 s target) against router
  constants that do not scale either (the breaker's 10 s open period, a probe
  every 5 × p50 ≈ 4 s, the stall threshold ≈ 1.4 s).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adapters.sandbox.faults import Fault

from .config import ERROR_S, FLASH, PRIMARY, RETRY_AFTER_S

WARMUP_S = 2.0  # R1–R5: healthy before the fault (pro has a real latency baseline by then)
OUTAGE_S = 12.0  # R1: longer than the breaker's first open period (10 s) plus its trip delay
FAULT_S = 8.0  # R2, R3, R5
AFTER_S = 20.0  # R1, R2, R3, R5: the healthy stretch after the fault ("a long healthy stretch")
FLAP_S = 3.0  # R4: 3 s down / 3 s up
FLAPS = 3  # R4: down windows
FLAP_AFTER_S = 7.0  # R4: healthy after the last down window

# Kinds decide which targets apply (bench/routerbench/report.py):
#   outage   a model answers 503/429 to every call in a window (down-call budget 0.02)
#   flapping the primary is down/up every few seconds (down-call budget 0.05)
#   slowdown / hang / random: no down-call budget (slow calls are not "down"; a hang
#            cannot be told from a slow call before the stall threshold)
RECOVERY_KINDS = frozenset({"outage", "slowdown", "hang"})


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    faults: dict[str, list[Fault]]
    duration: float  # seconds of arrivals
    kind: str
    # The primary is healthy from here to the end of the run (seconds since the
    # start): the fault is over. None: the primary's fault lasts all run.
    healthy_from: float | None = None

    @property
    def healthy_stretch(self) -> float:
        """Seconds of the run after the primary's fault is over (0: it never ends)."""
        return 0.0 if self.healthy_from is None else self.duration - self.healthy_from

    @property
    def recovery(self) -> bool:
        """Recovery targets apply: an outage, slowdown or hang that ends."""
        return self.healthy_from is not None and self.kind in RECOVERY_KINDS

    def windows(self, model: str) -> list[tuple[float, float]]:
        """The model's scheduled fault windows (start, end) within the run."""
        return [
            (f.start, self.duration if f.end is None else min(f.end, self.duration))
            for f in self.faults.get(model, [])
            if f.probability >= 1.0
        ]


def scenarios(duration: float) -> dict[str, Scenario]:
    """All scenarios; ``duration`` (``--duration``) sets S1–S5 only."""
    return {s.name: s for s in (*failover(duration), *recovery())}


def failover(duration: float) -> list[Scenario]:
    half, third = duration / 2, duration / 3
    down = Fault("overloaded", latency=ERROR_S)
    return [
        Scenario(
            "S1",
            "primary 503 on 45 % of calls at random",
            {PRIMARY: [Fault("overloaded", probability=0.45, latency=ERROR_S)]},
            duration,
            "random",
        ),
        Scenario(
            "S2",
            "primary down (503) for the first half",
            {PRIMARY: [replace(down, end=half)]},
            duration,
            "outage",
            healthy_from=half,
        ),
        Scenario(
            "S3",
            "primary 3x slower for the second half",
            {PRIMARY: [Fault("slow", start=half, factor=3.0)]},
            duration,
            "slowdown",
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
            duration,
            "outage",
        ),
        Scenario(
            "S5",
            "primary hangs (no answer) for the second half",
            {PRIMARY: [Fault("hang", start=half)]},
            duration,
            "hang",
        ),
    ]


def recovery() -> list[Scenario]:
    w = WARMUP_S
    end = w + FAULT_S
    down = Fault("overloaded", latency=ERROR_S)
    flaps = [
        replace(down, start=w + 2 * k * FLAP_S, end=w + (2 * k + 1) * FLAP_S) for k in range(FLAPS)
    ]
    flaps_end = flaps[-1].end or 0.0
    return [
        Scenario(
            "R1",
            f"primary down (503) {w:g}–{w + OUTAGE_S:g} s, then healthy",
            {PRIMARY: [replace(down, start=w, end=w + OUTAGE_S)]},
            w + OUTAGE_S + AFTER_S,
            "outage",
            healthy_from=w + OUTAGE_S,
        ),
        Scenario(
            "R2",
            f"primary 3x slower {w:g}–{end:g} s, then healthy",
            {PRIMARY: [Fault("slow", start=w, end=end, factor=3.0)]},
            end + AFTER_S,
            "slowdown",
            healthy_from=end,
        ),
        Scenario(
            "R3",
            f"primary hangs {w:g}–{end:g} s, then healthy",
            {PRIMARY: [Fault("hang", start=w, end=end)]},
            end + AFTER_S,
            "hang",
            healthy_from=end,
        ),
        Scenario(
            "R4",
            f"primary flaps: {FLAP_S:g} s down / {FLAP_S:g} s up ×{FLAPS} from {w:g} s, "
            f"healthy from {flaps_end:g} s",
            {PRIMARY: flaps},
            flaps_end + FLAP_AFTER_S,
            "flapping",
            healthy_from=flaps_end,
        ),
        Scenario(
            "R5",
            f"pro and flash (both Google) down (503) {w:g}–{end:g} s, gpt up",
            {
                PRIMARY: [replace(down, start=w, end=end)],
                FLASH: [replace(down, start=w, end=end)],
            },
            end + AFTER_S,
            "outage",
            healthy_from=end,
        ),
    ]


GROUPS: dict[str, tuple[str, ...]] = {
    "S": ("S1", "S2", "S3", "S4", "S5"),
    "R": ("R1", "R2", "R3", "R4", "R5"),
}
GROUPS["ALL"] = GROUPS["S"] + GROUPS["R"]


def select(spec: str, known: dict[str, Scenario]) -> tuple[list[str], list[str]]:
    """``--scenarios``: names and the groups S (S1–S5), R (R1–R5), all. (wanted, unknown)."""
    wanted: list[str] = []
    unknown: list[str] = []
    for part in (p.strip().upper() for p in spec.split(",") if p.strip()):
        names = GROUPS.get(part, (part,))
        for name in names:
            if name not in known:
                unknown.append(name)
            elif name not in wanted:
                wanted.append(name)
    return wanted, unknown
