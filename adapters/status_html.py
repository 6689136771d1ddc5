"""The ``/status`` page: one self-contained HTML document — inline CSS, inline
script, charts drawn as inline SVG — that nothing outside this server is needed
for (no CDN, no font, no image). The server renders the first view (every value
through ``html.escape``); the script then keeps it live from ``status/events``
(server-sent events), writing every value with ``textContent`` and building the
charts with ``createElementNS``, so nothing from the data is ever parsed as HTML.

``CSP`` allows exactly this page's script (by its hash) and style, and
connections back to this server only.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

__all__ = ["CSP", "page"]

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;
color:#1d1f23;background:#f7f7f8}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1rem;margin:1.2rem 0 .4rem}
#summary{font-size:1.05rem;margin:.3rem 0 1rem}#live{font-size:.8rem;color:#777}
#live.on{color:#1a7f37}
.models{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.8rem}
.model{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.6rem .8rem}
.model.primary{border-color:#1a7f37;box-shadow:0 0 0 1px #1a7f37}
.head{display:flex;gap:.4rem;align-items:baseline}.label{font-weight:600;overflow-wrap:anywhere;flex:1}
.facts{color:#444;font-size:.88rem}.why{color:#a40e26;font-size:.88rem}
svg{width:100%;height:70px;display:block;margin-top:.3rem}
.state{font-size:.72rem;color:#fff;border-radius:.6rem;padding:0 .45rem;margin-left:auto}
.s-normal{background:#2da44e}.s-delayed{background:#bf8700}.s-down{background:#cf222e}
.legend{font-size:.75rem;color:#777}.p50{color:#0969da}.ok{color:#8250df}
ol{padding-left:1.2rem;margin:.2rem 0}li{margin:.15rem 0}time{color:#777;margin-right:.4rem}
"""

SCRIPT = """
"use strict";
const COLORS = {normal: "#2da44e", delayed: "#d4a72c", down: "#cf222e"};
const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
function chart(series) {
  const W = 300, H = 70, box = svg("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none",
    role: "img", "aria-label": "p50 latency and success rate, recent"});
  if (!series.length) return box;
  const t0 = series[0][0], span = Math.max(1, series[series.length - 1][0] - t0);
  const x = (t) => ((t - t0) / span) * W;
  const top = Math.max(1, ...series.map((p) => p[2] || 0));
  series.forEach((p, i) => {  // a sample's state colours the time since the one before
    const from = i > 0 ? x(series[i - 1][0]) : 0, to = Math.max(from + 2, x(p[0]));
    box.appendChild(svg("rect", {x: Math.min(from, W - 2), y: H - 4, width: to - from,
      height: 4, fill: COLORS[p[1]] || "#999"}));
  });
  const line = (pick, max, color) => {
    const pts = series.filter((p) => pick(p) !== null)
      .map((p) => `${x(p[0]).toFixed(1)},${(H - 6 - (pick(p) / max) * (H - 10)).toFixed(1)}`);
    if (pts.length) box.appendChild(svg("polyline", {points: pts.join(" "), fill: "none",
      stroke: color, "stroke-width": 1.5, "vector-effect": "non-scaling-stroke"}));
  };
  line((p) => p[3], 100, "#8250df");
  line((p) => p[2], top, "#0969da");
  return box;
}
function render(doc) {
  const summary = document.getElementById("summary");
  summary.textContent = (doc.primary ? `Primary: ${doc.primary}` : "No model is available")
    + ` · online ${doc.online}/${doc.total}`;
  const models = el("div", "models");
  models.id = "models";
  for (const m of doc.models) {
    const card = el("section", "model" + (m.primary ? " primary" : ""));
    card.dataset.model = m.label;
    card.dataset.state = m.state;
    const head = el("div", "head");
    head.append(el("span", "emoji", m.emoji), el("span", "label", m.label));
    head.append(el("span", `state s-${m.state}`, m.state));
    const facts = `p50 ${m.p50} · success ${m.success}` + (m.primary ? " · primary" : "");
    card.append(head, el("div", "facts", facts));
    if (m.since) card.append(el("div", "why", m.since + (m.reason ? `: ${m.reason}` : "")));
    card.append(chart(m.series));
    models.append(card);
  }
  document.getElementById("models").replaceWith(models);
  const list = el("ol");
  list.id = "transitions";
  for (const t of doc.transitions) {
    const li = el("li");
    const when = el("time", null, new Date(t.at).toLocaleTimeString());
    when.dateTime = t.at;
    li.append(when, document.createTextNode(t.text));
    list.append(li);
  }
  if (!doc.transitions.length) list.append(el("li", null, "none yet"));
  document.getElementById("transitions").replaceWith(list);
  const notices = el("div", "facts");
  notices.id = "notices";
  for (const n of doc.notices) notices.append(el("div", null, n));
  document.getElementById("notices").replaceWith(notices);
}
const live = document.getElementById("live");
const stream = new EventSource("status/events");
stream.addEventListener("status", (e) => {
  live.textContent = "live";
  live.className = "on";
  render(JSON.parse(e.data));
});
stream.onerror = () => { live.textContent = "reconnecting…"; live.className = ""; };
"""


def _hash(source: str) -> str:
    return base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_hash(SCRIPT)}'; style-src 'sha256-{_hash(STYLE)}'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _card(m: dict[str, Any]) -> str:
    why = m["since"] + (f": {m['reason']}" if m["reason"] else "")
    return (
        f'<section class="model{" primary" if m["primary"] else ""}" '
        f'data-model="{escape(m["label"])}" data-state="{escape(m["state"])}">'
        f'<div class="head"><span class="emoji">{escape(m["emoji"])}</span>'
        f'<span class="label">{escape(m["label"])}</span>'
        f'<span class="state s-{escape(m["state"])}">{escape(m["state"])}</span></div>'
        f'<div class="facts">p50 {escape(m["p50"])} · success {escape(m["success"])}'
        f"{' · primary' if m['primary'] else ''}</div>"
        + (f'<div class="why">{escape(why)}</div>' if why else "")
        + "</section>"
    )


def page(doc: dict[str, Any]) -> str:
    """The page with ``doc`` (``bot.status_history.status_document``) as its first view."""
    head = f"Primary: {doc['primary']}" if doc["primary"] else "No model is available"
    moves = "".join(
        f'<li><time datetime="{escape(t["at"])}">{escape(t["at"])}</time>{escape(t["text"])}</li>'
        for t in doc["transitions"]
    )
    notices = "".join(f"<div>{escape(n)}</div>" for n in doc["notices"])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>imagine-bot status</title><style>{STYLE}</style></head><body>"
        '<h1>imagine-bot status <span id="live">connecting…</span></h1>'
        f'<div id="summary">{escape(head)} · online {doc["online"]}/{doc["total"]}</div>'
        f'<div class="models" id="models">{"".join(_card(m) for m in doc["models"])}</div>'
        '<div class="legend"><span class="p50">━ p50 latency</span> · '
        '<span class="ok">━ success rate</span> · band: <span class="state s-normal">normal</span> '
        '<span class="state s-delayed">delayed</span> <span class="state s-down">down</span></div>'
        f'<div class="facts" id="notices">{notices}</div>'
        f'<h2>Recent transitions</h2><ol id="transitions">{moves or "<li>none yet</li>"}</ol>'
        f"<script>{SCRIPT}</script></body></html>"
    )
