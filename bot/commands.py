"""What the platforms hand the service, and what it hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import Attempt, ImageResult
from bot.messages import notices
from bot.sessions import ThreadKey

# What Vary and Upscale 4K ask of the model, as the next turn of the image's thread.
VARY_PROMPT = "Make a variation of this image: keep the subject and composition, vary the details."
UPSCALE_PROMPT = "Render this same image again at 4K resolution, keeping every detail."


@dataclass(frozen=True, slots=True)
class Requester:
    platform: str
    workspace: str
    user: str

    @property
    def ledger_key(self) -> str:
        return f"{self.platform}:{self.workspace}"


@dataclass(frozen=True, slots=True)
class ImagineCommand:
    requester: Requester
    prompt: str
    aspect: str | None = None
    size: str | None = None
    references: tuple[tuple[str, bytes], ...] = ()  # (file name, bytes) as uploaded
    thread: ThreadKey | None = None  # continue (or start) this thread's session
    job_id: str | None = None
    chain: Sequence[str] | None = None  # None: the workspace's chain, else the installation's
    safety_failover: bool | None = None  # None: the workspace's setting

    def payload(self) -> dict[str, Any]:
        """What a job row keeps to run this again after a restart (not the images)."""
        return {"prompt": self.prompt, "aspect": self.aspect, "size": self.size}


@dataclass(frozen=True, slots=True)
class Reply:
    image: bytes
    mime_type: str
    model: str
    fallback: bool
    cost_usd: float
    attempts: tuple[Attempt, ...]
    notices: list[str] = field(default_factory=list)
    version: int | None = None
    primary: str | None = None  # the model that would have been used first
    elapsed_s: float | None = None  # from the request to the image (jobs: from queueing)

    def said(self) -> list[str]:
        """The notices people are shown; a fallback is always said, even if the list
        forgot it."""
        notes = list(self.notices)
        if self.fallback and not any("backup" in n for n in notes):
            notes.insert(0, f"Made with backup model {self.model}.")
        return notes


def reply_from(result: ImageResult, *, version: int | None = None) -> Reply:
    return Reply(
        image=result.image.data,
        mime_type=result.image.mime_type,
        model=result.model,
        fallback=result.fallback,
        cost_usd=result.cost_usd,
        attempts=result.attempts,
        notices=notices(result),
        version=version,
        primary=result.primary,
    )
