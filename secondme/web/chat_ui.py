"""The conversation: the Chatbot, the composer (message, Send, Stop), their events, and the public
``chat`` endpoint (also the MCP tool). The handlers are the controller's; this module only wires them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import gradio as gr

from .checks import MAX_TOKENS_LIMIT
from .controller import API, API_LOCKED, RERUN, SEND, ChatController
from .directory_ui import placeholder_key
from .i18n import t
from .page import ChatEvents, Page
from .scripts import call

__all__ = ["create", "wire", "public_endpoint"]

# The browser's side of the composer is static/chat.js (secondme.chat): its checks before a send, retry or edit
# (the validator's, with the limits of window.secondmeConfig.chat), the message shown at once, Send and Stop swapped
# (a class on the composer row, styled by page.css), a refused send's message put back.


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
    page.add("unsend", gr.Button("unsend", elem_id="unsend", elem_classes=["hidden-trigger"]))  # secondme.chat.restore


def wire(page: Page) -> ChatEvents:
    """The conversation's events; what the saved conversations hang on them is returned (ChatEvents)."""
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
    rerun_js = call("chat.rerun")
    # Send shows the message at once (secondme.chat.show), then sends it: the reply may wait in the queue a while.
    shown = gr.on([message.submit, page["send"].click], None, page.get(*SEND), [history, message],
                  js=call("chat.show"), show_progress="hidden", **browser_only)
    running = [
        shown.then(ctl.respond, page.get(*SEND), history, validator=ctl.validate_send, js=call("chat.send"),
                   api_name="send", api_visibility="undocumented", **fast, **streaming),
        history.retry(ctl.retry, page.get(*RERUN), history, validator=ctl.validate_rerun, js=rerun_js,
                      api_visibility="undocumented", **fast, **streaming),
        history.edit(ctl.edit, page.get(*RERUN), history, validator=ctl.validate_rerun, js=rerun_js,
                     api_visibility="undocumented", **fast, **streaming),
    ]
    finished = []
    for event in running:
        finished.append(event.then(None, js=call("chat.idle"), **browser_only))
        finished.append(event.failure(None, message, message, js=call("chat.restore"), **browser_only))
    # Quick steps on the conversation show no progress overlay over it (it would take the clicks meant for it).
    page["unsend"].click(None, history, history, js=call("chat.unshow"), show_progress="hidden", **browser_only)
    # The conversation moved past the message Send showed (the reply, or a notice, came; or another
    # conversation was opened): the message was sent, and no failure gives it back.
    history.change(None, history, None, js=call("chat.replied"), **browser_only)
    stopped = page["stop"].click(None, None, None, js=call("chat.sent"), cancels=running,
                                 api_visibility="undocumented").then(
        ctl.mark_stopped, history, history, queue=False, api_visibility="undocumented", show_progress="hidden").then(
        None, js=call("chat.idle"), **browser_only)
    stopped.then(None, js=call("chat.focus"), **browser_only)
    finished.append(stopped)
    history.undo(ctl.undo, history, [history, message], queue=False, api_visibility="undocumented",
                 show_progress="hidden")
    cleared = history.clear(None, None, None, cancels=running, api_visibility="undocumented").then(
        None, js=call("chat.idle"), **browser_only)
    # The endpoint's max_tokens is an integer field of its own (the page's is a slider), so its API page says so.
    api_names = ["api_max_tokens" if n == "max_tokens" else n for n in (API_LOCKED if ctl.locked else API)]
    page["api_trigger"].click(public_endpoint(ctl), page.get(*api_names), page["api_reply"],
                              validator=ctl.validate_api_locked if ctl.locked else ctl.validate_api,
                              api_name="chat", **fast, **streaming)
    return ChatEvents(running, finished, cleared)
