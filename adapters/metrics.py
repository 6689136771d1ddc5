"""``GET /metrics`` for Prometheus: the core's ``Meter`` (``bot.meter``) made of
``prometheus-client`` metrics on the meter's own ``CollectorRegistry`` (never the
library's global one: several apps and tests share a process).

Events are counted as the core reports them (attempts, fallbacks, spend, job
states, queue waits, quota refusals); state — breakers, route health, calls in
flight, queue depth, running jobs — is read from the router's health board and
the service when Prometheus scrapes. Label values come from bounded sets only:
the configured routes' model ids and channels, outcome words, job states and
refusal kinds; anything else is counted as ``other``. No prompt, user,
workspace, thread or job id is ever a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from adapters.web import Mount
from bot.breaker import BreakerState
from bot.domain import Outcome
from bot.health import HealthState
from bot.jobs import JobState
from bot.messages import PACED
from bot.meter import REFUSAL_KINDS
from bot.router import Router
from bot.service import ImagineService

__all__ = ["PromMeter", "metrics_mount"]

OUTCOMES = frozenset(str(o) for o in Outcome) | {PACED}  # paced: passed over, not sent
REASONS = OUTCOMES | {"delayed", "unavailable"}
JOB_STATES = frozenset(str(s) for s in JobState)
ATTEMPT_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
WAIT_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 300)


def _word(value: str, known: Iterable[str]) -> str:
    return value if value in known else "other"


class PromMeter:
    """A ``bot.meter.Meter`` that keeps Prometheus metrics in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        route = ["model", "channel"]
        self._attempts = Counter(
            "imagine_attempts", "Attempts on a model, by outcome", [*route, "outcome"], registry=r
        )
        self._seconds = Histogram(
            "imagine_attempt_duration_seconds",
            "How long a call to a model took, by outcome (calls that were sent)",
            [*route, "outcome"],
            buckets=ATTEMPT_BUCKETS,
            registry=r,
        )
        self._fallbacks = Counter(
            "imagine_fallbacks",
            "Images made by another model than the request's primary",
            ["from_model", "to_model", "reason"],
            registry=r,
        )
        self._spend = Counter(
            "imagine_spend_usd", "What calls to a model may have cost, USD", route, registry=r
        )
        self._jobs = Counter("imagine_jobs", "Jobs that entered a state", ["state"], registry=r)
        self._wait = Histogram(
            "imagine_queue_wait_seconds",
            "How long a job waited in the queue for a worker",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self._refusals = Counter(
            "imagine_quota_refusals", "Requests the quota ledger refused", ["kind"], registry=r
        )

    # -- bot.meter.Meter -------------------------------------------------------
    def attempt(self, *, model: str, channel: str, outcome: str, seconds: float | None) -> None:
        word = _word(outcome, OUTCOMES)
        self._attempts.labels(model, channel, word).inc()
        if seconds is not None:
            self._seconds.labels(model, channel, word).observe(seconds)

    def spent(self, *, model: str, channel: str, usd: float) -> None:
        self._spend.labels(model, channel).inc(max(0.0, usd))

    def fallback(self, *, primary: str, model: str, reason: str) -> None:
        self._fallbacks.labels(primary, model, _word(reason, REASONS)).inc()

    def job(self, *, state: str) -> None:
        self._jobs.labels(_word(state, JOB_STATES)).inc()

    def queue_wait(self, *, seconds: float) -> None:
        self._wait.observe(seconds)

    def refused(self, *, kind: str) -> None:
        self._refusals.labels(_word(kind, REFUSAL_KINDS)).inc()

    # -- state, read when scraped ----------------------------------------------
    def watch(self, router: Router, service: ImagineService | None = None) -> None:
        """Read the router's routes (and the service's queue) at each scrape; each
        route's ``ok`` series exists from the start, so rates see its first call."""
        for r in router.routes:
            self._attempts.labels(r.model.id, r.provider.channel, str(Outcome.OK))
        self.registry.register(_Now(router, service))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Now:
    """A collector of what is true at scrape time."""

    def __init__(self, router: Router, service: ImagineService | None) -> None:
        self._router, self._service = router, service

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        breaker, health, in_flight = families[:3]
        for s in self._router.board.snapshot():
            where = [s.model, s.channel]
            for state in BreakerState:
                breaker.add_metric([*where, str(state)], float(s.breaker is state))
            for h in HealthState:
                health.add_metric([*where, str(h)], float(s.state is h))
            in_flight.add_metric(where, s.in_flight)
        if self._service is not None:
            depth, running = families[3:]
            load = self._service.load()
            depth.add_metric([], load.queued)
            running.add_metric([], load.running)
        return iter(families)

    def _families(self) -> list[GaugeMetricFamily]:
        route = ["model", "channel"]
        out = [
            GaugeMetricFamily(
                "imagine_breaker_state",
                "1 for a route's breaker state (closed, open, half_open), else 0",
                labels=[*route, "state"],
            ),
            GaugeMetricFamily(
                "imagine_route_health",
                "1 for a route's health (normal, delayed, down), else 0",
                labels=[*route, "state"],
            ),
            GaugeMetricFamily("imagine_in_flight", "Calls to a route under way", labels=route),
        ]
        if self._service is not None:
            out.append(GaugeMetricFamily("imagine_queue_depth", "Jobs waiting for a worker"))
            out.append(GaugeMetricFamily("imagine_jobs_running", "Jobs being made now"))
        return out


def metrics_mount(meter: PromMeter, router: Router, service: ImagineService | None = None) -> Mount:
    """``GET /metrics`` on the bot's web server, with ``router`` and ``service`` read
    at each scrape (see ``PromMeter.watch``)."""
    meter.watch(router, service)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=meter.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def mount(app: web.Application) -> None:
        app.router.add_get("/metrics", metrics)

    return mount
