"""The page's side of the reply engine (secondme.engine): its validators (each problem next to its field,
and nothing sent), its event handlers (``gr.Request``, ``gr.Error``, ``gr.skip``) and the visitor's language.
No HTTP here: every reply comes through the engine; no layout either (ui.py).

Inputs are addressed by name: each event's inputs are listed once (``SEND``, ``RERUN``, ``API``),
and its validator answers for each name in that order.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import gradio as gr

from ..async_client import AsyncSecondMeClient
from ..engine.conversation import Message, ReplyStats, edit_user_message, undo_last_turn, until_last_user, user
from ..engine.metrics import Metrics
from ..engine.reply import EngineSettings, ReplyEngine, Turn
from ..engine.texts import header_language, say
from ..engine.turns import EmptyAnswer, Turns
from ..engine.words import Problem, said
from ..errors import SecondMeError
from . import internals
from .checks import Checks
from .ratelimit import Limiter
from .settings import Settings
from .visitors import Visitors

__all__ = ["ChatController", "SEND", "RERUN", "API", "API_LOCKED", "History", "request_language"]

TURN = ("instance_id", "system_prompt", "temperature", "max_tokens", "l0", "role_id", "endpoint")
SEND = ("message", "history", *TURN)
RERUN = ("history", *TURN)
API = ("message", "instance_id", "system_prompt", "temperature", "max_tokens")
API_LOCKED = ("message", "system_prompt", "temperature", "max_tokens")  # a locked page answers as its instance

History = Sequence[Mapping[str, Any]]


def request_language(request: gr.Request | None) -> str:
    """The visitor's language (texts.language): the page's cookie, else Accept-Language."""
    headers = getattr(request, "headers", None) or {}
    return header_language(headers.get("cookie"), headers.get("accept-language"))


def _answers(names: Sequence[str], problems: Mapping[str, Problem | None], lang: str = "en") -> list[dict[str, Any]]:
    return [gr.validate(not problems.get(name), said(problems.get(name), lang)) for name in names]


class ChatController:
    """The page's event handlers, for one app and its clients."""

    def __init__(self, settings: Settings, clients: Mapping[str, AsyncSecondMeClient],
                 visitors: Visitors | None = None, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.visitors = visitors or Visitors()
        self.engine = ReplyEngine(EngineSettings.of(settings), clients, self.visitors, metrics)
        self.turns = Turns(self.engine)
        self.locked = settings.lock_instance and bool(settings.instance_id)
        self.checks = Checks(settings.limits, self.locked)
        self.metrics = self.engine.metrics
        # The visitors' rate limit (launch.py's RateLimit counts with it; a roundtable takes all its replies).
        self.limiter = Limiter(settings.rate_limit) if settings.rate_limit is not None else None

    # -- validators: problems appear next to their field, and nothing is sent ----------------
    # The events skip Gradio's preprocessing (it costs a thread hop per input), so every value is
    # checked here as the browser or an API caller sent it.

    async def validate_send(self, message: Any, history: Any, instance_id: Any, system_prompt: Any,
                            temperature: Any, max_tokens: Any, l0: Any, role_id: Any,
                            endpoint: Any, request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = dict(zip(SEND, (message, history, instance_id, system_prompt, temperature, max_tokens, l0,
                                 role_id, endpoint), strict=True))
        problems = {**self.checks.settings(values), "message": self.checks.message(message),
                    "history": self.checks.conversation(history)}
        return _answers(SEND, problems, request_language(request))

    async def validate_rerun(self, history: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                             max_tokens: Any, l0: Any, role_id: Any, endpoint: Any,
                             request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = dict(zip(RERUN, (history, instance_id, system_prompt, temperature, max_tokens, l0, role_id,
                                  endpoint), strict=True))
        return _answers(RERUN, {**self.checks.settings(values), "history": self.checks.rerun(history)},
                        request_language(request))

    async def validate_api(self, message: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                           max_tokens: Any) -> list[dict[str, Any]]:
        values = dict(zip(API, (message, instance_id, system_prompt, temperature, max_tokens), strict=True))
        return _answers(API, self._api_problems(values))

    async def validate_api_locked(self, message: Any, system_prompt: Any, temperature: Any,
                                  max_tokens: Any) -> list[dict[str, Any]]:
        values = dict(zip(API_LOCKED, (message, system_prompt, temperature, max_tokens), strict=True))
        return _answers(API_LOCKED, self._api_problems(values))

    def _api_problems(self, values: Mapping[str, Any]) -> dict[str, Problem | None]:
        return {**self.checks.settings(values), "message": self.checks.message(values.get("message"))}

    def _turn(self, instance_id: str, system_prompt: str | None, temperature: float, max_tokens: float,
              l0: bool = False, role_id: str | None = "", endpoint: str = "chat") -> Turn:
        """The checked inputs as a Turn; a locked page answers from its own instance whatever was sent."""
        return Turn(
            instance_id=self.settings.instance_id if self.locked else instance_id.strip(),
            system_prompt=system_prompt or "",
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            l0_retrieval=l0,
            role_id=role_id or "",
            endpoint="chat/completions" if endpoint == "chat/completions" else "chat",
        )

    # -- events ----------------------------------------------------------------------------
    # Each action is one queued event whose only output is the conversation: updating another
    # component on every step would make Gradio rebuild it each time, and a second event per
    # message would double the fixed cost of a message. The browser clears the message box
    # itself (chat_ui.busy_js), once the same checks as the validator's have passed.

    async def respond(self, message: str, history: History, instance_id: str, system_prompt: str,
                      temperature: float, max_tokens: float, l0: bool, role_id: str, endpoint: str,
                      request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self.turns.conversation([*(dict(m) for m in history), user(message)], turn,
                                                    request.session_hash or "", request_language(request), pane):
            yield update

    async def retry(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                    max_tokens: float, l0: bool, role_id: str, endpoint: str,
                    request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self.turns.conversation(until_last_user(history), turn, request.session_hash or "",
                                                    request_language(request), pane):
            yield update

    async def edit(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                   max_tokens: float, l0: bool, role_id: str, endpoint: str, edited: gr.EventData,
                   request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        # gr.EventData, not gr.EditData: the latter fails with a bare error on data it does not expect.
        problem, index, text = self.checks.edited(history, internals.event_data(edited))
        if problem:
            lang = request_language(request)
            raise gr.Error(problem.said(lang), title=say(lang, "check.edit.title"), print_exception=False)
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self.turns.conversation(edit_user_message(history, index, text), turn,
                                                    request.session_hash or "", request_language(request), pane):
            yield update

    def undo(self, history: Any) -> tuple[Any, Any]:
        if self.checks.conversation(history):
            return gr.skip(), gr.skip()
        return undo_last_turn(history)

    def stoppable(self, session: str, pane: str, stats: ReplyStats | None) -> None:
        """The reply Stop reports for ``pane`` (mark_stopped) is now the one ``stats`` describes; None: none."""
        self.turns.stoppable(session, pane, stats)

    def mark_stopped(self, history: Any, request: gr.Request | None = None, pane: str = "chat") -> Any:
        """After Stop: the reply's stats line and a notice that it was stopped (Turns.stopped)."""
        if self.checks.conversation(history):
            return gr.skip()
        stopped = self.turns.stopped(history, (request and request.session_hash) or "", pane,
                                     request_language(request))
        return gr.skip() if stopped is None else stopped

    async def ask(self, message: str, instance_id: str, system_prompt: str, temperature: float,
                  max_tokens: float, request: gr.Request) -> AsyncGenerator[str, None]:
        """The public endpoint (``chat``, and the MCP tool): the reply text to one message, streamed.
        On a failure the caller gets all the text that arrived, then the error. The inputs are checked
        here too: an MCP call does not pass through the queue's validator."""
        values = {"message": message, "system_prompt": system_prompt, "temperature": temperature,
                  "max_tokens": max_tokens, **({} if self.locked else {"instance_id": instance_id})}
        problems = [str(p) for p in self._api_problems(values).values() if p]  # the API speaks English
        if problems:
            raise gr.Error(" ".join(problems), title="Not sent", print_exception=False)
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens)
        try:
            async for answer in self.turns.answers(message, turn, request.session_hash or ""):
                yield answer
        except (SecondMeError, EmptyAnswer) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
