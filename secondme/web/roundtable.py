"""Roundtable: several Second Mes discuss one topic in rounds, each hearing what the others said; a host,
when there is one, opens the discussion and sums it up. No Gradio here (roundtable_ui.py adapts it).

What decides a roundtable is pure and tested alone: the checks of its inputs (``problems``), the order
of its turns (``schedule``), and what each participant hears (``heard``): a system prompt naming the
topic and the others, then the discussion so far, its own turns as ``assistant`` messages and everyone
else's as ``user`` messages that name the speaker, then a short cue saying whose turn it is. Only the
answers are heard: nobody's reasoning reaches anyone else. Each request is fitted to
``SECONDME_MAX_CONTEXT_CHARS`` (the most recent turns kept), as a chat's is.

``run`` makes the turns one after another through the reply engine (``ReplyEngine.reply``), so each turn is one
reply for the instance's line, the metrics and the log, and yields plain events for the page and the
API to show.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..engine.conversation import ReplyStats
from ..engine.reply import ReplyEngine, Turn, Update
from ..engine.turns import kept_text
from ..engine.words import Problem
from ..errors import InstanceNotFoundError, InstanceUnavailableError, InvalidRequestError, SecondMeError
from ..reasoning import split_reasoning
from .checks import Limits, instance_problem, max_tokens_problem, temperature_problem, text_problem

__all__ = ["Seat", "Speech", "Said", "Table", "Started", "Progress", "Ended", "MIN_SEATS", "MAX_SEATS",
           "MAX_ROUNDS", "MAX_TOPIC_CHARS", "FIELDS", "parse_instances", "problems", "problems_found", "schedule",
           "system_prompt", "cue", "heard", "as_text", "speaker_label", "run", "transcript_markdown"]

MIN_SEATS, MAX_SEATS, MAX_ROUNDS = 2, 5, 5
MAX_TOPIC_CHARS = 2_000
FIELDS = ("instances", "topic", "rounds", "host", "temperature", "max_tokens")

Kind = Literal["opening", "turn", "summary"]


@dataclass(frozen=True)
class Seat:
    """One participant: its instance, and its name as the directory gives it (else its ID)."""

    instance_id: str
    name: str = ""

    @property
    def called(self) -> str:
        return " ".join(self.name.split())[:80] or self.instance_id


@dataclass(frozen=True)
class Speech:
    """One turn: who speaks (an index into the seats), what kind of turn, in which round (0 for the
    opening, ``rounds + 1`` for the summary)."""

    seat: int
    kind: Kind
    round: int


@dataclass(frozen=True)
class Said:
    """A turn as the others hear it: its answer alone, never its reasoning."""

    seat: int
    text: str


@dataclass(frozen=True)
class Table:
    topic: str
    seats: tuple[Seat, ...]
    rounds: int
    host: int | None = None  # the seat that opens and sums up
    temperature: float = 0.7
    max_tokens: int = 1000


def parse_instances(value: Any) -> list[str]:
    """The IDs in a comma-separated list (blanks ignored), as typed."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else []


def _rounds_problem(value: Any) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        return Problem("roundtable.check.rounds.whole", {"most": MAX_ROUNDS})
    return None if 1 <= value <= MAX_ROUNDS else Problem("roundtable.check.rounds.range",
                                                         {"most": MAX_ROUNDS, "given": value})


def _instances_problem(raw: Any, ids: list[str], locked: bool, allowed: Sequence[str]) -> Problem | None:
    if not isinstance(raw, str) or len(raw) > 2_000:
        return Problem("roundtable.check.instances.unreadable")
    if not MIN_SEATS <= len(ids) <= MAX_SEATS:
        return Problem("roundtable.check.instances.count", {"least": MIN_SEATS, "most": MAX_SEATS, "count": len(ids)})
    if bad := next((p for i in ids if (p := instance_problem(i))), None):
        return Problem("roundtable.check.instances.bad", {"problem": bad})
    if len(set(ids)) < len(ids):
        return Problem("roundtable.check.instances.twice", {"instance": next(i for i in ids if ids.count(i) > 1)})
    if locked and not allowed:
        return Problem("roundtable.check.locked.none")
    if locked and any(i not in allowed for i in ids):
        return Problem("roundtable.check.locked.among", {"allowed": ", ".join(allowed)})
    return None


def problems_found(values: Mapping[str, Any], limits: Limits, *, locked: bool = False,
                   allowed: Sequence[str] = ()) -> dict[str, Problem]:
    """Problems with a roundtable's inputs, by name (FIELDS); absent names are not checked. A locked page
    holds a roundtable only among the instances its owner allows (``allowed``; none: no roundtable).
    Each is said in the visitor's language (words.Problem)."""
    raw = values.get("instances")
    ids = parse_instances(raw)
    found = {"instances": _instances_problem(raw, ids, locked, allowed)}
    if "topic" in values:
        found["topic"] = text_problem(values.get("topic"), "topic", min(MAX_TOPIC_CHARS, limits.message_chars),
                                      required=True)
    if "rounds" in values:
        found["rounds"] = _rounds_problem(values.get("rounds"))
    host = values.get("host")
    if host is not None and not isinstance(host, str):
        found["host"] = Problem("roundtable.check.host.type")
    elif isinstance(host, str) and host.strip() and host.strip() not in ids:
        found["host"] = Problem("roundtable.check.host.seat")
    if "temperature" in values:
        found["temperature"] = temperature_problem(values.get("temperature"))
    if "max_tokens" in values:
        found["max_tokens"] = max_tokens_problem(values.get("max_tokens"))
    return {name: problem for name, problem in found.items() if problem is not None}


def problems(values: Mapping[str, Any], limits: Limits, *, locked: bool = False,
             allowed: Sequence[str] = ()) -> dict[str, str]:
    """``problems_found``, in English (for the API and the log)."""
    return {name: str(problem) for name, problem in problems_found(values, limits, locked=locked,
                                                                   allowed=allowed).items()}


def schedule(seats: int, rounds: int, host: int | None = None) -> list[Speech]:
    """The turns in order: the host's opening, then each round every participant in turn (the host
    too, in its seat), then the host's summary."""
    turns = [Speech(host, "opening", 0)] if host is not None else []
    turns += [Speech(seat, "turn", r) for r in range(1, rounds + 1) for seat in range(seats)]
    if host is not None:
        turns.append(Speech(host, "summary", rounds + 1))
    return turns


# The demo (demo.demo_text) recognises a roundtable by these words of the system prompt.
PROMPT_HEAD = "You are taking part in a roundtable discussion"


def system_prompt(table: Table, me: int) -> str:
    seat = table.seats[me]
    others = [s for i, s in enumerate(table.seats) if i != me]
    host = table.seats[table.host].called if table.host is not None else ""
    role = ("You are the host: you open the discussion and sum it up at the end." if table.host == me
            else f"{host} hosts it." if host else "There is no host.")
    return (f"{PROMPT_HEAD} among Second Mes, each the AI self of a person. You speak as {seat.called} "
            f"({seat.instance_id}).\n"
            f"The others: {', '.join(f'{s.called} ({s.instance_id})' for s in others)}. {role}\n"
            f"There are {table.rounds} round{'s' if table.rounds != 1 else ''}; each round everyone speaks once, "
            "in turn. Their turns reach you as messages that start with the speaker's name. Say what you think, "
            "in your own voice, answer the others by name where it helps, and keep each turn short (a paragraph "
            "or two). Do not write anyone else's turn.\n"
            f"The topic: {' '.join(table.topic.split())}")


def cue(table: Table, speech: Speech) -> str:
    """The last message of a request: whose turn it is, and what kind."""
    name = table.seats[speech.seat].called
    if speech.kind == "opening":
        return f"(Roundtable) {name}, please open the discussion: introduce the topic and the participants."
    if speech.kind == "summary":
        return f"(Roundtable) {name}, the rounds are over: please sum up the discussion."
    return f"(Roundtable) Round {speech.round} of {table.rounds}: your turn, {name}."


def heard(table: Table, speech: Speech, said: Sequence[Said], limit: int) -> tuple[list[dict[str, str]], int]:
    """The messages one participant is sent for ``speech``, fitted to ``limit`` characters (the most recent
    turns kept), and how many turns were left out."""
    system = {"role": "system", "content": system_prompt(table, speech.seat)}
    last = {"role": "user", "content": cue(table, speech)}
    room = limit - len(system["content"]) - len(last["content"])
    kept: list[dict[str, str]] = []
    for turn in reversed(said):  # the most recent first; unlike a chat's, a turn may open the discussion
        if turn.seat == speech.seat:
            message = {"role": "assistant", "content": turn.text}
        else:
            message = {"role": "user", "content": f"{table.seats[turn.seat].called}: {turn.text}"}
        room -= len(message["content"])
        if room < 0:
            break
        kept.insert(0, message)
    return [system, *kept, last], len(said) - len(kept)


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def as_text(text: str) -> str:
    """Text from outside (a directory name, an error message) for Markdown: shown as the text it is, never
    as markup or a link. One place, so that it can follow the page's shared escape."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def speaker_label(name: str) -> str:
    return as_text(name[:80])


# -- running it ---------------------------------------------------------------------------------

@dataclass
class Started:
    speech: Speech
    stats: ReplyStats
    left_out: int = 0


@dataclass
class Progress:
    speech: Speech
    update: Update


@dataclass
class Ended:
    """A turn's end: all of its text (reasoning included, for the page to show apart), its stats, and
    the error that ended it, if one did. ``skipped``: not asked (its participant had already left)."""

    speech: Speech
    text: str = ""
    stats: ReplyStats = field(default_factory=ReplyStats)
    error: SecondMeError | None = None
    skipped: bool = False


# A participant that is offline, unknown or refuses the request takes no further turns.
_GONE = (InstanceNotFoundError, InstanceUnavailableError, InvalidRequestError)


async def run(engine: ReplyEngine, table: Table, session: str = "") -> AsyncGenerator[Started | Progress | Ended,
                                                                                           None]:
    """Every turn of ``table`` in order, as events. A failing participant's turn ends with its error and
    the others go on. Ends early when the session's visitor leaves (or the caller stops iterating, which
    closes the upstream request at once)."""
    said: list[Said] = []
    gone: set[int] = set()
    for speech in schedule(len(table.seats), table.rounds, table.host):
        if speech.seat in gone:
            yield Ended(speech, skipped=True)
            continue
        messages, left_out = heard(table, speech, said, engine.settings.max_context_chars)
        turn = Turn(instance_id=table.seats[speech.seat].instance_id, system_prompt="",
                    temperature=table.temperature, max_tokens=table.max_tokens)
        stats = ReplyStats()
        yield Started(speech, stats, left_out)
        text = ""
        try:
            async for update in engine.reply(messages, turn, session, stats):
                if isinstance(update, str):
                    text = update
                yield Progress(speech, update)
        except SecondMeError as exc:
            text = kept_text(exc, text)  # with what arrived but was not yet shown
            if isinstance(exc, _GONE):
                gone.add(speech.seat)
            answer = split_reasoning(text, final=True).answer.strip()
            if answer:
                said.append(Said(speech.seat, answer))
            yield Ended(speech, text, stats, exc)
            continue
        answer = split_reasoning(text, final=True).answer.strip()
        if answer:
            said.append(Said(speech.seat, answer))
        yield Ended(speech, text, stats)
        if stats.ended == "stopped":  # the visitor left
            return


def transcript_markdown(table: Table, turns: Sequence[tuple[Speech, str, str]]) -> str:
    """The transcript as Markdown, one ``**Speaker:**`` paragraph per turn: (speech, answer, problem)."""
    parts = []
    for speech, answer, problem in turns:
        who = speaker_label(table.seats[speech.seat].called)
        said = answer.strip() or ""
        if problem:
            said = (said + " " if said else "") + f"_({as_text(problem)})_"
        parts.append(f"**{who}:** {said}")
    return "\n\n".join(parts)
