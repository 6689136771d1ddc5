"""The markdown table: the baseline (1 process), each N measured, and the oracle."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence

from .measure import Figures
from .world import Settings


def _ledger(f: Figures) -> str:
    ok = "✔" if f.ledger_ok else "✘ MISMATCH"
    extra = f", {f.reservations_open} open" if f.reservations_open else ""
    return f"${f.settled_musd / 1e6:.3f} = ${f.jobs_cost_musd / 1e6:.3f} {ok}{extra}"


def _once(f: Figures) -> str:
    bad = []
    if f.files_duplicated:
        bad.append(f"{f.files_duplicated} DUPLICATED")
    if f.files_missing:
        bad.append(f"{f.files_missing} missing")
    return f"{f.files_once} / {f.jobs}" + (f" ({', '.join(bad)})" if bad else "")


def markdown(
    results: Sequence[Figures],
    s: Settings,
    *,
    rate: float,
    window: float,
    workspaces: int,
    command: str,
    load_before: tuple[float, float, float],
) -> str:
    load = os.getloadavg()
    base = next((f for f in results if f.n == 1), None)
    bound = s.workers / s.latency_s  # one process's ideal jobs/s
    lines = [
        f"# Scale benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {platform.node()},"
        f" {os.cpu_count()} cores; 1-minute load {load_before[0]:.2f} before,"
        f" {load[0]:.2f} after)",
        "",
        f"`{command}`",
        "",
        f"Each process: IMAGINE_WORKERS={s.workers}, IMAGINE_GUILD_CONCURRENCY={s.guild_cap};"
        f" sandbox {s.latency_s:g} ± {s.jitter_s:g} s an image (one process's ideal"
        f" {bound:.2f} jobs/s); {rate:g} `/imagine`/s for {window:g} s"
        f" ({round(rate * window)} jobs), round-robin over the processes and over"
        f" {workspaces} workspaces; one PostgreSQL schema and one Redis database shared.",
        "",
        "| | processes | jobs/s | × 1 process | queue wait p50 / p99 s | ack p99 s"
        " | images delivered once | ledger: settled = jobs' cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in results:
        ratio = f"{f.jobs_per_s / base.jobs_per_s:.2f}×" if base else "–"
        lines.append(
            f"| {'baseline' if f.n == 1 else 'measured'} | {f.n} | {f.jobs_per_s:.2f} | {ratio}"
            f" | {f.wait_p50:.2f} / {f.wait_p99:.2f} | {f.ack_p99:.3f} | {_once(f)}"
            f" | {_ledger(f)} |"
        )
    for f in results:
        jobs_s = f"{f.n * base.jobs_per_s:.2f}" if base else "–"
        lines.append(
            f"| oracle | {f.n} | {jobs_s} (bound {f.n * bound:.2f}) | {f.n}.00×"
            f" | {f.oracle_wait_p50:.2f} / {f.oracle_wait_p99:.2f} | – | all | – |"
        )
    lines += [
        "",
        "jobs/s: deliveries between the 10th and 90th percentile finish time, over that"
        " time (the steady middle; over the whole busy span below)."
        " Oracle: jobs/s = N × the 1-process run's measured jobs/s (perfect scaling;"
        " the bound is N × workers / mean latency, no overhead at all); queue wait ="
        " the same jobs, queued at the same instants, through an ideal first-come"
        f" first-served queue of N × {s.workers} workers that each take exactly"
        f" {s.latency_s:g} s an image: the wait that capacity alone makes.",
        "",
        "| processes | jobs | acks 200 / said Queued | ack p50 s | busy span s"
        " | jobs/s over the span | queue wait max s"
        " | released reservations | Redis connections | images by model | jobs with > 1 call |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in results:
        models = ", ".join(f"{m} {k}" for m, k in sorted(f.models.items()))
        lines.append(
            f"| {f.n} | {f.jobs} of {f.sent} | {f.acked_ok} / {f.acked_queued}"
            f" | {f.ack_p50:.3f} | {f.span_s:.1f} | {f.span_jobs_per_s:.2f}"
            f" | {f.wait_max:.2f} | {f.reservations_released} | {f.redis_clients} | {models}"
            f" | {f.multi_attempt} |"
        )
    lines += [
        "",
        "CPU during each run (from the first arrival until the ledger settled), in cores"
        " (CPU seconds / wall seconds); *all cores busy* is the whole machine, anyone's"
        " work; PostgreSQL is every postgres process, anyone's queries.",
        "",
        "| processes | wall s | bots (each) | bench: fake Slack + load | sandbox | PostgreSQL"
        " | all cores busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in results:
        w = f.measured_s
        bots = [v for k, v in f.cpu_s.items() if k.startswith("bot")]
        each = ", ".join(f"{v / w:.2f}" for v in bots)
        lines.append(
            f"| {f.n} | {w:.1f} | {sum(bots) / w:.2f} ({each}) | {f.cpu_s['bench'] / w:.2f}"
            f" | {f.cpu_s.get('sandbox', 0.0) / w:.2f} | {f.cpu_s['postgres'] / w:.2f}"
            f" | {f.cpu_machine_busy:.0%} of {os.cpu_count()} |"
        )
    return "\n".join(lines) + "\n"
