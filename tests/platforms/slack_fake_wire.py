"""Pure wire helpers for the Slack fake: identity, signing, payload shapes, block limits.

Nothing here touches the network; ``slack_fake.FakeSlack`` serves and sends
what these functions build. Shapes follow what Slack really sends (see
https://docs.slack.dev/interactivity/implementing-slash-commands,
.../reference/interaction-payloads/block_actions-payload and
.../apis/events-api), trimmed to the fields a bot can read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SLACK_ACK_DEADLINE = 3.0  # seconds Slack waits for an HTTP ack before giving up / retrying
SLACKBOT_UA = "Slackbot 1.0 (+https://api.slack.com/robots)"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
MAX_TEXT = 40_000


@dataclass(frozen=True)
class Workspace:
    """Who the fake pretends to be; every ID has Slack's shape."""

    team_id: str = "T0FAKETEAM1"
    team_domain: str = "fake-team"
    team_name: str = "Fake Team"
    enterprise_id: str | None = None
    api_app_id: str = "A0FAKEAPP01"
    bot_user_id: str = "U0FAKEBOT01"
    bot_id: str = "B0FAKEBOT01"
    bot_name: str = "imagine"
    bot_token: str = "xoxb-1000000001-2000000002-FakeBotTokenZq8uN3vX"  # Bolt wants "xoxb-"
    app_token: str = "xapp-1-A0FAKEAPP01-3000000003-fakeapptoken0123456789abcdef"
    signing_secret: str = "8f2a0c1e5d7b4a6f9e3c2b1a0d9e8f7a"
    verification_token: str = "FakeVerificationToken0001"  # legacy "token" field in payloads
    scopes: str = "chat:write,commands,files:read,files:write,users:read,app_mentions:read"


def sign(secret: str, timestamp: int, body: str) -> str:
    """``X-Slack-Signature``: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def channel_name(channel_id: str) -> str:
    return "directmessage" if channel_id.startswith("D") else "general"


def channel_type(channel_id: str) -> str:
    return {"D": "im", "G": "group"}.get(channel_id[:1], "channel")


def user_object(ws: Workspace, user_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """``users.info`` ``user``: a plain member unless ``overrides`` says otherwise."""
    name = overrides.get("name", user_id.lower())
    is_bot = user_id == ws.bot_user_id
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": ws.team_id,
        "name": name,
        "deleted": False,
        "real_name": name.title(),
        "tz": "Europe/London",
        "tz_offset": 0,
        "profile": {"display_name": name, "real_name": name.title(), "team": ws.team_id},
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1700000000,
    }
    user.update(overrides)
    return user


@dataclass
class StoredFile:
    """A file the fake holds: uploaded by the bot or ``add_file``-ed by a test."""

    id: str
    name: str
    title: str
    mimetype: str
    length: int | None = None  # declared in files.getUploadURLExternal
    data: bytes | None = None  # None until the raw upload POST arrives
    user: str = ""
    channel: str | None = None  # set by files.completeUploadExternal
    thread_ts: str | None = None
    initial_comment: str | None = None
    message_ts: str | None = None
    shares: list[str] = field(default_factory=list)

    def wire(self, ws: Workspace, base_url: str) -> dict[str, Any]:
        private = f"{base_url}files-pri/{ws.team_id}-{self.id}/{self.name}"
        ext = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        obj: dict[str, Any] = {
            "id": self.id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.user,
            "user_team": ws.team_id,
            "editable": False,
            "size": len(self.data) if self.data is not None else (self.length or 0),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(self.shares),
            "url_private": private,
            "url_private_download": f"{base_url}files-pri/{ws.team_id}-{self.id}/download/"
            f"{self.name}",
            "permalink": f"https://{ws.team_domain}.slack.com/files/{self.user}/{self.id}/"
            f"{self.name}",
        }
        if self.shares:
            obj["channels"] = list(self.shares)
        return obj


LOGIN_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Slack</title></head>'
    '<body><div id="page"><h1>Sign in to Fake Team</h1>'
    '<form id="signin_form" action="/" method="post"></form></div></body></html>'
)


# -- block kit limits that real Slack enforces with invalid_blocks ------------------------

_BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "video",
}  # fmt: skip


def _too_long(errors: list[str], value: object, limit: int, pointer: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}]")


# Image blocks, image elements and slack_file objects: "Currently only png, jpg, jpeg, and
# gif Slack image files are supported" (docs.slack.dev/reference/block-kit/composition-
# objects/slack-file-object). Slack's answer otherwise (python-slack-sdk#1797):
# invalid_blocks, "invalid slack file [json-pointer:/blocks/0/slack_file]"; for an
# image_url it can't use, "downloading image failed [json-pointer:/blocks/0/image_url]"
# (WebP data included: node-slack-sdk#1482).
IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif"})
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"))
FileLookup = Callable[[dict[str, Any]], StoredFile | None]


def file_type(f: StoredFile) -> str:
    """What the file is: by its bytes once uploaded (as Slack sniffs), else by its name."""
    if f.data is not None:
        if f.data[:4] == b"RIFF" and f.data[8:12] == b"WEBP":
            return "webp"
        return next((kind for magic, kind in _MAGIC if f.data.startswith(magic)), "binary")
    return f.name.rsplit(".", 1)[-1].lower() if "." in f.name else "binary"


def _check_image(
    errors: list[str], image: dict[str, Any], at: str, file_of: FileLookup | None
) -> None:
    """An image block or image element: alt_text, and image_url xor a usable slack_file."""
    _too_long(errors, image.get("alt_text"), 2000, f"{at}/alt_text")
    if not image.get("alt_text"):
        errors.append(f"missing required field: alt_text [json-pointer:{at}]")
    url, ref = image.get("image_url"), image.get("slack_file")
    if (url is None) == (ref is None):
        errors.append(f"must provide exactly one of image_url or slack_file [json-pointer:{at}]")
        return
    if isinstance(url, str):
        _too_long(errors, url, 3000, f"{at}/image_url")
        path = url.split("?", 1)[0].lower()
        if path.endswith(".webp"):  # the fake fetches nothing; WebP is what Slack can't show
            errors.append(f"downloading image failed [json-pointer:{at}/image_url]")
        return
    usable = (
        isinstance(ref, dict)
        and (ref.get("id") is None) != (ref.get("url") is None)  # one of them, not both
        and file_of is not None
        and (found := file_of(ref)) is not None
        and file_type(found) in IMAGE_TYPES
    )
    if not usable:
        errors.append(f"invalid slack file [json-pointer:{at}/slack_file]")


def slack_file(
    files: Iterable[StoredFile], ref: dict[str, Any], ws: Workspace, base_url: str
) -> StoredFile | None:
    """The file a Block Kit ``slack_file`` names: by ``id``, or by its ``url_private``
    or ``permalink``; only once its bytes are uploaded."""
    if ref.get("id") is not None:
        found = next((f for f in files if f.id == str(ref["id"])), None)
    else:
        urls = ("url_private", "permalink")
        found = next(
            (f for f in files if ref.get("url") in [f.wire(ws, base_url)[u] for u in urls]),
            None,
        )
    return found if found is not None and found.data is not None else None


def validate_blocks(blocks: object, file_of: FileLookup | None = None) -> list[str]:
    """The ``errors`` list Slack returns with ``invalid_blocks`` (empty when fine).
    ``file_of`` finds the file a ``slack_file`` object names (by ``id`` or ``url``)."""
    if not isinstance(blocks, list):
        return ["expected an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > 50:
        errors.append("no more than 50 items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            errors.append(f"failed to match all allowed schemas [json-pointer:{at}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            _too_long(errors, block_id, 255, f"{at}/block_id")
            if block_id in block_ids:
                errors.append(f"duplicate block_id [json-pointer:{at}/block_id]")
            block_ids.add(block_id)
        kind = block["type"]
        text: dict[str, Any] = block["text"] if isinstance(block.get("text"), dict) else {}
        if kind == "section":
            if not text and not block.get("fields"):
                errors.append(f"must provide text or fields [json-pointer:{at}]")
            _too_long(errors, text.get("text"), 3000, f"{at}/text/text")
            for j, fld in enumerate(block.get("fields") or []):
                _too_long(errors, (fld or {}).get("text"), 2000, f"{at}/fields/{j}/text")
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "image":
                _check_image(errors, accessory, f"{at}/accessory", file_of)
        elif kind == "header":
            _too_long(errors, text.get("text"), 150, f"{at}/text/text")
        elif kind == "image":
            _check_image(errors, block, at, file_of)
        elif kind in ("actions", "context"):
            elements = block.get("elements") or []
            if len(elements) > (25 if kind == "actions" else 10):
                errors.append(f"too many items [json-pointer:{at}/elements]")
            action_ids: set[str] = set()
            for j, el in enumerate(elements):
                ep = f"{at}/elements/{j}"
                if isinstance(el, dict) and el.get("type") == "image" and kind == "context":
                    _check_image(errors, el, ep, file_of)
                if not isinstance(el, dict) or el.get("type") != "button":
                    continue
                _too_long(errors, (el.get("text") or {}).get("text"), 75, f"{ep}/text/text")
                _too_long(errors, el.get("value"), 2000, f"{ep}/value")
                _too_long(errors, el.get("action_id"), 255, f"{ep}/action_id")
                if el.get("action_id") in action_ids:
                    errors.append(f"duplicate action_id [json-pointer:{ep}/action_id]")
                action_ids.add(el.get("action_id", ""))
    return errors


def find_button(message: dict[str, Any] | None, action_id: str) -> tuple[str, dict[str, Any]]:
    """(block_id, element) of the button ``action_id`` in a stored message, if it is there."""
    for block in (message or {}).get("blocks") or []:
        for el in block.get("elements") or []:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return str(block.get("block_id", "")), el
    return "", {}


def json_arg(value: object) -> object:
    """Form-encoded calls carry ``blocks``/``files`` as JSON strings; JSON calls as arrays."""
    return json.loads(value) if isinstance(value, str) else value
