"""The page's language switch: English or 简体中文, the two languages the page has words for (i18n.py,
texts.py), kept across reloads in the ``secondme-lang`` cookie (texts.COOKIE) that also tells the server
which language to write in. It replaces Gradio's footer Settings, which offers some thirty languages the
page has no words for, and shows developer text (how to enable a Progressive Web App, Screen Studio).

Gradio sets the page's language once, from the browser's, before the page's own scripts run, and offers no
public way to change it afterwards: its Settings panel calls ``changeLocale`` from its ``core`` module.
LANGUAGE_JS imports that very module (a module runs once per address, so it is the one the page uses)
and calls the same function; it checks the function is there (gradio 6.31, as pinned in requirements.txt)
and otherwise leaves the page in the browser's language.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from ..engine.texts import COOKIE, LANGUAGES
from .i18n import EN, ZH, t
from .page import Page

__all__ = ["CHOICES", "LANGUAGE_JS", "create", "create_trigger", "wire"]

# Each language in its own words.
CHOICES = (("English", "en"), ("简体中文", "zh-CN"))

# window.secondmeLanguage, loaded once in the page's <head> (launch.py), after window.secondmeLang.
LANGUAGE_JS = """
(() => {
  const COOKIE = (COOKIE_JSON), LANGUAGES = (LANGUAGES_JSON), TABS = (TABS_JSON), YEAR = 365 * 24 * 3600;
  const chosen = () => {
    const found = document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === COOKIE);
    return found && LANGUAGES.includes(found[1]) ? found[1] : null;
  };
  const remember = (lang) => { document.cookie = `${COOKIE}=${lang}; path=/; max-age=${YEAR}; SameSite=Lax`; };
  let core = null;
  const gradio = async () => {
    if (core) return core;
    const addresses = [...performance.getEntriesByType('resource').map((e) => e.name),
      ...[...document.querySelectorAll('link[rel=modulepreload]')].map((e) => e.href)];
    const address = addresses.map((a) => new URL(a, location.href)).find((a) => a.origin === location.origin
      && /\\/assets\\/core-[\\w-]+\\.js$/.test(a.pathname));
    if (!address) return null;
    try {
      const module = await import(address.href);
      core = typeof module.changeLocale === 'function' ? module : null;
    } catch (e) { core = null; }
    return core;
  };
  // Gradio's tab buttons keep the label they had when the page was built: they are given the language's own.
  const tabs = () => {
    const words = TABS[window.secondmeLang()];
    for (const [id, label] of Object.entries(words)) {
      const text = [...(document.getElementById(id + '-button')?.childNodes ?? [])]
        .find((n) => n.nodeType === Node.TEXT_NODE && n.nodeValue.trim());
      if (text && text.nodeValue.trim() !== label) text.nodeValue = label;
    }
  };
  const show = async (lang) => {
    if (!LANGUAGES.includes(lang)) return;
    remember(lang);
    if (window.secondmeLang() !== lang) (await gradio())?.changeLocale(lang);
  };
  window.secondmeLanguage = {show, chosen};
  // The page comes back in the language chosen before; without a choice, it says which one it shows.
  const before = chosen();
  if (before) show(before); else remember(window.secondmeLang());
  // Whenever the page's language changes: the cookie follows, the tabs are relabelled, and what the server
  // wrote outside the conversation (the instance's status, the directory's count) is asked for again.
  let shown = window.secondmeLang();
  new MutationObserver(() => {
    tabs();
    if (window.secondmeLang() === shown) return;
    shown = window.secondmeLang();
    remember(shown);
    document.querySelector('#language-changed')?.click();
  }).observe(document.documentElement, {attributes: true, attributeFilter: ['lang'], childList: true, subtree: true});
})();
""".replace("(COOKIE_JSON)", json.dumps(COOKIE)).replace("(LANGUAGES_JSON)", json.dumps(list(LANGUAGES))).replace(
    "(TABS_JSON)", json.dumps({lang: {"chat-tab": words["chat_tab"], "compare-tab": words["compare_tab"]}
                               for lang, words in (("en", EN), ("zh-CN", ZH))}, ensure_ascii=False))

SHOWN_JS = "() => window.secondmeLanguage?.chosen() ?? window.secondmeLang()"
PICK_JS = "(lang) => { window.secondmeLanguage?.show(lang); }"


def create(page: Page) -> None:
    page.add("language", gr.Radio(list(CHOICES), value=None, label=t("language"), show_label=False,
                                  container=False, elem_id="language", scale=0, min_width=180))


def create_trigger(page: Page) -> None:
    """Clicked by LANGUAGE_JS when the page's language changed (directory_ui wires what it asks for again)."""
    page.add("language_changed", gr.Button("language", elem_id="language-changed", elem_classes=["hidden-trigger"]))


def wire(page: Page, demo: Any) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    demo.load(None, None, page["language"], js=SHOWN_JS, **js_only)
    page["language"].input(None, page["language"], None, js=PICK_JS, **js_only)
