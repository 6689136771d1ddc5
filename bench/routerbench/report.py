"""Targets with PASS/FAIL, the markdown table, and the console timeline (``-v``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import ERROR_S, LATENCY, SHORT
from .scenarios import Scenario


@dataclass
class Target:
    name: str
    value: str
    passed: bool


def fmt_lat(x: float | None) -> str:
    return "∞" if x is None else f"{x:.2f}"


def evaluate(results: dict[str, dict[str, Any]], overhead: dict[str, Any]) -> list[Target]:
    out = []
    for name, by in results.items():
        r = by.get("router")
        if r is not None:  # a model is up all run in every scenario (GPT Image never fails)
            out.append(
                Target(
                    f"{name}: router delivers 100 % (a model is up all run)",
                    f"{100 * r['delivered']:.1f} %",
                    r["delivered"] >= 1.0,
                )
            )
    for name, by in results.items():
        r, o = by.get("router"), by.get("oracle")
        if r and o:
            limit = 3.0 if name == "S5" else 1.15
            if r["p95"] is None or o["p95"] is None:
                value, passed = f"{fmt_lat(r['p95'])} / {fmt_lat(o['p95'])} s", o["p95"] is None
            else:
                ratio = r["p95"] / o["p95"]
                value, passed = f"{r['p95']:.2f} / {o['p95']:.2f} s = {ratio:.2f}×", ratio <= limit
            out.append(Target(f"{name}: router p95 ≤ {limit:g}× oracle", value, passed))
    for name in ("S2", "S4"):
        r = results.get(name, {}).get("router")
        if r:
            v = r["down_calls_per_request"]
            out.append(
                Target(
                    f"{name}: router calls to a down model ≤ 0.02 / request",
                    f"{v:.3f} ({sum(r['down_calls'].values())} calls)",
                    v <= 0.02,
                )
            )
    r = results.get("S1", {}).get("router")
    if r:
        v = r["primary_share"]
        out.append(Target("S1: router primary share ≥ 50 %", f"{100 * v:.1f} %", v >= 0.5))
    if overhead:
        v = overhead["plain"]["p99_ms"]
        out.append(Target("router overhead p99 < 5 ms", f"{v:.3f} ms", v < 5.0))
    return out


def fmt_num(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def render_markdown(
    results: dict[str, dict[str, Any]],
    overhead: dict[str, Any],
    targets: list[Target],
    meta: dict[str, Any],
    scen: dict[str, Scenario],
) -> str:
    lines = [
        "# Router failover benchmark",
        "",
        f"- date: {meta['date']}; core at commit {meta.get('commit', '?')}",
        f"- machine: {meta['cores']} cores, {meta['platform']}, Python {meta['python']}",
        f"- load: open loop, {meta['rate']:g} requests/s for {meta['duration']:g} s "
        f"({meta['requests']} requests per run), bench cap {meta['cap']:g} s per request, "
        f"seed {meta['seed']}",
        f"- sandbox: {meta['sandbox']}, images {meta['image_px']} px; latencies "
        + ", ".join(f"{SHORT[m]} {s:g}±{j:g} s" for m, (s, j) in LATENCY.items())
        + f"; 503/429 answers in {ERROR_S * 1000:g} ms",
        "- chain: gemini-3-pro-image (pro) → gemini-nano-banana-2.1 (flash) → "
        "gpt-image-2.6-sunburst (gpt), real google-genai / openai SDKs over HTTP on 127.0.0.1",
        f"- wall time: {meta['wall_s']:.0f} s",
        "",
        "Latency is from the scheduled arrival to the image, over all requests (a request "
        "that got no image counts as never answered: ∞). $ / image is the served model's "
        'price; "incl. hedges" adds cancelled hedge attempts the vendor may have billed.',
        "",
        "| scenario | strategy | delivered | p50 s | p95 s | primary share | "
        "down-model calls / req | $ / image | $ / image incl. hedges | hedged |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by in results.items():
        for strat, r in by.items():
            lines.append(
                f"| {name} {scen[name].title} | {strat} | {100 * r['delivered']:.1f} % | "
                f"{fmt_lat(r['p50'])} | {fmt_lat(r['p95'])} | "
                f"{100 * r['primary_share']:.0f} % | {r['down_calls_per_request']:.3f} | "
                f"{fmt_num(r['cost_per_image'], '.4f')} | {fmt_num(r['spent_per_image'], '.4f')} | "
                f"{100 * r['hedged_share']:.1f} % |"
            )
    if overhead:
        lines += [
            "",
            "Router overhead (in-process instant providers, sequential "
            f"`router.generate`, {overhead['plain']['requests']} requests after 200 warm-up):",
            "",
            "| case | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|",
        ]
        for key, label in (("plain", "primary answers"), ("failover", "primary 503s 45 %")):
            o = overhead[key]
            lines.append(f"| {label} | {o['p50_ms']:.3f} | {o['p99_ms']:.3f} | {o['max_ms']:.3f} |")
    lines += ["", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.value} | {'PASS' if t.passed else 'FAIL'} |" for t in targets]
    lines.append("")
    return "\n".join(lines)


def print_timeline(name: str, strat: str, r: dict[str, Any]) -> None:
    print(f"  per second ({name} {strat}): t  n  fail  served  p50  max  hedged")
    for s in r["per_second"]:
        served = " ".join(f"{k}={v}" for k, v in sorted(s["served"].items()))
        print(
            f"    {s['t']:3d} {s['n']:3d} {s['failed']:3d}  {served:24s} "
            f"{fmt_num(s['p50'], '.2f'):>5} {fmt_num(s['max'], '.2f'):>5} {s['hedged']:3d}"
        )
    for e in r.get("events", []):
        print(
            f"    event t={e['t']:.2f} {e['kind']} {e['route'] or ''} {e['state'] or ''} "
            f"{e['reason']} {e['primary'] or ''}"
        )
