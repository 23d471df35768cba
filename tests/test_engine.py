"""The reply engine (secondme/engine/) on its own, with no page: a real client against the fault server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from secondme import AsyncSecondMeClient, RateLimitError, StreamError
from secondme.engine import EngineSettings, ReplyEngine, RetryingIn, Turn, Turns
from secondme.engine.conversation import message_text
from secondme.engine.reply import RETRY_WITHIN, waits_out

from .faults import FaultServer, chunk, data, http_body, http_head


class HeldBack(ReplyEngine):
    """An engine whose updates, after the first, wait 10 s: what arrives after it is held back, unshown."""

    def update_interval(self, chars: int = 0) -> float:
        return 10.0


def run(faults: FaultServer, work: Callable[[ReplyEngine], Any], engine: type[ReplyEngine] = ReplyEngine) -> Any:
    async def main() -> Any:
        client = AsyncSecondMeClient(faults.url, timeout=5.0)
        try:
            return await work(engine(EngineSettings(), {"chat": client}))
        finally:
            await client.aclose()

    return asyncio.run(main())


TURN = Turn("held", "", 0.7, 100)
# The first text goes out at once; the second arrives (a second later, so the first went out alone: what has arrived
# goes out together) with the error, before the next update is due.
HELD_BACK = [http_head(), data(chunk("Hello")), 1.0, data(chunk(" world")) + data({"error": "model crashed"})]


def test_text_that_arrived_but_was_not_yet_shown_stays_in_the_conversation_after_an_error(
        faults: FaultServer) -> None:
    faults.script("/api/chat/held", HELD_BACK)

    async def conversation(engine: ReplyEngine) -> list[Any]:
        return [shown async for shown in Turns(engine).conversation([{"role": "user", "content": "Hi"}], TURN, "")]

    states = run(faults, conversation, HeldBack)
    assert [message_text(m) for m in states[1]] == ["Hi", "Hello"]  # what was shown before the error
    final = states[-1]
    assert message_text(final[1]) == "Hello world"  # the held-back text is not lost
    assert "model crashed" in message_text(final[-1])


def test_the_api_caller_gets_the_held_back_text_then_the_error(faults: FaultServer) -> None:
    faults.script("/api/chat/held", HELD_BACK)
    got: list[str] = []

    async def answers(engine: ReplyEngine) -> None:
        async for answer in Turns(engine).answers("Hi", TURN, ""):
            got.append(answer)

    with pytest.raises(StreamError, match="model crashed"):
        run(faults, answers, HeldBack)
    assert got == ["Hello", "Hello world"]


@pytest.mark.parametrize("after, waited", [(f"{RETRY_WITHIN:g}", True), (f"{RETRY_WITHIN + 0.001:g}", False)])
def test_a_429_is_waited_out_up_to_retry_within_seconds_and_no_longer(faults: FaultServer, after: str,
                                                                    waited: bool) -> None:
    path = f"/api/chat/busy{after.replace('.', '-')}"
    faults.script(path, http_body("429 Too Many Requests", "application/json", "{}", {"Retry-After": after}))

    async def first_update(engine: ReplyEngine) -> Any:
        reply = engine.reply([{"role": "user", "content": "Hi"}], Turn(path.rsplit("/", 1)[1], "", 0.7, 100))
        try:
            return await anext(reply)
        except RateLimitError as exc:
            return exc
        finally:
            await reply.aclose()  # no need to sit through the countdown

    update = run(faults, first_update)
    if waited:
        assert update == RetryingIn(10)
    else:
        assert isinstance(update, RateLimitError) and update.retry_after == pytest.approx(10.001)
    assert len(faults.requests_to(path)) == 1


def test_only_a_first_429_before_any_text_is_waited_out() -> None:
    assert RETRY_WITHIN == 10.0
    assert waits_out(RateLimitError("busy", retry_after=10.0), attempt=1)
    assert not waits_out(RateLimitError("busy", retry_after=10.0), attempt=2)
    assert not waits_out(RateLimitError("busy", retry_after=None), attempt=1)
    partial = RateLimitError("busy", retry_after=1.0)
    partial.partial = "Half"
    assert not waits_out(partial, attempt=1)
