"""What the parts of the page share: the settings, the controller, and the components by name.

Each part (chat_ui, settings_ui, directory_ui, saved_ui) creates its components with ``add`` and wires
its events with ``get``; an event's inputs are named (``page.get(*SEND)``) in the very order its handler
and validator take them, so adding a control shifts nothing in another file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .controller import ChatController
from .directory import Directory
from .settings import Settings

__all__ = ["Page", "ChatEvents"]


@dataclass
class Page:
    settings: Settings
    ctl: ChatController
    directory: Directory
    parts: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, component: Any) -> Any:
        if name in self.parts:
            raise ValueError(f"the page already has a part named {name!r}")
        self.parts[name] = component
        return component

    def get(self, *names: str) -> list[Any]:
        return [self.parts[name] for name in names]

    def __getitem__(self, name: str) -> Any:
        return self.parts[name]

    @property
    def locked(self) -> bool:
        return self.ctl.locked


@dataclass(frozen=True)
class ChatEvents:
    """What the conversation's wiring (chat_ui.wire) gives the parts wired after it (saved_ui.wire), by hand
    in ui.build_app: no part reads what another filled in as it went."""

    running: list[Any]  # the events that stream a reply (Stop cancels them; a list, as Gradio's cancels takes)
    finished: list[Any]  # the steps after which a conversation rests
    cleared: Any  # the step after the conversation is cleared
