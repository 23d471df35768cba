"""The Roundtable tab and the public ``roundtable`` endpoint: the Gradio side of roundtable.py.

The tab takes 2 to 5 instance IDs (typed, or added from Browse), a topic, the rounds and an optional host;
Start streams every turn into one conversation, each labelled with its speaker and a colour of its own;
Stop ends the whole roundtable at once. The endpoint streams the same discussion as Markdown. A share
link (``?roundtable=alice,bob&topic=…&rounds=2``) fills the tab in and opens it; it never starts it.

A roundtable counts against the visitor's rate limit as all the replies it will make, taken at once
before anything is sent (the rate-limit middleware leaves its events to it: ``counts_its_replies``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import gradio as gr

from ..engine.conversation import (
    Message,
    assistant,
    context_notice,
    empty_notice,
    error_notice,
    is_notice,
    is_thinking,
    message_text,
    retry_notice,
    stats_notice,
    user,
    waiting_notice,
)
from ..engine.reply import RetryingIn, Waiting
from ..engine.texts import DEFAULT, say, wait_words
from ..engine.turns import Shown
from ..engine.words import Problem
from ..engine.words import said as said_in
from ..errors import InvalidRequestError
from ..protocol import validate_instance_id
from ..reasoning import split_reasoning
from .controller import ChatController, request_language
from .directory_ui import browse_update
from .i18n import t
from .internals import not_an_mcp_tool
from .page import Page
from .ratelimit import visitor_address
from .roundtable import (
    FIELDS,
    MAX_TOPIC_CHARS,
    Ended,
    Progress,
    Seat,
    Speech,
    Started,
    Table,
    parse_instances,
    problems_found,
    run,
    schedule,
    speaker_label,
    transcript_markdown,
)
from .scripts import call

__all__ = ["create", "wire", "available", "Roundtable", "PAGE", "API", "COLOURS", "from_link"]

PAGE = ("rt_instances", "rt_topic", "rt_rounds", "rt_host", "temperature", "max_tokens")
API = ("rt_api_instances", "rt_api_topic", "rt_api_rounds", "rt_api_host")
PANE = "roundtable"  # what Stop reports is remembered under this name (controller.stoppable)
COLOURS = ("🔵", "🟢", "🟠", "🟣", "🔴")  # one per seat
API_TEMPERATURE, API_MAX_TOKENS = 0.7, 1000


def available(page: Page) -> bool:
    """A locked page holds a roundtable only among the instances its owner lists."""
    return not page.locked or bool(page.settings.roundtable_instances)


def _visitor(request: gr.Request | None, page: Page) -> str:
    client = getattr(request, "client", None)
    headers = getattr(request, "headers", None) or {}
    scope = {"client": (getattr(client, "host", ""), 0) if client else None,
             "headers": [(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]}
    return visitor_address(scope, page.settings.trusted_proxies)


class Roundtable:
    """The tab's and the endpoint's handlers, for one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.ctl: ChatController = page.ctl

    def problems(self, values: Mapping[str, Any]) -> dict[str, Problem]:
        return problems_found(values, self.page.settings.limits, locked=self.ctl.locked,
                              allowed=self.page.settings.roundtable_instances)

    # -- validators: each problem next to its field, in the visitor's language; nothing sent --

    async def validate(self, instances: Any, topic: Any, rounds: Any, host: Any, temperature: Any,
                       max_tokens: Any, request: gr.Request | None = None) -> list[dict[str, Any]]:
        found = self.problems(dict(zip(FIELDS, (instances, topic, rounds, host, temperature, max_tokens),
                                       strict=True)))
        return [gr.validate(not found.get(name), said_in(found.get(name), request_language(request)))
                for name in FIELDS]

    async def validate_api(self, instances: Any, topic: Any, rounds: Any, host: Any) -> list[dict[str, Any]]:
        found = self.problems(dict(zip(FIELDS[:4], (instances, topic, rounds, host), strict=True)))
        return [gr.validate(not found.get(name), str(found.get(name) or "")) for name in FIELDS[:4]]  # English

    validate.counts_its_replies = validate_api.counts_its_replies = True  # type: ignore[attr-defined]

    # -- what both run ---------------------------------------------------------------------

    async def table(self, values: Mapping[str, Any]) -> Table:
        """The checked inputs as a Table, its participants named as the directory names them. The checks
        are made here too, so that no way of calling it can skip them."""
        found = self.problems(values)
        if found:
            raise gr.Error(" ".join(map(str, found.values())), title="Not started", print_exception=False)
        ids = parse_instances(values["instances"])
        listing = await self.page.directory.listing()
        names = [seated.name if (seated := listing.find(i)) else "" for i in ids]
        # A name two of them share (a `secondme serve`'s instances) would not say who is who: their IDs do.
        seats = tuple(Seat(i, name if names.count(name) == 1 else "") for i, name in zip(ids, names, strict=True))
        host = values.get("host")
        return Table(
            topic=values["topic"].strip(), seats=seats, rounds=int(values["rounds"]),
            host=ids.index(host.strip()) if isinstance(host, str) and host.strip() else None,
            temperature=float(values.get("temperature", API_TEMPERATURE)),
            max_tokens=int(values.get("max_tokens", API_MAX_TOKENS)))

    def admit(self, request: gr.Request | None, table: Table, lang: str = DEFAULT) -> None:
        """Count every reply the roundtable will make against the visitor's rate limit, all or none; a refusal
        is said in ``lang`` (the tab's visitor's; the API speaks English)."""
        limiter = self.ctl.limiter
        if limiter is None:
            return
        cost = len(schedule(len(table.seats), table.rounds, table.host))
        wait = limiter.take(_visitor(request, self.page), cost)
        if not wait:
            return
        self.ctl.metrics.refused.labels("rate limit").inc()
        rate = limiter.rate.said(lang)
        reason = (say(lang, "roundtable.refused.too_many", cost=cost, rate=rate) if math.isinf(wait)
                  else say(lang, "roundtable.refused.wait", cost=cost, rate=rate, wait=wait_words(lang, wait)))
        raise gr.Error(reason, title=say(lang, "roundtable.refused.title"), print_exception=False)

    # -- the tab -----------------------------------------------------------------------------

    async def start(self, instances: Any, topic: Any, rounds: Any, host: Any, temperature: Any, max_tokens: Any,
                    request: gr.Request) -> AsyncGenerator[list[Message], None]:
        table = await self.table(dict(zip(FIELDS, (instances, topic, rounds, host, temperature, max_tokens),
                                          strict=True)))
        lang, session = request_language(request), request.session_hash or ""
        self.admit(request, table, lang)
        done: list[Message] = [opening(table, lang)]
        yield done
        shown, left_out, cancelled = Shown(lang), 0, False
        try:
            async for event in run(self.ctl.engine, table, session):
                if isinstance(event, Started):
                    shown, left_out = Shown(lang), event.left_out
                    self.ctl.stoppable(session, PANE, event.stats)
                elif isinstance(event, Progress):
                    update = event.update
                    current = (said(table, event.speech, shown.reply(update)) if isinstance(update, str)
                               else [waiting_notice(update.ahead, lang)] if isinstance(update, Waiting)
                               else [retry_notice(update.seconds, lang)] if isinstance(update, RetryingIn) else [])
                    yield [*done, *current]
                elif not event.skipped:
                    done = [*done, *ended(table, event, shown, left_out, lang)]
                    yield done
        except (asyncio.CancelledError, GeneratorExit):
            cancelled = True  # Stop: mark_stopped reports the turn's stats
            raise
        finally:
            if not cancelled:
                self.ctl.stoppable(session, PANE, None)

    def mark_stopped(self, history: Any, request: gr.Request) -> Any:
        return self.ctl.mark_stopped(history, request, PANE)

    # -- the endpoint --------------------------------------------------------------------------

    async def api(self, instances: Any, topic: Any, rounds: Any, host: Any,
                  request: gr.Request) -> AsyncGenerator[str, None]:
        table = await self.table(dict(zip(FIELDS[:4], (instances, topic, rounds, host), strict=True)))
        self.admit(request, table)
        turns: list[tuple[Speech, str, str]] = []
        async for event in run(self.ctl.engine, table, request.session_hash or ""):
            if isinstance(event, Progress) and isinstance(event.update, str):
                answer = split_reasoning(event.update).answer
                if answer:
                    yield transcript_markdown(table, [*turns, (event.speech, answer, "")])
            elif isinstance(event, Ended) and not event.skipped:
                answer = split_reasoning(event.text, final=True).answer
                problem = str(event.error) if event.error else "" if answer.strip() else "no answer"
                turns.append((event.speech, answer, problem))
                yield transcript_markdown(table, turns)


def _who(table: Table, seat: int) -> str:
    return f"{COLOURS[seat % len(COLOURS)]} **{speaker_label(table.seats[seat].called)}**"


def opening(table: Table, lang: str = "en") -> Message:
    """The first message: the topic, who sits at the table, and the rounds."""
    names = ", ".join(_who(table, i) + (say(lang, "roundtable.host") if i == table.host else "")
                      for i in range(len(table.seats)))
    rounds = (say(lang, "roundtable.rounds.one") if table.rounds == 1
              else say(lang, "roundtable.rounds.many", n=table.rounds))
    return user(say(lang, "roundtable.opening", topic=table.topic, names=names, rounds=rounds))


def said(table: Table, speech: Speech, shown: list[Message]) -> list[Message]:
    """A turn's Thinking block and answer, each labelled with its speaker."""
    who = _who(table, speech.seat)
    out = []
    for message in shown:
        if is_thinking(message):
            message = {**message, "metadata": {**message["metadata"],
                                               "title": f"{who} · {message['metadata']['title']}"}}
        elif not is_notice(message):
            message = assistant(f"{who}\n\n{message_text(message)}")
        out.append(message)
    return out


def ended(table: Table, event: Ended, shown: Shown, left_out: int, lang: str) -> list[Message]:
    """A finished turn: its text, its stats line, and in place of a failed one a notice naming who failed."""
    stats = stats_notice(event.stats, lang)
    text = said(table, event.speech, shown.reply(event.text, final=True)) if event.text else []
    if event.error is not None:
        notice = error_notice(event.error, lang, table.seats[event.speech.seat].instance_id)
        body = f"{_who(table, event.speech.seat)}: {message_text(notice)}"
        notice = {**notice, "content": [{"type": "text", "text": user(body)["content"][0]["text"]}]}
        return [*text, *([stats] if event.stats.chunks else []), notice]
    if not any(not is_notice(m) for m in text):
        return [*text, {**empty_notice(lang), "content": user(_who(table, event.speech.seat))["content"]}, stats]
    return [*text, stats, *([context_notice(left_out, lang)] if left_out else [])]


def from_link(query: Mapping[str, str] | None) -> dict[str, Any] | None:
    """What a share link fills in (``?roundtable=a,b&topic=…&rounds=2&host=a``), checked like typed input:
    malformed parts are left out. None when the link is not a roundtable's."""
    if query is None or "roundtable" not in query:
        return None
    ids = []
    for candidate in parse_instances(query.get("roundtable", ""))[:5]:
        try:
            ids.append(validate_instance_id(candidate))
        except InvalidRequestError:
            continue
    topic = query.get("topic", "")
    topic = topic if len(topic) <= MAX_TOPIC_CHARS and topic.isprintable() else ""
    rounds = query.get("rounds", "")
    host = query.get("host", "")
    return {"instances": ", ".join(dict.fromkeys(ids)), "topic": topic,
            "rounds": int(rounds) if rounds.isdigit() and 1 <= int(rounds) <= 5 else None,
            "host": host if host in ids else ""}


# A roundtable is saved with the conversations (saved_ui's store, in the browser) when it ends or is stopped: an
# entry of kind "roundtable" with its settings (static/roundtable.js, secondme.roundtable, takes them in this order).
# Opening it fills this tab in again; the Chat tab shows it too, which is how it is exported (Markdown or JSON) like
# any conversation.
RECORD = ("rt_history", "rt_id", "rt_instances", "rt_topic", "rt_rounds", "rt_host")


def create(page: Page) -> None:
    allowed = page.settings.roundtable_instances if page.locked else ()
    gr.Markdown(t("roundtable_intro"), elem_id="roundtable-intro")
    with gr.Row(equal_height=False):
        page.add("rt_instances", gr.Textbox(label=t("rt_instances"), placeholder=t("rt_instances_placeholder"),
                                            value=", ".join(allowed[:5]), max_lines=1, scale=3, min_width=200,
                                            elem_id="rt-instances"))
        if not page.locked:
            page.add("rt_browse", gr.Dropdown(label=t("rt_browse"), choices=[], value=None, filterable=True,
                                              allow_custom_value=False, scale=2, min_width=160, elem_id="rt-browse"))
    page.add("rt_topic", gr.Textbox(label=t("rt_topic"), placeholder=t("rt_topic_placeholder"), lines=1, max_lines=4,
                                    elem_id="rt-topic"))
    with gr.Row(equal_height=False):
        page.add("rt_rounds", gr.Number(2, minimum=1, maximum=5, step=1, precision=0, label=t("rt_rounds"),
                                        min_width=100, elem_id="rt-rounds"))
        page.add("rt_host", gr.Textbox(label=t("rt_host"), placeholder=t("rt_host_placeholder"), max_lines=1,
                                       min_width=160, elem_id="rt-host"))
    page.add("rt_history", gr.Chatbot(label=t("rt_conversation"), elem_id="rt-conversation", height="52vh",
                                      min_height=280, buttons=["copy", "copy_all"], sanitize_html=True,
                                      allow_tags=False, autoscroll=True, feedback_options=None))
    with gr.Row(elem_id="rt-buttons"):
        page.add("rt_start", gr.Button(t("rt_start"), variant="primary", elem_id="rt-start"))
        page.add("rt_stop", gr.Button(t("stop"), variant="stop", elem_id="rt-stop"))
    # The endpoint's inputs and output, named as its API page shows them.
    page.add("rt_api_instances", gr.Textbox(label="instances", visible=False))
    page.add("rt_api_topic", gr.Textbox(label="topic", visible=False))
    page.add("rt_api_rounds", gr.Number(2, minimum=1, maximum=5, precision=0, label="rounds", visible=False))
    page.add("rt_api_host", gr.Textbox("", label="host", visible=False))
    page.add("rt_api_transcript", gr.Textbox(label="transcript", visible=False))
    page.add("rt_api_trigger", gr.Button(visible=False))
    page.add("rt_id", gr.Textbox(visible=False))  # the saved entry of the roundtable shown


def endpoint(rt: Roundtable) -> Any:
    async def roundtable(instances: str, topic: str, rounds: float, host: str,
                         request: gr.Request) -> AsyncGenerator[str, None]:
        """Let 2 to 5 Second Mes (people's own AI models) discuss a topic in rounds, each hearing the others;
        returns the discussion as Markdown, one "**Speaker:**" paragraph per turn.

        Args:
            instances: the Second Mes' instance IDs, separated by commas (2 to 5, each once).
            topic: what they discuss.
            rounds: how many rounds (1 to 5); each round every Second Me speaks once, in turn.
            host: optional: one of the instance IDs, who opens the discussion and sums it up.
        """
        async for text in rt.api(instances, topic, rounds, host, request):
            yield text

    # Not an MCP tool: the rate limit counts an MCP call as one reply, from the caller's address, and the
    # roundtable's own count would come from the MCP server's (loopback).
    return not_an_mcp_tool(roundtable)


def wire(page: Page, demo: Any) -> None:
    rt, settings = Roundtable(page), page.settings
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
        "preprocess": False, "postprocess": False,
    }
    history = page["rt_history"]
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    page["rt_start"].click(None, None, page["rt_id"], js="() => ''", **js_only)  # a new roundtable, a new entry
    running = [page["rt_start"].click(rt.start, page.get(*PAGE), history, validator=rt.validate,
                                      api_visibility="undocumented", **streaming)]
    stopped = page["rt_stop"].click(None, None, None, cancels=running, api_visibility="undocumented").then(
        rt.mark_stopped, history, history, queue=False, api_visibility="undocumented", show_progress="hidden")
    for ended in (running[0], stopped):
        ended.then(None, page.get(*RECORD), page["rt_id"], js=call("roundtable.save"), **js_only)
    history.clear(None, None, page["rt_id"], js="() => ''", cancels=running, **js_only)
    if "chats" in page.parts:
        page["chats"].input(None, [page["chats"], *page.get(*RECORD)], page.get(*RECORD), js=call("roundtable.open"),
                            cancels=running, **js_only)
    page["rt_api_trigger"].click(endpoint(rt), page.get(*API), page["rt_api_transcript"], validator=rt.validate_api,
                                 api_name="roundtable", **streaming)
    if not available(page):
        return
    outputs = page.get("rt_instances", "rt_topic", "rt_rounds", "rt_host", "modes")
    if not page.locked:
        page["rt_browse"].input(None, [page["rt_browse"], page["rt_instances"]],
                                [page["rt_instances"], page["rt_browse"]], js=call("roundtable.add"), queue=False,
                                api_visibility="undocumented")
        outputs.append(page["rt_browse"])

    async def on_load(request: gr.Request) -> list[Any]:
        linked = from_link(request.query_params if request else None)
        filled: list[Any] = ([gr.skip()] * 5 if linked is None else [
            linked["instances"], linked["topic"], linked["rounds"] or gr.skip(), linked["host"],
            gr.Tabs(selected="roundtable")])
        if page.locked:
            return filled
        return [*filled, browse_update(await page.directory.listing(), request_language(request))]

    demo.load(on_load, None, outputs, api_visibility="undocumented", show_progress="hidden")

