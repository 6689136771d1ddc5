"""One image made at once, with no job row, worker or sink in between: what the
service's old direct path (``ImagineService.imagine``, the CLI's until it became a
platform) did. Tests of what a job's run is built from — a workspace's settings, the
chain, aliases, sessions across model changes — use it to call those parts directly;
the ledger steps are a job's (reserve before, settle after, release on failure)."""

from bot.commands import ImagineCommand, Reply
from bot.service import ImagineService


async def imagine(service: ImagineService, cmd: ImagineCommand) -> Reply:
    cmd, request, estimate = await service._prepare(cmd)
    who = cmd.requester
    reservation = await service.quotas.reserve(
        workspace=who.ledger_key, user=who.user, estimate_usd=estimate, job_id=cmd.job_id
    )
    try:
        reply = await service.maker.make(cmd, request)
    except BaseException:
        await service.quotas.release(reservation)
        raise
    await service.quotas.settle(reservation, cost_usd=reply.cost_usd, model=reply.model)
    return reply
