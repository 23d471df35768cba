"""What the page changes in Gradio's internals, in one place, for the Gradio version pinned in
requirements.txt (``GRADIO_VERSION``; ``check_version`` says so at launch when another is installed)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Any

import gradio as gr

__all__ = ["GRADIO_VERSION", "check_version", "skip_absent_matplotlib", "not_an_mcp_tool"]

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
