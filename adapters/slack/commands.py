"""``/imagine-status``, ``/imagine-usage`` and ``/imagine-admin``: answered in the
``ack`` (seen by the caller alone), within Slack's 3 s.

Admins are ``IMAGINE_ADMIN_USERS`` plus a workspace's stored admins, or the
workspace's own admins and owners (``users.info``). Anyone else is refused and
nothing changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.acks import ack_within
from adapters.slack.listeners import CANT_POST, SLACK_TROUBLE
from adapters.status_chart import FILENAME, status_chart
from bot.admin import Admin, Help
from bot.errors import InputError
from bot.guild_settings import GuildSettings
from bot.messages import STATUS_CHART_MISSING, user_error
from bot.quotas import Quotas
from bot.router import Router
from bot.status_history import StatusHistory
from bot.status_text import status_view

log = logging.getLogger(__name__)

NOT_ADMIN = (
    "Only workspace admins (or users listed in IMAGINE_ADMIN_USERS) can change imagine-bot's "
    "settings. Nothing was changed."
)


@dataclass
class Commands:
    router: Router
    quotas: Quotas
    guilds: GuildSettings
    user_rate: str | None
    history: StatusHistory | None = None  # for ``/imagine-status chart``

    def register(self, app: AsyncApp) -> None:
        app.command("/imagine-status")(self.status)
        app.command("/imagine-usage")(self.usage)
        app.command("/imagine-admin")(self.admin)

    async def status(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        """The status, seen by the caller alone; ``/imagine-status chart`` also posts the
        status chart in the channel (Slack has no files seen by one person only)."""
        text, out = blocks.status_blocks(status_view(self.router.board, datetime.now(UTC)))
        await ack(text=text, blocks=out)
        if (body.get("text") or "").strip().lower() == "chart":
            said = await self._post_chart(client, body["channel_id"])
            if said:
                await respond(text=said, response_type="ephemeral", replace_original=False)

    async def _post_chart(self, client: AsyncWebClient, channel: str) -> str | None:
        """Upload the chart into ``channel``; what to tell the caller if that failed."""
        png = await status_chart(self.router, self.history)
        if png is None:
            return STATUS_CHART_MISSING
        try:
            await client.files_upload_v2(
                channel=channel, file=png, filename=FILENAME, title="Image models, recent"
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("status chart not posted (%s)", error)
            return CANT_POST.get(error, SLACK_TROUBLE)
        except Exception as exc:
            log.warning("status chart not posted (%s)", type(exc).__name__)
            return SLACK_TROUBLE
        return None

    async def usage(self, ack: Any, body: dict[str, Any]) -> None:
        workspace = f"slack:{body['team_id']}"
        whole = await self.quotas.usage(workspace)
        mine = await self.quotas.usage(workspace, user=body["user_id"])
        text, out = blocks.usage_blocks(
            workspace=whole, mine=mine, limits=whole.limits, rate=self.user_rate
        )
        await ack(text=text, blocks=out)

    async def admin(
        self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack_within(ack, respond, self._admin(body, client))

    async def _admin(self, body: dict[str, Any], client: AsyncWebClient) -> Any:
        """What to answer: words, or ``{"text", "blocks"}`` for the settings view."""
        team, user = body["team_id"], body["user_id"]
        workspace = f"slack:{team}"
        if not await self._is_admin(client, workspace, team, user):
            return NOT_ADMIN
        words = (body.get("text") or "").split()
        channel = body["channel_id"]
        try:
            said = await Admin(self.guilds, self.quotas).change(
                words, workspace=workspace, user=user, channel=channel, shown_as=f"<#{channel}>"
            )
        except InputError as exc:
            said = user_error(exc).message
        if isinstance(said, Help):
            return blocks.admin_help()
        if said is not None:
            return said
        cfg = await self.guilds.get(workspace)
        limits = await self.quotas.get_limits(workspace)
        chain = [r.model.id for r in self.router.routes]
        text, out = blocks.admin_show_blocks(cfg, limits, chain)
        return {"text": text, "blocks": out}

    async def _is_admin(self, client: AsyncWebClient, workspace: str, team: str, user: str) -> bool:
        if await self.guilds.is_admin(workspace, user):
            return True
        try:
            info = await client.users_info(user=user)
        except Exception as exc:
            log.warning(
                "users.info failed (%s); treating %s as a non-admin", type(exc).__name__, user
            )
            return False
        member = info.get("user") or {}
        if member.get("team_id") not in (None, team) or member.get("is_stranger"):
            return False  # an admin of another organisation (Slack Connect) is not ours
        return bool(member.get("is_admin") or member.get("is_owner"))
