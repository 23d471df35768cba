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

from typing import Any, Literal

import gradio as gr

from .controller import SEND
from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["create", "wire", "EXAMPLE_MESSAGE"]

EXAMPLE_MESSAGE = "Hello"  # what the snippets send while the message box is empty
# Each snippet: its name on the page, its key (the ids code-KEY and pane-KEY) and its language.
SNIPPETS: dict[str, tuple[str, Literal["shell", "python"]]] = {
    "cURL": ("curl", "shell"), "Python": ("python", "python"), "OpenAI SDK": ("openai", "python")}


def create(page: Page) -> None:
    with gr.Accordion(t("view_code"), open=False, elem_id="view-code") as panel:
        gr.Markdown(t("view_code_info"), elem_classes=["code-info"])
        # One snippet at a time, picked with a row of choices (tabs would not fit the settings drawer: Gradio hides
        # the ones that overflow behind a menu). The pick only shows its pane (code.js, layout.css): no server event.
        kind = gr.Radio(list(SNIPPETS), value="cURL", show_label=False, elem_id="code-kind", container=False)
        page.add("code_kind", kind)
        for name, (key, language) in SNIPPETS.items():
            with gr.Column(elem_id=f"pane-{key}", elem_classes=["code-pane"]):
                page.add(f"code_{key}", gr.Code(language=language, show_label=False, interactive=False,
                                                elem_id=f"code-{key}", buttons=["copy"], label=name))
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
    page["code_kind"].change(None, page["code_kind"], None, js=call("code.show"), queue=False,
                             api_visibility="undocumented", show_progress="hidden")
