"""Nothing the visitor wrote or received is lost, in a real browser: the server restarted mid-reply,
two tabs on one conversation, a full storage, a message waiting in the queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme.web import Settings

from .conftest import free_port, launched_app, wait_until_serving
from .faults import FaultServer, chunk, data, http_head, reply
from .test_browser import ChatPage, browser, wait_until  # noqa: F401  (a fixture)
from .test_browser_saved import open_tab, stored

ROOT = Path(__file__).resolve().parents[1]


def said(record: dict[str, Any]) -> list[str]:
    """The text of each message of a saved conversation."""
    return ["".join(p.get("text", "") for p in m["content"]).replace("\u200b", "") if isinstance(m["content"], list)
            else str(m["content"]) for m in record.get("messages", [])]


def saved_with(chat: ChatPage, *texts: str) -> list[dict[str, Any]]:
    """The saved conversations that hold each of ``texts`` somewhere in their messages."""
    return [r for r in stored(chat) if all(any(t in m for m in said(r)) for t in texts)]


# -- the server restarts mid-reply --------------------------------------------------------------

class AppProcess:
    """``python app.py`` in a process of its own, on one port, that can be stopped and started again."""

    def __init__(self, faults: FaultServer, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "SECONDME_BASE_URL": faults.url,
                    "GRADIO_ANALYTICS_ENABLED": "False", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_serving(self.url + "/gradio_api/info")
        return self

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.process is None:
            return
        self.process.send_signal(how)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"the app did not exit within 30 s of {how.name}") from None
        finally:
            self.process = None


def reloaded(chat: ChatPage) -> bool:
    try:
        return bool(chat.page.evaluate("() => window.beforeRestart !== true"))
    except Exception:  # noqa: BLE001 - the page is navigating: not yet
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_restart_mid_reply_keeps_the_message_the_partial_reply_and_the_draft(
        browser: Any, faults: FaultServer, how: signal.Signals) -> None:  # noqa: F811
    faults.script("/api/chat/held", [http_head(), data(chunk("Partial reply kept")), 60.0])
    app = AppProcess(faults, SECONDME_INSTANCE_ID="held").start()
    chat = None
    try:
        chat = ChatPage(browser, app.url)
        chat.send("Keep this through a restart")
        chat.wait_for_bot(lambda t: "Partial reply kept" in t, 30)
        chat.message_box.fill("A draft not sent yet")
        chat.page.evaluate("() => { window.beforeRestart = true; }")
        app.stop(how)
        app.start()
        # Gradio reloads the page once the server answers again (its own reconnect).
        wait_until(lambda: reloaded(chat), 60, "the page to reload")
        chat.message_box.wait_for(state="visible", timeout=30000)
        wait_until(lambda: ("user", "Keep this through a restart") in chat.messages()
                   and "Partial reply kept" in chat.last_bot(), 20, "the conversation back after the restart")
        assert saved_with(chat, "Keep this through a restart", "Partial reply kept")
        wait_until(lambda: chat.message_box.input_value() == "A draft not sent yet", 10, "the draft back in the box")
    finally:
        if chat is not None:
            chat.close()
        app.stop(signal.SIGKILL)


# -- two tabs, one conversation -----------------------------------------------------------------

@pytest.fixture(scope="module")
def url(faults: FaultServer) -> Iterator[str]:
    faults.script("/api/chat/noted", [http_head() + reply("Noted.")])
    with launched_app(Settings(base_url=faults.url, instance_id="noted")) as (_, address):
        yield address


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


def talk(chat: ChatPage, text: str) -> None:
    chat.send(text)
    wait_until(lambda: ("user", text) in chat.messages() and chat.last_bot() == "Noted.", 15, "the reply")
    wait_until(chat.idle, 10, "the reply to end")
    wait_until(lambda: saved_with(chat, text), 10, "the conversation to be saved")


def test_two_tabs_on_one_conversation_never_drop_each_others_turns(context: Any, url: str) -> None:
    first = open_tab(context, url)
    talk(first, "A-first")
    second = open_tab(context, url)
    second.page.locator("#chats label", has_text="A-first").click()
    wait_until(lambda: ("user", "A-first") in second.messages(), 10, "the second tab to open it")
    talk(second, "B-second")
    talk(first, "A-third")  # the first tab still shows its own version, without B-second
    users = sorted([t for t in said(r) if t.startswith(("A-", "B-"))] for r in stored(first))
    assert users == [["A-first", "A-third"], ["A-first", "B-second"]], users
    note = first.page.locator("#note").inner_text()
    assert "Another tab changed" in note and "A-first (copy)" in note
    talk(first, "A-fourth")  # the first tab goes on in its own copy, and forks nothing more
    users = sorted([t for t in said(r) if t.startswith(("A-", "B-"))] for r in stored(first))
    assert users == [["A-first", "A-third", "A-fourth"], ["A-first", "B-second"]], users


def test_a_conversation_changed_in_this_tab_alone_is_saved_in_place(context: Any, url: str) -> None:
    chat = open_tab(context, url)
    talk(chat, "Only here")
    chat.button("Undo").click()
    wait_until(lambda: chat.messages() == [], 10, "the undo")
    talk(chat, "Again here")
    assert [said(r)[0] for r in stored(chat)] == ["Again here"]  # one conversation: Undo is not another tab


# -- the browser's storage is full --------------------------------------------------------------

SEED = """(sizes) => sizes.forEach((size, i) => localStorage.setItem('secondme.chat.old' + i, JSON.stringify({
  id: 'old' + i, title: 'Old ' + i, updated: 1000 + i, rev: 1,
  messages: [{role: 'user', metadata: null, options: null, content: [{type: 'text', text: 'x'.repeat(size)}]}]})))"""
# Fills what is left of the origin's storage with other keys, to the last character it takes.
FILL = """() => { let size = 1 << 22, n = 0;
  while (size >= 1) { try { localStorage.setItem('filler.' + n, 'f'.repeat(size)); n++; } catch (e) { size >>= 1; } }
  return n; }"""


def test_a_full_storage_removes_only_what_makes_room_and_names_it(context: Any, url: str) -> None:
    chat = open_tab(context, url)
    chat.page.evaluate(SEED, [20_000, 20_000, 20_000])
    chat.page.evaluate(FILL)
    talk(chat, "Room for me")
    note = chat.page.locator("#note")
    wait_until(lambda: "“Old 0”" in note.inner_text(), 10, "the note naming what was removed")
    assert "Old 1" not in note.inner_text()
    assert sorted(r["title"] for r in stored(chat)) == ["Old 1", "Old 2", "Room for me"]


def test_a_save_that_cannot_fit_removes_nothing_and_says_so(context: Any, url: str) -> None:
    chat = open_tab(context, url)
    chat.page.evaluate(SEED, [10, 10, 10])
    chat.page.evaluate(FILL)
    chat.send("Too long to fit " + "z" * 2_000)
    wait_until(lambda: chat.last_bot() == "Noted." and chat.idle(), 15, "the reply")
    note = chat.page.locator("#note")
    wait_until(lambda: "storage is full" in note.inner_text(), 10, "the notice")
    assert "no other was removed" in note.inner_text() and "Export" in note.inner_text()
    assert sorted(r["title"] for r in stored(chat)) == ["Old 0", "Old 1", "Old 2"]
    assert chat.messages()[0][1].startswith("Too long to fit")  # still on the page, to export


# -- a message waiting in the queue -------------------------------------------------------------

def test_a_message_waiting_in_the_queue_shows_at_once_and_survives_a_reload(browser: Any,  # noqa: F811
                                                                           faults: FaultServer) -> None:
    from gradio_client import Client
    from gradio_client.utils import Status

    faults.script("/api/chat/one", [http_head(), data(chunk("held")), 30.0])
    with launched_app(Settings(base_url=faults.url, instance_id="one", concurrency=1)) as (_, address):
        client = Client(address, verbose=False)
        job = client.submit("the one reply streaming", api_name="/chat")
        chat = None
        try:
            wait_until(lambda: job.status().code == Status.ITERATING, 15, "the one slot taken")
            chat = ChatPage(browser, address)
            chat.send("Waiting for my turn")
            wait_until(lambda: ("user", "Waiting for my turn") in chat.messages(), 5, "the message shown at once")
            assert chat.message_box.input_value() == "" and job.status().code == Status.ITERATING
            wait_until(lambda: saved_with(chat, "Waiting for my turn"), 5, "the message saved")
            chat.page.reload()
            chat.message_box.wait_for(state="visible", timeout=20000)
            wait_until(lambda: ("user", "Waiting for my turn") in chat.messages(), 10, "the message after the reload")
        finally:
            if chat is not None:
                chat.close()
            job.cancel()
            client.close()
