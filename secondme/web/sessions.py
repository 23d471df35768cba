"""Cheaper new sessions: Gradio builds the config of every component of the page each time a session
starts (``SessionState.config_values``, kept for its deep links), about 0.2 ms a component. With the
page's ~90 components that was 14 ms of one core per new visitor, most of a reply's fixed cost; here a
session builds a component's config only when something asks for it (an event's input or output, or a
deep link, which then gets every one). ``ChatBlocks.launch`` puts it in place.

A session also keeps none of the values its events received or gave once the event has ended. Gradio keeps
them in the session for deep links alone (which this page does not offer), so each conversation sent stayed on
the server after its event ended, in each of up to 10,000 sessions that anyone can make (a 190,000-character
conversation kept about 240 KiB a session; in emoji, 1.7 MiB). The browser holds the conversation and
sends it with each event: the server needs no copy of it.

It leans on Gradio's internals (``gradio.state_holder``, as pinned in requirements.txt);
tests/test_sessions.py checks that a session made here gives what Gradio's own gives, but the values.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from copy import copy
from typing import Any

from gradio.state_holder import SessionState, StateHolder

__all__ = ["LazySessionState", "LazyStateHolder", "lighten"]


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

    @property
    def components(self) -> Iterator[dict[str, Any]]:
        for key, block in self.blocks_config.blocks.items():
            if key in self._page_blocks and key not in self.config_values:
                self.config_values[key] = self.blocks_config.config_for_block(key, [], block)
        return super().components

    def forget_values(self, block_fn: Any) -> None:
        """Gradio keeps here each value an event received or gave (for deep links, which this page does not
        offer): forgotten when the event ends (``ChatBlocks.process_api``), so no conversation outlives it."""
        for block in (*block_fn.inputs, *block_fn.outputs):
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
