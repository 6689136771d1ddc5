"""Words for model health, the same on every platform: the ``/imagine-status``
view and the status-channel announcements.

``status_view`` turns the board into a ``StatusView`` (one ``StatusRow`` per
route, already formatted); ``status_lines`` renders it as plain lines that read
well in Slack mrkdwn and Discord markdown alike (only inline code is used).
Adapters that build Slack blocks or Discord embeds use the view's fields.

Reasons are never quoted from exceptions: the board's reason is an outcome code
(``overloaded``, ``timeout`` …) and is looked up in ``REASONS``; anything else
reads as "unavailable" (or "slow" for a delayed route).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.health import HealthBoard, HealthEvent, HealthState, RouteStatus

__all__ = [
    "REASONS",
    "StatusRow",
    "StatusView",
    "announcement",
    "delayed_text",
    "down_text",
    "duration",
    "not_offered_note",
    "primary_text",
    "reason_text",
    "recovered_text",
    "shutdown_text",
    "status_lines",
    "status_view",
]

REASONS = {
    "overloaded": "overloaded (503)",
    "rate_limited": "rate-limited (429)",
    "server_error": "failing with server errors",
    "timeout": "timing out",
    "empty_result": "returning no images",
    "misconfigured": "switched off (configuration problem)",
    "offline": "switched off",
    "unavailable": "unavailable",
    "delayed": "responding slowly",
    "slow": "responding slowly",
    "stalled": "not answering in time",
}
NONE = "—"


def not_offered_note(channel: str, successor: str | None = None) -> str:
    """Why a route is off although nothing was called: "not offered by google"."""
    then = f" (its successor is {successor})" if successor else ""
    return f"not offered by {channel}{then}"


def shutdown_text(model: str, on: date, successor: str | None) -> str:
    """⏳ X shuts down on D — its successor is Y."""
    then = f" — its successor is {successor}" if successor else " — no successor is named yet"
    return f"⏳ {model} shuts down on {on.isoformat()}{then}."


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``2 h 5 min``, ``3 d 4 h`` (rounded down to the unit shown)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def reason_text(reason: str, state: HealthState, note: str = "") -> str:
    """Human words for a board reason code; "" for a normal route. A route taken
    offline carries its own ``note`` (our words, e.g. "not offered by google")."""
    if state is HealthState.NORMAL:
        return ""
    if reason == "offline" and note:
        return note
    fallback = "responding slowly" if state is HealthState.DELAYED else "unavailable"
    return REASONS.get(reason, fallback)


def _latency(p50_ms: int | None) -> str:
    if p50_ms is None:
        return NONE
    return f"{p50_ms} ms" if p50_ms < 100 else f"{p50_ms / 1000:.1f} s"


def _rate(rate: float | None) -> str:
    if rate is None:
        return NONE
    pct = round(rate * 100)
    if 0 < rate < 1:  # never "100 %" with a failure in it, nor "0 %" with a success
        pct = min(99, max(1, pct))
    return f"{pct} %"


@dataclass(frozen=True, slots=True)
class StatusRow:
    label: str
    model: str
    channel: str
    state: HealthState
    emoji: str  # 🟢 / 🟡 / 🔴
    state_word: str  # "normal" | "delayed" | "down"
    p50: str  # "1.8 s", "40 ms" or "—"
    success: str  # "93 %" or "—"
    since: str  # "down for 4 min", "delayed for 30 s", "" when normal
    reason: str  # "overloaded (503)"; "" when normal
    primary: bool


@dataclass(frozen=True, slots=True)
class StatusView:
    rows: tuple[StatusRow, ...]
    primary: str | None
    online: int  # normal or delayed routes
    total: int
    notices: tuple[str, ...] = ()  # shutdowns coming up (bot.freshness)

    @property
    def summary(self) -> str:
        head = f"Primary: `{self.primary}`" if self.primary else "No model is available right now"
        return f"{head} · {self.online}/{self.total} models online"


def _row(status: RouteStatus, primary: str | None, now: datetime) -> StatusRow:
    since = ""
    if status.state is not HealthState.NORMAL:
        since = status.state.value
        if status.since is not None:
            since += f" for {duration((now - status.since).total_seconds())}"
    return StatusRow(
        label=status.label,
        model=status.model,
        channel=status.channel,
        state=status.state,
        emoji=status.state.emoji,
        state_word=status.state.value,
        p50=_latency(status.p50_ms),
        success=_rate(status.success_rate),
        since=since,
        reason=reason_text(status.reason, status.state, status.note),
        primary=status.label == primary,
    )


def status_view(board: HealthBoard, now: datetime) -> StatusView:
    """The board as it is; ``now`` (aware, UTC like the board's wall clock) dates "since"."""
    primary = board.primary()
    rows = tuple(_row(s, primary, now) for s in board.snapshot())
    online = sum(1 for r in rows if r.state is not HealthState.DOWN)
    notices = tuple(board.notices)
    return StatusView(rows, primary, online=online, total=len(rows), notices=notices)


def status_lines(view: StatusView) -> list[str]:
    """A summary line, then one line per route."""
    lines = [view.summary]
    for r in view.rows:
        what = r.since or r.state_word
        if r.reason:
            what += f": {r.reason}"
        mark = " (primary)" if r.primary else ""
        lines.append(f"{r.emoji} `{r.label}`{mark} — {what} · p50 {r.p50} · ok {r.success}")
    return lines + list(view.notices)


def _goes_to(primary: str | None, route: str | None, *, back: bool = False) -> str:
    if primary is None:
        return " No model is available right now."
    if primary == route:
        return " Requests go to it again." if back else ""
    return f" Requests go to {primary}."


def down_text(event: HealthEvent, *, primary: str | None, moved: bool = True) -> str:
    """🔴 X is down — overloaded (503). Requests go to Y. (``moved``: say where they go)"""
    why = reason_text(event.reason, HealthState.DOWN, event.note)
    where = _goes_to(primary, event.route) if moved else ""
    return f"🔴 {event.route} is down — {why}.{where}"


def delayed_text(
    event: HealthEvent, *, primary: str | None, p50_ms: int | None = None, moved: bool = True
) -> str:
    """🟡 X is slow (p50 4.2 s). Requests go to Y."""
    if event.reason == "stalled":
        what = "is not answering in time"
    else:
        what = "is slow" + (f" (p50 {_latency(p50_ms)})" if p50_ms is not None else "")
    where = _goes_to(primary, event.route) if moved else ""
    return f"🟡 {event.route} {what}.{where}"


def recovered_text(
    event: HealthEvent, *, down_for_s: float | None = None, primary: str | None = None
) -> str:
    """🟢 X recovered after 12 min. Requests go to it again. — or, back from down but
    still slow: 🟡 X is back after 12 min down, but still slow. ``primary``: say where
    requests go now (None: don't)."""
    took = down_for_s if down_for_s is not None else event.down_for_s
    if event.state is HealthState.DELAYED:
        down = f" after {duration(took)} down" if took is not None else ""
        return f"🟡 {event.route} is back{down}, but still slow."
    after = f" after {duration(took)}" if took is not None else ""
    where = _goes_to(primary, event.route, back=True) if primary is not None else ""
    return f"🟢 {event.route} recovered{after}.{where}"


def primary_text(event: HealthEvent) -> str:
    """Now generating with Y (was X)."""
    was = f" (was {event.previous_primary})" if event.previous_primary else ""
    if event.primary is None:
        return f"🔴 No image model is available right now{was}."
    return f"Now generating with {event.primary}{was}."


def announcement(
    event: HealthEvent,
    *,
    primary: str | None = None,
    p50_ms: int | None = None,
    down_for_s: float | None = None,
) -> str:
    """The text for any event kind; ``primary`` is where requests go now."""
    if event.kind == "down":
        return down_text(event, primary=primary)
    if event.kind == "delayed":
        return delayed_text(event, primary=primary, p50_ms=p50_ms)
    if event.kind == "recovered":
        return recovered_text(event, down_for_s=down_for_s, primary=primary)
    return primary_text(event)
