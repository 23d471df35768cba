"""The conversation: the Chatbot, the composer (message, Send, Stop), their events, and the public
``chat`` endpoint (also the MCP tool). The handlers are the controller's; this module only wires them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import gradio as gr

from ..protocol import ENDPOINTS, INSTANCE_ID_PATTERN
from .checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS_LIMIT
from .controller import API, API_LOCKED, RERUN, SEND, ChatController
from .directory_ui import placeholder_key
from .i18n import t
from .page import Page

__all__ = ["create", "wire", "busy_js", "show_js", "SEND_JS", "UNSHOW_JS", "IDLE_JS", "RESTORE_JS", "SENT_JS",
           "REPLIED_JS", "FOCUS_JS", "public_endpoint", "BUSY_HINT", "BUSY_HINT_ZH"]

# Send and Stop swap places in the browser alone (a class on the composer row, styled by launch.CSS):
# a Button update from the server makes Gradio rebuild the Button on every message.
IDLE_JS = "() => { window.secondmePending = null; document.querySelector('#composer')?.classList.remove('busy'); }"
# When an event fails before it streams (the queue is full, the server refused it), Send comes
# back and the message the browser had emptied from the box is put back, unless something new
# was typed since. A message the conversation has shown, or one stopped, was sent: it never comes back
# (Gradio runs an event's failure steps when Stop cancels it, too), so SENT_JS forgets it.
SENT_JS = "() => { window.secondmePending = null; }"
# While the conversation ends with the message Send showed, the send may yet be refused (the validator, the
# rate limit, a full queue): only what comes after it means the message went.
REPLIED_JS = """(history) => {
  const last = Array.isArray(history) ? history.at(-1) : null;
  if (last?.role !== 'user') window.secondmePending = null;
}"""
RESTORE_JS = """(message) => {
  document.querySelector('#composer')?.classList.remove('busy');
  const pending = window.secondmePending;
  window.secondmePending = null;
  if (!pending || String(message ?? '').trim()) return message;
  window.secondmeUnsent = pending;  // and it leaves the conversation, where Send showed it (UNSHOW_JS)
  setTimeout(() => document.querySelector('#unsend')?.click(), 0);
  return pending;
}"""


def _checks(locked: bool, limits: Any, *, sending: bool) -> tuple[str, str]:
    """The event's parameters, and the browser's side of the validator's checks (true when they pass).
    Lengths are counted in code points, as Python counts them."""
    instance_check = "true" if locked else f"/^{INSTANCE_ID_PATTERN}$/.test(String(instance ?? '').trim())"
    message_check = (f"typeof message === 'string' && text(message, {limits.message_chars}) && message.trim() !== ''"
                     if sending else "true")
    params = "history, instance, system, temperature, maxTokens, l0, roleId, endpoint"
    if sending:
        params = "message, " + params
    return params, f"""(() => {{
    const text = (v, most) => v == null || (typeof v === 'string' && [...v].length <= most
      && (typeof v.isWellFormed !== 'function' || v.isWellFormed()));
    const said = window.secondmeText.said;
    return {message_check} && {instance_check}
      && Array.isArray(history)
      && history.reduce((n, m) => n + [...said(m)].length, 0) <= {limits.conversation_chars}
      && text(system, {MAX_SYSTEM_PROMPT_CHARS}) && text(roleId, {MAX_ROLE_ID_CHARS}) && typeof l0 === 'boolean'
      && temperature >= 0 && temperature <= 1
      && Number.isInteger(Number(maxTokens)) && maxTokens >= 1 && maxTokens <= {MAX_TOKENS_LIMIT}
      && {list(ENDPOINTS)!r}.includes(endpoint);
  }})()"""


def show_js(locked: bool, limits: Any) -> str:
    """Runs in the browser when Send is pressed, before anything goes to the server. When the validator's
    checks pass, the message leaves the box and shows in the conversation at once, while the reply may
    still wait in the queue (the saved conversation has it too, so a reload finds it), and Stop shows.
    When they fail it leaves everything as it is; the send follows and the validator's messages appear
    next to the fields; with no Second Me chosen, the guide to choosing one says so too (layout.js). The message is
    guarded as the server guards it (conversation.shown_as_written)."""
    params, ok = _checks(locked, limits, sending=True)
    return f"""({params}) => {{
  window.secondmeShown = null;
  const same = {{__type__: 'update'}};  // nothing changes (nor is the conversation drawn again)
  if ({"false" if locked else "true"} && !String(instance ?? '').trim()) window.secondmeLayout?.askForInstance();
  if (document.querySelector('#composer')?.classList.contains('busy') || !({ok})) return [same, same];
  const shown = {{role: 'user', metadata: null, options: null,
    content: [{{type: 'text', text: window.secondmeText.shown(message)}}]}};
  window.secondmePending = message;
  window.secondmeShown = shown.content[0].text;
  document.querySelector('#composer')?.classList.add('busy');
  document.querySelector('#message textarea')?.focus();
  return [[...history, shown], ''];
}}"""


# The send itself: the message and the conversation as they were before the message showed in it.
SEND_JS = """(message, ...rest) => {
  const shown = window.secondmeShown, history = rest[0];
  window.secondmeShown = null;
  const last = Array.isArray(history) ? history[history.length - 1] : null;
  if (shown === null || shown === undefined || last?.role !== 'user' || last?.content?.[0]?.text !== shown) {
    return [message, ...rest];
  }
  return [window.secondmePending, history.slice(0, -1), ...rest.slice(1)];
}"""
# A send that did not go (RESTORE_JS gave its message back to the box) leaves the conversation, unless its
# reply had begun: the message is in one place, never in none.
UNSHOW_JS = """(history) => {
  const unsent = window.secondmeUnsent, last = Array.isArray(history) ? history.at(-1) : null;
  window.secondmeUnsent = null;
  const text = last?.role === 'user' ? window.secondmeText.said(last) : null;
  return [unsent != null && text === unsent ? history.slice(0, -1) : history];  // one output: a list of it
}"""


def busy_js(locked: bool, limits: Any, *, sending: bool) -> str:
    """Runs in the browser before a retry or edit goes to the server, and passes its inputs on
    unchanged. When the validator's checks pass it shows Stop. When they fail it leaves everything as
    it is, and the validator's messages appear next to the fields."""
    params, ok = _checks(locked, limits, sending=sending)
    return f"""({params}) => {{
  if ({ok}) document.querySelector('#composer')?.classList.add('busy');
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
    instance = page.settings.instance_id
    # Its height follows the window (layout.css), so the composer under it is on screen from the start.
    page.add("history", gr.Chatbot(
        label=t("conversation"), show_label=False, elem_id="conversation", min_height=240,
        editable="user", buttons=["copy", "copy_all"], feedback_options=None,
        placeholder=t(placeholder_key(instance, page.settings.demo and instance == "demo")),
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
    page.add("unsend", gr.Button("unsend", elem_id="unsend", elem_classes=["hidden-trigger"]))  # RESTORE_JS


def wire(page: Page) -> None:
    ctl, settings = page.ctl, page.settings
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.event_concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
    }
    # The handlers take the inputs as the browser sends them and yield messages already in the
    # form it receives (preprocess/postprocess=False): Gradio otherwise runs each input and
    # output through a worker thread and rebuilds the whole conversation on every update.
    fast: dict[str, Any] = {"preprocess": False, "postprocess": False}
    browser_only: dict[str, Any] = {"api_visibility": "undocumented", "queue": False}
    history, message = page["history"], page["message"]
    rerun_js = busy_js(ctl.locked, settings.limits, sending=False)
    # Send shows the message at once (show_js), then sends it: the reply may wait in the queue a while.
    shown = gr.on([message.submit, page["send"].click], None, page.get(*SEND), [history, message],
                  js=show_js(ctl.locked, settings.limits), show_progress="hidden", **browser_only)
    page.running = [
        shown.then(ctl.respond, page.get(*SEND), history, validator=ctl.validate_send, js=SEND_JS, api_name="send",
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
    page["unsend"].click(None, history, history, js=UNSHOW_JS, show_progress="hidden", **browser_only)
    # The conversation moved past the message Send showed (the reply, or a notice, came; or another
    # conversation was opened): the message was sent, and no failure gives it back.
    history.change(None, history, None, js=REPLIED_JS, **browser_only)
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
