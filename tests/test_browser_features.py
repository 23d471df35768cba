# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""In a real browser: the Thinking block and the stats line, copying a reply, suggested first messages,
presets, and the page in Chinese (Compare: test_browser_compare.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .faults import FaultServer, http_head, reply
from .test_browser import (  # noqa: F401 - fixtures
    ChatPage,
    browser,
    demo_url,
    fault_url,
    open_page,
    recorder,
    slow_demo_url,
    wait_until,
)


def thinking_title(chat: ChatPage) -> str:
    titles = [el.inner_text().strip() for el in
              chat.page.query_selector_all("#conversation .thought-group:not(.stats-line) .title")]
    return next((t for t in titles if t.startswith("💭")), "")


def test_reasoning_is_a_thinking_block_and_the_reply_has_its_stats_and_copies_alone(open_page: Any,
                                                                                    demo_url: str) -> None:
    chat = open_page(demo_url)
    chat.send("Think it through, please")
    wait_until(lambda: thinking_title(chat).startswith("💭 Thinking"), 10, "the open Thinking block")
    assert chat.page.locator("#conversation .thought-group .title .loading-spinner, "
                             "#conversation .thought-group .title [class*=spinner]").count() >= 1 \
        or chat.page.get_by_text("The visitor asked me").is_visible()  # open while it is written
    assert not any(text.startswith("Hello from") for _, text in chat.messages())  # no answer yet
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 20)
    title = wait_until(lambda: thinking_title(chat).startswith("💭 Thought") and thinking_title(chat), 5, "closed")
    assert re.search(r"\(\d+(\.\d+)?s\)", title), title  # with how long it took
    # Closed: the block folds once its title says so (a frame or two later on a loaded machine).
    wait_until(lambda: not chat.page.get_by_text("The visitor asked me").is_visible(), 5, "the Thinking block to fold")
    [line] = wait_until(chat.stats_lines, 5, "the stats line")
    # The reply as it stands once the last update (the one with the stats line) has been drawn: read while that
    # update was drawn, it came out cut short.
    answer = wait_until(lambda: (text := chat.last_bot()).endswith("max tokens 2000.") and text, 5, "the answer")
    assert answer.startswith("Hello from") and "<think>" not in answer and "visitor asked" not in answer
    assert re.fullmatch(r"⏱ [\d.]+ s to first token · [\d.]+ s in all · \d+ chunks · \d+/s · finished", line), line

    chat.page.evaluate("navigator.clipboard.writeText('nothing copied yet')")
    wait_until(lambda: chat.page.evaluate("navigator.clipboard.readText()") == "nothing copied yet", 10, "a blank")
    chat.page.locator("#conversation .message-buttons-left button[aria-label='Copy message']").last.click()
    # The first thing the clipboard holds after the click is the reply alone (no reasoning, no stats): the copy makes
    # one write, of the answer, and never the whole group first.
    copied = wait_until(lambda: (text := chat.page.evaluate("navigator.clipboard.readText()")) != "nothing copied yet"
                        and text, 20, "the reply on the clipboard")
    assert copied.strip() == answer.strip(), copied


def test_stop_ends_the_stats_line_with_stopped_by_you(open_page: Any, slow_demo_url: str) -> None:
    chat = open_page(slow_demo_url)  # a reply that streams long enough to be stopped on a loaded machine
    chat.send("Tell me a long story")
    chat.wait_for_bot(lambda t: "keeps going" in t, 15)
    chat.button("Stop").click()
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "the stopped notice")
    [line] = wait_until(chat.stats_lines, 5, "the stats line")
    assert line.startswith("⏱ ") and line.endswith(" · stopped by you"), line


# What lies at Stop's middle and corners, if it is not Stop itself.
COVERED_JS = """() => {
  const stop = document.querySelector('#stop-button'), r = stop.getBoundingClientRect();
  return [[r.left + r.width / 2, r.top + r.height / 2], [r.left + 3, r.top + 3], [r.right - 3, r.bottom - 3]]
    .map(([x, y]) => document.elementFromPoint(x, y)).filter((e) => !stop.contains(e))
    .map((e) => e ? e.outerHTML.slice(0, 120) : 'nothing');
}"""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_stop_can_always_be_clicked_while_a_reply_streams(open_page: Any, slow_demo_url: str,
                                                          width: int, height: int) -> None:
    """Stop is shown, and nothing lies over it, all the while a reply streams, wherever the page is scrolled.
    (The reply is paced so that it is still streaming on a loaded machine: at the demo's 40 chunks/s it could end
    first, and Stop was then rightly gone, which a click waited for in vain.)"""
    chat = open_page(slow_demo_url, width=width, height=height)
    stop = chat.button("Stop")
    chat.send("Tell me a long story")
    chat.wait_for_bot(lambda t: "keeps going" in t, 15)
    for top in (20, 100, 300, height - 60):  # Stop scrolled near the top, the middle and the bottom
        chat.page.evaluate(f"window.scrollBy(0, document.querySelector('#stop-button').getBoundingClientRect().top"
                           f" - {top})")
        assert chat.page.evaluate(COVERED_JS) == [], f"Stop is covered when {top} px from the top"
        stop.click(trial=True, timeout=5000)  # every actionability check, the click landing on Stop among them
    chat.message_box.press_sequentially("next")  # typing the next message covers nothing either
    chat.message_box.press("Enter")  # (Enter while it streams: the busy hint appears under the composer)
    chat.page.locator("#busy-hint").wait_for(state="visible", timeout=5000)
    assert chat.page.evaluate(COVERED_JS) == []
    stop.click(trial=True, timeout=5000)
    assert not chat.stats_lines()  # all of this happened while it streamed
    stop.click()
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "the stopped notice")


def test_a_suggested_first_message_is_sent_with_a_click_and_goes_once_talking(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    starters = chat.page.locator("#conversation .starters .starter")
    starters.nth(3).wait_for(state="visible", timeout=10_000)  # the demo's own, once the page knows its instance
    assert starters.count() == 4
    starters.nth(2).click()  # "Show me a table and some code."
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 20)
    assert chat.messages()[0] == ("user", "Show me a table and some code.")
    assert chat.page.locator("#conversation table").count() == 1  # the demo's Markdown table, rendered
    assert chat.page.locator("#conversation pre code").count() >= 1  # and its code block
    assert starters.count() == 0  # only while the conversation is empty


def test_presets_fill_the_system_prompt_and_your_own_are_kept(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    system = chat.field("System prompt")
    preset = chat.page.get_by_role("listbox", name="Preset").or_(chat.page.locator("#preset input")).first
    preset.click()
    chat.page.get_by_role("option", name="Brief").click()
    assert system.input_value() == "Answer briefly: one to three sentences, no lists unless asked."
    system.fill("Speak like a pirate.")
    chat.answers.append("Pirate")
    chat.button("Save preset").click()
    wait_until(lambda: chat.page.evaluate("JSON.parse(localStorage.getItem('secondme.presets') || '[]')"), 5)
    assert chat.page.evaluate("JSON.parse(localStorage.getItem('secondme.presets'))") == [
        {"name": "Pirate", "prompt": "Speak like a pirate."}]

    chat.page.reload()
    chat.message_box.wait_for(state="visible")
    system.fill("Something else")
    preset.click()
    chat.page.get_by_role("option", name="★ Pirate").click()
    assert system.input_value() == "Speak like a pirate."
    chat.answers.append("")  # the confirm() of Delete
    chat.button("Delete preset").click()
    wait_until(lambda: chat.page.evaluate("localStorage.getItem('secondme.presets')") == "[]", 5, "deleted")


def test_the_page_in_chinese(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url, locale="zh-CN")
    page = chat.page
    page.get_by_role("button", name="发送", exact=True).wait_for(state="visible")
    assert "本地演示" in page.locator("#header").inner_text()
    assert page.locator("#conversation .starters .starter").first.inner_text() == "用三句话介绍一下你自己。"
    assert page.evaluate("document.cookie").count("secondme-lang=zh-CN") == 1
    page.get_by_role("textbox", name="实例 ID").fill("nobody")
    page.get_by_role("textbox", name="实例 ID").press("Tab")
    page.get_by_role("textbox", name="消息", exact=True).fill("你好")
    page.get_by_role("button", name="发送", exact=True).click()
    title = wait_until(lambda: page.locator("#conversation .error-notice .title").first.inner_text()
                       if page.locator("#conversation .error-notice").count() else "", 10, "the error notice")
    assert title.strip() == "⚠️ 未知的实例"
    assert "找不到实例 ID 为 “nobody” 的 Second Me" in page.locator("#conversation .error-notice").inner_text()
    page.get_by_role("textbox", name="实例 ID").fill("demo")
    page.get_by_role("button", name="↻").or_(page.locator("#conversation button[aria-label='重试']")).first.click()
    assert not chat.stats_lines()  # a failure before any text has no stats line, only its notice
    [line] = wait_until(chat.stats_lines, 20, "the stats line")
    assert line.startswith("⏱ 首个 token ") and line.endswith("已完成"), line


def test_server_notices_follow_the_language_the_page_was_switched_to(open_page: Any, faults: FaultServer,
                                                                      fault_url: str) -> None:
    """The page says which language it shows (a cookie); what the server writes follows it."""
    faults.script("/api/chat/hello", [http_head(), reply("Hi")])
    chat = open_page(fault_url)  # the browser's language: English
    chat.page.evaluate("document.documentElement.lang = 'zh-CN'")  # as Gradio's Settings sets it
    wait_until(lambda: "secondme-lang=zh-CN" in chat.page.evaluate("document.cookie"), 5, "the cookie")
    chat.send("Hi", instance_id="hello")
    [line] = wait_until(chat.stats_lines, 10, "the stats line")
    assert line.endswith("已完成"), line


def test_the_language_switch_offers_the_pages_languages_and_a_reload_keeps_the_choice(open_page: Any,
                                                                                      demo_url: str) -> None:
    chat = open_page(demo_url)  # the browser's language: English
    page = chat.page
    switch = page.locator("#language")
    assert [label.strip() for label in switch.locator("label").all_inner_texts()] == ["English", "简体中文"]
    footer = page.locator("footer").inner_text()
    assert "Settings" not in footer and "设置" not in footer  # Gradio's, with its 33 languages, is gone
    status = page.locator("#instance-status")
    wait_until(lambda: "Online: " in status.inner_text(), 10, "the status")
    switch.get_by_text("简体中文").click()
    page.get_by_role("button", name="发送", exact=True).wait_for(state="visible", timeout=10000)
    wait_until(lambda: page.get_by_role("tab", name="对比").count() == 1, 5, "Compare in Chinese")
    wait_until(lambda: "在线：" in status.inner_text(), 10, "the status in Chinese")
    assert "本地演示" in page.locator("#header").inner_text()

    page.reload()
    page.get_by_role("button", name="发送", exact=True).wait_for(state="visible", timeout=20000)
    wait_until(lambda: page.get_by_role("tab", name="对比").count() == 1, 5, "Compare in Chinese after a reload")
    wait_until(lambda: "在线：" in status.inner_text(), 10, "the status in Chinese after a reload")
    assert page.locator("#language input[value='zh-CN']").is_checked()
    body = page.locator("body").inner_text()
    assert "Progressive Web App" not in body and "Screen Studio" not in body
    page.get_by_role("textbox", name="消息", exact=True).fill("你好")
    page.get_by_role("button", name="发送", exact=True).click()
    [line] = wait_until(chat.stats_lines, 20, "the stats line")
    assert line.endswith("已完成"), line  # the server writes in the chosen language too

    switch.get_by_text("English").click()
    chat.button("Send").wait_for(state="visible", timeout=10000)
    page.reload()
    chat.button("Send").wait_for(state="visible", timeout=20000)
    wait_until(lambda: page.get_by_role("tab", name="Compare").count() == 1, 5, "Compare in English")


def test_screenshots_of_reasoning_and_compare(open_page: Any, demo_url: str, request: Any) -> None:
    """Not a test: the command that takes README's pictures of a reply with its reasoning and stats, of
    Compare, and of the page in Chinese:
    ``python -m pytest tests/test_browser_features.py -k screenshots --screenshots assets``."""
    import pytest

    keep = request.config.getoption("--screenshots")
    if not keep:
        pytest.skip("takes README's screenshots only when asked: --screenshots DIR")
    Path(keep).mkdir(parents=True, exist_ok=True)
    chat = open_page(demo_url, height=960)
    chat.page.locator("#conversation .starters .starter").nth(1).click()  # "Think it through: …"
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 20)
    wait_until(chat.stats_lines, 5, "the stats line")
    chat.page.wait_for_timeout(1500)  # the conversation is saved, and shown again, once the reply is done
    chat.page.get_by_text("💭 Thought").first.click()  # open the reasoning
    wait_until(lambda: chat.page.get_by_text("The visitor asked me").is_visible(), 5, "the reasoning open")
    chat.page.wait_for_timeout(1000)  # the block slides open
    chat.page.evaluate("window.scrollTo(0, 0)")
    chat.page.screenshot(path=str(Path(keep) / "reasoning.png"))

    chat = open_page(demo_url, height=1000)
    chat.page.get_by_role("tab", name="Compare").click()
    chat.page.locator("#b-overrides").get_by_text("Settings: as in Settings").click()
    chat.page.locator("#b-system-prompt textarea").fill("Answer briefly.")
    chat.page.locator("#b-system-prompt textarea").press("Tab")
    chat.page.locator("#b-max-tokens textarea, #b-max-tokens input").first.fill("60")
    chat.page.locator("#b-max-tokens textarea, #b-max-tokens input").first.press("Tab")
    chat.page.locator("#compare-message textarea").fill("Show me a table and some code.")
    chat.page.locator("#compare-send").click()
    wait_until(lambda: chat.stats_lines("#a-conversation") and chat.stats_lines("#b-conversation"), 30, "both")
    chat.page.evaluate("window.scrollTo(0, 0)")
    chat.page.screenshot(path=str(Path(keep) / "compare.png"), full_page=True)

    chat = open_page(demo_url, locale="zh-CN", height=960)
    chat.page.locator("#conversation .starters .starter").first.click()
    wait_until(chat.stats_lines, 20, "the stats line")
    chat.page.screenshot(path=str(Path(keep) / "chinese.png"))
