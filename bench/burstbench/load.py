"""Signed ``/imagine`` slash commands, as Slack sends them, and what the bot acked.

An *ack* is the HTTP response to Slack's POST to ``/slack/events``; its latency is
from the moment the request was due (open loop: a late launch counts against the
bot) to the end of the response. It is *queued* when that first answer already
says "Queued" (not "Working on it…" with the answer via ``response_url``).
Each request comes from its own user (no per-user rate limit in play) and its own
connection, as Slack's do.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from tests.platforms.slack_fake import FakeSlack
from tests.platforms.slack_fake_wire import SLACKBOT_UA, sign

clock = time.perf_counter


@dataclass(frozen=True, slots=True)
class Ack:
    latency: float  # seconds from when the request was due to the end of the answer
    status: int
    queued: bool  # the first answer said "Queued"


class Firing:
    """Sends slash commands to the bot at ``url`` and counts the images delivered.

    With several ``url``s (processes of one bot) the requests go round-robin over
    them, as a load balancer would; with ``teams``, round-robin over those
    workspaces (``team_id``) too."""

    def __init__(
        self, slack: FakeSlack, url: str | Sequence[str], teams: Sequence[str] = ()
    ) -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        self.slack, self.teams, self.sent = slack, list(teams), 0
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def aclose(self) -> None:
        await self.http.close()

    def delivered(self) -> int:
        """Images the bot has uploaded into their threads so far."""
        return sum(1 for f in self.slack.files.values() if f.data is not None)

    def _signed(self) -> tuple[bytes, dict[str, str]]:
        self.sent += 1
        fields = self.slack.slash_payload(
            text=f"a lighthouse at dusk no. {self.sent}", user_id=f"U{self.sent:09d}"
        )
        if self.teams:
            fields["team_id"] = self.teams[self.sent % len(self.teams)]
        body = urllib.parse.urlencode(fields)
        now = int(time.time())
        return body.encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": SLACKBOT_UA,
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign(self.slack.signing_secret, now, body),
        }

    async def fire(self, due: float) -> Ack:
        body, headers = self._signed()
        url = self.urls[self.sent % len(self.urls)]
        async with self.http.post(url, data=body, headers=headers) as resp:
            text = await resp.text()
        return Ack(clock() - due, resp.status, "Queued" in text)

    async def burst(self, n: int) -> list[Ack]:
        """``n`` requests at once."""
        due = clock()
        return list(await asyncio.gather(*(self.fire(due) for _ in range(n))))

    async def steady(self, rate: float, seconds: float) -> list[Ack]:
        """``rate`` requests a second for ``seconds``, each launched on schedule."""
        t0, tasks = clock(), []
        for i in range(round(rate * seconds)):
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - clock()))
            tasks.append(asyncio.create_task(self.fire(due)))
        return list(await asyncio.gather(*tasks))

    async def drained(self, expected: int, *, within: float = 120.0) -> float:
        """Wait until ``expected`` images are delivered in all; when that was (this clock)."""
        start = clock()
        while (done := self.delivered()) < expected:
            if clock() - start > within:
                raise TimeoutError(f"{done} of {expected} images delivered in {within:.0f} s")
            await asyncio.sleep(0.01)
        return clock()
