"""What the page changes in Gradio's internals, in one place, for the Gradio version pinned in
requirements.txt (``GRADIO_VERSION``; ``check_version`` says so at launch when another is installed)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Any

import gradio as gr

__all__ = ["GRADIO_VERSION", "check_version", "skip_absent_matplotlib", "not_an_mcp_tool",
           "skip_disconnect_polls"]

GRADIO_VERSION = "6.31.0"
log = logging.getLogger("secondme.web")


def check_version() -> None:
    if gr.__version__ != GRADIO_VERSION:
        log.warning("Gradio %s is installed; the page's changes to Gradio's internals were made for %s",
                    gr.__version__, GRADIO_VERSION)


def skip_absent_matplotlib() -> None:
    """Gradio runs every step of every event inside ``utils.MatplotlibBackendMananger``, whose enter and exit
    each ``import matplotlib``. Where matplotlib is not installed, each such import searches the whole of
    ``sys.path`` again (a failed import is not cached): about 120 µs each, so a tenth of the app's CPU
    while many replies stream. ``sys.modules["matplotlib"] = None`` makes that import fail at once, as
    Python documents; nothing changes where matplotlib is installed."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def not_an_mcp_tool(fn: Any) -> Any:
    """``fn``, marked so that Gradio's MCP server does not offer it as a tool (``gradio/mcp.py`` lists as tools
    only the public endpoints whose function has no ``_mcp_type`` or the type ``"tool"``), though it stays a
    public endpoint of the API."""
    fn._mcp_type = "none"
    return fn


# -- speed (issue 20) ------------------------------------------------------------------------------------------


def _disconnect_is_listened_for(scope: Any) -> bool:
    """Whether Starlette's ``StreamingResponse`` serving ``scope`` listens for the client's disconnect itself:
    a ``queue/data`` stream under an ASGI spec before 2.4 (uvicorn's is 2.3), where it waits on ``receive`` in
    a task of its own and cancels the stream the moment the disconnect comes."""
    if not str(scope.get("path", "")).endswith("/queue/data"):
        return False
    spec = str(scope.get("asgi", {}).get("spec_version", "2.0"))
    try:
        return tuple(int(part) for part in spec.split(".")) < (2, 4)
    except ValueError:
        return False


def skip_disconnect_polls() -> None:
    """Gradio's ``queue/data`` stream asks ``Request.is_disconnected()`` before each message it sends, and each
    ask opens and cancels an anyio cancel scope around a ``receive`` through every middleware: 7% of the app's
    CPU while many replies stream. The response already listens for the disconnect in a task of its own and
    cancels the stream when it comes (Gradio's stream then cleans the session's events in its ``except``
    branch, as it does today whenever the disconnect comes while it waits for a message). So for that stream
    alone the ask answers what is already known; every other request asks as before."""
    from starlette.requests import Request

    if getattr(Request.is_disconnected, "_secondme", False):
        return
    original = Request.is_disconnected

    async def is_disconnected(self: Request) -> bool:
        if not self._is_disconnected and _disconnect_is_listened_for(self.scope):
            return False
        return await original(self)

    is_disconnected._secondme = True  # type: ignore[attr-defined]
    Request.is_disconnected = is_disconnected  # type: ignore[method-assign, assignment]
