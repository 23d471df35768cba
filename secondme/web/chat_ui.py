"""The conversation: the Chatbot, the composer (message, Send, Stop), their events, and the public
``chat`` endpoint (also the MCP tool). The handlers are the controller's; this module only wires them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import gradio as gr

from ..protocol import ENDPOINTS, INSTANCE_ID_PATTERN
from .checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS_LIMIT
from .controller import API, API_LOCKED, RERUN, SEND, ChatController
from .i18n import t
from .page import Page

__all__ = ["create", "wire", "busy_js", "IDLE_JS", "RESTORE_JS", "SENT_JS", "FOCUS_JS", "public_endpoint", "BUSY_HINT",
           "BUSY_HINT_ZH"]

# Send and Stop swap places in the browser alone (a class on the composer row, styled by launch.CSS):
# a Button update from the server makes Gradio rebuild the Button on every message.
IDLE_JS = "() => { window.secondmePending = null; document.querySelector('#composer')?.classList.remove('busy'); }"
# When an event fails before it streams (the queue is full, the server refused it), Send comes
# back and the message the browser had emptied from the box is put back, unless something new
# was typed since. A message the conversation has shown, or one stopped, was sent: it never comes back
# (Gradio runs an event's failure steps when Stop cancels it, too), so SENT_JS forgets it.
SENT_JS = "() => { window.secondmePending = null; }"
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
    if (box) {
      box.value = ''; box.dispatchEvent(new Event('input', {bubbles: true})); box.focus();
    }""" if sending else ""
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


# After Stop, the message box has the focus again (the Stop button that had it is hidden).
FOCUS_JS = "() => { document.querySelector('#message textarea')?.focus(); }"
# While a reply streams, Enter sends nothing (the send event runs once at a time): say so.
BUSY_HINT = "The Second Me is still replying. Press Stop (or Esc) first; your message stays in the box."
BUSY_HINT_ZH = "Second Me 还在回复。请先按“停止”（或 Esc）；你的消息会留在输入框里。"


def create(page: Page) -> None:
    page.add("history", gr.Chatbot(
        label=t("conversation"), show_label=False, elem_id="conversation", height="62vh", min_height=320,
        editable="user", buttons=["copy", "copy_all"], feedback_options=None,
        placeholder=t("placeholder"),
        sanitize_html=True, allow_tags=False, autoscroll=True,
    ))
    with gr.Row(elem_id="composer"):
        page.add("message", gr.Textbox(label=t("message"), placeholder=t("message_placeholder"), elem_id="message",
                                       lines=1, max_lines=8, scale=5, min_width=160, autofocus=True))
        page.add("send", gr.Button(t("send"), variant="primary", scale=0, min_width=88, elem_id="send-button"))
        page.add("stop", gr.Button(t("stop"), variant="stop", scale=0, min_width=88, elem_id="stop-button"))


def create_api(page: Page) -> None:
    """Hidden components the public endpoint reads and writes; its API page names them."""
    page.add("api_max_tokens", gr.Number(2000, precision=0, minimum=1, maximum=MAX_TOKENS_LIMIT, label="max_tokens",
                                         visible=False))
    page.add("api_reply", gr.Textbox(label="reply", visible=False))


def create_api_trigger(page: Page) -> None:
    page.add("api_trigger", gr.Button(visible=False))


def wire(page: Page) -> None:
    ctl, settings = page.ctl, page.settings
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
    }
    # The handlers take the inputs as the browser sends them and yield messages already in the
    # form it receives (preprocess/postprocess=False): Gradio otherwise runs each input and
    # output through a worker thread and rebuilds the whole conversation on every update.
    fast: dict[str, Any] = {"preprocess": False, "postprocess": False}
    browser_only: dict[str, Any] = {"api_visibility": "undocumented", "queue": False}
    history, message = page["history"], page["message"]
    rerun_js = busy_js(ctl.locked, settings.limits, sending=False)
    page.running = [
        gr.on([message.submit, page["send"].click], ctl.respond, page.get(*SEND), history,
              validator=ctl.validate_send, js=busy_js(ctl.locked, settings.limits, sending=True), api_name="send",
              api_visibility="undocumented", **fast, **streaming),
        history.retry(ctl.retry, page.get(*RERUN), history, validator=ctl.validate_rerun, js=rerun_js,
                      api_visibility="undocumented", **fast, **streaming),
        history.edit(ctl.edit, page.get(*RERUN), history, validator=ctl.validate_rerun, js=rerun_js,
                     api_visibility="undocumented", **fast, **streaming),
    ]
    for event in page.running:
        page.finished.append(event.then(None, js=IDLE_JS, **browser_only))
        page.finished.append(event.failure(None, message, message, js=RESTORE_JS, **browser_only))
    # Quick steps on the conversation show no progress overlay over it (it would take the clicks meant for it).
    # The conversation changed (the reply's first update, or another conversation opened): the message was sent.
    history.change(None, js=SENT_JS, **browser_only)
    stopped = page["stop"].click(None, None, None, js=SENT_JS, cancels=page.running,
                                 api_visibility="undocumented").then(
        ctl.mark_stopped, history, history, queue=False, api_visibility="undocumented", show_progress="hidden").then(
        None, js=IDLE_JS, **browser_only)
    stopped.then(None, js=FOCUS_JS, **browser_only)
    page.finished.append(stopped)
    history.undo(ctl.undo, history, [history, message], queue=False, api_visibility="undocumented",
                 show_progress="hidden")
    page.cleared = history.clear(None, None, None, cancels=page.running, api_visibility="undocumented").then(
        None, js=IDLE_JS, **browser_only)
    # The endpoint's max_tokens is an integer field of its own (the page's is a slider), so its API page says so.
    api_names = ["api_max_tokens" if n == "max_tokens" else n for n in (API_LOCKED if ctl.locked else API)]
    page["api_trigger"].click(public_endpoint(ctl), page.get(*api_names), page["api_reply"],
                              validator=ctl.validate_api_locked if ctl.locked else ctl.validate_api,
                              api_name="chat", **fast, **streaming)
