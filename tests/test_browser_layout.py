# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""The chat-first page in a real browser, at a laptop's size (1280×800) and a phone's (390×844): the composer on
screen from the start, the drawers (conversations on the left, settings on the right) opened and closed with the
header's buttons and, on a phone, Esc; the Second Me's card in the header; and, with no Second Me chosen, the
guide to choosing one instead of an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from secondme.server import LocalInstance, ServerThread, create_app
from secondme.web import Settings

from .conftest import launched_app
from .test_browser import (  # noqa: F401 - fixtures
    ChatPage,
    Recorder,
    browser,
    demo_url,
    open_page,
    recorder,
    wait_until,
)

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
GREEN = "rgb(22, 163, 74)"


@pytest.fixture(scope="module")
def bare_url(recorder: Recorder) -> Iterator[str]:
    """The page with no Second Me chosen (no SECONDME_INSTANCE_ID), on the local instance."""
    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=40)], responder=recorder)) as upstream:
        with launched_app(Settings(base_url=upstream.url)) as (_, url):
            yield url


def opened(open_page: Any, url: str, size: str, **options: Any) -> ChatPage:
    width, height = SIZES[size]
    chat: ChatPage = open_page(url, width=width, height=height, **options)
    chat.page.wait_for_function("document.documentElement.classList.contains('secondme-layout-ready')",
                                timeout=20000)
    return chat


def in_view(chat: ChatPage, locator: Any) -> bool:
    """Whether the element is wholly inside the window, as the page is (nothing scrolled on purpose)."""
    box = locator.bounding_box()
    view = chat.page.viewport_size
    return box is not None and box["width"] > 0 and box["x"] >= 0 and box["y"] >= 0 \
        and box["x"] + box["width"] <= view["width"] + 0.5 and box["y"] + box["height"] <= view["height"] + 0.5


def drawer_open(chat: ChatPage, name: str) -> bool:
    return bool(chat.page.evaluate(f"document.getElementById('{name}-drawer')?.classList.contains('open')"))


def header_button(chat: ChatPage, name: str) -> Any:
    return chat.page.get_by_role("button", name=name, exact=True).and_(
        chat.page.locator("#header-row button"))


def no_sideways_scrolling(chat: ChatPage) -> None:
    widths = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def talk(chat: ChatPage, text: str) -> None:
    chat.message_box.fill(text)
    chat.button("Send").click()
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 30)
    wait_until(chat.idle, 10, "the reply to end")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_composer_is_on_screen_from_the_start_with_conversations_saved(open_page: Any, demo_url: str,
                                                                         size: str) -> None:
    chat = opened(open_page, demo_url, size)
    assert in_view(chat, chat.message_box) and in_view(chat, chat.button("Send"))
    no_sideways_scrolling(chat)
    # Two conversations saved, a reload later: the composer is still where it was, and so is the conversation.
    talk(chat, "Hello")
    if size == "phone":
        header_button(chat, "Conversations").click()
    chat.button("+ New chat").click()
    if size == "phone":
        chat.page.keyboard.press("Escape")
        wait_until(lambda: not drawer_open(chat, "chats"), 10, "the drawer to close")
    talk(chat, "Hello again")
    chat.page.reload()
    chat.page.wait_for_function("document.documentElement.classList.contains('secondme-layout-ready')",
                                timeout=20000)
    wait_until(lambda: chat.messages()[:1] == [("user", "Hello again")], 10, "the open conversation back")
    assert chat.page.locator("#chats label").count() == 2
    assert in_view(chat, chat.message_box) and in_view(chat, chat.button("Send"))
    no_sideways_scrolling(chat)


def test_on_a_laptop_both_drawers_are_open_and_the_header_buttons_close_and_open_them(open_page: Any,
                                                                                   demo_url: str) -> None:
    chat = opened(open_page, demo_url, "laptop")
    assert drawer_open(chat, "chats") and drawer_open(chat, "settings")
    assert in_view(chat, chat.field("Instance ID")) and in_view(chat, chat.button("+ New chat"))
    header_button(chat, "Settings").click()
    wait_until(lambda: not drawer_open(chat, "settings"), 10, "the settings to close")
    wait_until(lambda: not in_view(chat, chat.field("Instance ID")), 10, "the settings out of the way")
    # A closed drawer is out of the keyboard's path: Tab from Send goes on without entering it.
    chat.message_box.focus()
    chat.page.keyboard.press("Tab")
    chat.page.keyboard.press("Tab")
    inside = chat.page.evaluate("Boolean(document.activeElement?.closest('#settings-drawer .sidebar-content'))")
    assert not inside
    header_button(chat, "Settings").click()
    wait_until(lambda: drawer_open(chat, "settings") and in_view(chat, chat.field("Instance ID")), 10,
               "the settings back")
    header_button(chat, "Conversations").click()
    wait_until(lambda: not drawer_open(chat, "chats"), 10, "the conversations to close")
    header_button(chat, "Conversations").click()
    wait_until(lambda: drawer_open(chat, "chats") and in_view(chat, chat.button("+ New chat")), 10,
               "the conversations back")


def test_on_a_phone_the_drawers_open_from_the_header_and_esc_closes_them(open_page: Any, demo_url: str) -> None:
    chat = opened(open_page, demo_url, "phone")
    assert not drawer_open(chat, "chats") and not drawer_open(chat, "settings")
    assert not in_view(chat, chat.field("Instance ID"))
    settings = header_button(chat, "Settings")
    settings.click()
    wait_until(lambda: in_view(chat, chat.field("Instance ID")), 10, "the settings on screen")
    wait_until(lambda: chat.page.evaluate("Boolean(document.activeElement?.closest('#settings-drawer'))"), 10,
               "the focus in the drawer")
    no_sideways_scrolling(chat)
    for _ in range(6):  # the drawer covers the page: Tab stays in it
        chat.page.keyboard.press("Tab")
        assert chat.page.evaluate("Boolean(document.activeElement?.closest('#settings-drawer'))")
    chat.page.keyboard.press("Escape")
    wait_until(lambda: not drawer_open(chat, "settings"), 10, "Esc to close the settings")
    wait_until(lambda: chat.page.evaluate("document.activeElement?.closest('#open-settings') !== null"), 10,
               "the focus back on the settings' button")
    # Keyboard alone: Enter on the conversations' button opens them, Esc closes them.
    chat.page.locator("#open-chats").focus()
    chat.page.keyboard.press("Enter")
    wait_until(lambda: in_view(chat, chat.button("+ New chat")), 10, "the conversations on screen")
    no_sideways_scrolling(chat)
    chat.page.keyboard.press("Escape")
    wait_until(lambda: not drawer_open(chat, "chats") and not in_view(chat, chat.button("+ New chat")), 10,
               "Esc to close the conversations")
    assert in_view(chat, chat.message_box)
    no_sideways_scrolling(chat)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_header_card_names_the_second_me_and_its_status(open_page: Any, demo_url: str, size: str) -> None:
    chat = opened(open_page, demo_url, size)
    card = chat.page.locator("#assistant-card")
    wait_until(lambda: "Local demo Second Me" in card.inner_text() and "Online" in card.inner_text(), 10, "the card")
    dot = card.locator(".dot")
    assert dot.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
    assert in_view(chat, card)
    # The demo's own first messages with the demo; ones any Second Me can answer with another.
    starters = chat.page.locator("#conversation .starters .starter")
    assert starters.nth(2).inner_text() == "Show me a table and some code."
    if size == "phone":
        header_button(chat, "Settings").click()
    chat.field("Instance ID").fill("somebody")
    wait_until(lambda: "somebody" in card.inner_text() and "Not in the public directory" in card.inner_text(), 10,
               "the card for another ID")
    assert "Local demo" not in card.inner_text()
    wait_until(lambda: starters.first.inner_text() == "Introduce yourself in a few sentences.", 10, "neutral starters")
    assert "Show me a table and some code." not in chat.page.locator("#conversation").inner_text()


@pytest.mark.parametrize("size", list(SIZES))
def test_with_no_second_me_chosen_the_page_says_where_ids_come_from_and_send_asks_for_one(
        open_page: Any, bare_url: str, recorder: Recorder, size: str) -> None:
    chat = opened(open_page, bare_url, size)
    conversation = chat.page.locator("#conversation")
    wait_until(lambda: "Choose a Second Me" in conversation.inner_text(), 10, "the guide")
    link = conversation.get_by_role("link", name="app.secondme.io")
    assert link.get_attribute("href") == "https://app.secondme.io"
    assert conversation.locator(".starter").count() == 0  # nobody to say them to yet
    assert "No Second Me chosen yet" in chat.page.locator("#assistant-card").inner_text()
    # Send with no Second Me: nothing is sent and no error shows; the message stays, and the guide is on screen.
    before = len(recorder.bodies)
    chat.message_box.fill("Hello?")
    chat.button("Send").click()
    wait_until(lambda: chat.page.locator("#assistant-card.asked").count() == 1, 10, "the guide to be pointed at")
    assert in_view(chat, conversation.get_by_role("button", name="Browse Second Mes"))
    chat.page.wait_for_timeout(500)  # time enough for a reply or a notice to show, were one coming
    assert chat.messages() == [] and conversation.locator(".error-notice").count() == 0
    assert len(recorder.bodies) == before
    assert chat.message_box.input_value() == "Hello?"
    if size == "laptop":  # the settings are on screen: the field says what it needs, quietly, and has the focus
        message = chat.page.locator("#instance-id div.validation-error")
        wait_until(lambda: "Enter the instance ID" in message.inner_text(), 10, "the field's word")
        red, green, blue = map(int, message.evaluate("e => getComputedStyle(e).color").strip("rgba()").split(",")[:3])
        assert not (red > 150 and green < 110 and blue < 110), "said in red"
        assert chat.page.evaluate("document.activeElement?.closest('#instance-id') !== null")
    # Browse opens the directory in the settings; a pick fills the Instance ID, and the guide gives way.
    conversation.get_by_role("button", name="Browse Second Mes").click()
    option = chat.page.get_by_role("option").filter(has_text="Local demo Second Me")
    option.wait_for(state="visible", timeout=10000)
    # (the list may show a frame before the drawer has finished sliding in: it must then be in the window)
    wait_until(lambda: drawer_open(chat, "settings") and in_view(chat, option), 10, "the directory's list in view")
    option.click()
    wait_until(lambda: chat.field("Instance ID").input_value() == "demo", 10, "the picked ID")
    wait_until(lambda: "Local demo Second Me" in chat.page.locator("#assistant-card").inner_text(), 10, "the card")
    if size == "phone":
        chat.page.keyboard.press("Escape")
        wait_until(lambda: not drawer_open(chat, "settings"), 10, "the settings to close")
    wait_until(lambda: conversation.locator(".starter").count() == 4, 10, "starters, now there is someone to ask")
    chat.button("Send").click()
    chat.wait_for_bot(lambda t: "Hello?" in t and t.endswith("max tokens 2000."), 30)
    no_sideways_scrolling(chat)
