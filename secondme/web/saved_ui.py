"""Saved conversations, in the visitor's browser and nowhere else; export and import.

Each conversation is one ``localStorage`` entry of its own (``secondme.chat.<id>``): a tab writes only the
conversation it has open, so two tabs never lose each other's conversations, and a tab's list follows
the others' through the ``storage`` event; a tab whose open conversation another tab changed saves its own
as a copy (``C.save``). A conversation is saved while a reply streams or waits, at most once a second
(``secondme.saved.live``), and when it ends, is stopped or fails, so a restart of the server loses none of it. All of
it runs in the browser (``static/saved.js``: ``window.secondmeChats`` and ``secondme.saved``, each event's script);
the server only checks an imported file's text.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any

import gradio as gr

from ..engine.conversation import assistant, message_text, notice, user
from ..engine.texts import DEFAULT, header_language, say
from ..engine.words import Problem
from ..protocol import validate_instance_id
from . import settings_ui
from .checks import instance_problem
from .i18n import t
from .page import ChatEvents, Page
from .scripts import call

__all__ = ["create", "create_hidden", "create_triggers", "wire", "MAX_SAVED_CHATS", "MAX_SAVED_CHARS",
           "read_import", "MAX_IMPORT_BYTES"]

MAX_SAVED_CHATS = 50
MAX_SAVED_CHARS = 2_000_000  # of all saved conversations together, as stored
MAX_IMPORT_BYTES = 2_000_000
TOO_LARGE = "\u0000too large: "  # what the browser sends instead of a file over MAX_IMPORT_BYTES
SETTINGS = ("system_prompt", "temperature", "max_tokens", "l0", "role_id", "endpoint")

# What a conversation is saved with, in this order (the scripts, static/saved.js, take them so).
RECORD = ("history", "chat_id", "chat_title", "instance_id", *SETTINGS)


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


def read_import(text: Any, checks: Any, lang: str = DEFAULT) -> str:
    """An exported conversation's text, checked as hostile, as the record the browser saves; or gr.Error,
    said in ``lang``. Only text messages with known roles are taken; nothing in the file names a server file
    or a base URL that is ever used. An empty text (the file picker was closed) imports nothing."""
    if text is None or text == "":
        return ""

    def refuse(key: str, **params: Any) -> gr.Error:
        return gr.Error(say(lang, key, **params), title=say(lang, "import.title"), print_exception=False)

    too_large = isinstance(text, str) and text.startswith(TOO_LARGE)
    if not isinstance(text, str) or too_large or len(text.encode("utf-8", "replace")) > MAX_IMPORT_BYTES:
        raise (refuse("import.too_large", most=MAX_IMPORT_BYTES) if too_large or isinstance(text, str)
               else refuse("import.not_a_file"))
    try:
        doc = json.loads(text)
    except ValueError:
        raise refuse("import.not_json") from None
    problem, record = _record(doc, checks, lang)
    if problem:
        raise refuse("import.refused", problem=problem)
    return json.dumps(record)


def _record(doc: Any, checks: Any, lang: str) -> tuple[Problem | None, dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        return Problem("import.no_messages"), {}
    messages = []
    for n, m in enumerate(doc["messages"], start=1):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") \
                or not isinstance(m.get("content"), str):
            return Problem("import.not_text", {"n": n}), {}
        title = m.get("title")
        if title is not None and (not isinstance(title, str) or m["role"] != "assistant"):
            return Problem("import.title_not_text", {"n": n}), {}
        messages.append(notice(title, m["content"]) if title else (user if m["role"] == "user" else assistant)(
            m["content"]))
    problem = checks.conversation(messages)
    if problem:
        return problem, {}
    instance_id = doc.get("instance_id") or ""
    if instance_id:
        if wrong := instance_problem(instance_id):
            return Problem("import.bad_instance", {"problem": wrong}), {}
        instance_id = validate_instance_id(instance_id)
    given = doc.get("settings")
    settings: dict[str, Any] = given if isinstance(given, dict) else {}
    values = {"system_prompt": settings.get("system_prompt", ""), "temperature": settings.get("temperature", 0.7),
              "max_tokens": settings.get("max_tokens", 2000), "l0": settings.get("l0", False),
              "role_id": settings.get("role_id", ""), "endpoint": settings.get("endpoint", "chat")}
    problems = [p.said(lang) for p in checks.settings({**values, "instance_id": instance_id or "x"}).values() if p]
    if problems:
        return Problem("import.bad_settings", {"problems": " ".join(problems)}), {}
    named = doc.get("title")
    title = " ".join(named.split())[:120] if isinstance(named, str) else ""
    title = title or (" ".join(message_text(messages[0]).split())[:48] if messages else "")
    return None, {"title": title or say(lang, "import.untitled"), "instance_id": instance_id, "settings": values,
                  "messages": messages, "imported_at": datetime.now(UTC).isoformat()}


def wire(page: Page, demo: Any, chat: ChatEvents) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    record = page.get(*RECORD)
    listing = [page["chats"], *record]  # what opening a conversation sets
    for step in chat.finished:  # a reply ended, was stopped or failed
        step.then(None, record, [page["chats"], page["chat_id"], page["chat_title"], page["note"]],
                  js=call("saved.save"), **js_only)
    # Clear starts a new conversation; the cleared one stays in the list.
    chat.cleared.then(None, None, [page["chat_id"], page["chat_title"]], js=call("saved.forgetCurrent"), **js_only)
    page["history"].change(None, record, [page["chats"], page["chat_id"], page["chat_title"], page["note"]],
                           js=call("saved.live"), **js_only)
    demo.load(None, [page["chats"], *record, page["message"]], [*listing, page["note"], page["message"]],
              js=call("saved.load"), **js_only)
    page["chats"].input(None, [page["chats"], *record], [*listing, page["note"]], js=call("saved.open"),
                        cancels=chat.running, **js_only)
    fresh = [page["chats"], page["history"], page["chat_id"], page["chat_title"], page["note"]]
    page["new_chat"].click(None, None, fresh, js=call("saved.newChat"), cancels=chat.running, **js_only)
    asked = [page["chat_id"], page["history"], page["chat_title"]]
    page["delete_chat"].click(None, asked, fresh, js=call("saved.remove"), cancels=chat.running, **js_only)
    page["delete_all"].click(None, asked, fresh, js=call("saved.removeAll"), cancels=chat.running, **js_only)
    page["chat_title"].submit(None, [page["chat_title"], page["chat_id"]],
                              [page["chats"], page["chat_title"], page["note"]], js=call("saved.rename"), **js_only)
    page["refresh_chats"].click(None, page["chat_id"], page["chats"], js=call("saved.refresh"), **js_only)
    page["export_md"].click(None, [page["history"], page["chat_title"], page["instance_id"]], None,
                            js=call("saved.exportMarkdown"), **js_only)
    page["export_json"].click(None, record, None, js=call("saved.exportJson"), **js_only)
    checks = page.ctl.checks
    def check_import(text: Any, request: gr.Request) -> tuple[str, str]:
        """The file's record, or a refusal said in the note, where an import's outcome is said (and nothing else),
        in the visitor's language."""
        lang = header_language(request.headers.get("cookie"), request.headers.get("accept-language"))
        try:
            return read_import(text, checks, lang), ""
        except gr.Error as exc:
            return "", say(lang, "import.note", reason=html.escape(str(exc.message)))

    page["import_file"].click(None, None, page["imported"], js=call("saved.pickFile"), **js_only).success(
        check_import, page["imported"], [page["imported"], page["note"]],
        api_visibility="undocumented", show_progress="hidden").success(
        None, [page["imported"], *record], [*listing, page["note"]], js=call("saved.importFile"), **js_only)
