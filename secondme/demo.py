"""The local instance's demo responder: an honest stand-in Second Me that says it is a demo and what it
received, streamed a word at a time (``demo_responder``); it can think, write Markdown, run long, and take
its turn in a roundtable."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Iterable

from .wire import ChatBody, Delta, LocalInstance

__all__ = ["demo_text", "roundtable_text", "demo_responder", "paced"]

_PIECES = re.compile(r"\S+\s*|\s+")


# What a visitor can ask the demo to show (in English or Chinese): its reasoning, Markdown with a table
# and a code block, and a reply long enough to be cut at Max tokens.
_ASKS_TO_THINK = re.compile(r"\b(think|reason)|思考|推理", re.I)
_ASKS_FOR_MARKDOWN = re.compile(r"\b(table|code|markdown)|表格|代码", re.I)
_ASKS_FOR_LONG = re.compile(r"\b(long|story)|长|故事", re.I)
_LONG_PARAGRAPH = (
    "This paragraph is here to make the reply long: a demo has no story of its own to tell, so it says again "
    "that it is a demo and keeps going until Max tokens stops it. "
)


def _last_user(body: ChatBody) -> str:
    return next((m.content for m in reversed(body.messages) if m.role == "user"), "")


def _settings_words(body: ChatBody) -> list[str]:
    settings = [f"temperature {body.temperature:g}", f"max tokens {body.max_tokens}"]
    metadata = body.metadata or {}
    if metadata.get("enable_l0_retrieval"):
        settings.append("L0 retrieval on")
    if metadata.get("role_id"):
        settings.append(f"role “{metadata['role_id']}”")
    return settings


# A roundtable's system prompt (web/roundtable.py: PROMPT_HEAD, system_prompt, cue), as the demo reads it.
_ROUNDTABLE = re.compile(r"^You are taking part in a roundtable discussion\b.*?You speak as (.+?) \([\w-]+\)\.",
                         re.S)
_TOPIC = re.compile(r"^The topic: (.*)$", re.M)
_CUE = "(Roundtable) "


def _short(text: str, words: int = 14) -> str:
    said = text.split()
    return " ".join(said[:words]) + ("…" if len(said) > words else "")


def roundtable_text(body: ChatBody, instance: LocalInstance) -> str | None:
    """The demo's turn in a roundtable (None when this is not one): it says who it is, names the topic,
    and answers the last speaker by name."""
    system = next((m.content for m in body.messages if m.role == "system"), "")
    me, topic = _ROUNDTABLE.match(system), _TOPIC.search(system)
    if me is None or topic is None:
        return None
    name, about = me.group(1), _short(topic.group(1), 20)
    cue = _last_user(body)
    heard = [m.content for m in body.messages if m.role == "user" and not m.content.startswith(_CUE)]
    speakers = list(dict.fromkeys(h.split(": ", 1)[0] for h in heard if ": " in h))
    mine = sum(1 for m in body.messages if m.role == "assistant")
    demo = "a demo Second Me that runs on this machine, not a real person's"
    if "open the discussion" in cue:
        return (f"I am {name}, {demo}, and I host this roundtable on “{about}”. A demo has no views of its "
                "own, so I will keep to the facts: welcome, everyone, and let us each say what we think.")
    if "sum up" in cue:
        who = ", ".join(speakers) if speakers else "nobody else"
        return (f"I am {name}, summing up our roundtable on “{about}”. I heard {len(heard)} "
                f"turn{'s' if len(heard) != 1 else ''} from the others ({who}). As a demo I can only say who "
                "spoke; thank you all.")
    if heard:
        speaker, _, words = heard[-1].partition(": ")
        answer = f"{speaker} just said “{_short(words)}”"
    else:
        answer = "nobody else has spoken yet" if mine else "I am the first to speak"
    return (f"I am {name}, {demo}. On “{about}”: {answer}. I heard {len(heard)} "
            f"turn{'s' if len(heard) != 1 else ''} from the others, and this is my turn {mine + 1}.")


def demo_text(body: ChatBody, instance: LocalInstance) -> str:
    """What the demo responder says: it is a demo, and this is what it received. Asked to think, it
    reasons first inside ``<think>``; asked for a table or code, it shows both; asked for something
    long, it writes until ``max_tokens`` cuts it (``demo_responder``). In a roundtable, it takes its turn."""
    turn = roundtable_text(body, instance)
    if turn is not None:
        return turn
    last_user = _last_user(body)
    system = next((m.content for m in body.messages if m.role == "system"), "")
    metadata = body.metadata or {}
    turns = sum(1 for m in body.messages if m.role == "user")
    parts = [
        f"Hello from {instance.name} (“{instance.instance_id}”). I am a demo that runs on this "
        "machine, not a real person's Second Me, so I can only tell you what I received.",
        f"You said: “{last_user.strip()}”." if last_user.strip() else "Your message was empty.",
    ]
    if metadata.get("enable_l0_retrieval"):
        parts.append("You turned on L0 retrieval: a real Second Me would first search its owner's documents for "
                     "what you asked. This demo has no documents, so it found nothing.")
    if metadata.get("role_id"):
        parts.append(f"You asked for the role “{metadata['role_id']}”: a real Second Me would answer with the prompt "
                     "its owner wrote for that role. This demo has no roles.")
    if _ASKS_FOR_MARKDOWN.search(last_user):
        rows = "\n".join(f"| {name} | {value} |" for name, value in (
            ("Instance", instance.instance_id), ("Messages", len(body.messages)),
            ("Temperature", f"{body.temperature:g}"), ("Max tokens", body.max_tokens),
            ("L0 retrieval", "on" if metadata.get("enable_l0_retrieval") else "off"),
            ("Role", metadata.get("role_id") or "none")))
        parts.append(f"Here is what you sent, as a table:\n\n| Setting | Value |\n|---|---|\n{rows}")
        parts.append("And the same request from Python, with this project's client:\n\n```python\n"
                     "from secondme import SecondMeClient\n\n"
                     "client = SecondMeClient(\"http://127.0.0.1:8765\")  # python -m secondme serve\n"
                     f"for text in client.stream_chat({instance.instance_id!r}, [{{\"role\": \"user\", "
                     f"\"content\": \"Hi\"}}],\n                             max_tokens={body.max_tokens}):\n"
                     "    print(text, end=\"\", flush=True)\n```")
    parts.append(
        f"This is turn {turns} of our conversation; I got {len(body.messages)} "
        + ("message" if len(body.messages) == 1 else "messages")
        + (f", with the system prompt “{system.strip()}”" if system.strip() else "")
        + f", and these settings: {', '.join(_settings_words(body))}."
    )
    text = "\n\n".join(parts)
    if _ASKS_TO_THINK.search(last_user):
        received = f"{len(body.messages)} message{'s' if len(body.messages) != 1 else ''}"
        text = ("<think>\nThe visitor asked me to think it through. I am a demo, so my reasoning is short: I "
                f"received {received} and these settings: {', '.join(_settings_words(body))}. "
                "I will say plainly that I am a demo, then repeat what I received.\n</think>\n\n" + text)
    if _ASKS_FOR_LONG.search(last_user):
        repeats = body.max_tokens // len(_LONG_PARAGRAPH.split()) + 1
        text += "\n\n" + _LONG_PARAGRAPH * repeats  # always more than max_tokens allows
    return text


async def demo_responder(body: ChatBody, instance: LocalInstance) -> AsyncGenerator[Delta, None]:
    """Streams ``demo_text`` a word at a time at the instance's pace (a long reply a few words at a time,
    so that it reaches Max tokens soon), honouring max_tokens: each word counts as a token."""
    words = _PIECES.findall(demo_text(body, instance))
    cut = words[: body.max_tokens]
    size = 8 if _ASKS_FOR_LONG.search(_last_user(body)) else 1
    pieces = ["".join(cut[i:i + size]) for i in range(0, len(cut), size)]
    async for delta in paced(pieces, instance.chunks_per_second):
        yield delta
    yield Delta(finish_reason="length" if len(words) > body.max_tokens else "stop")


async def paced(pieces: Iterable[str], chunks_per_second: float) -> AsyncGenerator[Delta, None]:
    """Each piece as a Delta, on a fixed schedule (no drift); 0 chunks/s means no pause at all."""
    interval = 1.0 / chunks_per_second if chunks_per_second > 0 else 0.0
    start = time.monotonic()
    for n, piece in enumerate(pieces):
        if interval:
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
        yield Delta(piece)
