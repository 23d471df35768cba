"""The Gradio page: ``build_app(settings)`` lays out its parts and wires them. Each part is a module
of its own (chat_ui, settings_ui, directory_ui, saved_ui) that owns its components and events, all
addressed by name through one ``Page``; the handlers are the controller's. No HTTP here."""

from __future__ import annotations

import gc
import logging
import secrets
import sys
from collections.abc import Mapping
from typing import Any

import gradio as gr

from ..async_client import AsyncSecondMeClient
from ..engine.metrics import Metrics
from ..protocol import ENDPOINTS
from ..serving import BODY_TIMEOUT, HEADER_TIMEOUT, KEEP_ALIVE, deadline_protocol
from . import (
    chat_ui,
    code_ui,
    compare_ui,
    directory_ui,
    internals,
    language_ui,
    presets_ui,
    roundtable_ui,
    saved_ui,
    settings_ui,
)
from .checks import MAX_TOKENS_LIMIT
from .controller import ChatController
from .directory import Directory
from .i18n import page_i18n, t
from .page import Page
from .ratelimit import mark_own_mcp_calls
from .settings import Settings
from .settings_ui import DEFAULT_SYSTEM_PROMPT
from .visitors import Visitors

__all__ = ["build_app", "ChatBlocks", "DEFAULT_SYSTEM_PROMPT", "MAX_TOKENS_LIMIT"]

log = logging.getLogger("secondme.web")

DRAWER_WIDTH = 280  # px, each drawer (layout.css makes room for them side by side)
STATUS_UPDATE_SECONDS = 1.0  # how often those waiting in the queue are told their place
YOUNG_COLLECTION = 10_000  # gc's first threshold once the app serves (Python's default: 700)

class ChatBlocks(gr.Blocks):
    """The page's Blocks, with what its launch needs (``launch.launch_options``) and no message text
    in the server's log."""

    settings: Settings
    visitors: Visitors
    metrics: Metrics
    chat_page: Page
    i18n: gr.I18n
    # Marks the MCP server's own calls into the queue (ratelimit.LOOPBACK_HEADER): a secret of this process.
    loopback_secret: str
    # Seconds a client may take to send a request's headers, and then its body (serving.deadline_protocol).
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def reply_events(self) -> list[Any]:
        """The events that start a reply (each has one of the controller's validators); not the roundtable's,
        which counts all the replies it will make itself (roundtable_ui)."""
        return [fn for fn in self.fns.values() if fn.validator is not None
                and not getattr(fn.validator, "counts_its_replies", False)]

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        """Gradio's launch with the page's translations, three settings of its uvicorn server that Gradio does not
        expose (internals.uvicorn_options: whom to trust for ``X-Forwarded-For``, an idle connection kept
        ``KEEP_ALIVE`` seconds, a request's headers within ``header_timeout`` seconds and its body within
        ``body_timeout``), lazy sessions, and the MCP server's calls marked as its own."""
        internals.check_version()
        internals.skip_absent_matplotlib()  # a tenth of the CPU while replies stream
        internals.skip_disconnect_polls()  # 7% more while replies stream
        internals.cache_type_hints()  # a tenth of a reply's start
        internals.cache_signatures()  # 3% more
        internals.create_generators_inline()  # no thread hop to start a reply
        wait = not kwargs.get("prevent_thread_lock", False) and not bool(getattr(sys, "ps1", sys.flags.interactive))
        # login_check as a coroutine (no thread hop in every request), in place before the server serves.
        with internals.uvicorn_options(deadline_protocol(self.header_timeout, self.body_timeout), KEEP_ALIVE,
                                       prepare=internals.inline_login_check):
            # The page's words (i18n.py), however it is launched: without them it would show their keys.
            result = super().launch(*args, **{"i18n": self.i18n, **kwargs, "prevent_thread_lock": True})
        internals.lighten(self.state_holder)  # a new session no longer builds every component's config
        internals.forget_when_events_end(self)  # even one whose visitor left mid-reply
        mark_own_mcp_calls(self, self.loopback_secret)
        internals.skip_unused_analytics(self)  # launched with monitoring off (launch_options)
        if wait:
            # What the app made to start is kept for its life: the collector no longer walks it in each full
            # collection (a pause of 0.1-0.25 s every few seconds while many replies stream).
            gc.collect()
            gc.freeze()
            # A young collection every YOUNG_COLLECTION container objects made, not every 700: a hundred replies
            # starting at once made about a thousand collections (and a full one, 20-40 ms, every hundred
            # replies), of objects most of which would be freed a moment later anyway (benchmarks/README.md).
            gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
            self.block_thread()
        return result

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        internals.check_input_count(block_fn, inputs)  # Gradio's own prints every value it received

    async def process_api(self, block_fn: Any, inputs: list[Any], state: Any = None, *args: Any, **kwargs: Any) -> Any:
        # When this step is the event's last, the session forgets the values the event carried.
        fn = self.fns[block_fn] if isinstance(block_fn, int) else block_fn
        return await internals.forgetting_values(super().process_api(block_fn, inputs, state, *args, **kwargs), fn,
                                                 state)

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        internals.refuse_file_references(inputs)  # this page sends text only
        return await internals.quiet_validation(super().preprocess_data(block_fn, inputs, state, explicit_call))


def build_app(settings: Settings | None = None, *,
              clients: Mapping[str, AsyncSecondMeClient] | None = None) -> ChatBlocks:
    """The page and its public ``chat`` API. ``clients`` maps each endpoint to a client;
    by default both talk to ``settings.base_url``."""
    settings = settings or Settings.from_env()
    clients = clients or {
        endpoint: AsyncSecondMeClient(settings.base_url, endpoint=endpoint, timeout=settings.timeout)
        for endpoint in ENDPOINTS
    }
    if settings.lock_instance and not settings.instance_id:
        log.warning("SECONDME_LOCK_INSTANCE is set but SECONDME_INSTANCE_ID is empty; the field stays visible")
    visitors, metrics = Visitors(), Metrics()
    ctl = ChatController(settings, clients, visitors, metrics)
    page = Page(settings, ctl, Directory(clients["chat"].list_instances))

    with ChatBlocks(title=settings.title, fill_height=True) as demo:
        # The conversation is the page: a header with the Second Me it talks to, then the conversation and its
        # composer; the saved conversations in a drawer on the left, the settings in one on the right
        # (layout.css/layout.js: both open on a wide screen, closed behind the header's buttons on a phone).
        with gr.Row(equal_height=False, elem_id="header-row"):
            page.add("open_chats", gr.Button("☰", size="sm", scale=0, min_width=40, elem_id="open-chats",
                                             elem_classes=["drawer-button"]))
            gr.Markdown(t("header"), elem_id="header")
            language_ui.create(page)
            page.add("open_settings", gr.Button("⚙", size="sm", scale=0, min_width=40, elem_id="open-settings",
                                                elem_classes=["drawer-button"]))
        directory_ui.create_card(page)
        with gr.Sidebar(label=t("conversations"), position="left", open=True, width=DRAWER_WIDTH,
                        elem_id="chats-drawer"), gr.Column(elem_id="saved"):
            saved_ui.create(page)
            gr.Markdown(t("about"), elem_id="about")
        with gr.Column(elem_id="chat-column"), gr.Tabs(elem_id="modes") as modes:
            page.add("modes", modes)
            with gr.Tab(t("chat_tab"), elem_id="chat-tab"):
                chat_ui.create(page)
            with gr.Tab(t("compare_tab"), elem_id="compare-tab"):
                compare_ui.create(page)
            with gr.Tab(t("roundtable_tab"), id="roundtable", elem_id="roundtable-tab",
                        visible=roundtable_ui.available(page)):
                roundtable_ui.create(page)
        with gr.Sidebar(label=t("settings"), position="right", open=True, width=DRAWER_WIDTH,
                        elem_id="settings-drawer"), gr.Column(elem_id="settings"):
            settings_ui.create(page)
            code_ui.create(page)
        saved_ui.create_hidden(page)
        directory_ui.create_hidden(page)
        chat_ui.create_api(page)
        saved_ui.create_triggers(page)
        compare_ui.create_triggers(page)
        language_ui.create_trigger(page)
        chat_ui.create_api_trigger(page)
        chat = chat_ui.wire(page)
        settings_ui.wire(page, demo)
        presets_ui.wire(page, demo)
        code_ui.wire(page)
        compare_ui.wire(page, demo)
        roundtable_ui.wire(page, demo)
        directory_ui.wire(page, demo)
        saved_ui.wire(page, demo, chat)
        language_ui.wire(page, demo)

    # api_open=False: no queued event runs through run/ or api/, which skip the queue and a reply's checks.
    # status_update_rate: those waiting are told their place in the queue once a second. Gradio's "auto" tells
    # every waiting visitor each time an event starts: with a hundred sent at once, 5,000 messages, and each
    # visitor's reply queued behind its share of them.
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency, api_open=False,
               status_update_rate=STATUS_UPDATE_SECONDS)
    demo.settings, demo.visitors, demo.metrics, demo.chat_page = settings, visitors, metrics, page
    demo.loopback_secret = secrets.token_urlsafe(32)
    demo.i18n = page_i18n(settings)
    return demo
