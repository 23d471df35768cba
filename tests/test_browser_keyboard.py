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
    slow_demo_url,
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
    wait_until(lambda: field.input_value() == "demo", 20, "the picked instance")
    retype(chat, field, "someone")  # typed after the pick: Browse, passed through, keeps out of it
    chat.page.keyboard.press("Tab")
    chat.page.keyboard.press("Tab")
    wait_until(lambda: chat.page.evaluate("document.activeElement?.closest('#browse') === null"), 5, "past Browse")
    assert field.input_value() == "someone"
    browse(chat).click()  # and the same entry can be picked again
    chat.page.get_by_role("option").first.click()
    wait_until(lambda: field.input_value() == "demo", 20, "the picked instance, again")


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


# Where the focus is: the nearest element with an id, and the focused element's own name.
FOCUS_JS = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return ['', ''];
  return [a.closest('[id]')?.id ?? '', a.getAttribute('aria-label') || a.textContent.trim().slice(0, 40)];
}"""


def focus(chat: ChatPage) -> tuple[str, str]:
    where, name = chat.page.evaluate(FOCUS_JS)
    return where, name


def press_until(chat: ChatPage, key: str, where: Any, most: int = 120) -> tuple[str, str]:
    """Press ``key`` until the focus is where ``where`` (a test of focus()) says; what was passed, in order."""
    for _ in range(most):
        chat.page.keyboard.press(key)
        if where(focus(chat)):
            return focus(chat)
    raise AssertionError(f"{key} never reached the place asked for; the focus is on {focus(chat)}")


def test_the_whole_page_with_the_keyboard_alone(open_page: Any, slow_demo_url: str, recorder: Recorder) -> None:
    chat = open_page(slow_demo_url)
    page = chat.page
    wait_until(lambda: focus(chat)[0] == "message", 10, "the focus in the message box from the start")
    # Tab goes round the whole page and reaches every control of the everyday path.
    page.evaluate("document.activeElement.blur()")
    order: list[str] = []
    for _ in range(150):
        page.keyboard.press("Tab")
        where = focus(chat)[0]
        if not order or order[-1] != where:
            order.append(where)
        if where == "message" and "instance-id" in order:
            break
    for place in ("language", "new-chat", "message", "send-button", "instance-id", "browse", "preset",
                  "save-preset", "chat-tab-button", "compare-tab-button"):
        assert place in order, f"Tab never reached {place}: {order}"
    after = {where: order[(n + 1) % len(order)] for n, where in enumerate(order)}  # once round the page
    assert (after["message"], after["instance-id"], after["browse"]) == ("send-button", "browse", "preset"), order

    # Type the Second Me's ID, Tab on through Browse, back to the message box, and send with Enter.
    press_until(chat, "Tab", lambda f: f[0] == "instance-id")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    assert focus(chat)[0] == "browse"
    press_until(chat, "Shift+Tab", lambda f: f[0] == "message")
    page.keyboard.type("Tell me a long story")
    before = len(recorder.bodies)
    page.keyboard.press("Enter")
    chat.wait_for_bot(lambda t: "keeps going" in t, 15)
    assert chat.field("Instance ID").input_value() == "demo"
    # Stop by keyboard: Tab from the box lands on Stop (Send is away while it streams), Enter presses it.
    page.keyboard.press("Tab")
    assert focus(chat) == ("stop-button", "Stop")
    page.keyboard.press("Enter")
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "Stop pressed with Enter")
    wait_until(chat.idle, 5, "Send to come back")
    wait_until(lambda: focus(chat)[0] == "message", 5, "the focus back in the box")
    assert chat.message_box.input_value() == ""

    # Retry, reached with Shift+Tab from the box, pressed with Enter; then Esc in the box stops the new reply.
    press_until(chat, "Shift+Tab", lambda f: f[1] == "Retry")
    page.keyboard.press("Enter")
    wait_until(lambda: len(recorder.bodies) == before + 2, 10, "the retried request")
    chat.wait_for_bot(lambda t: "keeps going" in t and "Stopped" not in t, 15)
    press_until(chat, "Tab", lambda f: f[0] == "message")
    page.keyboard.press("Escape")
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "Esc in the box to stop the reply")
    wait_until(chat.idle, 5, "Send to come back")
    assert [text for role, text in chat.messages() if role == "user"] == ["Tell me a long story"]


def test_esc_in_an_open_list_closes_it_and_leaves_the_reply_streaming(open_page: Any, slow_demo_url: str) -> None:
    chat = open_page(slow_demo_url)
    chat.message_box.press_sequentially("Tell me a long story")
    chat.message_box.press("Enter")
    chat.wait_for_bot(lambda t: "keeps going" in t, 15)
    browse(chat).click()
    option = chat.page.get_by_role("option").first
    option.wait_for(state="visible")
    chat.page.keyboard.press("Escape")  # meant for the list
    option.wait_for(state="hidden")
    chat.page.wait_for_timeout(500)
    assert "Stopped" not in chat.last_bot() and chat.button("Stop").is_visible()
    chat.message_box.press("Escape")  # meant for the reply
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "Esc in the box to stop the reply")
