"""The terminal's reply writer: the answer on one stream, the reasoning on another, however the text is cut."""

from __future__ import annotations

import io

import pytest

from secondme.terminal_reply import ReplyWriter

REPLY = " <think>\nFirst I weigh it.\n</think>\n\nThe answer, with <think> in it.\n"


@pytest.mark.parametrize("size", [1, 2, 5, 7, len(REPLY)])
@pytest.mark.parametrize("show", [True, False])
def test_the_answer_and_the_reasoning_part_at_every_fragment_size(size: int, show: bool) -> None:
    out, thoughts = io.StringIO(), io.StringIO()
    writer = ReplyWriter(out, thoughts if show else None)
    for i in range(0, len(REPLY), size):
        writer.feed(REPLY[i:i + size])
    writer.end()
    assert out.getvalue() == writer.answer == "The answer, with <think> in it.\n"
    assert thoughts.getvalue() == ("First I weigh it.\n" if show else "")


@pytest.mark.parametrize("text, answer, reasoning", [
    ("Plain text, no reasoning.", "Plain text, no reasoning.", ""),
    ("<thi", "<thi", ""),  # an opening that never completed is answer text
    ("<think>Cut while thinking", "", "Cut while thinking\n"),
    ("", "", ""),
    (" \n ", " \n ", ""),  # white space alone waits for what follows, and is given at the end
])
def test_what_was_held_back_is_given_when_the_reply_ends(text: str, answer: str, reasoning: str) -> None:
    out, thoughts = io.StringIO(), io.StringIO()
    writer = ReplyWriter(out, thoughts)
    for character in text:
        writer.feed(character)
    writer.end()
    assert (out.getvalue(), thoughts.getvalue(), writer.answer) == (answer, reasoning, answer)
