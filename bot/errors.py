"""The one exception tree of imagine-bot.

Provider adapters map every vendor outcome onto this tree with
``raise Mapped(...) from exc``; the router decides what to do by type; one
place (``bot.messages``) turns an error into words a user reads. ``str()`` of
these errors is for logs only and never carries a secret or raw vendor text
shown to a user.

    ImagineError
    ├── ConfigError                 bad settings / catalogue at start-up
    ├── InputError                  the user's request cannot be served as asked
    ├── ProviderError               one attempt on one model failed   (.model, .status)
    │   ├── TransientError          worth trying the next model
    │   │   ├── ProviderOverloaded      503 / UNAVAILABLE / "high demand" / "overloaded"
    │   │   ├── ProviderRateLimited     429 / RESOURCE_EXHAUSTED       (.retry_after)
    │   │   ├── ProviderServerError     other 5xx, connection errors (≤ 1 same-model retry)
    │   │   ├── ProviderTimeout         per-attempt timeout (aiohttp's bare TimeoutError too)
    │   │   └── EmptyResult             HTTP 200 without an image (text only, no candidates)
    │   ├── SafetyBlocked           IMAGE_SAFETY, blockReason, moderation_blocked (.reason)
    │   ├── InvalidRequest          400 INVALID_ARGUMENT: the request itself is wrong
    │   │   └── HistoryRejected         400 about thought signatures: resend the thread
    │   │                               without foreign history (never reaches a user)
    │   └── ProviderMisconfigured   401 / 403 / 404 / retired model: skip it, tell admins
    │       └── ModelNotOffered         404 "model not found" / shut down / not in the list
    ├── QuotaExceeded               our own ledger said no      (.limit, .used, .cap, .resets_at)
    ├── DeliveryFailed              the image was made but the chat platform would not take it
    ├── ShuttingDown                a request arrived while the bot is stopping
    └── GenerationFailed            what the router raises       (.attempts)
        ├── AllModelsFailed         chain exhausted or deadline passed
        └── RequestRefused          a stop error (safety / invalid) ended the request (.cause)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain import Outcome

if TYPE_CHECKING:
    from bot.domain import Attempt


class ImagineError(Exception):
    """Base of every error imagine-bot raises on purpose."""


class ConfigError(ImagineError):
    """Settings or the model catalogue are unusable."""


class InputError(ImagineError):
    """The request is malformed; ``code`` names the problem for bot.messages."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class ProviderError(ImagineError):
    """One attempt on one model failed. ``outcome`` is the attempt-log label."""

    outcome = Outcome.SERVER_ERROR

    def __init__(self, message: str = "", *, model: str = "", status: int | None = None) -> None:
        super().__init__(message or type(self).__name__)
        self.model = model
        self.status = status


class TransientError(ProviderError):
    """The model may work again soon; the router tries the next one."""


class ProviderOverloaded(TransientError):
    """503 UNAVAILABLE: "This model is currently experiencing high demand"."""

    outcome = Outcome.OVERLOADED


class ProviderRateLimited(TransientError):
    """429: our key is over a limit; ``retry_after`` seconds if the vendor said."""

    outcome = Outcome.RATE_LIMITED

    def __init__(
        self,
        message: str = "",
        *,
        model: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, model=model, status=status)
        self.retry_after = retry_after


class ProviderServerError(TransientError):
    """Another 5xx or a broken connection."""

    outcome = Outcome.SERVER_ERROR


class ProviderTimeout(TransientError):
    """No answer within the attempt's time limit."""

    outcome = Outcome.TIMEOUT


class EmptyResult(TransientError):
    """HTTP 200 but no image in it (text-only answer, no candidates, bad base64)."""

    outcome = Outcome.EMPTY_RESULT


class SafetyBlocked(ProviderError):
    """The vendor refused the prompt or the image on safety grounds."""

    outcome = Outcome.SAFETY_BLOCKED

    def __init__(
        self, message: str = "", *, model: str = "", status: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, model=model, status=status)
        self.reason = reason


class InvalidRequest(ProviderError):
    """The request itself is wrong (400); another model would refuse it too."""

    outcome = Outcome.INVALID_REQUEST


class HistoryRejected(InvalidRequest):
    """The model refused the thread's history (a thought signature another model,
    key or channel made): the walk resends the thread without it."""


class ProviderMisconfigured(ProviderError):
    """Bad key, no access, unknown or retired model: an admin must act."""

    outcome = Outcome.MISCONFIGURED


class ModelNotOffered(ProviderMisconfigured):
    """The channel does not serve this model (404 not found, shut down, or absent
    from its model list): the route is switched off and admins are told once."""


class QuotaExceeded(ImagineError):
    """A guild/user limit of our own ledger refused the request."""

    def __init__(
        self, limit: str, *, used: float, cap: float, resets_at: datetime | None = None
    ) -> None:
        super().__init__(f"quota {limit}: {used}/{cap}")
        self.limit = limit
        self.used = used
        self.cap = cap
        self.resets_at = resets_at


class DeliveryFailed(ImagineError):
    """The chat platform refused the finished image (upload error, outage)."""

    def __init__(self, message: str = "delivery failed") -> None:
        super().__init__(message)


class ShuttingDown(ImagineError):
    """The bot is stopping; the request was not queued."""

    def __init__(self, message: str = "shutting down") -> None:
        super().__init__(message)


class GenerationFailed(ImagineError):
    """The router gave up; ``attempts`` is the full attempt log."""

    def __init__(self, message: str, *, attempts: Sequence[Attempt] = ()) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


class AllModelsFailed(GenerationFailed):
    """Every candidate model failed, was unavailable, or the deadline passed."""

    def __init__(
        self,
        message: str = "all models failed",
        *,
        attempts: Sequence[Attempt] = (),
        deadline_exceeded: bool = False,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.deadline_exceeded = deadline_exceeded


class RequestRefused(GenerationFailed):
    """A safety block or invalid request stopped the request (no failover)."""

    def __init__(
        self, cause: SafetyBlocked | InvalidRequest, *, attempts: Sequence[Attempt] = ()
    ) -> None:
        super().__init__(type(cause).__name__, attempts=attempts)
        self.cause = cause
