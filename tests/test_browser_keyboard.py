# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""The page's main path in a real browser, with the keyboard as a person uses it: Tab from field to field,
Enter to send, Esc to stop; and Browse, which only a pick may change the Instance ID with."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .test_browser import (  # noqa: F401 - fixtures
    ChatPage,
    Recorder,
    browser,
    demo_url,
    open_page,
    recorder,
    wait_until,
)


def retype(chat: ChatPage, field: Any, text: str) -> None:
    """Click into a field, select what it holds and type over it, as a person does."""
    field.click()
    chat.page.keyboard.press("ControlOrMeta+a")
    chat.page.keyboard.type(text)


def browse(chat: ChatPage) -> Any:
    return chat.page.locator("#browse input").first


def test_tab_through_browse_keeps_the_typed_instance_id(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    field = chat.field("Instance ID")
    retype(chat, field, "demo")
    chat.page.keyboard.press("Tab")
    wait_until(lambda: chat.page.evaluate("document.activeElement?.closest('#browse') !== null"), 5, "Browse")
    chat.message_box.click()
    chat.page.keyboard.type("Hello")
    chat.button("Send").click()
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 20)
    assert field.input_value() == "demo"
    assert "Enter the instance ID" not in chat.page.locator("#settings").inner_text()


def test_opening_browse_and_clicking_elsewhere_keeps_the_typed_instance_id(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    field = chat.field("Instance ID")
    retype(chat, field, "somebody-else")
    browse(chat).click()
    chat.page.get_by_role("option").first.wait_for(state="visible")
    chat.message_box.click()  # no pick
    chat.page.keyboard.type("Hello")
    chat.page.get_by_role("option").first.wait_for(state="hidden")
    assert field.input_value() == "somebody-else"


def test_a_pick_by_keyboard_fills_the_field_and_a_later_tab_through_browse_keeps_what_was_typed(
        open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    field = chat.field("Instance ID")
    retype(chat, field, "nobody")
    chat.page.keyboard.press("Tab")  # into Browse: type to filter, pick with the arrows and Enter
    chat.page.keyboard.type("dem")
    chat.page.keyboard.press("ArrowDown")
    chat.page.keyboard.press("Enter")
    wait_until(lambda: field.input_value() == "demo", 5, "the picked instance")
    retype(chat, field, "someone")  # typed after the pick: Browse, passed through, keeps out of it
    chat.page.keyboard.press("Tab")
    chat.page.keyboard.press("Tab")
    wait_until(lambda: chat.page.evaluate("document.activeElement?.closest('#browse') === null"), 5, "past Browse")
    assert field.input_value() == "someone"
    browse(chat).click()  # and the same entry can be picked again
    chat.page.get_by_role("option").first.click()
    wait_until(lambda: field.input_value() == "demo", 5, "the picked instance, again")


def test_tab_through_the_presets_keeps_the_typed_system_prompt(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    system = chat.field("System prompt")
    chat.page.locator("#preset input").first.click()
    chat.page.get_by_role("option", name="Brief").click()
    wait_until(lambda: system.input_value().startswith("Answer briefly"), 5, "the preset")
    retype(chat, system, "Speak like a pirate.")
    chat.page.keyboard.press("Shift+Tab")  # back through the preset buttons to the preset, and on
    chat.page.keyboard.press("Shift+Tab")
    chat.page.keyboard.press("Shift+Tab")
    wait_until(lambda: chat.page.evaluate("document.activeElement?.closest('#preset') !== null"), 5, "the preset")
    chat.message_box.click()
    chat.page.get_by_role("option").first.wait_for(state="hidden")
    assert system.input_value() == "Speak like a pirate."
    chat.page.locator("#preset input").first.click()  # picking the same one again fills it again
    chat.page.get_by_role("option", name="Brief").click()
    wait_until(lambda: system.input_value().startswith("Answer briefly"), 5, "the preset again")


def test_a_link_with_a_message_fills_the_box_and_sends_nothing(open_page: Any, demo_url: str,
                                                               recorder: Recorder) -> None:
    before = len(recorder.bodies)
    said = "What do you do? <b>bold</b> & more"
    chat = open_page(demo_url + f"?instance=demo&q={quote(said)}")
    wait_until(lambda: chat.message_box.input_value() == said, 10, "the linked message in the box")
    assert chat.field("Instance ID").input_value() == "demo"
    assert "q=" not in chat.page.url  # a reload does not put it back
    chat.page.wait_for_timeout(1000)  # time enough for anything sent by itself to show
    assert chat.messages() == [] and len(recorder.bodies) == before
    chat.message_box.press("Enter")  # the visitor sends it
    chat.wait_for_bot(lambda t: f"You said: “{said}”." in t, 20)
    assert len(recorder.bodies) == before + 1
