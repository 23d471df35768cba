# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""In a real browser: a three-way roundtable with the demo, filled in from the keyboard, streamed turn by turn,
and stopped; a share link that fills the tab in without starting it; README's screenshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from secondme.server import ChatBody, LocalInstance, ServerThread, create_app, demo_responder
from secondme.web import Settings

from .conftest import launched_app
from .test_browser import ChatPage, browser, open_page, wait_until  # noqa: F401 - fixtures

GUESTS = [("alice", "Alice (demo)"), ("bob", "Bob (demo)"), ("carol", "Carol (demo)")]


class Counter:
    """The demo responder, counting the requests each instance received."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, body: ChatBody, instance: LocalInstance) -> Any:
        self.asked.append(instance.instance_id)
        return demo_responder(body, instance)


@pytest.fixture(scope="module")
def counter() -> Counter:
    return Counter()


@pytest.fixture(scope="module")
def table_url(counter: Counter) -> Iterator[str]:
    """The page in --demo form, with three demo guests (replies at 10 words a second)."""
    guests = [LocalInstance(i, name=name, chunks_per_second=10) for i, name in GUESTS]
    with ServerThread(create_app(guests, responder=counter)) as upstream:
        with launched_app(Settings(base_url=upstream.url, demo=True)) as (_, url):
            yield url


def open_roundtable(chat: ChatPage) -> None:
    chat.page.get_by_role("tab", name="Roundtable").click()
    chat.page.locator("#rt-instances textarea, #rt-instances input").first.wait_for(state="visible", timeout=10000)


def fill(chat: ChatPage, instances: str, topic: str, rounds: str, host: str) -> None:
    """As a person does it: type into each field, Tab to the next."""
    chat.page.locator("#rt-instances textarea, #rt-instances input").first.click()
    chat.page.keyboard.type(instances)
    chat.page.locator("#rt-topic textarea").click()
    chat.page.keyboard.type(topic)
    rounds_box = chat.page.locator("#rt-rounds input")
    rounds_box.click()
    rounds_box.press("Control+a")
    chat.page.keyboard.type(rounds)
    chat.page.keyboard.press("Tab")
    chat.page.locator("#rt-host textarea, #rt-host input").first.click()
    chat.page.keyboard.type(host)
    chat.page.keyboard.press("Tab")


def speakers(chat: ChatPage) -> list[str]:
    """Who spoke each answer in the roundtable, in order (each answer starts with its speaker's label)."""
    found = []
    for role, text in chat.messages("#rt-conversation"):
        match = re.match(r"^([🔵🟢🟠🟣🔴]) (.+?)\n", text)
        if role == "bot" and match and not text.startswith(("⚠️", "⏱")):
            found.append(f"{match.group(1)} {match.group(2)}")
    return found


def test_a_three_way_roundtable_streams_each_turn_labelled_and_stop_ends_it_at_once(open_page: Any, table_url: str,
                                                                                  counter: Counter) -> None:
    chat = open_page(table_url)
    open_roundtable(chat)
    fill(chat, "alice, bob, carol", "Is tea better than coffee?", "2", "alice")
    chat.page.locator("#rt-start").click()
    # The topic first, then the host's opening, then each in turn, as they are written.
    wait_until(lambda: chat.messages("#rt-conversation")[:1] and chat.messages("#rt-conversation")[0][1].startswith(
        "Roundtable: Is tea better than coffee?"), 20, "the topic")
    wait_until(lambda: speakers(chat) == ["🔵 Alice (demo)", "🔵 Alice (demo)", "🟢 Bob (demo)"], 60,
               "the opening and two turns")
    bob = chat.messages("#rt-conversation")[-1][1]
    assert bob.startswith("🟢 Bob (demo)\n") and not bob.endswith("this is my turn 1.")  # his turn, streaming
    turns = [text for role, text in chat.messages("#rt-conversation") if role == "bot"]
    assert any("host this roundtable on “Is tea better than coffee?”" in t for t in turns)
    wait_until(lambda: len(chat.stats_lines("#rt-conversation")) >= 2, 10, "a stats line under each turn")
    asked = len(counter.asked)
    chat.page.locator("#rt-stop").click()
    wait_until(lambda: any("Stopped" in text for _, text in chat.messages("#rt-conversation")), 10, "stopped")
    kept = chat.messages("#rt-conversation")
    lines = chat.stats_lines("#rt-conversation")
    assert lines[-1].endswith("stopped by you"), lines
    chat.page.wait_for_timeout(1500)  # nothing more comes: nobody else was asked
    assert chat.messages("#rt-conversation") == kept
    assert len(counter.asked) == asked
    assert counter.asked[:3] == ["alice", "alice", "bob"]

    # Saved with the conversations: after a reload, opening it shows it again, in this tab, filled in.
    title = "Roundtable: Is tea better than coffee?"
    wait_until(lambda: title in [t.strip() for t in chat.page.locator("#chats label").all_inner_texts()], 10, "saved")
    chat.page.reload()
    chat.page.locator("#chats label", has_text=title).click()
    wait_until(lambda: chat.messages("#rt-conversation") == kept, 10, "the roundtable opened again")
    assert chat.page.locator("#rt-instances textarea, #rt-instances input").first.input_value() == "alice, bob, carol"
    assert chat.page.locator("#rt-host textarea, #rt-host input").first.input_value() == "alice"
    assert chat.page.get_by_role("tab", name="Roundtable").get_attribute("aria-selected") == "true"


def test_a_share_link_fills_the_tab_in_and_waits_for_start(open_page: Any, table_url: str, counter: Counter) -> None:
    asked = len(counter.asked)
    chat = open_page(f"{table_url}?roundtable=bob,carol&topic={quote('Cats & dogs?')}&rounds=3")
    wait_until(lambda: chat.page.locator("#rt-topic textarea").is_visible(), 20, "the Roundtable tab open")
    wait_until(lambda: chat.page.locator("#rt-topic textarea").input_value() == "Cats & dogs?", 10, "the topic")
    assert chat.page.locator("#rt-instances textarea, #rt-instances input").first.input_value() == "bob, carol"
    assert chat.page.locator("#rt-rounds input").input_value() == "3"
    chat.page.wait_for_timeout(1000)
    assert chat.messages("#rt-conversation") == [] and len(counter.asked) == asked  # it never starts by itself

    # Bad input is said next to its field, and nothing is sent.
    box = chat.page.locator("#rt-instances textarea, #rt-instances input").first
    box.fill("bob, bob")
    chat.page.locator("#rt-start").click()
    tab = chat.page.locator("#roundtable-tab")
    wait_until(lambda: "“bob” is there twice" in tab.inner_text(), 10, "the inline message")
    chat.page.wait_for_timeout(500)
    assert chat.messages("#rt-conversation") == [] and len(counter.asked) == asked


def test_screenshot_of_a_roundtable(open_page: Any, table_url: str, request: Any) -> None:
    """Not a test: the command that takes README's picture of a roundtable:
    ``python -m pytest tests/test_browser_roundtable.py -k screenshot --screenshots assets``."""
    keep = request.config.getoption("--screenshots")
    if not keep:
        pytest.skip("takes README's screenshot only when asked: --screenshots DIR")
    Path(keep).mkdir(parents=True, exist_ok=True)
    chat = open_page(table_url, height=1100)
    open_roundtable(chat)
    fill(chat, "alice, bob, carol", "Is tea better than coffee?", "1", "alice")
    chat.page.locator("#rt-start").click()
    wait_until(lambda: len(speakers(chat)) == 5 and len(chat.stats_lines("#rt-conversation")) == 5, 90, "all turns")
    chat.page.wait_for_timeout(1000)
    chat.page.evaluate("window.scrollTo(0, 0)")
    chat.page.locator("#rt-conversation .bubble-wrap").evaluate("(e) => { e.scrollTop = 0; }")  # the opening
    chat.page.wait_for_timeout(300)
    chat.page.screenshot(path=str(Path(keep) / "roundtable.png"), full_page=True)
