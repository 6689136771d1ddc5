"""What a user can invoke or press in the fake Discord, checked like Discord's client does:
a slash command must be synced and visible to the user (``default_member_permissions``,
DM contexts) and its options must match the synced schema; a button must be on the
message and enabled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tests.platforms.discord_fake_store import FakeStore
from tests.platforms.discord_fake_types import FakeUser, Json, Upload

OPTION_SUBCOMMAND, OPTION_GROUP, OPTION_BOOLEAN, OPTION_ATTACHMENT = 1, 2, 5, 11
_VALUE_TYPES: dict[int, type | tuple[type, ...]] = {3: str, 4: int, 5: bool, 10: (int, float)}


def components_of(node: Any) -> Iterator[Json]:
    """Every component in a message's ``components`` tree (v1 rows and v2 layouts)."""
    if isinstance(node, list):
        for item in node:
            yield from components_of(item)
    elif isinstance(node, dict):
        if "type" in node:
            yield node
        for key in ("components", "accessory", "component"):
            yield from components_of(node.get(key))


def pressable(message: Json, custom_id: str) -> Json:
    found = next(
        (c for c in components_of(message["components"]) if c.get("custom_id") == custom_id), None
    )
    if found is None:
        ids = [c.get("custom_id") for c in components_of(message["components"])]
        raise LookupError(f"message {message['id']} has no component {custom_id!r}; it has {ids}")
    if found.get("disabled"):
        raise ValueError(f"component {custom_id!r} is disabled")
    return found


class SlashCommandData:
    """Builds the ``data`` of an APPLICATION_COMMAND interaction."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def build(
        self,
        name: str,
        options: Mapping[str, Any],
        attachments: Mapping[str, Upload | tuple[str, bytes]],
        *,
        user: FakeUser,
        guild_id: int | None,
        permissions: int,
    ) -> Json:
        """``guild_id``: where it is invoked (None: a DM)."""
        guild = guild_id is not None
        root, *path = name.split()
        command = self._find(root, guild_id)
        required = command.get("default_member_permissions")
        if guild and required is not None and permissions & int(required) != int(required):
            raise PermissionError(f"/{root} is hidden from {user.username} (needs {required})")
        if not guild and 1 not in (command.get("contexts") or [0, 1, 2]):
            raise PermissionError(f"/{root} is not available in DMs")
        schema: list[Json] = command.get("options") or []
        parents: list[Json] = []
        for part in path:
            kinds = (OPTION_SUBCOMMAND, OPTION_GROUP)
            found = next((o for o in schema if o["name"] == part and o["type"] in kinds), None)
            if found is None:
                raise LookupError(f"/{root} has no subcommand {part!r}")
            parents.append(found)
            schema = found.get("options") or []
        resolved: Json = {}
        built = self._options(schema, options, attachments, resolved, guild)
        for parent in reversed(parents):
            built = [{"name": parent["name"], "type": parent["type"], "options": built}]
        data: Json = {"id": command["id"], "name": root, "type": 1, "options": built}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in command:  # discord.py looks guild commands up by this
            data["guild_id"] = command["guild_id"]
        return data

    def _find(self, name: str, guild_id: int | None) -> Json:
        scopes = [self.store.guild_commands.get(guild_id, [])] if guild_id is not None else []
        for commands in [*scopes, self.store.global_commands]:
            for command in commands:
                if command["name"] == name and command["type"] == 1:
                    return command
        raise LookupError(f"/{name} is not registered (did the bot sync its command tree?)")

    def _options(
        self,
        schema: list[Json],
        given: Mapping[str, Any],
        uploads: Mapping[str, Upload | tuple[str, bytes]],
        resolved: Json,
        guild: bool,
    ) -> list[Json]:
        known = {o["name"]: o for o in schema}
        unknown = (set(given) | set(uploads)) - set(known)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; the command has {sorted(known)}")
        missing = [n for n, o in known.items() if o.get("required") and n not in {*given, *uploads}]
        if missing:
            raise ValueError(f"required options missing: {missing}")
        built: list[Json] = []
        for name, spec in known.items():
            if name in uploads:
                if spec["type"] != OPTION_ATTACHMENT:
                    raise ValueError(f"option {name!r} is not an attachment option")
                raw = uploads[name]
                upload = raw if isinstance(raw, Upload) else Upload(*raw)
                scope = self.store.application_id
                attachment = self.store.add_attachment(upload, scope=scope, ephemeral=True)
                resolved.setdefault("attachments", {})[attachment["id"]] = attachment
                built.append({"name": name, "type": OPTION_ATTACHMENT, "value": attachment["id"]})
            elif name in given:
                value = self._value(spec, given[name], resolved, guild)
                built.append({"name": name, "type": spec["type"], "value": value})
        return built

    def _value(self, spec: Json, value: Any, resolved: Json, guild: bool) -> Any:
        kind = spec["type"]
        if kind == OPTION_ATTACHMENT:
            raise ValueError(f"pass attachment option {spec['name']!r} through attachments=")
        if isinstance(value, FakeUser):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if guild:
                member = self.store.member_payload(value, with_user=False)
                perms = str(self.store.permissions_of(value))
                resolved.setdefault("members", {})[str(value.id)] = member | {"permissions": perms}
            return str(value.id)
        expected = _VALUE_TYPES.get(kind)
        wrong_bool = kind != OPTION_BOOLEAN and isinstance(value, bool)
        if expected and (not isinstance(value, expected) or wrong_bool):
            raise TypeError(f"option {spec['name']!r} expects type {kind}, got {value!r}")
        choices = [c["value"] for c in spec.get("choices") or []]
        if choices and value not in choices:
            raise ValueError(f"option {spec['name']!r} must be one of {choices}")
        return value
