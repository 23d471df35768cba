"""The settings a reply is asked with, and the share link: ``?instance=ID`` opens a chat with that Second Me,
and ``?q=TEXT`` puts a message in the box (never sent by itself).

A copied link carries the instance ID alone: never the conversation, never a base URL.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..protocol import ENDPOINTS
from . import directory_ui, presets_ui
from .checks import MAX_TOKENS_LIMIT
from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["create", "create_copy_link", "wire", "DEFAULT_SYSTEM_PROMPT"]

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


def create(page: Page) -> None:
    settings = page.settings
    page.add("instance_id", gr.Textbox(label=t("instance_id"), value=settings.instance_id, max_lines=1,
                                       placeholder=t("instance_placeholder"), elem_id="instance-id",
                                       visible=not page.locked))
    if not page.locked:
        directory_ui.create_status(page)
    directory_ui.create_browse(page)
    presets_ui.create(page)
    page.add("system_prompt", gr.Textbox(label=t("system_prompt"), value=DEFAULT_SYSTEM_PROMPT, lines=3))
    page.add("temperature", gr.Slider(0, 1, value=0.7, step=0.05, label=t("temperature")))
    page.add("max_tokens", gr.Slider(1, MAX_TOKENS_LIMIT, value=2000, step=1, label=t("max_tokens")))
    with gr.Accordion(t("advanced"), open=False):
        page.add("l0", gr.Checkbox(label=t("l0"), value=False,
                                   info=t("l0_info")))
        page.add("role_id", gr.Textbox(label=t("role_id"), value="", placeholder=t("role_placeholder"),
                                       max_lines=1))
        page.add("endpoint", gr.Radio(list(ENDPOINTS), value="chat", label=t("endpoint")))


def create_copy_link(page: Page) -> None:
    page.add("copy_link", gr.Button(t("copy_link"), size="sm", min_width=60, elem_id="copy-link",
                                    visible=not page.locked))


def wire(page: Page, demo: Any) -> None:
    page["copy_link"].click(None, page["instance_id"], page["note"], js=call("settings.copyLink"), queue=False,
                            api_visibility="undocumented")
