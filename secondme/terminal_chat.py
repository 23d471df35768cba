"""``secondme chat``: a conversation with a Second Me in the terminal.

Line editing and history come from readline. Lines that start with ``/`` are commands and are
never sent (``//text`` sends ``/text``). Ctrl-C stops a streaming reply and keeps what arrived;
at the prompt it asks for a second Ctrl-C (or Ctrl-D) before quitting. A reply's reasoning is not
shown as its answer, nor sent back (``terminal_reply``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .async_client import AsyncSecondMeClient
from .errors import InvalidRequestError, SecondMeError
from .protocol import check_max_tokens, check_temperature
from .terminal_reply import CUT, ReplyWriter, stream_reply

__all__ = ["ChatSession", "run_chat", "HELP"]

HELP = """Commands (never sent to the Second Me):
  /help               this list
  /system TEXT        set the system prompt (/system alone clears it)
  /temperature X      0 to 1
  /max-tokens N       the longest reply, in tokens
  /reset              forget the conversation
  /save FILE          write the conversation to FILE as Markdown
  /quit               leave (also Ctrl-D, or Ctrl-C twice)
Ctrl-C while a reply streams stops it. Start a message with // to send a line that begins with /."""


@dataclass
class ChatSession:
    """The conversation and the settings it is sent with; the commands change them."""

    instance_id: str
    system: str = ""
    temperature: float = 0.7
    max_tokens: int = 2000
    turns: list[dict[str, str]] = field(default_factory=list)

    def messages(self, text: str) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system.strip() else []
        return [*system, *self.turns, {"role": "user", "content": text}]

    def markdown(self) -> str:
        lines = [f"# Conversation with {self.instance_id}", ""]
        if self.system.strip():
            lines += [f"*System prompt:* {self.system}", ""]
        for turn in self.turns:
            who = "You" if turn["role"] == "user" else self.instance_id
            lines += [f"**{who}:**", "", turn["content"], ""]
        return "\n".join(lines)

    def command(self, line: str) -> str | None:
        """Run a /command; the text to print, or None to quit."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        try:
            if name in ("/quit", "/exit"):
                return None
            if name == "/help":
                return HELP
            if name == "/reset":
                self.turns = []
                return "(conversation forgotten)"
            if name == "/system":
                self.system = arg
                return f"(system prompt: {arg})" if arg else "(system prompt cleared)"
            if name == "/temperature":
                self.temperature = check_temperature(_number(arg, float))
                return f"(temperature {self.temperature:g})"
            if name == "/max-tokens":
                self.max_tokens = check_max_tokens(_number(arg, int))
                return f"(max tokens {self.max_tokens})"
            if name == "/save":
                if not arg:
                    return "Give a file name: /save chat.md"
                Path(arg).expanduser().write_text(self.markdown(), encoding="utf-8")
                return f"(saved {len(self.turns)} messages to {arg})"
        except InvalidRequestError as exc:
            return str(exc)
        except OSError as exc:
            return f"Could not save: {exc.strerror or exc}"
        return f"Unknown command {name}; /help lists them."


def _number(text: str, kind: Callable[[str], float | int]) -> float | int | str:
    try:
        return kind(text)
    except ValueError:
        return text  # the check says what is wrong with it


def run_chat(client: AsyncSecondMeClient, session: ChatSession, *, out: TextIO = sys.stdout,
             read: Callable[[str], str] = input, hint: Callable[[SecondMeError], str] = str,
             thoughts: TextIO | None = None) -> int:
    """The conversation until /quit, Ctrl-D or a second Ctrl-C; ``hint`` words a failure; replies' reasoning
    goes to ``thoughts`` when given (else it is not shown)."""
    with asyncio.Runner() as runner:  # one event loop, and the client's connections, for every reply
        try:
            return _converse(runner, client, session, out, read, hint, thoughts)
        finally:
            runner.run(client.aclose())


def _converse(runner: asyncio.Runner, client: AsyncSecondMeClient, session: ChatSession, out: TextIO,
              read: Callable[[str], str], hint: Callable[[SecondMeError], str], thoughts: TextIO | None) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # not on every platform
        pass
    print(f"Chatting with {session.instance_id} at {client.options.safe_base_url}. /help lists the commands.",
          file=out, flush=True)
    interrupted = False
    while True:
        try:
            line = read("\nyou> ")
        except EOFError:
            print(file=out)
            return 0
        except KeyboardInterrupt:
            if interrupted:
                print(file=out)
                return 0
            interrupted = True
            print("\n(Press Ctrl-C again, or Ctrl-D, to quit.)", file=out, flush=True)
            continue
        interrupted = False
        text = line.strip()
        if not text:
            continue
        if text.startswith("/") and not text.startswith("//"):
            said = session.command(text)
            if said is None:
                return 0
            print(said, file=out, flush=True)
            continue
        _reply(runner, client, session, text[1:] if text.startswith("//") else text, out, hint, thoughts)


def _reply(runner: asyncio.Runner, client: AsyncSecondMeClient, session: ChatSession, text: str, out: TextIO,
           hint: Callable[[SecondMeError], str], thoughts: TextIO | None) -> None:
    writer = ReplyWriter(out, thoughts)
    print(f"{session.instance_id}> ", end="", file=out, flush=True)
    try:
        finish = stream_reply(runner, client, session.instance_id, session.messages(text), writer,
                              temperature=session.temperature, max_tokens=session.max_tokens)
        print(file=out)
        if finish == CUT:
            print(f"[cut at max tokens ({session.max_tokens}): /max-tokens N for longer replies]", file=out,
                  flush=True)
    except KeyboardInterrupt:
        print(" [stopped]", file=out, flush=True)
    except SecondMeError as exc:
        print(f"\n[!] {hint(exc)}", file=out, flush=True)
        if not writer.parts and exc.partial:
            writer.parts = [exc.partial]
    answer = writer.answer  # the reasoning is never sent back
    if not answer:
        return  # no answer arrived: the message is not kept, so it can simply be sent again
    session.turns = [*session.turns, {"role": "user", "content": text}, {"role": "assistant", "content": answer}]
