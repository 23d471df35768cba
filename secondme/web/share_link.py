"""What a share link asks of the page (``?instance=ID``), read on the server: settings_ui makes the link,
directory_ui reads it when the page loads. Neither imports the other for it."""

from __future__ import annotations

from typing import Any

from ..engine.texts import DEFAULT, say
from ..protocol import validate_instance_id
from .checks import instance_problem

__all__ = ["instance_from_link"]


def instance_from_link(query: Any, locked: bool, lang: str = DEFAULT) -> tuple[str | None, str]:
    """The instance ID a page address asks for (None: keep the field as it is) and a note about it, in
    ``lang``. Checked like typed input: a malformed one is ignored with a note, and nothing is sent."""
    wanted = query.get("instance") if query is not None else None
    if wanted is None or locked:
        return None, ""
    if problem := instance_problem(wanted):
        return None, say(lang, "link.ignored", problem=problem)
    return validate_instance_id(wanted), ""
