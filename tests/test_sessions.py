"""sessions.py: a new session builds no component's config until one is asked for, and then gives what
Gradio's own SessionState gives."""

from __future__ import annotations

from typing import Any

from gradio.state_holder import SessionState

from secondme.web import Settings, build_app
from secondme.web.sessions import LazySessionState, LazyStateHolder, lighten

from .test_app import Launched, local_app, respond, texts  # noqa: F401 - a fixture


def test_a_lazy_session_builds_nothing_until_asked_and_then_the_same_as_gradio(monkeypatch: Any) -> None:
    app = build_app(Settings())
    built: list[int] = []
    original = type(app.default_config).config_for_block  # a staticmethod

    def counting(key: int, *args: Any) -> Any:
        built.append(key)
        return original(key, *args)

    monkeypatch.setattr(type(app.default_config), "config_for_block", staticmethod(counting))
    lazy = LazySessionState(app)
    assert built == []  # Gradio's builds all ~90 here
    message = app.chat_page["message"]._id
    lazy._update_value_in_config(message, "typed")  # as an event's input does
    assert built == [message] and lazy.config_values[message]["props"]["value"] == "typed"
    eager = SessionState(app)
    eager._update_value_in_config(message, "typed")
    by_id = {c["id"]: c for c in eager.components}
    assert {c["id"]: c for c in lazy.components} == by_id  # a deep link sees the same page


def test_the_launched_app_starts_its_sessions_lazily_and_still_answers(local_app: Launched) -> None:  # noqa: F811
    holder = local_app.app.state_holder
    assert isinstance(holder, LazyStateHolder)
    final = respond(local_app, "Hello", [], "demo")[-1]
    assert texts(final)[0] == ("user", "", "Hello")
    assert any(isinstance(s, LazySessionState) for s in holder.session_data.values())
    lighten(holder)  # twice is once
    assert type(holder) is LazyStateHolder
