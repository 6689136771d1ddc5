"""A walk's answer (``bot.walk``): the image with an honest record of how it was
made — every attempt, why the request's first choice did not make it (an outcome
code for ``bot.messages``), and what the model that did could not do as asked."""

from __future__ import annotations

from bot.attempt import Done
from bot.catalog import ModelSpec
from bot.domain import Attempt, GenerationRequest, ImageResult, Outcome
from bot.health import HealthBoard, HealthState
from bot.messages import PACED, SKIPPED_PACED
from bot.route import Route


def image_result(
    done: Done,
    attempts: list[Attempt],
    *,
    primary: Route,
    board: HealthBoard,
    request: GenerationRequest,
) -> ImageResult:
    """``done`` made the image; ``primary`` is the route the request would have used
    had everything been up."""
    assert done.image is not None
    reason = None
    if done.route.model.id != primary.model.id:
        mine = [a for a in attempts if a.model == primary.model.id]
        failed = [a for a in mine if a.outcome not in (Outcome.SKIPPED, Outcome.CANCELLED)]
        rh = board[primary.label]
        if failed:
            reason = str(failed[-1].outcome)
        elif any(a.detail == SKIPPED_PACED for a in mine):
            reason = PACED
        elif rh.state() is HealthState.DELAYED or any(a.outcome is Outcome.CANCELLED for a in mine):
            reason = "delayed"
        else:
            reason = rh.last_failure or "unavailable"
    return ImageResult(
        image=done.image,
        model=done.route.model.id,
        channel=done.route.provider.channel,
        primary=primary.model.id,
        attempts=tuple(attempts),
        cost_usd=done.attempt.cost_usd,
        fallback_reason=reason,
        adjustments=_adjustments(done.route.model, request),
        rebased=done.rebased,
    )


def _adjustments(model: ModelSpec, request: GenerationRequest) -> tuple[str, ...]:
    out = []
    if request.size and model.fit_size(request.size) != request.size:
        out.append(f"size {request.size}→{model.fit_size(request.size)}")
    if request.aspect_ratio and model.fit_aspect(request.aspect_ratio) != request.aspect_ratio:
        out.append(f"aspect {request.aspect_ratio}→{model.fit_aspect(request.aspect_ratio)}")
    return tuple(out)
