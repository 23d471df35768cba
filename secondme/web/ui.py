"""The Gradio page: its layout and wiring. The handlers are in controller.py, the checks in
checks.py; no HTTP here."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import gradio as gr
import pydantic

from ..async_client import AsyncSecondMeClient
from ..protocol import ENDPOINTS, INSTANCE_ID_PATTERN
from .checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS_LIMIT
from .controller import ChatController
from .settings import Settings
from .visitors import Visitors

__all__ = ["build_app", "ChatBlocks", "DEFAULT_SYSTEM_PROMPT", "MAX_TOKENS_LIMIT"]

log = logging.getLogger("secondme.web")

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
API_DOC_URL = "https://github.com/mindverse/Second-Me/tree/master/docs"
# Send and Stop swap places in the browser alone (a class on the composer row, styled by launch.CSS):
# a Button update from the server makes Gradio rebuild the Button on every message.
IDLE_JS = "() => { window.secondmePending = null; document.querySelector('#composer')?.classList.remove('busy'); }"
# When an event fails before it streams (the queue is full, the server refused it), Send comes
# back and the message the browser had emptied from the box is put back, unless something new
# was typed since.
RESTORE_JS = """(message) => {
  document.querySelector('#composer')?.classList.remove('busy');
  const pending = window.secondmePending;
  window.secondmePending = null;
  return (pending && !String(message ?? '').trim()) ? pending : message;
}"""


def busy_js(locked: bool, limits: Any, *, sending: bool) -> str:
    """Runs in the browser before a send, retry or edit goes to the server, and passes its inputs on
    unchanged. When the validator's checks pass it shows Stop and, for a send, empties the message
    box (the conversation shows the message at once; RESTORE_JS puts it back if the event fails).
    When they fail it leaves everything as it is, and the validator's messages appear next to the
    fields. Lengths are counted in code points, as Python counts them."""
    instance_check = "true" if locked else f"/^{INSTANCE_ID_PATTERN}$/.test(String(instance ?? '').trim())"
    message_check = (f"typeof message === 'string' && text(message, {limits.message_chars}) && message.trim() !== ''"
                     if sending else "true")
    params = "history, instance, system, temperature, maxTokens, l0, roleId, endpoint"
    if sending:
        params = "message, " + params
    clear_box = """
    window.secondmePending = message;
    const box = document.querySelector('#message textarea');
    if (box) { box.value = ''; box.dispatchEvent(new Event('input', {bubbles: true})); }""" if sending else ""
    return f"""({params}) => {{
  const text = (v, most) => v == null || (typeof v === 'string' && [...v].length <= most
    && (typeof v.isWellFormed !== 'function' || v.isWellFormed()));
  const said = (m) => (Array.isArray(m?.content) ? m.content.map(p => p?.text ?? '').join('')
    : String(m?.content ?? '')).replaceAll('<\u200b', '<');
  const ok = {message_check} && {instance_check}
    && Array.isArray(history)
    && history.reduce((n, m) => n + [...said(m)].length, 0) <= {limits.conversation_chars}
    && text(system, {MAX_SYSTEM_PROMPT_CHARS}) && text(roleId, {MAX_ROLE_ID_CHARS}) && typeof l0 === 'boolean'
    && temperature >= 0 && temperature <= 1
    && Number.isInteger(Number(maxTokens)) && maxTokens >= 1 && maxTokens <= {MAX_TOKENS_LIMIT}
    && {list(ENDPOINTS)!r}.includes(endpoint);
  if (ok) {{{clear_box}
    document.querySelector('#composer')?.classList.add('busy');
  }}
  return [{params}];
}}"""


def public_endpoint(ctl: ChatController) -> Any:
    """The function behind the public ``chat`` endpoint and the MCP tool: Gradio names the tool after
    it and reads its docstring for the tool's description. A locked page takes no instance ID."""
    if ctl.locked:
        async def ask_this_second_me(message: str, system_prompt: str, temperature: float, max_tokens: float,
                                     request: gr.Request) -> AsyncGenerator[str, None]:
            """Ask this Second Me (a person's own AI model) one question and get its reply. Each call is a
            new conversation.

            Args:
                message: what to say or ask.
                system_prompt: instructions for the reply, sent before the message (may be empty).
                temperature: from 0 (focused) to 1 (varied).
                max_tokens: the longest reply, in tokens (1 to 8192).
            """
            async for text in ctl.ask(message, "", system_prompt, temperature, max_tokens, request):
                yield text

        return ask_this_second_me

    async def ask_a_second_me(message: str, instance_id: str, system_prompt: str, temperature: float,
                              max_tokens: float, request: gr.Request) -> AsyncGenerator[str, None]:
        """Ask a Second Me (a person's own AI model) one question and get its reply. Each call is a new
        conversation.

        Args:
            message: what to say or ask.
            instance_id: the Second Me's instance ID (letters, digits, '-' and '_').
            system_prompt: instructions for the reply, sent before the message (may be empty).
            temperature: from 0 (focused) to 1 (varied).
            max_tokens: the longest reply, in tokens (1 to 8192).
        """
        async for text in ctl.ask(message, instance_id, system_prompt, temperature, max_tokens, request):
            yield text

    return ask_a_second_me


class ChatBlocks(gr.Blocks):
    """The page's Blocks, with what its launch needs (``launch.launch_options``) and no message text
    in the server's log."""

    settings: Settings
    visitors: Visitors

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        # Gradio's own check prints every value it received, message text included, to the log.
        if len(inputs) < len(block_fn.inputs):
            raise ValueError(f"An event handler ({block_fn.name}) received {len(inputs)} input values instead "
                             f"of {len(block_fn.inputs)}.")

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        # Gradio checks each value against its component's data model even without preprocessing,
        # and pydantic's error quotes the value: say where and what, never the text.
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except pydantic.ValidationError as exc:
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
            what = "The conversation" if "Chatbot" in exc.title else "An input"
            raise ValueError(f"{what} could not be read ({where}).") from None


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
              clients: Mapping[str, AsyncSecondMeClient] | None = None) -> ChatBlocks:
    """The page and its public ``chat`` API. ``clients`` maps each endpoint to a client;
    by default both talk to ``settings.base_url``."""
    settings = settings or Settings.from_env()
    clients = clients or {
        endpoint: AsyncSecondMeClient(settings.base_url, endpoint=endpoint, timeout=settings.timeout)
        for endpoint in ENDPOINTS
    }
    if settings.lock_instance and not settings.instance_id:
        log.warning("SECONDME_LOCK_INSTANCE is set but SECONDME_INSTANCE_ID is empty; the field stays visible")
    visitors = Visitors()
    ctl = ChatController(settings, clients, visitors)
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
    }

    with ChatBlocks(title=settings.title, fill_height=True) as demo:
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
                    role_id = gr.Textbox(label="Role ID", value="", placeholder="optional: a role its owner defined",
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
        rerun_js = busy_js(ctl.locked, settings.limits, sending=False)
        running = [
            gr.on([message.submit, send.click], ctl.respond, [message, chatbot, *turn_inputs], chatbot,
                  validator=ctl.validate_send, js=busy_js(ctl.locked, settings.limits, sending=True), api_name="send",
                  api_visibility="undocumented", **fast, **streaming),
            chatbot.retry(ctl.retry, [chatbot, *turn_inputs], chatbot, validator=ctl.validate_rerun, js=rerun_js,
                          api_visibility="undocumented", **fast, **streaming),
            chatbot.edit(ctl.edit, [chatbot, *turn_inputs], chatbot, validator=ctl.validate_rerun, js=rerun_js,
                         api_visibility="undocumented", **fast, **streaming),
        ]
        for event in running:
            event.then(None, js=IDLE_JS, **browser_only)
            event.failure(None, message, message, js=RESTORE_JS, **browser_only)
        stop.click(None, None, None, cancels=running, api_visibility="undocumented").then(
            ctl.mark_stopped, chatbot, chatbot, queue=False, api_visibility="undocumented").then(
            None, js=IDLE_JS, **browser_only)
        chatbot.undo(ctl.undo, chatbot, [chatbot, message], queue=False, api_visibility="undocumented")
        chatbot.clear(None, None, None, cancels=running, api_visibility="undocumented").then(
            None, js=IDLE_JS, **browser_only)
        api_inputs = [message, system, temperature, max_tokens] if ctl.locked else [
            message, instance, system, temperature, max_tokens]
        api_trigger.click(public_endpoint(ctl), api_inputs, api_out,
                          validator=ctl.validate_api_locked if ctl.locked else ctl.validate_api, api_name="chat",
                          **fast,
                          **streaming)

    demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    demo.settings, demo.visitors = settings, visitors
    return demo
