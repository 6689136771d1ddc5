"""The service owns intake (issue 11): what a thread message or a button means, for
every platform, is decided in ``bot.intake`` — adapters only translate and render."""

from bot.commands import UPSCALE_PROMPT, VARY_PROMPT
from bot.errors import InputError
from bot.intake import (
    AlreadyQueued,
    ButtonPress,
    MessageRef,
    NewImage,
    NotForUs,
    Placed,
    Press,
    Queued,
    References,
    Refused,
    ThreadMessage,
)
from bot.jobs import Job
from tests.bot import test_service_jobs
from tests.bot.test_service_jobs import WHO, World

world = test_service_jobs.world  # the same service, ledger and sink as the job tests


class Placer:
    """Posts nothing; numbers the status messages it would post."""

    def __init__(self) -> None:
        self.placed: list[Job] = []
        self.withdrawn: list[str] = []

    async def place(self, job: Job) -> Placed:
        self.placed.append(job)
        message = f"m{len(self.placed)}"
        return Placed(job.thread or message, message, {"status": message})

    async def withdraw(self, placed: Placed) -> None:
        self.withdrawn.append(placed.message)


async def _imagine(w: World, placer: Placer, key: str = "E1") -> Job:
    answer = await w.service.take(NewImage(WHO, "C1", "a red fox", key=key), placer)
    assert isinstance(answer, Queued)
    await w.service.runner.join()
    return answer.job


async def test_a_new_image_starts_a_thread_at_its_status_message(world: World) -> None:
    placer = Placer()
    job = await _imagine(world, placer)
    assert job.thread == "m1" and job.payload["extra"] == {"status": "m1"}
    assert job.id in world.sink.delivered


async def test_the_same_event_again_is_already_queued_and_placed_once(world: World) -> None:
    placer = Placer()
    job = await _imagine(world, placer)
    again = await world.service.take(NewImage(WHO, "C1", "a red fox", key="E1"), placer)
    assert isinstance(again, AlreadyQueued) and again.job.id == job.id
    assert len(placer.placed) == 1


async def test_a_refusal_is_words_with_nothing_placed_or_downloaded(world: World) -> None:
    placer, fetched = Placer(), []

    async def fetch() -> References:
        fetched.append(1)
        return ()

    answer = await world.service.take(NewImage(WHO, "C1", "   ", key="E1"), placer)
    assert isinstance(answer, Refused) and "the prompt is empty" in answer.words
    stray = ThreadMessage(WHO, "C1", "no-such-thread", "bluer", key="E2", attachments=fetch)
    assert isinstance(await world.service.take(stray, placer), NotForUs)
    assert placer.placed == [] and fetched == [] and world.provider.calls == []


async def test_a_message_in_a_job_thread_is_its_next_edit(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    edit = ThreadMessage(WHO, "C1", first.thread, "make it blue", key="E2")
    answer = await world.service.take(edit, placer)
    assert isinstance(answer, Queued)
    assert answer.job.kind == "edit" and answer.job.thread == first.thread


async def test_a_thread_message_may_set_aspect_and_size(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    edit = ThreadMessage(WHO, "C1", first.thread, "wider", key="E2", aspect="16:9", size="2K")
    answer = await world.service.take(edit, placer)
    assert isinstance(answer, Queued)
    assert (answer.job.payload["aspect"], answer.job.payload["size"]) == ("16:9", "2K")


async def test_a_reply_to_a_job_message_is_an_edit_where_there_are_no_threads(
    world: World,
) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    reply = ThreadMessage(WHO, "C1", None, "bluer", key="E2", reply_to=MessageRef("C1", "m1"))
    answer = await world.service.take(reply, placer)
    assert isinstance(answer, Queued) and answer.job.thread == first.thread


async def test_buttons_mean_the_same_on_every_platform(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    vary = await world.service.take(ButtonPress(WHO, first.id, Press.VARY, "B1", "C1"), placer)
    upscale = await world.service.take(
        ButtonPress(WHO, first.id, Press.UPSCALE, "B2", "C1"), placer
    )
    retry = await world.service.take(ButtonPress(WHO, first.id, Press.RETRY, "B3", "C1"), placer)
    assert isinstance(vary, Queued) and isinstance(upscale, Queued) and isinstance(retry, Queued)
    assert (vary.job.kind, vary.job.payload["prompt"]) == ("vary", VARY_PROMPT)
    assert vary.job.thread == first.thread
    assert upscale.job.payload["prompt"] == UPSCALE_PROMPT and upscale.job.payload["size"] == "4K"
    # Retry of an /imagine is a new /imagine: a new thread at its own status message
    assert retry.job.kind == "imagine" and retry.job.thread not in ("", first.thread)


async def test_a_button_on_another_workspaces_job_is_gone(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    other = WHO.__class__("slack", "T2", "U9")
    answer = await world.service.take(ButtonPress(other, first.id, Press.VARY, "B1", "C1"), placer)
    assert isinstance(answer, Refused) and answer.words == "That image is no longer available."


async def test_a_button_pressed_in_another_channel_is_refused_before_anything(
    world: World,
) -> None:
    """Issue 13.6: a job id from channel C1 pressed in C2 (same workspace) makes nothing
    — no job, no model call, no reservation — and says why; in C1 it still works."""
    placer = Placer()
    first = await _imagine(world, placer)
    stray = [
        ButtonPress(WHO, first.id, press, f"X{n}", "C2", thread)
        for n, (press, thread) in enumerate(
            [(Press.VARY, None), (Press.UPSCALE, first.thread), (Press.RETRY, None)]
        )
    ]
    stray.append(ButtonPress(WHO, first.id, Press.VARY, "X9", "C1", "another-thread"))
    for press in stray:
        answer = await world.service.take(press, placer)
        assert isinstance(answer, Refused) and answer.code == "invalid_input"
        assert "belongs to an image in another channel" in answer.words
    usage = await world.quotas.usage(WHO.ledger_key)
    assert (usage.images_today, usage.images_reserved, usage.in_flight) == (1, 0, 0)
    assert len(world.provider.calls) == 1 and len(placer.placed) == 1
    here = ButtonPress(WHO, first.id, Press.VARY, "B1", "C1", first.thread)
    assert isinstance(await world.service.take(here, placer), Queued)
    # Discord: a button on a message inside the job's thread (a channel of its own)
    inside = ButtonPress(WHO, first.id, Press.UPSCALE, "B2", first.thread)
    assert isinstance(await world.service.take(inside, placer), Queued)


async def test_thread_messages_never_cross_channels(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)
    elsewhere = ThreadMessage(WHO, "C2", first.thread, "bluer", key="E2")
    reply = ThreadMessage(WHO, "C2", None, "bluer", key="E3", reply_to=MessageRef("C2", "m1"))
    for msg in (elsewhere, reply):
        assert isinstance(await world.service.take(msg, placer), NotForUs)
    assert len(placer.placed) == 1


async def test_a_failed_download_is_a_refusal_with_nothing_reserved(world: World) -> None:
    placer = Placer()
    first = await _imagine(world, placer)

    async def fetch() -> References:
        raise InputError("reference_too_large", "huge.png")

    msg = ThreadMessage(WHO, "C1", first.thread, "use this", key="E2", attachments=fetch)
    answer = await world.service.take(msg, placer)
    assert isinstance(answer, Refused) and "huge.png" in answer.words
    usage = await world.quotas.usage(WHO.ledger_key)
    assert usage.reserved_usd == 0 and len(placer.placed) == 1
