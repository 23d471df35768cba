"""Finding a Second Me: Browse lists the public directory (online ones first, filtered as you type) and
a quiet status under Instance ID says whether that one is online. Both read the one cached copy of the
directory (directory.py); nothing here ever sends a chat request to find out."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from ..engine.conversation import markdown_literal
from ..engine.texts import say
from .controller import request_language
from .directory import Listing
from .i18n import t
from .page import Page
from .scripts import call
from .share_link import instance_from_link

__all__ = ["create_status", "create_hidden", "create_browse", "wire", "status_text", "browse_update", "locked_text"]


def create_status(page: Page) -> None:
    # A block of its own, not the field's info line: a server event whose output is the field would
    # replace the field's loading status when it finishes, and with it an inline validation message.
    page.add("instance_status", gr.Markdown("", elem_id="instance-status"))


def create_hidden(page: Page) -> None:
    page.add("linked", gr.Textbox(visible=False))  # the instance a share link asks for, once checked


def create_browse(page: Page) -> None:
    if page.locked:
        page.add("locked_note", gr.Markdown(f"You are talking to **{html.escape(page.settings.instance_id)}**.",
                                            elem_id="locked-note"))
        return
    page.add("browse", gr.Dropdown(label=t("browse"), choices=[], value=None, filterable=True,
                                   allow_custom_value=False, elem_id="browse",
                                   info=t("browse_info")))


def status_text(listing: Listing, instance_id: Any, lang: str = "en") -> str:
    wanted = instance_id.strip() if isinstance(instance_id, str) else ""
    if not wanted:
        return ""
    if listing.problem:
        return say(lang, "directory.unknown")
    found = listing.find(wanted)
    if found is None:
        return say(lang, "directory.absent")
    name = markdown_literal(found.name)  # a directory entry is anyone's text: shown as text, never as markup
    return say(lang, "directory.online" if found.online else "directory.offline", name=name)


def browse_update(listing: Listing, lang: str = "en") -> dict[str, Any]:
    if listing.problem:
        problem = say(lang, "directory.problem", problem=listing.reason) if listing.reason else listing.problem
        problem = problem.replace("](", "]\u200b(")  # the field's info line makes a link of [text](url) alone
        return gr.update(choices=[], info=problem)
    online = sum(i.online for i in listing.instances)
    choices = [(f"{'●' if i.online else '○'} {i.name}" + (f" — {i.description[:80]}" if i.description else ""),
                i.instance_id) for i in listing.instances]
    return gr.update(choices=choices, info=say(lang, "directory.count", n=len(choices), online=online))


def locked_text(listing: Listing, instance_id: str, lang: str = "en") -> str:
    found = listing.find(instance_id)
    who = markdown_literal(found.name if found else instance_id)
    state = "" if found is None else say(lang, "locked.online" if found.online else "locked.offline")
    return say(lang, "locked.talking", who=who, state=state)


def wire(page: Page, demo: Any) -> None:
    directory, instance = page.directory, page["instance_id"]
    hidden: dict[str, Any] = {"api_visibility": "undocumented", "show_progress": "hidden"}

    if page.locked:
        async def on_load_locked(request: gr.Request) -> str:
            return locked_text(await directory.listing(), page.settings.instance_id, request_language(request))

        demo.load(on_load_locked, None, page["locked_note"], **hidden)
        page["language_changed"].click(on_load_locked, None, page["locked_note"], queue=False, **hidden)
        return

    async def on_load(request: gr.Request) -> tuple[str, Any, dict[str, Any]]:
        lang = request_language(request)
        linked, note = instance_from_link(request.query_params if request else None, page.locked, lang)
        listing = await directory.listing()
        return linked or "", (note or gr.skip()), browse_update(listing, lang)

    async def on_instance(instance_id: Any, request: gr.Request) -> str:
        return status_text(await directory.listing(), instance_id, request_language(request))

    # The field is filled in the browser, never as a server event's output (see create_status); the status
    # is then read for whatever it holds (a link's instance, or the restored conversation's).
    demo.load(on_load, None, [page["linked"], page["note"], page["browse"]], **hidden).then(
        None, [page["linked"], instance], instance, js="(linked, current) => linked || current", queue=False,
        api_visibility="undocumented").then(on_instance, instance, page["instance_status"], queue=False, **hidden)
    instance.change(on_instance, instance, page["instance_status"], queue=False, **hidden)

    async def on_language(instance_id: Any, request: gr.Request) -> tuple[str, dict[str, Any]]:
        listing, lang = await directory.listing(), request_language(request)
        return status_text(listing, instance_id, lang), browse_update(listing, lang)

    # The page's language changed (language_ui.py): the status and the directory's count, in the new one.
    page["language_changed"].click(on_language, instance, [page["instance_status"], page["browse"]], queue=False,
                                   **hidden)
    # A pick fills the field, and Browse empties again, ready for the next pick (even of the same one). Only a
    # pick: Browse's "input" also fires whenever it loses the focus (Tab passing through, a click elsewhere), with
    # whatever it holds, and must not overwrite an ID the visitor typed; "change" fires for a pick by mouse or by
    # keyboard, and for the emptying, which leaves the field as it is.
    page["browse"].change(None, page["browse"], [instance, page["browse"]],
                          js=call("directory.pick"), queue=False,
                          api_visibility="undocumented")
