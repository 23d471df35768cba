"""Running the app: ``python app.py`` and ``python app.py --demo``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import gradio as gr

from ..server import LocalInstance, ServerThread, create_app
from .settings import Settings
from .ui import build_app

__all__ = ["main", "launch_options", "start_demo_instance"]

# Room above the streaming limit, so that limit, not Gradio's job slots, is what holds streams
# back; the same number sizes Gradio's thread pool for the few plain functions (undo, stop).
THREAD_ROOM = 64

CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#header h1 { margin-bottom: 0.2em; }
#composer { align-items: flex-end; }
/* Send and Stop swap while a reply streams (ui.busy_js and ui.IDLE_JS set the class). */
#stop-button, #composer.busy #send-button { display: none !important; }
#composer.busy #stop-button { display: inline-flex !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 8px !important; }
  #header p { font-size: 0.92em; }
}
"""


def launch_options(settings: Settings) -> dict[str, Any]:
    """What ``launch()`` is given: the look of the page (gradio 6 takes it at launch), and room for
    every stream: Gradio runs at most ``max_threads`` events at once, whatever their concurrency limits."""
    return {
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate"),
        "css": CSS,
        "footer_links": ["api", "gradio"],
        "max_threads": settings.concurrency + THREAD_ROOM,
        # Nothing of a conversation is kept anywhere, the browser included.
        "run_history": False,
    }


def start_demo_instance() -> ServerThread:
    """The local Second Me for ``--demo``, on a free loopback port of this process."""
    return ServerThread(create_app([LocalInstance("demo", chunks_per_second=30)])).start()


def main(argv: Sequence[str] | None = None, demo: gr.Blocks | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python app.py", description="Second Me Chat, a Gradio web chat.")
    parser.add_argument("--demo", action="store_true",
                        help="chat with a local demo Second Me started in this process (no network needed)")
    args = parser.parse_args(argv)
    if args.demo:
        instance = start_demo_instance()
        print(f"Local demo Second Me on {instance.url} (instance 'demo')", flush=True)
        settings = Settings.from_env(base_url=instance.url, instance_id="demo", demo=True)
        demo = build_app(settings)
    else:
        settings = Settings.from_env()
        demo = demo or build_app(settings)
    demo.launch(**launch_options(settings))
