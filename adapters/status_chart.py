"""The status chart as a PNG, for ``/imagine-status`` on Slack and Discord: the
same view and series as the ``/status`` page (``bot.status_history.status_document``)
— one row per model with its state, p50 and success rate, and a small chart of
its recent p50 latency (blue), success rate (purple) and state (the band below).

Drawn with Pillow; CPU-bound, so call ``chart_png`` through ``asyncio.to_thread``.
Emoji need a colour font most servers lack, so states are coloured dots and words.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bot.router import Router
from bot.status_history import StatusHistory, status_document
from bot.status_text import status_view

__all__ = ["FILENAME", "chart_png", "status_chart"]

log = logging.getLogger(__name__)

FILENAME = "imagine-status.png"

WIDTH, ROW, TOP, LEFT, PAD = 900, 84, 56, 330, 16
COLORS = {"normal": (45, 164, 78), "delayed": (191, 135, 0), "down": (207, 34, 38)}
GREY, INK, FAINT = (150, 150, 150), (29, 31, 35), (110, 110, 110)
P50, OK = (9, 105, 218), (130, 80, 223)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _plain(text: str) -> str:
    """What the built-in font can draw ("—", no value, becomes "n/a")."""
    return text.replace("—", "n/a")


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _plot(draw: ImageDraw.ImageDraw, series: list[list[Any]], box: tuple[int, ...]) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(225, 225, 225))
    if not series:
        return
    t0, t1 = float(series[0][0]), float(series[-1][0])
    span = max(1.0, t1 - t0)

    def x(t: float) -> float:
        return x0 + (t - t0) / span * (x1 - x0)

    for i, (t, state, *_rest) in enumerate(series):  # colours the time since the last sample
        start = x(series[i - 1][0]) if i else x0
        end = max(start + 2, x(t))
        draw.rectangle((min(start, x1 - 2), y1 - 5, end, y1), fill=COLORS.get(state, GREY))
    latencies = [p[2] for p in series if p[2] is not None]
    top = max(latencies or [1]) or 1
    for pick, scale, color in ((3, 100.0, OK), (2, float(top), P50)):
        points = [
            (x(p[0]), y1 - 8 - p[pick] / scale * (y1 - y0 - 12))
            for p in series
            if p[pick] is not None
        ]
        if len(points) == 1:
            points.append((x1, points[0][1]))
        if points:
            draw.line(points, fill=color, width=2)
    if latencies:
        draw.text((x1 - 4, y0 + 2), f"{top} ms", fill=P50, font=_font(11), anchor="ra")


def chart_png(doc: dict[str, Any]) -> bytes:
    """``doc``: ``status_document(…)``. A PNG, ``WIDTH`` wide, one row per model."""
    models = doc["models"]
    height = TOP + ROW * max(1, len(models)) + 30
    image = Image.new("RGB", (WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    head = f"Primary: {doc['primary']}" if doc["primary"] else "No model is available"
    draw.text((PAD, 12), "imagine-bot model status", fill=INK, font=_font(20))
    draw.text(
        (PAD, 36), f"{head} · online {doc['online']}/{doc['total']} · {doc['at']}", FAINT, _font(13)
    )
    for i, m in enumerate(models):
        y = TOP + i * ROW + 6
        color = COLORS.get(m["state"], GREY)
        draw.ellipse((PAD, y + 4, PAD + 14, y + 18), fill=color)
        mark = "  (primary)" if m["primary"] else ""
        draw.text((PAD + 22, y + 2), f"{m['label']}{mark}", fill=INK, font=_font(15))
        draw.text(
            (PAD + 22, y + 24),
            _plain(f"{m['state']} · p50 {m['p50']} · ok {m['success']}"),
            FAINT,
            _font(13),
        )
        if m["since"]:
            why = m["since"] + (f": {m['reason']}" if m["reason"] else "")
            draw.text((PAD + 22, y + 44), _plain(why)[:46], fill=color, font=_font(12))
        _plot(draw, m["series"], (LEFT, y, WIDTH - PAD, y + ROW - 14))
    draw.text(
        (PAD, height - 22),
        "blue: p50 latency · purple: success rate · band: green normal, amber delayed, red down",
        fill=FAINT,
        font=_font(11),
    )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


async def status_chart(router: Router, history: StatusHistory | None) -> bytes | None:
    """The chart of the board now, or None (no history, or drawing failed: logged —
    the command's text answer never depends on it)."""
    if history is None:
        return None
    try:
        now = datetime.now(UTC)
        doc = status_document(status_view(router.board, now), history, now)
        return await asyncio.to_thread(chart_png, doc)
    except Exception as exc:
        log.warning("status chart not drawn (%s)", type(exc).__name__, exc_info=exc)
        return None
