"""How the page's parts are wired to each other: what the conversation gives the saved conversations
(chat_ui.wire returns it, ui.build_app passes it on), checked on the built app's events."""

from __future__ import annotations

from typing import Any

from secondme.web import Settings, build_app
from secondme.web.controller import ChatController
from secondme.web.scripts import call

IDLE_JS, RESTORE_JS, SAVE_JS = call("chat.idle"), call("chat.restore"), call("saved.save")


def _events(app: Any) -> list[Any]:
    return list(app.fns.values())


def test_the_saved_conversations_hang_on_every_end_of_a_reply_and_stop_every_reply() -> None:
    app = build_app(Settings())
    page, ctl = app.chat_page, app.chat_page.ctl
    events = _events(app)
    handlers = (ChatController.respond, ChatController.retry, ChatController.edit)
    replies = {fn._id for fn in events if getattr(fn.fn, "__self__", None) is ctl
               and getattr(fn.fn, "__func__", None) in handlers}
    assert len(replies) == 3  # send, retry, edit
    [stopped] = [fn._id for fn in events if getattr(fn.fn, "__func__", None) is ChatController.mark_stopped
                 and fn.outputs == [page["history"]]]
    ends = {fn._id for fn in events if fn.trigger_after in replies and fn.js in (IDLE_JS, RESTORE_JS)}
    ends |= {fn._id for fn in events if fn.trigger_after == stopped and fn.js == IDLE_JS}
    assert len(ends) == 7  # each reply's end and failure, and Stop's last step
    saved_after = {fn.trigger_after for fn in events if fn.js == SAVE_JS}
    assert saved_after == ends
    # Stop, Clear, opening a saved conversation, New, Delete and Delete all each cancel every reply.
    for name, event in (("stop", "click"), ("history", "clear"), ("chats", "input"), ("new_chat", "click"),
                        ("delete_chat", "click"), ("delete_all", "click")):
        target = (page[name]._id, event)
        cancelled = set().union(*(set(fn.cancels or ()) for fn in events if fn.is_cancel_function
                                  and target in fn.targets))
        assert replies <= cancelled, name
