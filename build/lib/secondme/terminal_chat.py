"""``secondme chat``: a conversation with a Second Me in the terminal.

Line editing and history come from readline. Lines that start with ``/`` are commands and are
never sent (``//text`` sends ``/text``). Ctrl-C stops a streaming reply and keeps what arrived;
at the prompt it asks for a second Ctrl-C (or Ctrl-D) before quitting.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .client import SecondMeClient
from .errors import InvalidRequestError, SecondMeError
from .protocol import check_max_tokens, check_temperature

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


def run_chat(client: SecondMeClient, session: ChatSession, *, out: TextIO = sys.stdout,
             read: Callable[[str], str] = input, hint: Callable[[SecondMeError], str] = str) -> int:
    """The conversation until /quit, Ctrl-D or a second Ctrl-C; ``hint`` words a failure."""
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
        _reply(client, session, text[1:] if text.startswith("//") else text, out, hint)


def _reply(client: SecondMeClient, session: ChatSession, text: str, out: TextIO,
           hint: Callable[[SecondMeError], str]) -> None:
    parts: list[str] = []
    print(f"{session.instance_id}> ", end="", file=out, flush=True)
    try:
        with client.stream_chat(session.instance_id, session.messages(text), temperature=session.temperature,
                                max_tokens=session.max_tokens) as stream:
            for delta in stream:
                parts.append(delta)
                print(delta, end="", file=out, flush=True)
        print(file=out)
    except KeyboardInterrupt:
        print(" [stopped]", file=out, flush=True)
    except SecondMeError as exc:
        print(f"\n[!] {hint(exc)}", file=out, flush=True)
        if not parts and exc.partial:
            parts = [exc.partial]
        if not parts:
            return  # nothing arrived: the message is not kept, so it can simply be sent again
    session.turns = [*session.turns, {"role": "user", "content": text},
                     {"role": "assistant", "content": "".join(parts)}]
