"""The CLI's ``imagine`` and ``status``. ``adapters.cli.__main__`` parses the
arguments and injects the composition root's builders (``Wiring``), so a command
loads the vendor SDKs only when it runs."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.cli.terminal import PLATFORM, CliPlacer, CliSink, Failed, intakes, take
from bot.bounds import finite_or_none
from bot.commands import Requester
from bot.config import Settings
from bot.domain import Attempt, Outcome
from bot.errors import ConfigError, ImagineError, InputError
from bot.intake import Refused
from bot.messages import UserError, user_error
from bot.router import Router
from bot.validate import build_request

log = logging.getLogger("imagine-bot")

RouterFactory = Callable[..., tuple[Router, list[str]]]
AppFactory = Callable[..., AbstractAsyncContextManager[Any]]  # (settings, *, sinks=…)
Attempts = Sequence[Mapping[str, Any]]  # as in a job's record (``Attempt.as_json``)


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the composition root injects: builders of SDK-backed parts."""

    router: RouterFactory  # a bare router (status, doctor)
    app: AppFactory  # store + quotas + sessions + router + service (imagine, usage)


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HISTORY_FILE = "attempts.jsonl"
REPLAY_WINDOW_S = 600.0


@dataclass
class Output:
    json_mode: bool

    def emit(self, obj: dict[str, Any], text: str) -> None:
        """``--json``: always valid JSON — a NaN or infinite number is written as null."""
        if self.json_mode:
            print(json.dumps(finite_or_none(obj), ensure_ascii=False, allow_nan=False))
        else:
            print(text)


async def imagine(args: Any, settings: Settings, wiring: Wiring, out: Output) -> int:
    """One image, as a job like any platform's (``adapters.cli.terminal``): taken by the
    service, run by its worker, shown and saved by the CLI's sink; then one report."""
    try:
        refs = tuple((Path(p).name, _read(Path(p))) for p in args.ref)
        build_request(args.prompt, aspect=args.aspect, size=args.size, references=refs)
        if args.out and await asyncio.to_thread(Path(args.out).is_dir):  # before any spend
            raise InputError("bad_output", args.out)
    except InputError as exc:
        return _fail(out, exc, EXIT_USAGE)
    sink = CliSink(out=Path(args.out) if args.out else None)
    who = Requester(PLATFORM, args.guild, args.user)
    asks = intakes(
        who, args.prompt, aspect=args.aspect, size=args.size, refs=refs, session=args.session
    )
    try:
        async with wiring.app(settings, sinks={sink.platform: sink}) as app:
            for warning in app.warnings:
                log.warning("%s", warning)
            if not app.router.routes:
                return _fail(out, ConfigError("no usable model"), EXIT_FAILED)
            await app.service.start(recover=False)  # the bot's jobs are not the CLI's
            answer = await take(app.service, asks, CliPlacer(args.session))
            if isinstance(answer, Refused):  # bad input found late, or over quota
                return _fail(out, UserError(answer.code, answer.words), EXIT_FAILED)
            await app.service.join()  # the worker has delivered the job, or failed it
            job = await app.service.job(answer.job.id)
    except ConfigError as exc:
        log.error("%s", exc)
        return _fail(out, exc, EXIT_FAILED)
    attempts = job.attempts if job is not None else ()
    _remember(settings, attempts)
    outcome = sink.outcomes.get(answer.job.id) or Failed(user_error(ImagineError()))
    if isinstance(outcome, Failed):
        return _fail(out, outcome.error, EXIT_FAILED, () if outcome.unsaved else attempts)
    path, result = outcome.path, outcome.reply
    said = result.notices
    took = sum(a.latency_ms for a in result.attempts if a.outcome is Outcome.OK) / 1000
    text = "\n".join(
        [f"Saved {path} — {result.model}, {took:.1f} s, ${result.cost_usd:.3f}", *said]
    )
    out.emit(
        {
            "ok": True,
            "model": result.model,
            "fallback": result.fallback,
            "notices": said,
            "attempts": [a.as_json() for a in result.attempts],
            "cost_usd": round(result.cost_usd, 4),
            "path": str(path.resolve()),
            "session": args.session,
            "version": result.version,
        },
        text,
    )
    return EXIT_OK


async def status(args: Any, settings: Settings, wiring: Wiring, out: Output) -> int:
    clock = _ReplayClock()
    router, warnings = wiring.router(settings, clock=clock)
    try:
        _replay(router, settings, clock)
        rows = router.board.snapshot()
        primary = router.board.primary()
    finally:
        await router.aclose()
    online = sum(1 for r in rows if r.state.value != "down")
    lines = [f"Primary: {primary or 'none'} · online {online}/{len(rows)}"]
    for r in rows:
        p50 = f"{r.p50_ms / 1000:.1f} s" if r.p50_ms is not None else "–"
        rate = f"{r.success_rate:.0%}" if r.success_rate is not None else "–"
        since = f" since {r.since:%H:%M:%S}" if r.since else ""
        reason = f" ({r.reason})" if r.reason else ""
        lines.append(f"{r.state.emoji} {r.label:<32} p50 {p50:>7}  ok {rate:>4}{reason}{since}")
    lines += [f"⚠ {w}" for w in warnings]
    obj = {
        "primary": primary,
        "online": online,
        "total": len(rows),
        "models": [
            {
                "label": r.label,
                "model": r.model,
                "channel": r.channel,
                "state": r.state.value,
                "reason": r.reason,
                "p50_ms": r.p50_ms,
                "success_rate": r.success_rate,
                "calls": r.calls,
                "since": r.since.isoformat() if r.since else None,
            }
            for r in rows
        ],
        "warnings": warnings,
    }
    out.emit(obj, "\n".join(lines))
    return EXIT_OK


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise InputError("reference_missing", str(path)) from None


def _fail(out: Output, error: ImagineError | UserError, code: int, attempts: Attempts = ()) -> int:
    ue = error if isinstance(error, UserError) else user_error(error)
    obj: dict[str, Any] = {"ok": False, "error": ue.code, "message": ue.message}
    if attempts:
        obj["attempts"] = [dict(a) for a in attempts]
    out.emit(obj, f"error: {ue.message}")
    return code


# -- health memory between CLI runs (the long-running bot keeps it live) ------
class _ReplayClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _remember(settings: Settings, attempts: Attempts) -> None:
    path = settings.imagine_data_dir / HISTORY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        now = time.time()
        with path.open("a", encoding="utf-8") as fh:
            for a in attempts:
                fh.write(json.dumps({"t": now, **a}) + "\n")
    except OSError as exc:
        log.warning("could not record attempts in %s: %s", path, exc.strerror)


def _replay(router: Router, settings: Settings, clock: _ReplayClock) -> None:
    """Feed recent attempts into a fresh board so ``status`` shows breaker states."""
    path = settings.imagine_data_dir / HISTORY_FILE
    now = clock.now
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-5000:]
    except OSError:
        return
    labels = {(r.model.id, r.provider.channel): r.label for r in router.routes}
    for line in lines:
        try:  # the file is ours, but a crash can leave a torn or odd line: skip it
            row = json.loads(line)
            latency_ms, t = float(row["latency_ms"]), float(row["t"])
            if not (math.isfinite(t) and math.isfinite(latency_ms) and latency_ms >= 0):
                continue
            a = Attempt(str(row["model"]), str(row["channel"]), Outcome(row["outcome"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        label = labels.get((a.model, a.channel))
        if label is None or now - t > REPLAY_WINDOW_S or a.outcome is Outcome.SKIPPED:
            continue
        rh = router.board[label]
        clock.now = t - latency_ms / 1000
        token = rh.begin()
        clock.now = t
        if a.outcome is Outcome.OK:
            rh.succeeded(token)
        elif a.outcome in (Outcome.CANCELLED, Outcome.SAFETY_BLOCKED, Outcome.INVALID_REQUEST):
            rh.abandoned(token, counts_as_stall=a.outcome is Outcome.CANCELLED)
        else:
            rh.failed(token, a.outcome.value)
            if a.outcome is Outcome.MISCONFIGURED:
                rh.trip(hold_s=router.policy.misconfigured_hold_s)
        router.board.refresh()
    clock.now = now
