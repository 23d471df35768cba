"""What the page changes in Gradio's internals, all in this one package, for the Gradio version pinned in
requirements.txt (``GRADIO_VERSION``; ``check_version`` says so at launch when another is installed). The
rest of the page uses Gradio's public API (``gr.*``) alone; tests/test_structure.py holds it to that.

- Lazy sessions (``LazySessionState``, ``lighten``): Gradio builds the config of every component of the page each
  time a session starts (``SessionState.config_values``, kept for its deep links), about 0.2 ms a component. With
  the page's ~90 components that was 14 ms of one core per new visitor, most of a reply's fixed cost; here a
  session builds a component's config only when something asks for it (an event's input or output, or a deep
  link, which then gets every one). A session also keeps none of the values its events received or gave once
  the event has ended (``forgetting_values``). Gradio keeps them in the session for deep links alone (which this
  page does not offer), so each conversation sent stayed on the server after its event ended, in each of up to
  10,000 sessions that anyone can make (a 190,000-character conversation kept about 240 KiB a session; in
  emoji, 1.7 MiB). The browser holds the conversation and sends it with each event: the server needs no copy.
  tests/test_sessions.py checks that a session made here gives what Gradio's own gives, but the values.
- The events' inputs (``check_input_count``, ``refuse_file_references``, ``quiet_validation``): no message
  text in the log, no file fetched on a message's say-so.
- The server Gradio starts (``uvicorn_options``): its HTTP protocol, its keep-alive, and whom it trusts for
  ``X-Forwarded-For``.
- The MCP server's own calls (``mark_mcp_calls``), the event a queue body names (``fn_index_of``, ``event_id``),
  what an event carried (``event_data``), and the page's translated words (``translated``).
- What Gradio does per event or per request that the page does not need (``costs.py``, for speed): a search
  for an absent matplotlib, a disconnect poll per message, the monitoring summary rebuilt after each event,
  a function's type hints and signature evaluated again at each call, ``login_check`` in a worker thread per
  request, and a worker thread to create each reply's generator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from copy import copy
from typing import Any

import gradio as gr
import pydantic
from gradio import http_server
from gradio.data_classes import PredictBody
from gradio.i18n import I18nData
from gradio.route_utils import API_PREFIX
from gradio.state_holder import SessionState, StateHolder
from gradio_client.utils import is_file_obj_with_meta

__all__ = ["GRADIO_VERSION", "check_version", "skip_absent_matplotlib", "not_an_mcp_tool", "LazySessionState",
           "LazyStateHolder", "lighten", "check_input_count", "forgetting_values", "forget_when_events_end",
           "refuse_file_references", "quiet_validation", "uvicorn_options", "mark_mcp_calls", "fn_index_of",
           "translated", "event_data", "event_id", "events_of", "skip_disconnect_polls", "skip_unused_analytics",
           "cache_type_hints", "cache_signatures", "inline_login_check", "create_generators_inline", "JOIN_PATH",
           "CANCEL_PATH"]

# Gradio's routes for joining its queue and for cancelling an event, below the app's root path.
JOIN_PATH = API_PREFIX + "/queue/join"
CANCEL_PATH = API_PREFIX + "/cancel"

GRADIO_VERSION = "6.31.0"
log = logging.getLogger("secondme.web")


def check_version() -> None:
    if gr.__version__ != GRADIO_VERSION:
        log.warning("Gradio %s is installed; the page's changes to Gradio's internals were made for %s",
                    gr.__version__, GRADIO_VERSION)


def not_an_mcp_tool(fn: Any) -> Any:
    """``fn``, marked so that Gradio's MCP server does not offer it as a tool (``gradio/mcp.py`` lists as tools
    only the public endpoints whose function has no ``_mcp_type`` or the type ``"tool"``), though it stays a
    public endpoint of the API."""
    fn._mcp_type = "none"
    return fn


# -- lazy sessions ----------------------------------------------------------------------------------

class LazySessionState(SessionState):
    """Gradio's SessionState, with each component's config built on first use instead of all at once."""

    def __init__(self, blocks: Any) -> None:  # SessionState.__init__, but for config_values
        self.blocks_config = copy(blocks.default_config)
        self.config_values: dict[int, Any] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600
        self._page_blocks = blocks.blocks
        # The values events gave components whose config is not built yet: put in it when it is.
        self._values: dict[int, Any] = {}

    @property
    def components(self) -> Iterator[dict[str, Any]]:
        for key, block in self.blocks_config.blocks.items():
            if key in self._page_blocks and key not in self.config_values:
                config = self.config_values[key] = self.blocks_config.config_for_block(key, [], block)
                if key in self._values and "props" in config:
                    config["props"]["value"] = self._values[key]
        self._values.clear()
        return super().components

    def _update_value_in_config(self, key: int, value: Any) -> None:
        """Gradio's, but a component whose config is not built yet keeps the value aside rather than building its
        config for it: an event's validator and the event itself give their inputs here at every reply's start,
        and building their configs was 7% of the app's CPU for a reply of a few words."""
        config = self.config_values.get(key)
        if config is None:
            self._values[key] = value
        else:
            self._values.pop(key, None)
            if "props" in config:
                config["props"]["value"] = value

    def forget_values(self, block_fn: Any) -> None:
        """Gradio keeps here each value an event received or gave (for deep links, which this page does not
        offer): forgotten when the event ends (``ChatBlocks.process_api``), so no conversation outlives it."""
        for block in (*block_fn.inputs, *block_fn.outputs):
            self._values.pop(block._id, None)
            props = self.config_values.get(block._id, {}).get("props")
            if props is not None:
                props.pop("value", None)


class LazyStateHolder(StateHolder):
    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LazySessionState(self.blocks)
        return super().__getitem__(session_id)


def lighten(holder: StateHolder) -> None:
    """Make the app's StateHolder start its sessions lazily (sessions it holds already stay as they are)."""
    if type(holder) is StateHolder:
        holder.__class__ = LazyStateHolder


def forget_when_events_end(blocks: Any) -> None:
    """When an event ends however it ends, its session forgets the values it carried. ``forgetting_values`` does it
    after the event's last step; an event whose visitor left mid-reply has no last step (Gradio stops calling it
    once the stream to the browser is gone), so the queue's ``process_events`` does it too, as it finishes."""
    queue = blocks._queue
    process_events = queue.process_events

    async def processing(events: list[Any], *args: Any, **kwargs: Any) -> None:
        try:
            await process_events(events, *args, **kwargs)
        finally:
            for event in events:
                state = blocks.state_holder.session_data.get(event.session_hash)
                if isinstance(state, LazySessionState):
                    state.forget_values(event.fn)

    queue.process_events = processing


async def forgetting_values(step: Awaitable[Any], fn: Any, state: Any) -> Any:
    """The output of ``step``, one step of the event ``fn`` (``Blocks.process_api``); when it is the last (or it
    failed, or was cancelled), the session ``state`` forgets the values the event carried."""
    generating = False
    try:
        output = await step
        generating = bool(output.get("is_generating"))
        return output
    finally:
        if not generating and isinstance(state, LazySessionState):
            state.forget_values(fn)


# -- the events' inputs ----------------------------------------------------------------------------

def check_input_count(block_fn: Any, inputs: list[Any]) -> None:
    """``Blocks.validate_inputs``, without printing every value it received (message text included) to the log."""
    if len(inputs) < len(block_fn.inputs):
        raise ValueError(f"An event handler ({block_fn.name}) received {len(inputs)} input values instead "
                         f"of {len(block_fn.inputs)}.")


def refuse_file_references(inputs: list[Any]) -> None:
    """A file reference in an input (a conversation's message can name one) would have Gradio fetch it, an
    address anywhere public, into its cache on disk: this page sends text only."""
    if any(_names_a_file(value) for value in inputs):
        raise ValueError("This page takes text only: a file in a message or conversation is not accepted.")


def _names_a_file(value: Any) -> bool:
    """Whether ``value`` holds a file reference as Gradio finds one (``meta._type`` is ``gradio.FileData``)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if isinstance(item.get("meta"), dict) and is_file_obj_with_meta(item):
                return True
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


async def quiet_validation(step: Awaitable[Any]) -> Any:
    """The result of ``step`` (``Blocks.preprocess_data``). Gradio checks each value against its component's data
    model even without preprocessing, and pydantic's error quotes the value: say where and what, never the text."""
    try:
        return await step
    except pydantic.ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        what = "The conversation" if "Chatbot" in exc.title else "An input"
        raise ValueError(f"{what} could not be read ({where}).") from None


# -- the server Gradio starts ----------------------------------------------------------------------

@contextmanager
def uvicorn_options(protocol: Any, keep_alive: float, prepare: Callable[[Any], None] | None = None) -> Iterator[None]:
    """While launching: Gradio's uvicorn server given what Gradio's launch does not pass to uvicorn's Config.

    - ``FORWARDED_ALLOW_IPS`` emptied: uvicorn trusts ``X-Forwarded-For`` from loopback by default and rewrites the
      client's address with it; the app's own setting alone decides whom to trust (ratelimit).
    - ``protocol`` is its HTTP protocol (serving.deadline_protocol): a request's headers and then its body must
      arrive in time (uvicorn waits forever: a client trickling them would hold a connection).
    - An idle kept-alive connection stays open for ``keep_alive`` seconds, not uvicorn's 5: a client whose pool
      also drops idle connections after 5 s (httpx, so gradio_client) could send its next request just as the
      server closed that connection, and see a broken one.
    - ``prepare``, when given, is called with the app before the server starts serving it.
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ""  # read by uvicorn's Config when the server starts
    gradio_server = http_server.Server

    class Server(gradio_server):  # type: ignore[misc, valid-type]
        """Gradio's server, given what Gradio's launch does not pass to uvicorn's Config."""

        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            config.http, config.timeout_keep_alive = protocol, keep_alive  # read when the server starts
            if prepare is not None:
                prepare(config.app)
            super().__init__(config, *args, **kwargs)

    http_server.Server = Server  # type: ignore[misc]  # what gradio's start_server makes, for this launch only
    try:
        yield
    finally:
        http_server.Server = gradio_server  # type: ignore[misc]


# -- the rest --------------------------------------------------------------------------------------

def mark_mcp_calls(blocks: Any, header: str, value: str) -> None:
    """Have the MCP server of ``blocks`` (if it has one) send ``header: value`` with its calls into the queue.

    Gradio's MCP server (``gradio.mcp``) runs a tool through a gradio_client it makes on first use, with headers of
    its own on every request; those override what it passes on from the caller's request, so a caller cannot
    replace the mark."""
    server = getattr(blocks, "mcp_server_obj", None)
    if server is None:
        return
    make = server._get_or_create_client

    def marked() -> Any:
        client = make()
        client.headers[header] = value
        return client

    server._get_or_create_client = marked


def fn_index_of(data: Any) -> int | None:
    """The event a queue body names, read by Gradio's own model (``"0"``, ``0.0`` and ``" 0 "`` are 0)."""
    try:
        return PredictBody.model_validate(data).fn_index
    except (pydantic.ValidationError, TypeError):
        return None


def events_of(blocks: Any, session_hash: str, fn_index: int) -> list[tuple[str, Any]]:
    """The events of ``fn_index`` that session ``session_hash`` has queued or running, in no order: (id, the ASGI
    scope of the ``queue/join`` request that queued it)."""
    queue = blocks._queue
    events = queue.event_ids_to_events
    found = [(event, events.get(event)) for event in list(queue.pending_event_ids_session.get(session_hash, ()))]
    return [(event, getattr(it.request, "scope", {})) for event, it in found
            if it is not None and event_id(it.fn) == fn_index]


def event_data(event: Any) -> Any:
    """What the browser sent with an event (``gr.EventData``'s data, which it keeps to itself)."""
    return event._data


def event_id(fn: Any) -> int:
    """The number by which the browser names the event ``fn`` (a ``BlockFunction``) in a queue request."""
    return int(fn._id)


def translated(key: str) -> Any:
    """The page's words for ``key`` as Gradio shows them in the visitor's language: an ``I18nData``, which its
    components take wherever they take text."""
    return I18nData(key)


# What Gradio does per event or request that the page does not need: in costs.py, re-exported here.
from .costs import (  # noqa: E402
    cache_signatures,
    cache_type_hints,
    create_generators_inline,
    inline_login_check,
    skip_absent_matplotlib,
    skip_disconnect_polls,
    skip_unused_analytics,
)
