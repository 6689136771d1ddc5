"""What the Block Kit tests share: Slack's documented limits as a checker, and sample replies."""

from __future__ import annotations

from typing import Any

from bot.commands import Reply

JOB = "5f0c2a9e8d7b4c1a9e3f6b2d8c7a1e04"
USER = "U0REQUEST1"
BACKUP = "Made with backup model gpt-image-1.5 — gemini-3-pro-image-preview is overloaded (503)."
INJECTION = "<!channel> hi <!here> <@U0VICTIM1> <#C0SECRET1> <https://evil.example|click> & more"


# -- Slack's documented limits ---------------------------------------------------------
def slack_errors(message: tuple[str, list[dict[str, Any]]]) -> list[str]:
    """What Slack would reject in (text, blocks); empty when the message is valid."""
    text, body = message
    errors = [] if isinstance(text, str) and 0 < len(text) <= 40_000 else ["text"]
    if not 0 < len(body) <= 50:
        errors.append(f"{len(body)} blocks")
    ids = [b["block_id"] for b in body if "block_id" in b]
    if len(ids) != len(set(ids)) or any(len(i) > 255 for i in ids):
        errors.append(f"block ids {ids}")
    for i, b in enumerate(body):
        texts: list[tuple[dict[str, Any], int]] = []
        if b["type"] == "section":
            texts += [(b["text"], 3000)] + [(f, 2000) for f in b.get("fields", [])]
            if len(b.get("fields", [])) > 10:
                errors.append(f"{i}: fields")
        elif b["type"] == "header":
            texts.append((b["text"], 150))
            if b["text"]["type"] != "plain_text":
                errors.append(f"{i}: header type")
        elif b["type"] == "context":
            texts += [(e, 3000) for e in b["elements"]]
            if not 0 < len(b["elements"]) <= 10:
                errors.append(f"{i}: context elements")
        elif b["type"] == "actions":
            if not 0 < len(b["elements"]) <= 25:
                errors.append(f"{i}: actions elements")
            action_ids = [e["action_id"] for e in b["elements"]]
            if len(action_ids) != len(set(action_ids)):
                errors.append(f"{i}: duplicate action_id")
            for e in b["elements"]:
                texts.append((e["text"], 75))
                if e["text"]["type"] != "plain_text" or not 0 < len(e["value"]) <= 2000:
                    errors.append(f"{i}: button {e}")
                if not 0 < len(e["action_id"]) <= 255:
                    errors.append(f"{i}: action_id")
        else:
            errors.append(f"{i}: unexpected block type {b['type']}")
        for obj, limit in texts:
            if not 0 < len(obj["text"]) <= limit:
                errors.append(f"{i}: text of {len(obj['text'])} chars (max {limit})")
            if obj["type"] == "mrkdwn" and obj.get("verbatim") is not True:
                errors.append(f"{i}: mrkdwn without verbatim links bare @here and #channel")
    return errors


def all_text(message: tuple[str, list[dict[str, Any]]]) -> str:
    """Every string Slack would render or notify with."""
    found = [message[0]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "text" and isinstance(v, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message[1])
    return "\n".join(found)


def valid(message: tuple[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    assert slack_errors(message) == []
    return message


def buttons(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in body if b["type"] == "actions" for e in b["elements"]]


def reply(**overrides: Any) -> Reply:
    values: dict[str, Any] = {
        "image": b"png",
        "mime_type": "image/png",
        "model": "gemini-3-pro-image-preview",
        "fallback": False,
        "cost_usd": 0.134,
        "attempts": (),
        "notices": [],
        "version": 2,
        "elapsed_s": 12.34,
    }
    return Reply(**(values | overrides))


def backup_reply() -> Reply:
    return reply(model="gpt-image-1.5", fallback=True, notices=[BACKUP], cost_usd=0.04)
