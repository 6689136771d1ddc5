"""What the core tells a meter as it works (``adapters/metrics.py`` makes Prometheus
metrics of it). The core calls a ``Meter`` at the moments that count:

    router:    each attempt-log row once its walk ends (model, channel, outcome,
               seconds); what it may have cost; a request made by another model
               than its primary (a fallback); a background probe's image (spend)
    jobs:      a job entering a state (queued, running, delivered, failed)
    runner:    how long a job waited in this process's queue
    quotas:    a request the ledger refused (rate, daily_images, monthly_budget)

Every value it is given is from a bounded set: model ids and channels of the
configured routes, outcome words (``bot.domain.Outcome``), job states, refusal
kinds — never a prompt, a user, a workspace, a thread or a job id. What is state
rather than an event (breakers, in-flight calls, queue depth) is read by the
adapter when it is scraped (``HealthBoard.snapshot``, ``ImagineService.load``).

A meter must not fail the work it watches: the core wraps it in ``SafeMeter``.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)

REFUSAL_KINDS = ("rate", "daily_images", "monthly_budget")


class Meter(Protocol):
    def attempt(self, *, model: str, channel: str, outcome: str, seconds: float | None) -> None:
        """One attempt-log row; ``seconds`` None: never sent (skipped)."""

    def spent(self, *, model: str, channel: str, usd: float) -> None:
        """What a call may have cost (an image, a hedge cancelled after it was sent)."""

    def fallback(self, *, primary: str, model: str, reason: str) -> None:
        """``model`` made the image ``primary`` would have made; ``reason``: why not
        (an outcome word, ``delayed`` or ``unavailable``)."""

    def job(self, *, state: str) -> None:
        """A job entered ``state`` (``bot.jobs.JobState``)."""

    def queue_wait(self, *, seconds: float) -> None:
        """A job left the queue for a worker after ``seconds``."""

    def refused(self, *, kind: str) -> None:
        """The quota ledger refused a request (one of ``REFUSAL_KINDS``)."""


class NoMeter:
    """The default: nothing is measured."""

    def attempt(self, *, model: str, channel: str, outcome: str, seconds: float | None) -> None:
        pass

    def spent(self, *, model: str, channel: str, usd: float) -> None:
        pass

    def fallback(self, *, primary: str, model: str, reason: str) -> None:
        pass

    def job(self, *, state: str) -> None:
        pass

    def queue_wait(self, *, seconds: float) -> None:
        pass

    def refused(self, *, kind: str) -> None:
        pass


class SafeMeter:
    """A meter whose errors are logged, never raised into a request or a job."""

    def __init__(self, meter: Meter | None) -> None:
        self.inner: Meter = meter.inner if isinstance(meter, SafeMeter) else meter or NoMeter()

    def attempt(self, *, model: str, channel: str, outcome: str, seconds: float | None) -> None:
        try:
            self.inner.attempt(model=model, channel=channel, outcome=outcome, seconds=seconds)
        except Exception:
            log.exception("meter failed on an attempt")

    def spent(self, *, model: str, channel: str, usd: float) -> None:
        try:
            self.inner.spent(model=model, channel=channel, usd=usd)
        except Exception:
            log.exception("meter failed on spend")

    def fallback(self, *, primary: str, model: str, reason: str) -> None:
        try:
            self.inner.fallback(primary=primary, model=model, reason=reason)
        except Exception:
            log.exception("meter failed on a fallback")

    def job(self, *, state: str) -> None:
        try:
            self.inner.job(state=state)
        except Exception:
            log.exception("meter failed on a job")

    def queue_wait(self, *, seconds: float) -> None:
        try:
            self.inner.queue_wait(seconds=seconds)
        except Exception:
            log.exception("meter failed on a queue wait")

    def refused(self, *, kind: str) -> None:
        try:
            self.inner.refused(kind=kind)
        except Exception:
            log.exception("meter failed on a refusal")


def refusal_kind(limit: str) -> str:
    """``QuotaExceeded.limit`` ("daily images") as a label word ("daily_images")."""
    return limit.replace(" ", "_")
