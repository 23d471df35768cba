"""The page's language switch: English or 简体中文, the two languages the page has words for (i18n.py,
texts.py), kept across reloads in the ``secondme-lang`` cookie (texts.COOKIE) that also tells the server
which language to write in. It replaces Gradio's footer Settings, which offers some thirty languages the
page has no words for, and shows developer text (how to enable a Progressive Web App, Screen Studio).

Gradio sets the page's language once, from the browser's, before the page's own scripts run, and offers no
public way to change it afterwards: its Settings panel calls ``changeLocale`` from its ``core`` module.
static/language.js imports that very module (a module runs once per address, so it is the one the page uses)
and calls the same function; it checks the function is there (gradio 6.31, as pinned in requirements.txt)
and otherwise leaves the page in the browser's language.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .i18n import EN, ZH, t
from .page import Page
from .scripts import call

__all__ = ["CHOICES", "TABS", "create", "create_trigger", "wire"]

# Each language in its own words.
CHOICES = (("English", "en"), ("简体中文", "zh-CN"))

# The tabs' labels in each language: Gradio's tab buttons keep the label they had when the page was built, so
# static/language.js gives them the language's own (window.secondmeConfig.language.tabs).
TABS = {lang: {"chat-tab": words["chat_tab"], "compare-tab": words["compare_tab"]}
        for lang, words in (("en", EN), ("zh-CN", ZH))}


def create(page: Page) -> None:
    page.add("language", gr.Radio(list(CHOICES), value=None, label=t("language"), show_label=False,
                                  container=False, elem_id="language", scale=0, min_width=180))


def create_trigger(page: Page) -> None:
    """Clicked by static/language.js when the page's language changed (directory_ui wires what it asks for again)."""
    page.add("language_changed", gr.Button("language", elem_id="language-changed", elem_classes=["hidden-trigger"]))


def wire(page: Page, demo: Any) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    demo.load(None, None, page["language"], js=call("language.shown"), **js_only)
    page["language"].input(None, page["language"], None, js=call("language.pick"), **js_only)
