"""The Gradio page. ``build_app(settings, clients=…)`` returns the Blocks; no HTTP here:
every reply comes through an ``AsyncSecondMeClient``."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..async_client import AsyncSecondMeClient
from ..errors import InvalidRequestError, SecondMeError
from ..protocol import (
    ENDPOINTS,
    INSTANCE_ID_PATTERN,
    Endpoint,
    check_max_tokens,
    check_temperature,
    validate_instance_id,
)
from .conversation import (
    Message,
    assistant,
    edit_user_message,
    error_notice,
    is_notice,
    notice,
    stopped_notice,
    to_upstream,
    undo_last_turn,
    until_last_user,
    user,
)
from .settings import Settings
from .streaming import coalesce

__all__ = ["build_app", "DEFAULT_SYSTEM_PROMPT", "MAX_TOKENS_LIMIT"]

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
MAX_TOKENS_LIMIT = 8192
# At most one update per reply every 40 ms; with many replies streaming at once, each waits longer
# so that the whole app sends at most about UPDATES_PER_SECOND (each update costs the server a
# diff, a JSON message and a socket write, all under one GIL).
UPDATE_INTERVAL = 0.04
UPDATES_PER_SECOND = 1000
MAX_UPDATE_INTERVAL = 0.25
API_DOC_URL = "https://github.com/mindverse/Second-Me/tree/master/docs"
# Send and Stop swap places in the browser alone (a class on the composer row, styled by launch.CSS):
# a Button update from the server makes Gradio rebuild the Button on every message.
IDLE_JS = "() => { document.querySelector('#composer')?.classList.remove('busy'); }"


def busy_js(locked: bool, *, sending: bool) -> str:
    """Runs in the browser before a send, retry or edit goes to the server, and passes its inputs on
    unchanged. When the validator's checks pass it shows Stop and, for a send, empties the message
    box (the conversation shows the message at once). When they fail it leaves everything as it is,
    and the validator's messages appear next to the fields."""
    instance_check = "true" if locked else f"/^{INSTANCE_ID_PATTERN}$/.test(String(instance ?? '').trim())"
    message_check = "String(message ?? '').trim() !== ''" if sending else "true"
    params = "history, instance, system, temperature, maxTokens, l0, roleId, endpoint"
    if sending:
        params = "message, " + params
    clear_box = """
    const box = document.querySelector('#message textarea');
    if (box) { box.value = ''; box.dispatchEvent(new Event('input', {bubbles: true})); }""" if sending else ""
    return f"""({params}) => {{
  const ok = {message_check} && {instance_check}
    && temperature >= 0 && temperature <= 1
    && Number.isInteger(Number(maxTokens)) && maxTokens >= 1 && maxTokens <= {MAX_TOKENS_LIMIT}
    && {list(ENDPOINTS)!r}.includes(endpoint);
  if (ok) {{{clear_box}
    document.querySelector('#composer')?.classList.add('busy');
  }}
  return [{params}];
}}"""


History = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Turn:
    """The settings one reply is asked for with."""

    instance_id: str
    system_prompt: str
    temperature: float
    max_tokens: int
    l0_retrieval: bool = False
    role_id: str = ""
    endpoint: Endpoint = "chat"

    @property
    def metadata(self) -> dict[str, Any] | None:
        metadata: dict[str, Any] = {}
        if self.l0_retrieval:
            metadata["enable_l0_retrieval"] = True
        if self.role_id.strip():
            metadata["role_id"] = self.role_id.strip()
        return metadata or None


def _problem(check: Any, value: Any) -> str:
    try:
        check(value)
    except InvalidRequestError as exc:
        return str(exc)
    return ""


class ChatController:
    """The page's event handlers, for one app and its clients."""

    def __init__(self, settings: Settings, clients: Mapping[str, AsyncSecondMeClient]) -> None:
        self.settings = settings
        self.clients = clients
        self.locked = settings.lock_instance and bool(settings.instance_id)
        self.streaming = 0  # replies streaming now, in this process

    def update_interval(self) -> float:
        return min(MAX_UPDATE_INTERVAL, max(UPDATE_INTERVAL, self.streaming / UPDATES_PER_SECOND))

    # -- checks, shown inline next to the control; nothing is sent when one fails ----------

    def _settings_checks(self, instance_id: Any, temperature: Any, max_tokens: Any,
                         endpoint: Any = "chat") -> list[dict[str, Any]]:
        # The events skip Gradio's preprocessing (it costs a thread hop per input), so the
        # Slider and Radio ranges are checked here too.
        problems = [
            "" if self.locked else _problem(validate_instance_id, instance_id),
            _problem(check_temperature, temperature),
            _problem(lambda v: check_max_tokens(v, limit=MAX_TOKENS_LIMIT), max_tokens),
            "" if endpoint in ENDPOINTS else "The endpoint must be 'chat' or 'chat/completions'.",
        ]
        return [gr.validate(not p, p) for p in problems]

    @staticmethod
    def _message_check(message: Any) -> dict[str, Any]:
        ok = isinstance(message, str) and bool(message.strip())
        return gr.validate(ok, "Type a message first.")

    async def validate_send(self, message: Any, history: Any, instance_id: Any, system_prompt: Any,
                            temperature: Any, max_tokens: Any, l0: Any, role_id: Any,
                            endpoint: Any) -> list[dict[str, Any]]:
        i, t, m, e = self._settings_checks(instance_id, temperature, max_tokens, endpoint)
        ok = gr.validate(True, "")
        return [self._message_check(message), ok, i, ok, t, m, ok, ok, e]

    async def validate_rerun(self, history: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                             max_tokens: Any, l0: Any, role_id: Any, endpoint: Any) -> list[dict[str, Any]]:
        i, t, m, e = self._settings_checks(instance_id, temperature, max_tokens, endpoint)
        ok = gr.validate(True, "")
        return [ok, i, ok, t, m, ok, ok, e]

    async def validate_api(self, message: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                           max_tokens: Any) -> list[dict[str, Any]]:
        i, t, m, _ = self._settings_checks(instance_id, temperature, max_tokens)
        return [self._message_check(message), i, gr.validate(True, ""), t, m]

    def _turn(self, instance_id: str, system_prompt: str | None, temperature: float, max_tokens: float,
              l0: bool = False, role_id: str | None = "", endpoint: str = "chat") -> Turn:
        return Turn(
            instance_id=self.settings.instance_id if self.locked else str(instance_id or "").strip(),
            system_prompt=system_prompt or "",
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            l0_retrieval=bool(l0),
            role_id=role_id or "",
            endpoint="chat/completions" if endpoint == "chat/completions" else "chat",
        )

    # -- the one streaming path ------------------------------------------------------------

    async def reply_text(self, messages: list[dict[str, str]], turn: Turn) -> AsyncGenerator[str, None]:
        """The reply so far, paced by ``update_interval``; raises SecondMeError."""
        stream = self.clients[turn.endpoint].stream_chat(
            turn.instance_id, messages, temperature=turn.temperature,
            max_tokens=turn.max_tokens, metadata=turn.metadata,
        )
        self.streaming += 1
        try:
            async for text in coalesce(stream, self.update_interval):
                yield text
        finally:
            self.streaming -= 1

    async def _stream_turn(self, history: list[Message], turn: Turn) -> AsyncGenerator[list[Message], None]:
        """The conversation (which ends with the user's message) at once, then after each update
        of the reply; a failure ends it with a notice, keeping what already streamed (and the
        user's message, so Retry works)."""
        yield history
        text = ""
        try:
            async for text in self.reply_text(to_upstream(turn.system_prompt, history), turn):
                yield [*history, assistant(text)]
        except SecondMeError as exc:
            kept = exc.partial if len(exc.partial) > len(text) else text
            yield [*history, *([assistant(kept)] if kept else []), error_notice(exc)]
            return
        if not text:
            yield [*history, notice("⚠️ Empty reply",
                                    "The Second Me finished without saying anything. Press ↻ to try again.")]

    # -- events ----------------------------------------------------------------------------
    # Each action is one queued event whose only output is the conversation: updating another
    # component on every step would make Gradio rebuild it each time, and a second event per
    # message would double the fixed cost of a message. The browser clears the message box
    # itself (busy_js), once the same checks as the validator's have passed.

    async def respond(self, message: str, history: History, instance_id: str, system_prompt: str,
                      temperature: float, max_tokens: float, l0: bool, role_id: str,
                      endpoint: str) -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self._stream_turn([*(dict(m) for m in history), user(message)], turn):
            yield update

    async def retry(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                    max_tokens: float, l0: bool, role_id: str,
                    endpoint: str) -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self._stream_turn(until_last_user(history), turn):
            yield update

    async def edit(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                   max_tokens: float, l0: bool, role_id: str, endpoint: str,
                   edited: gr.EditData) -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        index = edited.index[0] if isinstance(edited.index, (list, tuple)) else edited.index
        async for update in self._stream_turn(edit_user_message(history, int(index), str(edited.value)), turn):
            yield update

    @staticmethod
    def undo(history: History) -> tuple[list[Message], str]:
        return undo_last_turn(history)

    @staticmethod
    def mark_stopped(history: History) -> Any:
        if history and not is_notice(history[-1]):
            return [*history, stopped_notice(history)]
        return gr.skip()

    async def api_chat(self, message: str, instance_id: str, system_prompt: str, temperature: float,
                       max_tokens: float) -> AsyncGenerator[str, None]:
        """The public ``chat`` endpoint: streams the reply text to one message."""
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens)
        try:
            async for text in self.reply_text(to_upstream(turn.system_prompt, [user(message)]), turn):
                yield text
        except SecondMeError as exc:
            raise gr.Error(str(exc), print_exception=False) from None


def _header(settings: Settings) -> str:
    title = html.escape(settings.title)
    lines = [
        f"# {title}",
        "Chat with a **Second Me**, a person's own AI model, and watch its reply stream in. "
        f"Speaks the Second Me [Chat Completion API]({API_DOC_URL}).",
    ]
    if settings.demo:
        lines.append("> 🧪 **Local demo.** You are talking to a demo Second Me that runs on this machine, "
                     "not a real person's. It tells you what it received.")
    return "\n\n".join(lines)


def build_app(settings: Settings | None = None, *,
              clients: Mapping[str, AsyncSecondMeClient] | None = None) -> gr.Blocks:
    """The page and its public ``chat`` API. ``clients`` maps each endpoint to a client;
    by default both talk to ``settings.base_url``."""
    settings = settings or Settings.from_env()
    clients = clients or {
        endpoint: AsyncSecondMeClient(settings.base_url, endpoint=endpoint, timeout=settings.timeout)
        for endpoint in ENDPOINTS
    }
    if settings.lock_instance and not settings.instance_id:
        log.warning("SECONDME_LOCK_INSTANCE is set but SECONDME_INSTANCE_ID is empty; the field stays visible")
    ctl = ChatController(settings, clients)
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
    }

    with gr.Blocks(title=settings.title, fill_height=True) as demo:
        gr.Markdown(_header(settings), elem_id="header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Conversation", show_label=False, elem_id="conversation", height="62vh", min_height=320,
                    editable="user", buttons=["copy", "copy_all"], feedback_options=None,
                    placeholder="Say hello: the reply streams in as the Second Me writes it.",
                    sanitize_html=True, allow_tags=False, autoscroll=True,
                )
                with gr.Row(elem_id="composer"):
                    message = gr.Textbox(label="Message", placeholder="Write to the Second Me…", elem_id="message",
                                         lines=1, max_lines=8, scale=5, min_width=160, autofocus=True)
                    send = gr.Button("Send", variant="primary", scale=0, min_width=88, elem_id="send-button")
                    stop = gr.Button("Stop", variant="stop", scale=0, min_width=88, elem_id="stop-button")
            with gr.Column(scale=1, min_width=260, elem_id="settings"):
                instance = gr.Textbox(label="Instance ID", value=settings.instance_id,
                                      placeholder="the ID of the Second Me to talk to",
                                      visible=not ctl.locked, max_lines=1)
                system = gr.Textbox(label="System prompt", value=DEFAULT_SYSTEM_PROMPT, lines=3)
                temperature = gr.Slider(0, 1, value=0.7, step=0.05, label="Temperature")
                max_tokens = gr.Slider(1, MAX_TOKENS_LIMIT, value=2000, step=1, label="Max tokens")
                with gr.Accordion("Advanced", open=False):
                    l0 = gr.Checkbox(label="L0 retrieval", value=False,
                                     info="Let the Second Me search its owner's documents")
                    role_id = gr.Textbox(label="Role ID", placeholder="optional: a role its owner defined",
                                         max_lines=1)
                    endpoint = gr.Radio(list(ENDPOINTS), value="chat", label="Endpoint")
                api_out = gr.Textbox(visible=False)
                api_trigger = gr.Button(visible=False)

        turn_inputs = [instance, system, temperature, max_tokens, l0, role_id, endpoint]
        # The handlers take the inputs as the browser sends them and yield messages already in the
        # form it receives (preprocess/postprocess=False): Gradio otherwise runs each input and
        # output through a worker thread and rebuilds the whole conversation on every update.
        fast: dict[str, Any] = {"preprocess": False, "postprocess": False}
        browser_only: dict[str, Any] = {"api_visibility": "undocumented", "queue": False}
        running = [
            gr.on([message.submit, send.click], ctl.respond, [message, chatbot, *turn_inputs], chatbot,
                  validator=ctl.validate_send, js=busy_js(ctl.locked, sending=True), api_name="send",
                  api_visibility="undocumented", **fast, **streaming),
            chatbot.retry(ctl.retry, [chatbot, *turn_inputs], chatbot, validator=ctl.validate_rerun,
                          js=busy_js(ctl.locked, sending=False), api_visibility="undocumented", **fast, **streaming),
            chatbot.edit(ctl.edit, [chatbot, *turn_inputs], chatbot, validator=ctl.validate_rerun,
                         js=busy_js(ctl.locked, sending=False), api_visibility="undocumented", **fast, **streaming),
        ]
        for event in running:
            event.then(None, js=IDLE_JS, **browser_only)
        stop.click(None, None, None, cancels=running, api_visibility="undocumented").then(
            ctl.mark_stopped, chatbot, chatbot, queue=False, api_visibility="undocumented").then(
            None, js=IDLE_JS, **browser_only)
        chatbot.undo(ctl.undo, chatbot, [chatbot, message], queue=False, api_visibility="undocumented")
        chatbot.clear(None, None, None, cancels=running, api_visibility="undocumented").then(
            None, js=IDLE_JS, **browser_only)
        api_trigger.click(ctl.api_chat, [message, instance, system, temperature, max_tokens], api_out,
                          validator=ctl.validate_api, api_name="chat", **fast,
                          api_description="Send one message to a Second Me and stream its reply text.",
                          **streaming)

    demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    return demo
