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

__all__ = ["Page"]


@dataclass
class Page:
    settings: Settings
    ctl: ChatController
    directory: Directory
    parts: dict[str, Any] = field(default_factory=dict)
    running: list[Any] = field(default_factory=list)  # the events that stream a reply (Stop cancels them)
    finished: list[Any] = field(default_factory=list)  # the steps after which a conversation rests
    cleared: Any = None  # the step after the conversation is cleared

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
