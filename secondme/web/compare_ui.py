"""Compare: one message to two Second Mes (or to one, with two settings), both replies streaming side by
side at the same time, each with its own stats line, Stop and Retry.

Each side is a conversation of its own, streamed by the same controller path as the main chat
(``pane`` "a" or "b" names it, so that Stop on one side reports that side's reply). The sides share
the main settings' Advanced ones (L0 retrieval, role ID, endpoint). Send first copies the message to a
hidden field and empties the box in the browser; both sides then read it, at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import gradio as gr

from ..engine.conversation import Message
from .checks import MAX_TOKENS_LIMIT
from .controller import ChatController, History
from .i18n import t
from .page import Page
from .scripts import call
from .settings_ui import DEFAULT_SYSTEM_PROMPT

__all__ = ["create", "wire", "SIDES"]

SIDES = ("a", "b")


class Side:
    """The controller's handlers for one side: its replies are remembered under its own name."""

    def __init__(self, ctl: ChatController, name: str) -> None:
        self.ctl, self.name = ctl, name

    async def respond(self, message: str, history: History, instance_id: str, system_prompt: str,
                      temperature: float, max_tokens: float, l0: bool, role_id: str, endpoint: str,
                      request: gr.Request) -> AsyncGenerator[list[Message], None]:
        async for update in self.ctl.respond(message, history, instance_id, system_prompt, temperature, max_tokens,
                                             l0, role_id, endpoint, request, pane=self.name):
            yield update

    async def retry(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                    max_tokens: float, l0: bool, role_id: str, endpoint: str,
                    request: gr.Request) -> AsyncGenerator[list[Message], None]:
        async for update in self.ctl.retry(history, instance_id, system_prompt, temperature, max_tokens, l0,
                                           role_id, endpoint, request, pane=self.name):
            yield update

    def mark_stopped(self, history: Any, request: gr.Request) -> Any:
        return self.ctl.mark_stopped(history, request, self.name)


def turn(side: str) -> tuple[str, ...]:
    """The names of one side's inputs, in the order of the controller's TURN."""
    return (f"{side}_instance_id", f"{side}_system_prompt", f"{side}_temperature", f"{side}_max_tokens",
            "l0", "role_id", "endpoint")


def create(page: Page) -> None:
    settings = page.settings
    gr.Markdown(t("compare_intro"), elem_id="compare-intro")
    with gr.Row(elem_id="compare-row", equal_height=False):
        for side, temperature in zip(SIDES, (0.7, 1.0), strict=True):
            with gr.Column(min_width=300, elem_id=f"compare-{side}", elem_classes=["compare-side"]):
                page.add(f"{side}_instance_id", gr.Textbox(
                    label=t("instance_id"), value=settings.instance_id, max_lines=1,
                    elem_id=f"{side}-instance-id", visible=not page.locked))
                with gr.Row():
                    page.add(f"{side}_temperature", gr.Number(temperature, minimum=0, maximum=1, step=0.05,
                                                              label=t("temperature"), min_width=100,
                                                              elem_id=f"{side}-temperature"))
                    page.add(f"{side}_max_tokens", gr.Number(2000, minimum=1, maximum=MAX_TOKENS_LIMIT, precision=0,
                                                             label=t("max_tokens"), min_width=100,
                                                             elem_id=f"{side}-max-tokens"))
                page.add(f"{side}_system_prompt", gr.Textbox(
                    label=t("system_prompt"), value=DEFAULT_SYSTEM_PROMPT, lines=1, max_lines=4,
                    elem_id=f"{side}-system-prompt"))
                page.add(f"{side}_history", gr.Chatbot(
                    label=t("left" if side == "a" else "right"), elem_id=f"{side}-conversation", height="46vh",
                    min_height=240, buttons=["copy"], sanitize_html=True, allow_tags=False, autoscroll=True,
                    feedback_options=None))
                page.add(f"{side}_stop", gr.Button(t("stop"), variant="stop", size="sm", elem_id=f"{side}-stop"))
    with gr.Row(elem_id="compare-composer"):
        page.add("cmp_message", gr.Textbox(label=t("message"), placeholder=t("compare_message_placeholder"),
                                           lines=1, max_lines=6, scale=5, min_width=160, elem_id="compare-message"))
        page.add("cmp_send", gr.Button(t("send"), variant="primary", scale=0, min_width=88, elem_id="compare-send"))
    page.add("cmp_pending", gr.Textbox(visible=False))


def wire(page: Page) -> None:
    ctl, settings = page.ctl, page.settings
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.event_concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
        "api_visibility": "undocumented", "preprocess": False, "postprocess": False,
    }
    message, pending = page["cmp_message"], page["cmp_pending"]
    taken = gr.on([message.submit, page["cmp_send"].click], None, message, [message, pending], js=call("compare.take"),
                  queue=False, api_visibility="undocumented")
    for side in SIDES:
        handlers = Side(ctl, side)
        history = page[f"{side}_history"]
        names = turn(side)
        running = [
            taken.then(handlers.respond, [pending, history, *page.get(*names)], history, validator=ctl.validate_send,
                       **streaming),
            history.retry(handlers.retry, [history, *page.get(*names)], history, validator=ctl.validate_rerun,
                          **streaming),
        ]
        page[f"{side}_stop"].click(None, None, None, cancels=running, api_visibility="undocumented").then(
            handlers.mark_stopped, history, history, queue=False, api_visibility="undocumented", show_progress="hidden")
        history.clear(None, None, None, cancels=running, api_visibility="undocumented")
