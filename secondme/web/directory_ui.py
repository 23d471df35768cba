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

__all__ = ["create_status", "create_hidden", "create_browse", "create_card", "wire", "status_text", "browse_update",
           "locked_text", "card_html", "placeholder_key"]


def create_status(page: Page) -> None:
    # A block of its own, not the field's info line: a server event whose output is the field would
    # replace the field's loading status when it finishes, and with it an inline validation message.
    page.add("instance_status", gr.Markdown("", elem_id="instance-status"))


def create_card(page: Page) -> None:
    """The Second Me the page talks to, at the head of the conversation: its name, description and whether it is
    online, as the directory says (filled in on load and whenever the Instance ID changes)."""
    page.add("card", gr.HTML(card_html(None, page.settings.instance_id), elem_id="assistant-card",
                             padding=False))


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


def card_html(listing: Listing | None, instance_id: Any, lang: str = "en", *, demo: bool = False,
              locked: bool = False) -> str:
    """The header card for ``instance_id`` (``listing`` None: not read yet). A directory entry is anyone's text:
    everything in it is escaped. ``data-state`` (online, offline, absent, unknown, none) styles the dot."""
    wanted = instance_id.strip() if isinstance(instance_id, str) else ""
    if not wanted:
        browse = "" if locked else (f'<button type="button" class="browse-start">'
                                    f'{html.escape(say(lang, "card.browse"))}</button>')
        return (f'<div class="card" data-state="none"><div class="who"><div class="name">'
                f'{html.escape(say(lang, "card.none"))}</div><div class="about">'
                f'{html.escape(say(lang, "card.none_about"))}</div></div>{browse}</div>')
    found = listing.find(wanted) if listing is not None and not listing.problem else None
    if listing is None:
        state = "loading"
    elif listing.problem:
        state = "unknown"
    elif found is None:
        state = "absent"
    else:
        state = "online" if found.online else "offline"
    name = found.name if found and found.name.strip() else wanted
    about = found.description if found else ""
    status = "" if state == "loading" else (
        f'<span class="status"><span class="dot" aria-hidden="true"></span>{html.escape(say(lang, "card." + state))}'
        '</span>')
    about_html = f'<div class="about">{html.escape(about[:300])}</div>' if about.strip() else ""
    initial = html.escape(name.strip()[:1].upper() or "?")
    return (f'<div class="card" data-state="{state}"{" data-demo" if demo else ""}>'
            f'<span class="avatar" aria-hidden="true">{initial}</span><div class="who"><div class="name">'
            f'<span class="title">{html.escape(name[:120])}</span>{status}</div>{about_html}</div></div>')


def placeholder_key(instance_id: Any, demo: bool) -> str:
    """Which empty conversation the page shows: the guide to choosing a Second Me, the demo's own first
    messages, or ones any Second Me can answer (i18n)."""
    wanted = instance_id.strip() if isinstance(instance_id, str) else ""
    return "placeholder_none" if not wanted else "placeholder_demo" if demo else "placeholder"


def locked_text(listing: Listing, instance_id: str, lang: str = "en") -> str:
    found = listing.find(instance_id)
    who = markdown_literal(found.name if found else instance_id)
    state = "" if found is None else say(lang, "locked.online" if found.online else "locked.offline")
    return say(lang, "locked.talking", who=who, state=state)


def wire(page: Page, demo: Any) -> None:
    directory, instance, settings = page.directory, page["instance_id"], page.settings
    hidden: dict[str, Any] = {"api_visibility": "undocumented", "show_progress": "hidden"}
    history = page["history"]

    def is_demo(instance_id: Any) -> bool:
        return settings.demo and isinstance(instance_id, str) and instance_id.strip() == "demo"

    def empty_conversation(instance_id: Any) -> dict[str, Any]:
        return gr.update(placeholder=t(placeholder_key(instance_id, is_demo(instance_id))))

    if page.locked:
        async def on_load_locked(request: gr.Request) -> tuple[str, str, dict[str, Any]]:
            listing, lang = await directory.listing(), request_language(request)
            return (locked_text(listing, settings.instance_id, lang),
                    card_html(listing, settings.instance_id, lang, demo=is_demo(settings.instance_id), locked=True),
                    empty_conversation(settings.instance_id))

        outputs = [page["locked_note"], page["card"], history]
        demo.load(on_load_locked, None, outputs, **hidden)
        page["language_changed"].click(on_load_locked, None, outputs, queue=False, **hidden)
        return

    async def on_load(request: gr.Request) -> tuple[str, Any, dict[str, Any]]:
        lang = request_language(request)
        linked, note = instance_from_link(request.query_params if request else None, page.locked, lang)
        listing = await directory.listing()
        return linked or "", (note or gr.skip()), browse_update(listing, lang)

    async def on_instance(instance_id: Any, request: gr.Request) -> tuple[str, str, dict[str, Any]]:
        listing, lang = await directory.listing(), request_language(request)
        return (status_text(listing, instance_id, lang), card_html(listing, instance_id, lang,
                                                                   demo=is_demo(instance_id)),
                empty_conversation(instance_id))

    described = [page["instance_status"], page["card"], history]  # what the Instance ID decides
    # The field is filled in the browser, never as a server event's output (see create_status); the status
    # is then read for whatever it holds (a link's instance, or the restored conversation's).
    demo.load(on_load, None, [page["linked"], page["note"], page["browse"]], **hidden).then(
        None, [page["linked"], instance], instance, js="(linked, current) => linked || current", queue=False,
        api_visibility="undocumented").then(on_instance, instance, described, queue=False, **hidden)
    instance.change(on_instance, instance, described, queue=False, **hidden)

    async def on_language(instance_id: Any, request: gr.Request) -> tuple[str, str, dict[str, Any]]:
        listing, lang = await directory.listing(), request_language(request)
        return (status_text(listing, instance_id, lang), card_html(listing, instance_id, lang,
                                                                   demo=is_demo(instance_id)),
                browse_update(listing, lang))

    # The page's language changed (language_ui.py): the status, the card and the directory's count, in the new one.
    page["language_changed"].click(on_language, instance, [page["instance_status"], page["card"], page["browse"]],
                                   queue=False, **hidden)
    # A pick fills the field, and Browse empties again, ready for the next pick (even of the same one). Only a
    # pick: Browse's "input" also fires whenever it loses the focus (Tab passing through, a click elsewhere), with
    # whatever it holds, and must not overwrite an ID the visitor typed; "change" fires for a pick by mouse or by
    # keyboard, and for the emptying, which leaves the field as it is.
    page["browse"].change(None, page["browse"], [instance, page["browse"]],
                          js=call("directory.pick"), queue=False,
                          api_visibility="undocumented")
