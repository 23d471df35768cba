"""Running the app: ``python app.py`` and ``python app.py --demo``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi.middleware import Middleware

from ..server import LocalInstance, ServerThread, create_app
from ..serving import BodyLimit, ClosedPaths
from .chat_ui import BUSY_HINT, BUSY_HINT_ZH, RESTORE_JS
from .conversation import ERROR_MARK, SHOWN_PATTERN, STATS_MARK, WRITTEN_PATTERN
from .language_ui import LANGUAGE_JS
from .presets_ui import PRESETS_JS
from .ratelimit import Limiter, RateLimit
from .saved_ui import MAX_IMPORT_BYTES, STORE_JS
from .settings import Settings
from .ui import ChatBlocks, build_app

__all__ = ["main", "launch_options", "start_demo_instance"]

# Gradio's routes that write to the server's disk, which no part of the page uses (an imported conversation
# is read in the browser): a session's state, conversation included, saved under a link anyone holding it
# can open (deep_link); files kept for good, answered with their path on the server (upload); a recording.
CLOSED_PATHS = ("/gradio_api/deep_link", "/gradio_api/upload", "/gradio_api/process_recording")
# The page opened with a saved state (?deep_link=ID): any link made before deep_link was closed stays closed.
CLOSED_PARAMS = ("deep_link",)

# Room above the streaming limit, so that limit, not Gradio's job slots, is what holds streams
# back; the same number sizes Gradio's thread pool for the few plain functions (undo, stop).
THREAD_ROOM = 64

CSS = """
/* The page's width is settled from the first paint: it does not grow when a long reply arrives. */
.gradio-container { width: 100% !important; max-width: 1280px !important; margin: 0 auto !important; }
.hidden-trigger { display: none !important; }
#busy-hint:empty { display: none; }
#busy-hint { color: var(--body-text-color-subdued); font-size: var(--text-sm); margin: 4px 0 0; }
#saved .wrap { flex-direction: column; }
#note p, #instance-status p { font-size: var(--text-sm); margin: 0; }
#header h1 { margin-bottom: 0.2em; }
/* The language switch (language_ui.py): small, at the header's top right; above the header on a phone. */
#header-row { align-items: flex-start; flex-wrap: wrap; }
#header { flex: 1 1 320px !important; min-width: min(320px, 100%) !important; }
#language { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; }
#language .wrap { flex-wrap: nowrap; gap: 4px; }
#language label { padding: 4px 10px; font-size: var(--text-sm); }
#composer { align-items: flex-end; }
/* Suggested first messages, in the empty conversation (i18n.STARTERS). */
#conversation .starters { display: flex; flex-wrap: wrap; gap: 8px; justify-content: center; margin-top: 12px; }
#conversation .starter {
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); padding: 8px 12px;
  background: var(--background-fill-primary); color: var(--body-text-color); cursor: pointer;
  font-size: var(--text-md); max-width: 260px; text-align: left;
}
#conversation .starter:hover { border-color: var(--color-accent); background: var(--background-fill-secondary); }
/* Send and Stop swap while a reply streams (chat_ui.busy_js and chat_ui.IDLE_JS set the class). */
#stop-button, #composer.busy #send-button { display: none !important; }
#composer.busy #stop-button { display: inline-flex !important; }
/* A failure is unmistakable: error notices (marked by HEAD's script) are red, open and full size.
   Text on background: 8.6:1 light, 11:1 dark. A stopped reply's notice stays quiet. */
.thought-group.error-notice {
  --notice-fg: #7a1010; --notice-bg: #fdecec; --notice-edge: #b42318;
  background: var(--notice-bg) !important; border: 1px solid var(--notice-edge) !important;
  border-left-width: 4px !important; color: var(--notice-fg) !important;
}
.dark .thought-group.error-notice { --notice-fg: #ffd0d0; --notice-bg: #3b1212; --notice-edge: #e06666; }
.error-notice .prose, .error-notice p {
  color: var(--notice-fg) !important; font-size: var(--text-md) !important;
}
.error-notice .title p { font-weight: 600; }
/* A reply's stats line (conversation.stats_notice; marked by HEAD's script) is small and quiet. */
.thought-group.stats-line { border: none !important; background: transparent !important; padding: 2px 0 !important;
  margin-top: 4px !important; opacity: 0.75; }
.thought-group.stats-line .title, .thought-group.stats-line .title p { font-size: var(--text-xs) !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 8px !important; }
  /* On a phone the conversation comes first, then the saved ones, then the settings. */
  #chat-column { order: 1; } #saved { order: 2; } #settings { order: 3; }
  #header p { font-size: 0.92em; }
  #language { order: -1; margin-left: auto; }
}
"""


# The page's side of conversation.shown_as_written and as_written (the same patterns, held together by
# tests/test_browser_hostile.py), and every way text leaves the conversation undoing the guard: the copy
# buttons (a message's, the conversation's, a code block's: all write through the Clipboard API, or copy
# a helper field's selection), a selection copied by hand, and the box a message is edited in.
TEXT_JS = """
(() => {
  const GUARD = '\\u200b', SHOWN = new RegExp(SHOWN_SOURCE, 'g'), WRITTEN = new RegExp(WRITTEN_SOURCE, 'g');
  const T = {
    shown: (text) => String(text ?? '').replace(SHOWN, (m) => m + GUARD),
    written: (text) => String(text ?? '').replace(WRITTEN, (m) => m[0]),
    // Text read off the page, where the Markdown is rendered and an opener's context may be gone.
    seen: (text) => String(text ?? '').replace(/([<!])\\u200b|\\u200b(?=mermaid)/g, '$1'),
    said: (m) => T.written(Array.isArray(m?.content) ? m.content.map((p) => p?.text ?? '').join('')
      : String(m?.content ?? '')),
    // A kept conversation (saved by an older version too) as the page must hold it: each text and title
    // guarded exactly once.
    guarded: (messages) => (Array.isArray(messages) ? messages : []).map((m) => {
      const again = (v) => T.shown(T.written(v));
      const content = Array.isArray(m?.content)
        ? m.content.map((p) => (p && typeof p.text === 'string' ? {...p, text: again(p.text)} : p))
        : typeof m?.content === 'string' ? again(m.content) : m?.content;
      const metadata = m?.metadata?.title ? {...m.metadata, title: again(m.metadata.title)} : m?.metadata;
      return {...m, content, metadata};
    }),
    // Text from outside for a Markdown block that is never copied or edited (conversation.markdown_literal).
    literal: (text) => String(text ?? '').replace(/[!-\\/:-@\\[-`{-~]/g, (c) => `&#${c.charCodeAt(0)};`),
  };
  window.secondmeText = T;
  const CHAT = '#conversation, .compare-side';
  let fromChat = false;  // the last click was in a conversation (its copy buttons copy after an await)
  document.addEventListener('click', (e) => { fromChat = Boolean(e.target?.closest?.(CHAT)); }, true);
  const write = window.Clipboard?.prototype.writeText;  // only in a secure context (HTTPS, localhost)
  if (write) {
    Clipboard.prototype.writeText = function (text) {
      return write.call(this, fromChat && typeof text === 'string' ? T.written(text) : text);
    };
  }
  document.addEventListener('copy', (e) => {
    const field = document.activeElement;
    let text = null;
    if (field instanceof HTMLTextAreaElement && fromChat && !field.closest('.gradio-container')) {
      text = T.written(field.value.slice(field.selectionStart, field.selectionEnd));  // a copy button's helper
    } else if (!(field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement)) {
      const selection = document.getSelection();
      const node = selection?.rangeCount ? selection.getRangeAt(0).commonAncestorContainer : null;
      const element = node?.nodeType === 1 ? node : node?.parentElement;
      if (element?.closest(CHAT) || element?.querySelector?.(CHAT)) text = T.seen(selection.toString());
    }
    if (text !== null && e.clipboardData) { e.clipboardData.setData('text/plain', text); e.preventDefault(); }
  });
  const unguard = (box) => {
    if (box.dataset.written) return;
    box.dataset.written = '1';
    const text = T.written(box.value);
    if (text !== box.value) { box.value = text; box.dispatchEvent(new Event('input', {bubbles: true})); }
  };
  let looking = false;  // one look a frame, however many updates a streaming reply makes
  new MutationObserver(() => {
    if (looking) return;
    looking = true;
    requestAnimationFrame(() => {
      looking = false;
      document.querySelectorAll('textarea.edit-textarea:not([data-written])').forEach(unguard);
    });
  }).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('focusin', (e) => {
    if (e.target?.matches?.('textarea.edit-textarea')) unguard(e.target);
  });
})();
""".replace("SHOWN_SOURCE", json.dumps(SHOWN_PATTERN)).replace("WRITTEN_SOURCE", json.dumps(WRITTEN_PATTERN))

# Marks each error notice as it appears: a class for the CSS above, and role="alert" so a screen
# reader announces it. The Chatbot gives titled messages no hook of their own; the title's mark is ours.
HEAD = """<script>{text}</script>
<script>
(() => {
  // The language the page shows, as the page's own words have it ('zh-CN' or 'en'; texts.py): Gradio sets
  // <html lang> from the browser, or from its Settings. Traditional Chinese has no words of ours.
  window.secondmeLang = () => {
    const lang = (document.documentElement.lang || 'en').toLowerCase();
    return lang.startsWith('zh') && !/-(tw|hk|mo|hant)/.test(lang) ? 'zh-CN' : 'en';
  };
  const unmarked = '.thought-group:not(.error-notice):not(.stats-line)';
  const mark = (root) => root.querySelectorAll?.(unmarked).forEach((group) => {
    const title = group.querySelector('.title')?.textContent.trim() ?? '';
    if (title.startsWith('{mark}') && group.closest('#conversation, .compare-side')) {
      group.classList.add('error-notice');
      group.setAttribute('role', 'alert');
    } else if (title.startsWith('{stats}')) {
      group.classList.add('stats-line');
    }
  });
  new MutationObserver(() => mark(document)).observe(document.documentElement, {childList: true, subtree: true});
  // A message refused by a check only the server makes (the rate limit) comes back as a validation
  // message on the message box, after the browser emptied it: Send comes back, and so does the text.
  new MutationObserver((mutations) => {
    const composer = document.querySelector('#composer');
    if (!composer?.classList.contains('busy')) return;
    const refused = mutations.some((m) => [...m.addedNodes].some((node) => node.nodeType === 1 &&
      (node.matches('#message .validation-error') || node.querySelector('.validation-error')?.closest('#message'))));
    if (!refused) return;
    const box = document.querySelector('#message textarea');
    const text = (RESTORE)(box?.value ?? '');
    if (box && text !== box.value) {
      box.value = text;
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }
  }).observe(document.documentElement, {childList: true, subtree: true});
  // Esc in the message box, the conversation or nowhere in particular stops a streaming reply (elsewhere it is
  // the focused control's: it closes an open list); Enter while one streams says why nothing is sent.
  document.addEventListener('keydown', (e) => {
    const busy = document.querySelector('#composer')?.classList.contains('busy');
    if (!busy) return;
    const where = e.target?.closest?.('#composer, #conversation') || !e.target?.closest || e.target === document.body;
    if (e.key === 'Escape' && where) { document.querySelector('#stop-button')?.click(); e.preventDefault(); }
    else if (e.key === 'Enter' && !e.shiftKey && e.target?.closest?.('#message')) {
      let hint = document.querySelector('#busy-hint');
      if (!hint) {
        hint = Object.assign(document.createElement('p'), {id: 'busy-hint', role: 'status'});
        document.querySelector('#composer')?.after(hint);
      }
      hint.textContent = window.secondmeLang() === 'zh-CN' ? '{busy_zh}' : '{busy}';
    }
  });
  // Copying a reply copies the reply alone: Gradio's button copies its whole group of messages, with the
  // Thinking block and the stats line; once it has, the clipboard gets the answer's text instead.
  document.addEventListener('click', (e) => {
    const button = e.target?.closest?.('.message-buttons button');
    const row = button?.closest('.message-buttons')?.previousElementSibling;
    if (!row?.matches('.message-row.bot-row') || !/copy/i.test(button.getAttribute('aria-label') ?? '')) return;
    const answer = [...row.querySelectorAll('[data-testid="bot"]')].filter((m) => !m.querySelector('.thought-group'))
      .map((m) => window.secondmeText.seen(m.innerText).trim()).filter(Boolean).join('\\n\\n');
    if (answer) setTimeout(() => navigator.clipboard?.writeText(answer).catch(() => {}), 100);
  }, true);
  // A suggested first message (i18n.STARTERS, in the empty conversation) is sent as if typed.
  document.addEventListener('click', (e) => {
    const starter = e.target?.closest?.('.starters .starter');
    const box = document.querySelector('#message textarea');
    if (!starter || !box || document.querySelector('#composer')?.classList.contains('busy')) return;
    box.value = starter.textContent.trim();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.querySelector('#send-button')?.click(), 50);
  });
  new MutationObserver(() => {
    const hint = document.querySelector('#busy-hint');
    if (hint && hint.textContent && !document.querySelector('#composer')?.classList.contains('busy')) {
      hint.textContent = '';
    }
  }).observe(document.documentElement, {attributes: true, subtree: true, attributeFilter: ['class']});
})();
</script>
<script>{language}</script>
<script>{store}</script>
<script>{presets}</script>"""
for _name, _value in {"{text}": TEXT_JS, "{mark}": ERROR_MARK, "{stats}": STATS_MARK, "{language}": LANGUAGE_JS,
                      "{busy}": BUSY_HINT,
                      "{busy_zh}": BUSY_HINT_ZH, "(RESTORE)": f"({RESTORE_JS})", "{store}": STORE_JS,
                      "{presets}": PRESETS_JS}.items():
    HEAD = HEAD.replace(_name, _value)
# The chat-first layout (static/layout.css, static/layout.js), until the page's scripts load from static/ alone.
CSS += (Path(__file__).with_name("static") / "layout.css").read_text(encoding="utf-8")
HEAD += f"\n<script>{(Path(__file__).with_name('static') / 'layout.js').read_text(encoding='utf-8')}</script>"


def launch_options(app: ChatBlocks) -> dict[str, Any]:
    """What ``launch()`` is given: the look of the page (gradio 6 takes it at launch); room for
    every stream (Gradio runs at most ``max_threads`` events at once, whatever their concurrency
    limits); a cap on request bodies, so a huge message is refused before it is read; and the watch
    that ends a reply when its visitor leaves."""
    settings = app.settings
    middleware = [
        Middleware(ClosedPaths, paths=CLOSED_PATHS, params=CLOSED_PARAMS),
        Middleware(app.metrics.middleware),
        Middleware(BodyLimit, max_bytes=settings.limits.body_bytes, detail=(
            f"The request is too large. A message can have at most {settings.max_message_chars:,} "
            f"characters and a conversation {settings.max_conversation_chars:,}.")),
        Middleware(app.visitors.middleware),
    ]
    if settings.rate_limit is not None:
        replies = app.reply_events()
        middleware.insert(3, Middleware(
            RateLimit, limiter=app.chat_page.ctl.limiter or Limiter(settings.rate_limit), events={
                fn._id: len(fn.inputs) if fn.inputs[0] is app.chat_page["message"] else None
                for fn in replies},
            api_names={fn.api_name for fn in replies if fn.api_name}, trusted=settings.trusted_proxies,
            on_refuse=app.metrics.refused.labels("rate limit").inc, loopback_secret=app.loopback_secret))
    return {
        "app_kwargs": {"middleware": middleware},
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"),
        "css": CSS,
        "head": HEAD,
        # No Settings: the page has a language switch of its own (language_ui.py), for the languages it has.
        "footer_links": ["api", "gradio"],
        "max_threads": settings.event_concurrency + THREAD_ROOM,
        # An MCP server at /gradio_api/mcp/ whose one tool is the public chat endpoint.
        "mcp_server": settings.mcp,
        # Nothing is uploaded (CLOSED_PATHS); should an upload ever reach Gradio, at most an imported conversation.
        "max_file_size": MAX_IMPORT_BYTES,
        # Gradio keeps no run history: conversations are kept by the page itself, in the browser (saved_ui).
        "run_history": False,
    }


# The demo's guests, for a roundtable with the demo (the Roundtable tab).
DEMO_GUESTS = (("alice", "Alice (demo)"), ("bob", "Bob (demo)"), ("carol", "Carol (demo)"))


def start_demo_instance() -> ServerThread:
    """The local Second Me for ``--demo``, on a free loopback port of this process, with a few guests."""
    guests = [LocalInstance(i, name=name, description="A demo guest for the Roundtable tab.", chunks_per_second=30)
              for i, name in DEMO_GUESTS]
    return ServerThread(create_app([LocalInstance("demo", chunks_per_second=30), *guests])).start()


def main(argv: Sequence[str] | None = None, demo: ChatBlocks | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python app.py", description="Second Me Chat, a Gradio web chat.")
    parser.add_argument("--demo", action="store_true",
                        help="chat with a local demo Second Me started in this process (no network needed)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the chat as an MCP tool at /gradio_api/mcp/ (as SECONDME_MCP=1 does)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"mcp": True} if args.mcp else {}
    if args.demo:
        instance = start_demo_instance()
        print(f"Local demo Second Me on {instance.url} (instance 'demo')", flush=True)
        overrides.update(base_url=instance.url, instance_id="demo", demo=True)
    if overrides or demo is None:
        demo = build_app(Settings.from_env(**overrides))
    _log_to_stdout()
    demo.launch(**launch_options(demo))


def _log_to_stdout() -> None:
    """The app's own log lines (one per reply; never message text or keys) on stdout, where a Space
    shows them. Only the ``secondme`` loggers: others (httpx's among them) would print URLs."""
    logger = logging.getLogger("secondme")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
