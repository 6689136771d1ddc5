"""Every sentence a user reads, and the one place errors become words.

Nothing here quotes an exception's text: vendor messages can carry internals
(and, badly configured, secrets). Words come from our own types and fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import GenerationRequest, ImageResult, Outcome
from bot.errors import (
    AllModelsFailed,
    ConfigError,
    DeliveryFailed,
    ImagineError,
    InputError,
    InvalidRequest,
    QuotaExceeded,
    RequestRefused,
    SafetyBlocked,
    ShuttingDown,
)
from bot.text import one_line

WHY = {
    "overloaded": "is overloaded (503)",
    "rate_limited": "is rate-limited (429)",
    "server_error": "is failing (server error)",
    "timeout": "timed out",
    "empty_result": "returned no image",
    "misconfigured": "is unavailable (configuration problem; admins have been told)",
    "delayed": "is responding slowly",
    "paced": "is at its requests-per-minute limit",
    "safety_blocked": "declined this prompt",
    "unavailable": "is unavailable",
}

# The attempt log's own words (``Attempt.detail``: ``imagine --json``, job rows): why
# a model was passed over, and what became of a call that lost its request's race.
SKIPPED_DELAYED = "delayed"
SKIPPED_PACED = "paced: no requests left this minute"
PACED = "paced"  # the meter's outcome and the fallback reason for a paced route
SKIPPED_NOT_OFFERED = "not offered"
SKIPPED_BREAKER_OPEN = "breaker open"
SKIPPED_RETRY = "retry: breaker open"  # a same-model retry the breaker no longer admits
PROBE_LEFT_TO_FINISH = "probe left to finish"
HEDGE_LOST = "hedge lost; may be billed"

CONTEXT_TRIMMED = (
    "This thread is long, so its earliest turns are no longer sent to the model; "
    "it may forget details from the start."
)

INPUT = {
    "empty_prompt": "Please describe the image you want: the prompt is empty.",
    "prompt_too_long": "That prompt is too long ({detail}). Please shorten it.",
    "bad_aspect": "Aspect ratio {detail!r} isn't valid. Use a ratio like 1:1, 16:9 or 9:16.",
    "bad_size": "Size {detail!r} isn't valid. Use 1K, 2K or 4K.",
    "bad_reference": "The reference image {detail} couldn't be used: it isn't a PNG, JPEG, "
    "WebP or GIF image.",
    "reference_too_large": "The reference image {detail} is too large.",
    "reference_too_many_pixels": "The reference image {detail} has too many pixels. Please "
    "send a smaller image; nothing was charged.",
    "reference_unreadable": "The reference image {detail} couldn't be read: the file is "
    "damaged or incomplete. Please upload it again; nothing was charged.",
    "reference_missing": "The reference image {detail} doesn't exist.",
    "bad_output": "{detail} is a directory; give --out a file name such as out/fox.png.",
    "save_failed": "The image was made but couldn't be saved to {detail}, so nothing was "
    "charged. Choose another --out path.",
    "unknown_model": "These models can't be used here: {detail}. `imagine-bot doctor` lists the "
    "usable ones.",
    "bad_option": "I don't know the option {detail}. Options: --ar 16:9 (aspect ratio) and "
    "--size 1K, 2K or 4K.",
    "unreadable": "I couldn't read that message ({detail}) — please send it again.",
    "bad_number": "{detail!r} isn't a number I can use: give 0 (unlimited) or more, e.g. "
    "`quota daily 100` or `budget 50`.",
    "daily_too_large": "The daily limit can be at most {detail} images (0: unlimited). "
    "Nothing was changed.",
    "budget_too_large": "The monthly budget can be at most ${detail} (0: unlimited). "
    "Nothing was changed.",
    "no_capable_model": "No configured model can do {detail}. Try fewer reference images.",
    "job_gone": "That image is no longer available.",
    "button_elsewhere": "That button belongs to an image in another channel, so nothing was "
    "made or charged. Use the buttons on the image's own message.",
    "incomplete_request": "That request reached me incomplete, so I couldn't act on it — "
    "nothing was queued or charged. Please try again.",
    "bad_attachment": "I couldn't read the files attached to that message, so nothing was "
    "queued or charged. Please attach them again.",
}

QUOTED_MAX = 200  # the most of someone's input a refusal quotes back

QUEUED_IN_THREAD = "{state} — the image will appear in the thread."
ALREADY_ON_IT = "Already on it."
STATUS_CHART_MISSING = "The status chart couldn't be drawn just now; the status above is current."


def queued_state(position: int | None) -> str:
    """A queued job's status line: "Queued (#3)", or "Queued" once it is next/running."""
    return f"Queued (#{position})" if position else "Queued"


def capability_needed(request: GenerationRequest) -> str:
    """What no configured model can do for ``request`` (``no_capable_model``'s detail)."""
    if request.references:
        return f"editing with {len(request.references)} reference image(s)"
    return "multi-turn editing" if request.history else "image generation"


JOB_RESUMED = "The bot restarted while this image was being made — picking it up again."
JOB_GONE = INPUT["job_gone"]
_INTERRUPTED = {
    "billed": "The bot restarted just as this image was finished, so it couldn't be posted.",
    "crash_loop": "This request stopped the bot several times, so it was given up.",
}


def job_interrupted(reason: str) -> UserError:
    """What a thread is told when a restart ended its job (``bot.scheduler`` reasons)."""
    words = _INTERRUPTED.get(
        reason, "The bot restarted while this image was being made and couldn't finish it."
    )
    return UserError(
        "interrupted",
        f"{words} Nothing was charged for it — press Retry or run /imagine again.",
        retryable=True,
    )


@dataclass(frozen=True, slots=True)
class UserError:
    code: str  # stable, machine-readable: safety_blocked, all_models_failed, …
    message: str
    retryable: bool = False


def notices(result: ImageResult) -> list[str]:
    """What the user should be told beside the image."""
    out = []
    if result.fallback:
        why = WHY.get(result.fallback_reason or "", "is unavailable")
        out.append(f"Made with backup model {result.model} — {result.primary} {why}.")
    for adjustment in result.adjustments:
        what, _, change = adjustment.partition(" ")
        out.append(f"{result.model} can't do that {what}; made it at {change.split('→')[-1]}.")
    return out


def user_error(exc: BaseException) -> UserError:
    """The one mapping from an exception to what a user reads."""
    if isinstance(exc, RequestRefused):
        return user_error(exc.cause)
    if isinstance(exc, SafetyBlocked):
        return UserError(
            "safety_blocked",
            "The image model declined this prompt on safety grounds, so no image was made and "
            'nothing was charged. Try rephrasing: describe a style ("in a watercolor style") '
            "instead of naming a living artist, and avoid real people's names.",
        )
    if isinstance(exc, InvalidRequest):
        return UserError(
            "invalid_request",
            "The image model couldn't accept this request (an option or a reference image "
            "wasn't valid for it). Nothing was charged; try a simpler request.",
        )
    if isinstance(exc, AllModelsFailed):
        tried = sorted({a.model for a in exc.attempts if a.outcome is not Outcome.SKIPPED})
        what = "took too long" if exc.deadline_exceeded else "are unavailable right now"
        detail = f" (tried {', '.join(tried)})" if tried else ""
        return UserError(
            "all_models_failed",
            f"All image models {what}{detail}. Nothing was charged — please retry in a minute.",
            retryable=True,
        )
    if isinstance(exc, DeliveryFailed):
        return UserError(
            "delivery_failed",
            "The image was made, but it couldn't be posted here just now. Nothing was "
            "charged — press Retry.",
            retryable=True,
        )
    if isinstance(exc, ShuttingDown):
        return UserError(
            "restarting", "The bot is restarting — please try again in a minute.", retryable=True
        )
    if isinstance(exc, QuotaExceeded):
        when = f" It resets {exc.resets_at:%Y-%m-%d %H:%M} UTC." if exc.resets_at else ""
        return UserError(
            "quota_exceeded",
            f"The {exc.limit} limit is reached ({exc.used:g} of {exc.cap:g}).{when}",
        )
    if isinstance(exc, InputError):
        template = INPUT.get(exc.code, "That request isn't valid.")
        detail = one_line(exc.detail, QUOTED_MAX)  # typed by someone: no control characters
        return UserError("invalid_input", template.format(detail=detail))
    if isinstance(exc, ConfigError):
        return UserError(
            "misconfigured", "The bot is misconfigured; an admin should run `imagine-bot doctor`."
        )
    if isinstance(exc, ImagineError):
        return UserError("error", "Something went wrong making that image. Nothing was charged.")
    return UserError("error", "Something went wrong on our side. Nothing was charged.")
