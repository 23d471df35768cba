"""The page's words, from one catalog (catalog.py), in the languages it has: English and Simplified Chinese.

- ``say(lang, key, **params)``: the text for ``key`` in ``lang``, its ``{parameters}`` filled in. A parameter
  that is a ``Word`` or a ``Problem`` is said in the same language (a check's ``{what}``: "system prompt",
  "系统提示词").
- ``Problem(code, params)``: what a check found (checks.py), said later in the visitor's language:
  ``problem.said(lang)``; ``str(problem)`` is the English, for callers with no visitor (the API, the log).
- ``labels(lang)``: the page's labels, for Gradio's ``I18n`` (i18n.py).
- ``for_page()``: the words the page's JavaScript says, in every language, fit for JSON.

No Gradio here: the words are plain data, so that Python and the page's JavaScript read the same ones.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .catalog import CATALOG

__all__ = ["LANGUAGES", "DEFAULT", "CATALOG", "Word", "Problem", "say", "said", "has", "parameters", "labels",
           "for_page"]

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
# The labels Gradio translates in the browser: catalog key "page.send" is the component's key "send".
LABEL_PREFIX = "page."
# What the page's JavaScript is given (for_page): its own words, and the tabs' labels it puts back.
_FOR_PAGE = ("js.", "page.chat_tab", "page.compare_tab")


@dataclass(frozen=True)
class Word:
    """A catalog word given as a parameter of another text: said in that text's language."""

    key: str

    def said(self, lang: str) -> str:
        return say(lang, self.key)


@dataclass(frozen=True)
class Problem:
    """What a check found: a catalog key (``code``) and the values its text names (``params``)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def said(self, lang: str) -> str:
        return say(lang, self.code, **self.params)

    def __str__(self) -> str:
        return self.said(DEFAULT)


def say(lang: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` (English for a language the page has no words in), with ``params``
    filled in. An unknown key is a KeyError: a word the catalog lacks is a bug, not a blank on the page."""
    texts = CATALOG[key]
    text = texts.get(lang) or texts[DEFAULT]
    if not params:
        return text
    return text.format(**{name: value.said(lang) if isinstance(value, (Word, Problem)) else value
                          for name, value in params.items()})


def said(problem: Problem | None, lang: str = DEFAULT) -> str:
    """A check's answer as the page shows it: its problem in ``lang``, or ``""`` when there is none."""
    return problem.said(lang) if problem is not None else ""


def has(lang: str, key: str) -> bool:
    """Whether the catalog has a text for ``key`` in ``lang``."""
    return lang in CATALOG.get(key, {})


def parameters(text: str) -> set[str]:
    """The names of a text's ``{parameters}``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def labels(lang: str) -> dict[str, str]:
    """The page's labels in ``lang``, by the names its components give ``i18n.t``."""
    return {key.removeprefix(LABEL_PREFIX): texts[lang] for key, texts in CATALOG.items()
            if key.startswith(LABEL_PREFIX)}


def for_page() -> dict[str, dict[str, str]]:
    """The words the page's JavaScript says, by language and then catalog key (``{name}`` parameters are
    filled in by the page): JSON-able, for ``window.secondmeConfig``."""
    return {lang: {key: texts[lang] for key, texts in CATALOG.items() if key.startswith(_FOR_PAGE)}
            for lang in LANGUAGES}
