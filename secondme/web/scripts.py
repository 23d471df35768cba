"""The page's own scripts and styles, in ``secondme/web/static/``: read once, at import.

The scripts take every value the server decides (limits, marks, words, patterns) from one object,
``window.secondmeConfig``, which ``head`` writes before them; each event's ``js=`` is a one-line call into the
``window.secondme`` namespace they define (``secondme.saved.open`` and so on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["STATIC", "FILES", "read", "head", "css", "config_json", "call"]

STATIC = Path(__file__).with_name("static")

# In the order the page loads them: text.js first (window.secondmeText, which the others use), mirror.js (the
# copies of Python's rules, which chat.js and code.js use), then page.js (window.secondmeLang and secondme.say, which
# the others use).
FILES = ("text.js", "mirror.js", "page.js", "language.js", "saved.js", "presets.js", "settings.js", "chat.js",
         "code.js", "compare.js", "roundtable.js", "layout.js")


def read(name: str) -> str:
    """A file of the static folder, as text. A script that could end its <script> element early is refused."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if name.endswith(".js") and ("</script" in text.lower() or "<!--" in text):
        raise ValueError(f"{name} cannot go in a <script> element as it is")
    return text


_SCRIPTS = {name: read(name) for name in FILES}
_STYLES = [read(path.name) for path in sorted(STATIC.glob("*.css"), key=lambda p: (p.name != "page.css", p.name))]

# What JSON leaves as it is and HTML or JavaScript would not: no "</script>" or "<!--" can end or change the
# <script> element, and U+2028/U+2029 (line ends to older JavaScript) are escaped too.
_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def config_json(config: dict[str, Any]) -> str:
    """``config`` as JSON that is safe inside a <script> element."""
    text = json.dumps(config, ensure_ascii=False)
    return "".join(_UNSAFE.get(c, c) for c in text)


def head(config: dict[str, Any]) -> str:
    """The page's <head> scripts: ``window.secondmeConfig``, then each of FILES."""
    scripts = [f"window.secondmeConfig = {config_json(config)};", *(_SCRIPTS[name] for name in FILES)]
    return "\n".join(f"<script>\n{script}</script>" for script in scripts)


def css() -> str:
    """The page's styles: page.css, then any other .css file of the folder, in the order of their names."""
    return "\n".join(_STYLES)


def call(name: str) -> str:
    """An event's ``js=``: the function ``window.secondme.<name>`` of the scripts, given the event's input values
    (its return value is the event's outputs)."""
    return f"(...a) => secondme.{name}(...a)"
