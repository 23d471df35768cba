"""View code: the exact request the next message would make, for the current settings and conversation,
as cURL, Python (``requests`` + ``sseclient-py``) and the OpenAI Python SDK, each with a copy button.

The snippets are written in the browser (``static/code.js``, ``secondme.code.snippets``), so keeping them in
step with every keystroke costs the server nothing; while the panel is closed they are not written at all. They
build the body the way the server does (conversation.to_upstream and fit_context: the system prompt, then the text of
each message that is not a notice, then the new message; older messages left out past the context
limit), and tests/test_browser_code.py runs each one, as shown, against the local instance and checks
that it sent what Send sends. The base URL is shown without any user name or password.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .controller import SEND
from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["create", "wire", "EXAMPLE_MESSAGE"]

EXAMPLE_MESSAGE = "Hello"  # what the snippets send while the message box is empty


def create(page: Page) -> None:
    with gr.Accordion(t("view_code"), open=False, elem_id="view-code") as panel:
        gr.Markdown(t("view_code_info"), elem_classes=["code-info"])
        with gr.Tabs():
            with gr.Tab("cURL"):
                page.add("code_curl", gr.Code(language="shell", show_label=False, interactive=False,
                                              elem_id="code-curl", buttons=["copy"]))
            with gr.Tab("Python"):
                page.add("code_python", gr.Code(language="python", show_label=False, interactive=False,
                                                elem_id="code-python", buttons=["copy"]))
            with gr.Tab("OpenAI SDK"):
                page.add("code_openai", gr.Code(language="python", show_label=False, interactive=False,
                                                elem_id="code-openai", buttons=["copy"]))
    page.add("view_code", panel)


def wire(page: Page) -> None:
    """Written when the panel opens, and again whenever what the next message would send changes
    (a keystroke, a setting, the conversation); skipped in the browser while the panel is closed."""
    inputs = page.get(*SEND)
    outputs = page.get("code_curl", "code_python", "code_openai")
    triggers: list[Any] = [page["view_code"].expand, page["message"].change, page["history"].change]
    triggers += [page[name].change for name in SEND[2:]]
    gr.on(triggers, None, inputs, outputs, js=call("code.snippets"), queue=False, api_visibility="undocumented",
          show_progress="hidden", trigger_mode="multiple")
