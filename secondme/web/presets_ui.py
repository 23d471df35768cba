"""System prompt presets: a few built in, and your own, kept in this browser (``localStorage``).

All of it runs in the browser (the events are JavaScript only): picking a preset fills the system
prompt, Save keeps the prompt in the field under a name you give, Delete forgets one of yours. The
built-in ones are in the page's language (the catalog's ``js.preset.<id>.name`` and ``.prompt``, words.json);
yours are as you wrote them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["create", "wire"]

def create(page: Page) -> None:
    page.add("preset", gr.Dropdown(choices=[], value=None, label=t("preset"), elem_id="preset",
                                   allow_custom_value=False, filterable=False))
    with gr.Row(elem_id="preset-buttons"):
        page.add("save_preset", gr.Button(t("save_preset"), size="sm", min_width=56, elem_id="save-preset"))
        page.add("delete_preset", gr.Button(t("delete_preset"), size="sm", min_width=56, elem_id="delete-preset"))


def wire(page: Page, demo: gr.Blocks) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented"}
    demo.load(None, None, page["preset"], js=call("presets.load"), **js_only)
    # A pick, by mouse (select) or keyboard (change), fills the prompt. Not "input": it also fires whenever the
    # dropdown loses the focus, and would put the preset back over a prompt typed since.
    gr.on([page["preset"].select, page["preset"].change], None, [page["preset"], page["system_prompt"]],
          page["system_prompt"], js=call("presets.pick"), **js_only)
    page["save_preset"].click(None, [page["system_prompt"], page["preset"]], page["preset"], js=call("presets.save"),
                              **js_only)
    page["delete_preset"].click(None, page["preset"], page["preset"], js=call("presets.remove"), **js_only)
