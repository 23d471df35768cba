"""The page's own words (labels, buttons, placeholders, the header) in English and Simplified Chinese,
through Gradio's ``I18n``: the browser shows them in its language, and the page's language switch
(language_ui.py) switches it. The words are the catalog's ``page.`` keys (words.json, words.labels); what
the server writes into the conversation is said with words.say.

Components take ``t("key")``; ``page_i18n(settings)`` is given to ``launch()`` (launch.py).
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from ..engine.words import LANGUAGES, labels, say
from . import internals
from .settings import Settings

__all__ = ["t", "page_i18n", "EN", "ZH", "STARTERS", "DEMO_STARTERS"]

EN: dict[str, str] = labels("en")
ZH: dict[str, str] = labels("zh-CN")

# Suggested first messages, shown while the conversation is empty (a click sends one; launch.HEAD): ones any
# Second Me can answer, and, with the local demo (settings.demo, instance "demo"), the ones it answers each in its
# own way: thinking, a table and code, a reply cut at Max tokens. directory_ui picks which the page shows.
DEMO_STARTERS = {lang: tuple(say(lang, f"starter.{n}") for n in range(1, 5)) for lang in LANGUAGES}
STARTERS = {lang: tuple(say(lang, f"starter.any.{n}") for n in range(1, 5)) for lang in LANGUAGES}


def _placeholder(words: dict[str, str], starters: tuple[str, ...]) -> str:
    buttons = "".join(f'<button class="starter" type="button">{html.escape(s)}</button>' for s in starters)
    return f'{words["placeholder"]}\n\n<div class="starters">{buttons}</div>'


def _no_instance(words: dict[str, str]) -> str:
    """The empty conversation while no Second Me is chosen: where IDs come from, and Browse (layout.js)."""
    button = f'<button class="browse-start" type="button">{html.escape(words["browse_button"])}</button>'
    return f'{words["placeholder_none"]}\n\n<div class="starters no-instance">{button}</div>'


API_DOC_URL = "https://github.com/mindverse/Second-Me/tree/master/docs"


def t(key: str) -> Any:
    """The page's text for ``key``, shown in the visitor's language: an ``I18nData``, which Gradio's
    components take wherever they take text (its type hints say ``str``)."""
    if key not in EN and key not in ("header", "about", "placeholder_demo"):
        raise KeyError(f"no text for {key!r}")
    return internals.translated(key)


def page_i18n(settings: Settings) -> gr.I18n:
    """The translations for this page; the header carries its title."""
    title = f"# {html.escape(settings.title)}\n\n"

    def header(words: dict[str, str]) -> str:
        # The conversation is the page: its header is the title (and the demo's note); what the page is for is
        # said at the foot of the conversations' drawer ("about").
        parts = [title.strip()]
        if settings.demo:
            parts.append(words["header_demo"])
        return "\n\n".join(parts)

    def placeholders(words: dict[str, str], lang: str) -> dict[str, str]:
        return {"placeholder": _placeholder(words, STARTERS[lang]),
                "placeholder_demo": _placeholder(words, DEMO_STARTERS[lang]),
                "placeholder_none": _no_instance(words)}

    pages = {lang: labels(lang) for lang in LANGUAGES}
    return gr.I18n(**{lang: {**words, "header": header(words), "about": words["header_intro"].format(doc=API_DOC_URL),
                             **placeholders(words, lang)}
                      for lang, words in pages.items()})
