"""The Slack app manifest people install from."""

import re
from pathlib import Path

MANIFEST = Path(__file__).parents[3] / "adapters" / "slack" / "manifest.yml"


# -- the app manifest (PyYAML is not a dependency: check its structure by lines) -------
def listed(key: str) -> list[str]:
    """The ``- item`` lines directly under ``key:`` in the manifest."""
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip().startswith("- "):
            items.append(line.strip()[2:].split("#")[0].strip())
    return items


def test_manifest_declares_commands_scopes_events_and_socket_mode() -> None:
    text = MANIFEST.read_text()
    assert "\t" not in text
    commands = [c.removeprefix("command: ") for c in listed("slash_commands") if "command:" in c]
    assert commands == ["/imagine", "/imagine-status", "/imagine-usage", "/imagine-admin"]
    assert text.count("should_escape: false") == 4
    assert text.count("url: https://YOUR-HOST/slack/events") == 6  # 4 commands, events, buttons
    assert 'usage_hint: "a red fox in the snow --ar 16:9 --size 2K"' in text
    assert set(listed("bot")) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "files:read",
        "users:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "app_mentions:read",
    }
    assert listed("bot_events") == [
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "app_mention",
    ]
    for setting in (
        "major_version: 1",
        "name: imagine-bot",
        "display_name: imagine-bot",
        "always_online: true",
        "is_enabled: true",
        "socket_mode_enabled: true",
        "org_deploy_enabled: false",
        "token_rotation_enabled: false",
    ):
        assert re.search(rf"^\s*{re.escape(setting)}\b", text, re.M), setting
