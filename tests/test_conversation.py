"""Pure pieces of the web app: history handling and update coalescing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from secondme import InstanceUnavailableError, StreamError
from secondme.engine.conversation import (
    edit_user_message,
    error_notice,
    is_notice,
    message_text,
    stopped_notice,
    to_upstream,
    undo_last_turn,
    until_last_user,
)
from secondme.engine.streaming import coalesce

GRADIO_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": [{"type": "text", "text": "Hi"}], "metadata": None},
    {"role": "assistant", "content": [{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]},
    {"role": "assistant", "content": "gone", "metadata": {"title": "⚠️ Timed out"}},
    {"role": "user", "content": "Again"},
    {"role": "assistant", "content": ""},
]


def test_to_upstream_keeps_order_and_drops_notices_and_empties() -> None:
    assert to_upstream("Be kind.", GRADIO_HISTORY) == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Again"},
    ]
    assert to_upstream("   ", GRADIO_HISTORY)[0] == {"role": "user", "content": "Hi"}


def test_nothing_is_mutated() -> None:
    history = [dict(m) for m in GRADIO_HISTORY]
    snapshot = repr(history)
    until_last_user(history)
    undo_last_turn(history)
    edit_user_message(history, 0, "new")
    to_upstream("x", history)
    assert repr(history) == snapshot


def test_retry_undo_and_edit() -> None:
    assert [message_text(m) for m in until_last_user(GRADIO_HISTORY)] == ["Hi", "Hello", "gone", "Again"]
    kept, text = undo_last_turn(GRADIO_HISTORY)
    assert text == "Again" and len(kept) == 3
    assert [message_text(m) for m in edit_user_message(GRADIO_HISTORY, 0, "Hey")] == ["Hey"]
    assert until_last_user([]) == [] and undo_last_turn([]) == ([], "")


def test_notices() -> None:
    offline = error_notice(InstanceUnavailableError("offline (503)", status_code=503))
    assert offline["metadata"]["title"] == "⚠️ This Second Me is offline" and is_notice(offline)
    assert error_notice(StreamError("cut"))["metadata"]["title"] == "⚠️ The reply broke off"
    assert "before it began" in message_text(stopped_notice([{"role": "user", "content": "Hi"}]))
    assert "what arrived is kept" in message_text(stopped_notice([{"role": "assistant", "content": "Hal"}]))


async def _source(deltas: list[str], gate: asyncio.Event | None = None) -> AsyncIterator[str]:
    for n, delta in enumerate(deltas):
        if n == 1 and gate is not None:
            await gate.wait()  # the second delta comes only once the first was shown
        yield delta


def test_coalesce_merges_a_fast_burst_and_ends_with_everything() -> None:
    async def run() -> list[str]:
        return [text async for text in coalesce(_source([f"{n} " for n in range(2000)]), interval=0.05)]

    updates = asyncio.run(run())
    assert updates[-1] == "".join(f"{n} " for n in range(2000))
    assert len(updates) < 50
    assert all(b.startswith(a) for a, b in zip(updates, updates[1:], strict=False))


def test_coalesce_never_holds_a_delta_back_waiting_for_the_next() -> None:
    async def run() -> list[str]:
        gate = asyncio.Event()
        seen = []
        async for text in coalesce(_source(["first", " second"], gate), interval=0.05):
            seen.append(text)
            gate.set()
        return seen

    assert asyncio.run(asyncio.wait_for(run(), timeout=5)) == ["first", "first second"]


def test_coalesce_passes_errors_on_and_closes_the_source() -> None:
    closed = []

    async def failing() -> AsyncIterator[str]:
        try:
            yield "partial"
            raise StreamError("cut", partial="partial")
        finally:
            closed.append(True)

    async def run() -> list[str]:
        seen = []
        with pytest.raises(StreamError):
            async for text in coalesce(failing(), interval=0.01):
                seen.append(text)
        return seen

    assert asyncio.run(run()) == ["partial"] and closed == [True]


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)"> and <a href="javascript:alert(1)">x</a>',
    "a < b and c > d, <!-- c --> <?php ?>",
    "`<b>code</b>` and\n```html\n<div>block</div>\n```\nafter <i>x</i>",
    "unterminated ```\n<div>",
    "\\`<img src=x>` and `<img src=x>`` and foo ```\n<img src=x>",
    "![x](http://127.0.0.1:9/track) ![y][r]\n\n[r]: http://127.0.0.1:9/track",
    "```mermaid\ngraph TD; A-->B\n```",
    "already <\u200bguarded, !\u200b[x], `\u200bmermaid and a lone \u200b",
])
def test_text_is_shown_with_no_opener_left_and_sent_exactly_as_written(text: str) -> None:
    import re

    from secondme.engine.conversation import as_written, assistant, shown_as_written, user
    shown = shown_as_written(text)
    assert as_written(shown) == text  # the exact inverse, whatever the text already held
    assert to_upstream("", [user(text), assistant(text)]) == [{"role": "user", "content": text},
                                                              {"role": "assistant", "content": text}]
    # No opener is left anywhere, in code or not: nothing depends on deciding what is code.
    assert not re.search("<(?!\u200b)", shown) and "![" not in shown and "`mermaid" not in shown


def test_the_guard_is_what_its_pattern_says_and_undone_exactly_for_any_text() -> None:
    import random
    import re

    from secondme.engine.conversation import GUARD, SHOWN_PATTERN, WRITTEN_PATTERN, as_written, shown_as_written
    shown_re, written_re = re.compile(SHOWN_PATTERN), re.compile(WRITTEN_PATTERN)
    pieces = ["<", "!", "[", "`", GUARD, "mermaid", "m", "x", "\n", "```"]
    rng = random.Random(17)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
        shown = shown_as_written(text)
        assert shown == shown_re.sub(lambda m: m.group() + GUARD, text)
        assert as_written(shown) == text == written_re.sub(lambda m: m.group()[0], shown)


def test_fit_context_keeps_the_system_prompt_and_the_most_recent_turns() -> None:
    from secondme.engine.conversation import fit_context

    def m(role: str, n: int, tag: str) -> dict[str, str]:
        return {"role": role, "content": tag * n}

    messages = [m("system", 10, "s"), m("user", 40, "a"), m("assistant", 40, "b"), m("user", 30, "c"),
                m("assistant", 30, "d"), m("user", 20, "e")]
    assert fit_context(messages, 1000) == (messages, 0)
    fitted, left_out = fit_context(messages, 10 + 30 + 30 + 20)
    assert fitted == [messages[0], *messages[3:]] and left_out == 2
    # A reply whose question was left out is left out too, so the request starts with the user.
    fitted, left_out = fit_context(messages, 10 + 30 + 20)
    assert fitted == [messages[0], messages[5]] and left_out == 4
    # The message being answered is always sent, even alone and too long.
    assert fit_context([m("user", 500, "x")], 100) == ([m("user", 500, "x")], 0)
    assert fit_context(messages[1:], 25) == ([messages[5]], 4)


def test_coalesce_reads_the_whole_reply_in_one_task() -> None:
    # A delta costs a list append, not a task and a wait of its own (most of a streamed reply's CPU beside its
    # updates, when a hundred stream at once).
    created = []

    async def run() -> list[str]:
        loop = asyncio.get_running_loop()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            created.append(coro)
            return asyncio.Task(coro, loop=loop, **kwargs)

        async def source() -> AsyncIterator[str]:
            for n in range(200):
                await asyncio.sleep(0)  # each delta is a read of its own
                yield f"{n} "

        loop.set_task_factory(factory)
        updates = [text async for text in coalesce(source(), interval=10)]
        loop.set_task_factory(None)
        return updates

    updates = asyncio.run(run())
    assert updates == ["0 ", "".join(f"{n} " for n in range(200))]
    assert len(created) == 1, created  # the reader; 200 with a task per read
