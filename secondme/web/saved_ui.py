"""Saved conversations, in the visitor's browser and nowhere else; export and import.

Each conversation is one ``localStorage`` entry of its own (``secondme.chat.<id>``): a tab writes only the
conversation it has open, so two tabs never lose each other's conversations, and a tab's list follows
the others' through the ``storage`` event; a tab whose open conversation another tab changed saves its own
as a copy (``C.save``). A conversation is saved while a reply streams or waits, at most once a second
(``LIVE_JS``), and when it ends, is stopped or fails, so a restart of the server loses none of it. All of
it runs in the browser (``STORE_JS`` and the events' scripts); the server only checks an imported file's
text.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import gradio as gr

from .. import __version__
from ..errors import InvalidRequestError
from ..protocol import validate_instance_id
from . import settings_ui
from .conversation import assistant, message_text, notice, user
from .i18n import t
from .page import Page

__all__ = ["create", "create_hidden", "create_triggers", "wire", "STORE_JS", "MAX_SAVED_CHATS", "MAX_SAVED_CHARS",
           "read_import", "MAX_IMPORT_BYTES"]

MAX_SAVED_CHATS = 50
MAX_SAVED_CHARS = 2_000_000  # of all saved conversations together, as stored
MAX_IMPORT_BYTES = 2_000_000
TOO_LARGE = "\u0000too large: "  # what the browser sends instead of a file over MAX_IMPORT_BYTES
SETTINGS = ("system_prompt", "temperature", "max_tokens", "l0", "role_id", "endpoint")

# The browser's side: window.secondmeChats. Loaded once in the page's <head> (launch.py).
STORE_JS = """
(() => {
  const PREFIX = 'secondme.chat.', CURRENT = 'secondme.current', DRAFT = 'secondme.draft', MAX = {max},
    MAX_CHARS = {chars};
  // The page's storage, or null where the browser keeps nothing (a full one, with something in it, is there).
  const store = () => { try { const s = window.localStorage;
    try { s.setItem('secondme.probe', '1'); s.removeItem('secondme.probe'); } catch (e) { if (!s.length) return null; }
    return s; } catch (e) { return null; } };
  const C = {
    version: {version},
    all() {
      const s = store(); if (!s) return [];
      const found = [];
      for (let i = 0; i < s.length; i++) {
        const key = s.key(i);
        if (!key || !key.startsWith(PREFIX)) continue;
        try { const r = JSON.parse(s.getItem(key)); if (r && r.id) found.push(r); } catch (e) { /* skip */ }
      }
      return found.sort((a, b) => (b.updated || 0) - (a.updated || 0));
    },
    get(id) { const s = store(); if (!s || !id) return null;
      try { return JSON.parse(s.getItem(PREFIX + id)); } catch (e) { return null; } },
    radio(value) { return {__type__: 'update', choices: C.all().map(r => [
      (r.kind === 'compare' ? '⚖ ' : '') + (r.title || 'Untitled'), r.id]),
      value: value || null}; },
    newId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 8); },
    text(m) { return window.secondmeText.said(m); },
    titleOf(history) { const first = history.find(m => m?.role === 'user');
      const t = first ? C.text(first).trim().replace(/\\s+/g, ' ') : '';
      return t ? (t.length > 48 ? t.slice(0, 47) + '…' : t) : 'Untitled'; },
    current(id) { try { id ? sessionStorage.setItem(CURRENT, id) : sessionStorage.removeItem(CURRENT); }
      catch (e) { /* no session storage */ } },
    currentId() { try { return sessionStorage.getItem(CURRENT); } catch (e) { return null; } },
    // Markdown-safe text for the page's notes (a title is the visitor's own words).
    md(t) { const bs = String.fromCharCode(92), special = bs + '`*_{}[]()#+-.!<>&|~';
      return [...String(t ?? '')].map(c => (special.includes(c) ? bs + c : c)).join(''); },
    // Saves one conversation. Past the limits, or when the browser's storage is full, the oldest others go,
    // one at a time and only until it fits; if it still does not fit, they are all put back. Returns a note or ''.
    put(rec) {
      const s = store();
      C.saved = false;
      if (!s) return 'This browser does not let the page keep conversations (private mode?): this one is not saved.';
      const text = JSON.stringify(rec), others = C.all().filter(r => r.id !== rec.id);  // newest first
      const evicted = [];
      let count = others.length + 1;
      let chars = others.reduce((n, r) => n + (s.getItem(PREFIX + r.id) || '').length, text.length);
      const evict = () => {
        const r = others.pop(), raw = s.getItem(PREFIX + r.id) || '';
        s.removeItem(PREFIX + r.id); evicted.push([r, raw]); count--; chars -= raw.length;
      };
      while (others.length && (count > MAX || (chars > MAX_CHARS && text.length <= MAX_CHARS))) evict();
      for (;;) {
        try { s.setItem(PREFIX + rec.id, text); C.saved = true; break; }
        catch (e) {
          if (others.length) { evict(); continue; }
          for (const [r, raw] of evicted) { try { s.setItem(PREFIX + r.id, raw); } catch (e2) { /* as it was */ } }
          return "The browser's storage is full: this conversation is not saved, and no other was removed. "
            + 'Export it (⬇ JSON) to keep it, or delete conversations you no longer need.';
        }
      }
      if (!evicted.length) return '';
      const titles = evicted.map(([r]) => `“${C.md(r.title || 'Untitled')}”`).join(', ');
      return `Older conversations were removed to make room in this browser (it keeps the newest ${MAX}, `
        + `${MAX_CHARS.toLocaleString('en')} characters in all, as far as its storage allows): ${titles}.`;
    },
    seen: Object.create(null),  // id -> the rev of it this tab last opened or saved
    forked: Object.create(null),  // id -> the conversation this tab's turns went to instead (another tab changed it)
    // Saves this tab's conversation. When another tab saved it since this tab last opened or saved it, and
    // this tab's messages do not simply continue that version, this tab's is saved as a new conversation
    // instead: neither tab's turns are lost. Returns [record, note].
    save(history, id, title, instance, settings) {
      clearTimeout(C.timer); C.timer = null;
      id = id || C.currentId() || '';  // the box for the id may not have its first save's id yet
      id = C.forked[id] || id;
      if (id && C.get(id)?.kind === 'compare') id = '';  // a comparison is saved by the Compare tab alone
      const old = id ? C.get(id) : null, now = Date.now();
      const name = (title || '').trim() || old?.title || C.titleOf(history);
      const fork = old && id in C.seen && (old.rev || 0) !== C.seen[id] && !C.continues(history, old.messages || []);
      const rec = {id: fork || !id ? C.newId() : id, title: fork ? `${name} (copy)` : name, instance_id: instance ?? '',
        settings, messages: history, created: (!fork && old?.created) || now, updated: now,
        rev: fork ? 1 : (old?.rev || 0) + 1, app_version: C.version};
      let note = C.put(rec);
      if (C.saved) C.seen[rec.id] = rec.rev;
      if (fork) {
        C.forked[id] = rec.id;
        note = `Another tab changed “${C.md(name)}” meanwhile: this tab's conversation is saved as a new one, `
          + `“${C.md(rec.title)}”, and the other tab's stays as it was. ${note}`.trim();
      }
      C.current(rec.id);
      return [rec, note];
    },
    continues(history, older) {
      return older.length <= history.length && older.every((m, i) => JSON.stringify(m) === JSON.stringify(history[i]));
    },
    // While a reply streams (or waits), the conversation is saved at most once a second, and once more a second
    // after its last change: a restart of the server, a reload or a closed tab loses none of it.
    live(args) {
      const wait = (C.lastLive || 0) + 1000 - Date.now(), id = args[1];
      if (id && wait > 0) {
        clearTimeout(C.timer);
        C.timer = setTimeout(() => {
          C.timer = null;
          if (C.currentId() !== (C.forked[id] || id)) return;  // another conversation is open now
          C.lastLive = Date.now();
          C.liveNote = C.save(...args)[1] || C.liveNote;
        }, wait);
        return null;
      }
      C.lastLive = Date.now();
      const [rec, note] = C.save(...args);
      C.liveNote = note || C.liveNote;
      return rec;
    },
    // What was typed in the message box and not sent survives a reload of this tab (sessionStorage).
    draft() { try { const d = sessionStorage.getItem(DRAFT); sessionStorage.removeItem(DRAFT); return d; }
      catch (e) { return null; } },
    remove(id) { const s = store(); if (s && id) s.removeItem(PREFIX + id); },
    clear() { const s = store(); if (!s) return;
      Object.keys(s).filter(k => k.startsWith(PREFIX)).forEach(k => s.removeItem(k)); },
    download(name, type, text) {
      const url = URL.createObjectURL(new Blob([text], {type}));
      const a = Object.assign(document.createElement('a'), {href: url, download: name});
      document.body.appendChild(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  };
  window.secondmeChats = C;
  window.addEventListener('pagehide', () => {
    const text = document.querySelector('#message textarea')?.value;
    try { if (text?.trim()) sessionStorage.setItem(DRAFT, text); } catch (e) { /* no session storage */ }
  });
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key.startsWith(PREFIX)) document.querySelector('#refresh-chats')?.click();
  });
})();
""".replace("{max}", str(MAX_SAVED_CHATS)).replace("{chars}", str(MAX_SAVED_CHARS)).replace(
    "{version}", json.dumps(__version__))

# What a conversation is saved with, in this order (the scripts below take them so).
RECORD = ("history", "chat_id", "chat_title", "instance_id", *SETTINGS)
_SETTINGS_JS = "{system_prompt: system, temperature, max_tokens: maxTokens, l0, role_id: roleId, endpoint}"
_RECORD_PARAMS = "history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint"

SAVE_JS = f"""({_RECORD_PARAMS}) => {{
  const C = window.secondmeChats, live = C.liveNote || '';
  C.liveNote = '';
  if (!Array.isArray(history) || !history.length) return [C.radio(id), id, title, live];
  const [rec, note] = C.save(history, id, title, instance, {_SETTINGS_JS});
  return [C.radio(rec.id), rec.id, rec.title, [live, note].filter(Boolean).join(' ')];
}}"""
# Each change of the conversation while a reply streams or waits (C.live: at most once a second).
LIVE_JS = f"""({_RECORD_PARAMS}) => {{
  const C = window.secondmeChats, same = {{__type__: 'update'}};
  if (!document.querySelector('#composer')?.classList.contains('busy') || !Array.isArray(history) || !history.length) {{
    return [same, same, same, same];
  }}
  const rec = C.live([history, id, title, instance, {_SETTINGS_JS}]);
  return rec ? [C.radio(rec.id), rec.id, rec.title, C.liveNote || same] : [same, same, same, same];
}}"""

# Opens a saved conversation: its messages, its instance ID and its settings (missing ones stay as they are).
OPEN_JS = f"""(picked, {_RECORD_PARAMS}) => {{
  const C = window.secondmeChats, r = C.get(picked);
  if (!r) return [C.radio(id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint,
                  'That conversation is no longer saved in this browser.'];
  if (r.kind === 'compare') {{  // opened in the Compare tab (static/compare-saved.js); the chat stays as it is
    window.secondmeCompare.openRecord(r.id);
    return [C.radio(r.id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint, ''];
  }}
  const s = r.settings || {{}}, or = (v, d) => (v === undefined || v === null ? d : v);
  C.current(r.id); C.seen[r.id] = r.rev || 0;
  return [C.radio(r.id), window.secondmeText.guarded(r.messages), r.id, r.title || '', or(r.instance_id, instance),
          or(s.system_prompt, system), or(s.temperature, temperature), or(s.max_tokens, maxTokens), or(s.l0, l0),
          or(s.role_id, roleId), or(s.endpoint, endpoint), ''];
}}"""

# On load: this tab's open conversation again (a reload keeps it), and the list.
RESTORE_JS = OPEN_JS.replace("(picked, ", "(_, ", 1).replace(
    "const C = window.secondmeChats, r = C.get(picked);",
    "const C = window.secondmeChats, r = C.get(C.currentId());").replace(
    "'That conversation is no longer saved in this browser.'", "''")

# On load, also what was typed in this tab and not sent before it reloaded (C.draft), else a link's message
# (settings_ui.LINK_MESSAGE_JS): one step, so that neither overwrites the other.
LOAD_JS = f"""(_, {_RECORD_PARAMS}, message) => {{
  const out = ({RESTORE_JS})(_, {_RECORD_PARAMS}), draft = window.secondmeChats.draft();
  return [...out, ({settings_ui.LINK_MESSAGE_JS})(draft && !String(message ?? '').trim() ? draft : message)];
}}"""

NEW_JS = """() => { const C = window.secondmeChats; C.current(null); return [C.radio(null), [], '', '', '']; }"""
RENAME_JS = """(title, id) => {
  const C = window.secondmeChats, r = C.get(id), t = String(title ?? '').trim();
  if (!r || !t) return [C.radio(id), r?.title ?? title, ''];
  r.title = t.slice(0, 120); r.updated = Date.now();
  const note = C.put(r);
  return [C.radio(id), r.title, note];
}"""
DELETE_JS = """(id, history, title, picked) => {
  const C = window.secondmeChats, r = picked && picked !== id ? C.get(picked) : null;
  if (r?.kind === 'compare') {  // the comparison picked in the list, not the chat
    if (!confirm('Delete this comparison from this browser?')) return [C.radio(picked), history, id, title, ''];
    C.remove(r.id); window.secondmeCompare.deleted(r.id);
    return [C.radio(id || null), history, id, title, 'Comparison deleted.'];
  }
  if (!id || !confirm('Delete this conversation from this browser?')) return [C.radio(id), history, id, title, ''];
  C.remove(id); C.current(null);
  return [C.radio(null), [], '', '', 'Conversation deleted.'];
}"""
DELETE_ALL_JS = """(id, history, title) => {
  const C = window.secondmeChats;
  if (!confirm('Delete all conversations saved in this browser?')) return [C.radio(id), history, id, title, ''];
  C.clear(); C.current(null); window.secondmeCompare.forget();
  return [C.radio(null), [], '', '', 'All saved conversations were deleted from this browser.'];
}"""
REFRESH_JS = "(id) => window.secondmeChats.radio(id)"
FORGET_CURRENT_JS = """() => { window.secondmeChats.current(null); return ['', '']; }"""

EXPORT_MD_JS = """(history, title, instance, picked) => {
  const C = window.secondmeChats, lines = [`# ${title || C.titleOf(history || [])}`, ''];
  const r = picked ? C.get(picked) : null;
  if (r?.kind === 'compare') return window.secondmeCompare.exportMd(r);  // both sides
  if (instance) lines.push(`With the Second Me \\`${instance}\\`, exported ${new Date().toISOString()}.`, '');
  for (const m of history || []) {
    const who = m.role === 'user' ? 'You' : 'Second Me';
    const heading = window.secondmeText.written(m.metadata?.title);
    lines.push(heading ? `> **${heading}:** ${C.text(m)}` : `**${who}:**\\n\\n${C.text(m)}`, '');
  }
  C.download(`${(title || 'conversation').replace(/[^\\w.-]+/g, '_').slice(0, 60)}.md`, 'text/markdown',
             lines.join('\\n'));
}"""
EXPORT_JSON_JS = f"""({_RECORD_PARAMS}, picked) => {{
  const C = window.secondmeChats, old = id ? C.get(id) : null, r = picked ? C.get(picked) : null;
  if (r?.kind === 'compare') return window.secondmeCompare.exportJson(r);  // both sides
  const doc = {{app: 'secondme-chat', app_version: C.version, exported_at: new Date().toISOString(),
    title: title || C.titleOf(history || []), instance_id: instance ?? '', settings: {_SETTINGS_JS},
    created: old?.created ? new Date(old.created).toISOString() : null,
    updated: old?.updated ? new Date(old.updated).toISOString() : null,
    messages: (history || []).map(m => m.metadata?.title
      ? {{role: m.role, title: window.secondmeText.written(m.metadata.title), content: C.text(m)}}
      : {{role: m.role, content: C.text(m)}})}};
  C.download(`${{(doc.title).replace(/[^\\w.-]+/g, '_').slice(0, 60)}}.json`, 'application/json',
             JSON.stringify(doc, null, 2));
}}"""
# Asks the visitor for a file and hands its text to the server's check (read_import) through a hidden box.
PICK_JS = """() => new Promise((resolve) => {
  const input = Object.assign(document.createElement('input'), {type: 'file', accept: '.json,application/json'});
  input.addEventListener('cancel', () => resolve(''));
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return resolve('');
    if (file.size > MAX) return resolve(TOO_LARGE + file.size);
    file.text().then(resolve, () => resolve(''));
  });
  input.click();
})""".replace("MAX", str(MAX_IMPORT_BYTES)).replace("TOO_LARGE", json.dumps(TOO_LARGE))
IMPORT_JS = f"""(imported, {_RECORD_PARAMS}) => {{
  const C = window.secondmeChats;
  let r; try {{ r = JSON.parse(imported || 'null'); }} catch (e) {{ r = null; }}
  if (!r) return [C.radio(id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint,
                  {{__type__: 'update'}}];  // nothing imported: the note keeps what the check said
  // A copy beside its original (or beside an earlier import) is told apart by its title.
  const titles = new Set(C.all().map(x => x.title));
  for (let n = 1, base = r.title; titles.has(r.title); n++) r.title = `${{base}} (imported${{n > 1 ? ' ' + n : ''}})`;
  r.id = C.newId(); r.created = r.updated = Date.now(); r.app_version = C.version;
  r.rev = 1;
  if (r.kind === 'compare') {{  // opened in the Compare tab; the chat stays as it is
    const note = C.put(r);
    if (C.saved) window.secondmeCompare.openRecord(r.id);
    return [C.radio(r.id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint,
            note || `Imported “${{window.secondmeText.literal(r.title)}}” as a new comparison.`];
  }}
  const note = C.put(r); C.current(r.id);
  if (C.saved) C.seen[r.id] = r.rev;
  const s = r.settings;
  return [C.radio(r.id), r.messages, r.id, r.title, r.instance_id, s.system_prompt, s.temperature, s.max_tokens,
          s.l0, s.role_id, s.endpoint, note
          || `Imported “${{window.secondmeText.literal(r.title)}}” as a new conversation.`];
}}"""


def create(page: Page) -> None:
    page.add("chats", gr.Radio(label=t("conversations"), choices=[], value=None, elem_id="chats",
                               info=t("conversations_info")))
    page.add("chat_title", gr.Textbox(label=t("title"), max_lines=1, placeholder=t("title_placeholder"),
                                      elem_id="chat-title"))
    with gr.Row(elem_id="chat-actions"):
        page.add("new_chat", gr.Button(t("new_chat"), size="sm", elem_id="new-chat", variant="primary",
                                            min_width=60))
        page.add("delete_chat", gr.Button(t("delete"), size="sm", elem_id="delete-chat", min_width=60))
        page.add("delete_all", gr.Button(t("delete_all"), size="sm", elem_id="delete-all", min_width=60))
    with gr.Row(elem_id="export-row"):
        page.add("export_md", gr.Button("⬇ Markdown", size="sm", elem_id="export-md", min_width=60))
        page.add("export_json", gr.Button("⬇ JSON", size="sm", elem_id="export-json", min_width=60))
        page.add("import_file", gr.Button(t("import"), size="sm", elem_id="import-json", min_width=60))
        settings_ui.create_copy_link(page)
    page.add("note", gr.Markdown("", elem_id="note"))  # what the page has to say: saved, imported, copied


def create_hidden(page: Page) -> None:
    """Values the browser's scripts pass around. ui.py places every hidden part together: each run of
    fields is one more block that every new session pays for."""
    page.add("chat_id", gr.Textbox(visible=False, elem_id="chat-id"))
    page.add("imported", gr.Textbox(visible=False))  # the file's text, then the checked conversation


def create_triggers(page: Page) -> None:
    page.add("refresh_chats", gr.Button("refresh", elem_id="refresh-chats", elem_classes=["hidden-trigger"]))


def read_import(text: Any, checks: Any) -> str:
    """An exported conversation's text, checked as hostile, as the record the browser saves; or gr.Error.
    Only text messages with known roles are taken; nothing in the file names a server file or a base URL
    that is ever used. An empty text (the file picker was closed) imports nothing."""
    if text is None or text == "":
        return ""
    too_large = isinstance(text, str) and text.startswith(TOO_LARGE)
    if not isinstance(text, str) or too_large or len(text.encode("utf-8", "replace")) > MAX_IMPORT_BYTES:
        raise gr.Error(f"That file is too large to import (at most {MAX_IMPORT_BYTES:,} bytes)." if too_large
                       or isinstance(text, str) else "Choose a conversation file exported from this page (.json).",
                       title="Not imported", print_exception=False)
    try:
        doc = json.loads(text)
    except ValueError:
        raise gr.Error("That file is not a conversation exported from this page (it is not JSON).",
                       title="Not imported", print_exception=False) from None
    problem, record = _record(doc, checks)
    if problem:
        raise gr.Error(f"That file could not be imported: {problem}", title="Not imported", print_exception=False)
    return json.dumps(record)


def _messages(given: Any, checks: Any) -> tuple[str, list[Any]]:
    """A file's list of messages as the page holds them, or the problem with it."""
    if not isinstance(given, list):
        return "it has no list of messages.", []
    messages = []
    for n, m in enumerate(given, start=1):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") \
                or not isinstance(m.get("content"), str):
            return f"message {n} is not a text message from 'user' or 'assistant'.", []
        title = m.get("title")
        if title is not None and (not isinstance(title, str) or m["role"] != "assistant"):
            return f"message {n} has a title that is not text.", []
        messages.append(notice(title, m["content"]) if title else (user if m["role"] == "user" else assistant)(
            m["content"]))
    return checks.conversation(messages), messages


def _instance(doc: dict[str, Any]) -> tuple[str, str]:
    instance_id = doc.get("instance_id") or ""
    if instance_id:
        try:
            instance_id = validate_instance_id(instance_id)
        except InvalidRequestError as exc:
            return f"its instance ID is not valid: {exc}", ""
    return "", instance_id


def _title(doc: dict[str, Any], messages: list[Any], default: str) -> str:
    named = doc.get("title")
    title = " ".join(named.split())[:120] if isinstance(named, str) else ""
    title = title or (" ".join(message_text(messages[0]).split())[:48] if messages else "")
    return title or default


def _record(doc: Any, checks: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(doc, dict) and doc.get("kind") == "compare":
        return _compare_record(doc, checks)
    if isinstance(doc, dict) and doc.get("kind") not in (None, "chat"):
        return "it is not a conversation or a comparison this page knows.", {}
    if not isinstance(doc, dict):
        return "it has no list of messages.", {}
    problem, messages = _messages(doc.get("messages"), checks)
    if problem:
        return problem, {}
    problem, instance_id = _instance(doc)
    if problem:
        return problem, {}
    given = doc.get("settings")
    settings: dict[str, Any] = given if isinstance(given, dict) else {}
    values = {"system_prompt": settings.get("system_prompt", ""), "temperature": settings.get("temperature", 0.7),
              "max_tokens": settings.get("max_tokens", 2000), "l0": settings.get("l0", False),
              "role_id": settings.get("role_id", ""), "endpoint": settings.get("endpoint", "chat")}
    problems = [p for p in checks.settings({**values, "instance_id": instance_id or "x"}).values() if p]
    if problems:
        return f"its settings are not valid: {' '.join(problems)}", {}
    return "", {"title": _title(doc, messages, "Imported conversation"), "instance_id": instance_id,
                "settings": values, "messages": messages, "imported_at": datetime.now(UTC).isoformat()}


def _compare_record(doc: dict[str, Any], checks: Any) -> tuple[str, dict[str, Any]]:
    """A comparison (compare_ui): two sides, each with its instance ID, the settings it sets apart from the
    main ones (absent or null: as the main settings) and its messages."""
    given = doc.get("sides")
    if not isinstance(given, list) or len(given) != 2 or not all(isinstance(side, dict) for side in given):
        return "a comparison must have two sides.", {}
    sides, everything = [], []
    for where, side in zip(("left", "right"), given, strict=True):
        problem, messages = _messages(side.get("messages"), checks)
        problem = problem or _instance(side)[0]
        if problem:
            return f"its {where} side: {problem}", {}
        own = side.get("settings")
        own = own if isinstance(own, dict) else {}
        values = {"system_prompt": own.get("system_prompt") or "", "temperature": own.get("temperature"),
                  "max_tokens": own.get("max_tokens")}
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int | float))
               for v in (values["temperature"], values["max_tokens"])):
            return f"its {where} side's temperature and max tokens must be numbers or absent.", {}
        problems = [p for p in checks.settings({"instance_id": "x", "system_prompt": values["system_prompt"],
                                                "temperature": 0.7 if values["temperature"] is None
                                                else values["temperature"],
                                                "max_tokens": 2000 if values["max_tokens"] is None
                                                else values["max_tokens"]}).values() if p]
        if problems:
            return f"its {where} side's settings are not valid: {' '.join(problems)}", {}
        sides.append({"instance_id": _instance(side)[1], "settings": values, "messages": messages})
        everything += messages
    return "", {"kind": "compare", "title": _title(doc, everything, "Imported comparison"), "sides": sides,
                "imported_at": datetime.now(UTC).isoformat()}


def wire(page: Page, demo: Any) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    record = page.get(*RECORD)
    listing = [page["chats"], *record]  # what opening a conversation sets
    for step in page.finished:  # a reply ended, was stopped or failed
        step.then(None, record, [page["chats"], page["chat_id"], page["chat_title"], page["note"]],
                  js=SAVE_JS, **js_only)
    if page.cleared is not None:  # Clear starts a new conversation; the cleared one stays in the list
        page.cleared.then(None, None, [page["chat_id"], page["chat_title"]], js=FORGET_CURRENT_JS, **js_only)
    page["history"].change(None, record, [page["chats"], page["chat_id"], page["chat_title"], page["note"]],
                           js=LIVE_JS, **js_only)
    demo.load(None, [page["chats"], *record, page["message"]], [*listing, page["note"], page["message"]],
              js=LOAD_JS, **js_only)
    page["chats"].input(None, [page["chats"], *record], [*listing, page["note"]], js=OPEN_JS,
                        cancels=page.running, **js_only)
    fresh = [page["chats"], page["history"], page["chat_id"], page["chat_title"], page["note"]]
    page["new_chat"].click(None, None, fresh, js=NEW_JS, cancels=page.running, **js_only)
    asked = [page["chat_id"], page["history"], page["chat_title"], page["chats"]]
    page["delete_chat"].click(None, asked, fresh, js=DELETE_JS, cancels=page.running, **js_only)
    page["delete_all"].click(None, asked, fresh, js=DELETE_ALL_JS, cancels=page.running, **js_only)
    page["chat_title"].submit(None, [page["chat_title"], page["chat_id"]],
                              [page["chats"], page["chat_title"], page["note"]], js=RENAME_JS, **js_only)
    page["refresh_chats"].click(None, page["chat_id"], page["chats"], js=REFRESH_JS, **js_only)
    page["export_md"].click(None, [page["history"], page["chat_title"], page["instance_id"], page["chats"]], None,
                            js=EXPORT_MD_JS, **js_only)
    page["export_json"].click(None, [*record, page["chats"]], None, js=EXPORT_JSON_JS, **js_only)
    checks = page.ctl.checks
    def check_import(text: Any) -> tuple[str, str]:
        """The file's record, or a refusal said in the note, where an import's outcome is said (and nothing else)."""
        try:
            return read_import(text, checks), ""
        except gr.Error as exc:
            return "", f"**Not imported.** {html.escape(str(exc.message))}"

    page["import_file"].click(None, None, page["imported"], js=PICK_JS, **js_only).success(
        check_import, page["imported"], [page["imported"], page["note"]],
        api_visibility="undocumented", show_progress="hidden").success(
        None, [page["imported"], *record], [*listing, page["note"]], js=IMPORT_JS, **js_only)
