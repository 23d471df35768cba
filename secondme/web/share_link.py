"""What a share link asks of the page (``?instance=ID``), read on the server: settings_ui makes the link,
directory_ui reads it when the page loads. Neither imports the other for it."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from ..protocol import validate_instance_id

__all__ = ["instance_from_link"]


def instance_from_link(query: Any, locked: bool) -> tuple[str | None, str]:
    """The instance ID a page address asks for (None: keep the field as it is) and a note about it.
    Checked like typed input: a malformed one is ignored with a note, and nothing is sent."""
    wanted = query.get("instance") if query is not None else None
    if wanted is None or locked:
        return None, ""
    try:
        return validate_instance_id(wanted), ""
    except InvalidRequestError as exc:
        return None, f"The link's instance ID was ignored: {exc}"
