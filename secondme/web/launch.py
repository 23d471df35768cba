"""Running the app: ``python app.py`` and ``python app.py --demo``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

import gradio as gr
from fastapi.middleware import Middleware

from .. import __version__
from ..engine.conversation import ERROR_MARK, SHOWN_PATTERN, STATS_MARK, WRITTEN_PATTERN
from ..engine.texts import COOKIE, LANGUAGES
from ..engine.words import for_page
from ..errors import redact_url
from ..protocol import ENDPOINTS, INSTANCE_ID_PATTERN
from ..server import LocalInstance, ServerThread, create_app
from ..serving import BodyLimit, ClosedPaths
from . import internals, scripts
from .checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS_LIMIT
from .code_ui import EXAMPLE_MESSAGE
from .ratelimit import Limiter, RateLimit
from .saved_ui import MAX_IMPORT_BYTES, MAX_SAVED_CHARS, MAX_SAVED_CHATS, TOO_LARGE
from .settings import Settings
from .stops import EarlyStops
from .ui import ChatBlocks, build_app

__all__ = ["main", "launch_options", "page_config", "start_demo_instance"]

# Gradio's routes that write to the server's disk, which no part of the page uses (an imported conversation
# is read in the browser): a session's state, conversation included, saved under a link anyone holding it
# can open (deep_link); files kept for good, answered with their path on the server (upload); a recording.
CLOSED_PATHS = ("/gradio_api/deep_link", "/gradio_api/upload", "/gradio_api/process_recording")
# The page opened with a saved state (?deep_link=ID): any link made before deep_link was closed stays closed.
CLOSED_PARAMS = ("deep_link",)

# Room above the streaming limit, so that limit, not Gradio's job slots, is what holds streams
# back; the same number sizes Gradio's thread pool for the few plain functions (undo, stop).
THREAD_ROOM = 64


def page_config(settings: Settings, locked: bool) -> dict[str, Any]:
    """What the page's scripts (static/*.js) are given, as window.secondmeConfig: everything the server decides."""
    limits = settings.limits
    return {
        "text": {"shown": SHOWN_PATTERN, "written": WRITTEN_PATTERN},
        "marks": {"error": ERROR_MARK, "stats": STATS_MARK},
        "words": for_page(),  # what the scripts say (secondme.say), by language and catalog key
        "chat": {"locked": locked, "messageChars": limits.message_chars, "conversationChars": limits.conversation_chars,
                 "systemPromptChars": MAX_SYSTEM_PROMPT_CHARS, "roleIdChars": MAX_ROLE_ID_CHARS,
                 "maxTokens": MAX_TOKENS_LIMIT, "instancePattern": INSTANCE_ID_PATTERN, "endpoints": list(ENDPOINTS)},
        "saved": {"maxChats": MAX_SAVED_CHATS, "maxChars": MAX_SAVED_CHARS, "version": __version__,
                  "maxImportBytes": MAX_IMPORT_BYTES, "tooLarge": TOO_LARGE},
        "language": {"cookie": COOKIE, "languages": list(LANGUAGES)},
        "code": {"base": redact_url(settings.base_url).rstrip("/"), "contextLimit": settings.max_context_chars,
                 "example": EXAMPLE_MESSAGE},
    }


def launch_options(app: ChatBlocks) -> dict[str, Any]:
    """What ``launch()`` is given: the look of the page (gradio 6 takes it at launch); room for
    every stream (Gradio runs at most ``max_threads`` events at once, whatever their concurrency
    limits); a cap on request bodies, so a huge message is refused before it is read; and the watch
    that ends a reply when its visitor leaves."""
    settings = app.settings
    middleware = [
        Middleware(ClosedPaths, paths=CLOSED_PATHS, params=CLOSED_PARAMS),
        Middleware(app.metrics.middleware),
        Middleware(BodyLimit, max_bytes=settings.limits.body_bytes, detail=(
            f"The request is too large. A message can have at most {settings.max_message_chars:,} "
            f"characters and a conversation {settings.max_conversation_chars:,}.")),
        # Inside BodyLimit (it reads a cancel's body), outside RateLimit (which reads a join whole before passing it
        # on: a join still arriving must be seen as in the app).
        Middleware(EarlyStops, blocks=app),
        Middleware(app.visitors.middleware),
    ]
    if settings.rate_limit is not None:
        replies = app.reply_events()
        middleware.insert(4, Middleware(
            RateLimit, limiter=app.chat_page.ctl.limiter or Limiter(settings.rate_limit), events={
                internals.event_id(fn): len(fn.inputs) if fn.inputs[0] is app.chat_page["message"] else None
                for fn in replies},
            api_names={fn.api_name for fn in replies if fn.api_name}, trusted=settings.trusted_proxies,
            on_refuse=app.metrics.refused.labels("rate limit").inc, loopback_secret=app.loopback_secret))
    return {
        "app_kwargs": {"middleware": middleware},
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"),
        "css": scripts.css(),
        "head": scripts.head(page_config(settings, app.chat_page.locked)),
        # No Settings: the page has a language switch of its own (language_ui.py), for the languages it has.
        "footer_links": ["api", "gradio"],
        "max_threads": settings.event_concurrency + THREAD_ROOM,
        # An MCP server at /gradio_api/mcp/ whose one tool is the public chat endpoint.
        "mcp_server": settings.mcp,
        # Nothing is uploaded (CLOSED_PATHS); should an upload ever reach Gradio, at most an imported conversation.
        "max_file_size": MAX_IMPORT_BYTES,
        # Gradio keeps no run history: conversations are kept by the page itself, in the browser (saved_ui).
        "run_history": False,
        # No monitoring dashboard (its summary was open to anyone, and rebuilt with pandas after every event).
        "enable_monitoring": False,
    }


# The demo's guests, for a roundtable with the demo (the Roundtable tab).
DEMO_GUESTS = (("alice", "Alice (demo)"), ("bob", "Bob (demo)"), ("carol", "Carol (demo)"))


def start_demo_instance() -> ServerThread:
    """The local Second Me for ``--demo``, on a free loopback port of this process, with a few guests."""
    guests = [LocalInstance(i, name=name, description="A demo guest for the Roundtable tab.", chunks_per_second=30)
              for i, name in DEMO_GUESTS]
    return ServerThread(create_app([LocalInstance("demo", chunks_per_second=30), *guests])).start()


def main(argv: Sequence[str] | None = None, demo: ChatBlocks | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python app.py", description="Second Me Chat, a Gradio web chat.")
    parser.add_argument("--demo", action="store_true",
                        help="chat with a local demo Second Me started in this process (no network needed)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the chat as an MCP tool at /gradio_api/mcp/ (as SECONDME_MCP=1 does)")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"mcp": True} if args.mcp else {}
    if args.demo:
        instance = start_demo_instance()
        print(f"Local demo Second Me on {instance.url} (instance 'demo')", flush=True)
        overrides.update(base_url=instance.url, instance_id="demo", demo=True)
    if overrides or demo is None:
        demo = build_app(Settings.from_env(**overrides))
    _log_to_stdout()
    demo.launch(**launch_options(demo))


def _log_to_stdout() -> None:
    """The app's own log lines (one per reply; never message text or keys) on stdout, where a Space
    shows them. Only the ``secondme`` loggers: others (httpx's among them) would print URLs."""
    logger = logging.getLogger("secondme")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
