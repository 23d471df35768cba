"""One reply in the terminal, for ``secondme ask`` and ``secondme chat``: streamed, and parted as the page
parts it (``split_reasoning``): the answer on standard output, a reasoning model's ``<think>…</think>``
kept out of it (on standard error with ``--show-reasoning``) and never sent back in a later turn.

Replies stream through the async client, whose stream tells how the reply finished: a reply cut at max
tokens (finish reason ``length``) is said, not passed off as a whole one. ``asyncio.Runner`` turns Ctrl-C
while a reply streams into a cancelled stream, closed, and then ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TextIO

from .async_client import AsyncSecondMeClient
from .reasoning import Split, split_reasoning

__all__ = ["ReplyWriter", "stream_reply", "CUT"]

CUT = "length"  # the finish reason of a reply cut at max tokens


class ReplyWriter:
    """Writes a reply as it streams: the answer to ``out``; its reasoning to ``thoughts`` when given, else
    nowhere. A partly arrived ``<think>`` or ``</think>`` is held back until it is whole."""

    def __init__(self, out: TextIO, thoughts: TextIO | None = None) -> None:
        self.out, self.thoughts = out, thoughts
        self.parts: list[str] = []
        self.answer_written = False  # once the answer has begun, the rest of the reply is answer
        self._reasoning = 0  # characters of the reasoning written
        self._reasoning_ended = False

    @property
    def text(self) -> str:
        """Everything that arrived, reasoning included."""
        return "".join(self.parts)

    @property
    def answer(self) -> str:
        """The reply without its reasoning: what a later turn sends back."""
        return split_reasoning(self.text, final=True).answer

    def feed(self, delta: str) -> None:
        self.parts.append(delta)
        if self.answer_written:
            _say(self.out, delta)
        else:
            self._show(split_reasoning(self.text))

    def end(self) -> None:
        """The reply is over: what was held back is shown (a ``<think>`` that never closed is all reasoning)."""
        if not self.answer_written:
            self._show(split_reasoning(self.text, final=True), final=True)
        self._end_reasoning()

    def _show(self, split: Split, final: bool = False) -> None:
        if split.reasoning is not None and self.thoughts is not None:
            _say(self.thoughts, split.reasoning[self._reasoning:])
            self._reasoning = len(split.reasoning)
        if split.reasoning is not None and not split.thinking:
            self._end_reasoning()
        # White space alone may still turn out to open the reasoning: wait for the answer's first word.
        if split.answer.strip() or (final and split.answer):
            _say(self.out, split.answer)
            self.answer_written = True

    def _end_reasoning(self) -> None:
        if self._reasoning and not self._reasoning_ended and self.thoughts is not None:
            _say(self.thoughts, "\n")
        self._reasoning_ended = True


def _say(stream: TextIO, text: str) -> None:
    if text:
        stream.write(text)
        stream.flush()


def stream_reply(runner: asyncio.Runner, client: AsyncSecondMeClient, instance_id: str,
                 messages: Sequence[Mapping[str, str]], writer: ReplyWriter, *, temperature: float,
                 max_tokens: int) -> str | None:
    """Stream one reply through ``writer`` on ``runner``'s event loop; the reason it finished (``CUT`` when
    max tokens cut it). Raises SecondMeError as the client does, and KeyboardInterrupt on Ctrl-C; either
    way, ``writer`` has shown all that arrived."""

    async def run() -> str | None:
        async with client.stream_chat(instance_id, messages, temperature=temperature,
                                      max_tokens=max_tokens) as stream:
            async for delta in stream:
                writer.feed(delta)
            return stream.reply.finish_reason

    try:
        return runner.run(run())
    finally:
        writer.end()
