"""The Gradio web app: ``build_app(settings)`` builds the page; ``main`` runs it."""

from .launch import launch_options, main
from .settings import Settings
from .ui import build_app

__all__ = ["build_app", "Settings", "main", "launch_options"]
