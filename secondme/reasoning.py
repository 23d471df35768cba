"""Reasoning in a reply: the ``<think>…</think>`` block reasoning models write before their answer.

``split_reasoning`` is a pure function of the text so far, so it can be asked again after every
update of a stream whose tags arrive split across chunks: a partly written tag is held back until
it is complete, never shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Split", "split_reasoning", "OPEN", "CLOSE"]

OPEN, CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class Split:
    """A reply's text, parted: ``reasoning`` (None when there is none), the ``answer``, and whether
    the reasoning is still being written (``thinking``)."""

    reasoning: str | None
    answer: str
    thinking: bool = False


def _partial_tail(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def split_reasoning(text: str, *, final: bool = False) -> Split:
    """Part ``text`` (a reply so far; the whole reply when ``final``) into reasoning and answer.

    Reasoning counts only where the reply opens with ``<think>`` (after white space), as reasoning
    models write it; a ``<think>`` later on is answer text. While the stream runs, a reply that so far
    is only the start of ``<think>`` shows nothing yet, and a partial ``</think>`` at the end of the
    reasoning is held back. When ``final``, what was held back is given as it was: an opening that
    never completed is answer text, and reasoning that never closed ends where the reply ended.
    """
    if text[:1] not in ("<", " ", "\n", "\t", "\r") and text:
        return Split(None, text)  # the common case, answered without copying the text
    start = text.lstrip()
    if not start.startswith(OPEN):
        if not final and start and OPEN.startswith(start):
            return Split(None, "")  # perhaps the start of <think>: wait for more
        return Split(None, text)
    rest = start[len(OPEN):]
    end = rest.find(CLOSE)
    if end >= 0:
        return Split(rest[:end].strip(), rest[end + len(CLOSE):].lstrip())
    if final:
        return Split(rest.strip(), "")
    held = _partial_tail(rest, CLOSE)
    return Split(rest[: len(rest) - held].strip(), "", thinking=True)
