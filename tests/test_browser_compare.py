# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""In a real browser, the Compare tab: one message box for both sides, both streaming at once, a Stop per side
shown only while that side streams and stopping it alone (Esc stops both), the settings a side sets apart from
the main ones, labels that never lie over the replies, and a comparison saved, reopened, exported, imported and
refused like any conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme.server import ChatBody, LocalInstance, ServerThread, create_app, demo_responder
from secondme.web import Settings

from .conftest import launched_app
from .test_browser import ChatPage, browser, open_page, wait_until  # noqa: F401 - fixtures

LONG = "Tell me a long story"


class Bodies:
    """The local instances' demo responder, keeping each request it answers, with its instance."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, ChatBody]] = []

    def __call__(self, body: ChatBody, instance: LocalInstance) -> Any:
        self.seen.append((instance.instance_id, body))
        return demo_responder(body, instance)


@pytest.fixture(scope="module")
def bodies() -> Bodies:
    return Bodies()


def _page_url(bodies: Bodies, chunks_per_second: float) -> Iterator[str]:
    instances = [LocalInstance("demo", chunks_per_second=chunks_per_second),
                 LocalInstance("other", name="Other demo", chunks_per_second=chunks_per_second)]
    with ServerThread(create_app(instances, responder=bodies)) as upstream:
        with launched_app(Settings(base_url=upstream.url, instance_id="demo", demo=True)) as (_, url):
            yield url


@pytest.fixture(scope="module")
def two_url(bodies: Bodies) -> Iterator[str]:
    """Two demo instances, "demo" and "other", replying at 40 chunks/s."""
    yield from _page_url(bodies, 40)


@pytest.fixture(scope="module")
def slow_two_url(bodies: Bodies) -> Iterator[str]:
    """The same at 5 chunks/s: a long story streams for about 50 s, time to stop each side on a loaded machine."""
    yield from _page_url(bodies, 5)


def open_compare(open_page: Any, url: str, **kwargs: Any) -> ChatPage:
    chat: ChatPage = open_page(url, **kwargs)
    chat.page.get_by_role("tab", name="Compare").click()
    box(chat).wait_for(state="visible")
    return chat


def box(chat: ChatPage) -> Any:
    return chat.page.locator("#compare-message textarea")


def side(chat: ChatPage, name: str) -> list[tuple[str, str]]:
    return chat.messages(f"#{name}-conversation")


def stop(chat: ChatPage, name: str) -> Any:
    return chat.page.locator(f"#{name}-stop")


def field(chat: ChatPage, elem_id: str) -> Any:
    return chat.page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def set_field(chat: ChatPage, elem_id: str, value: str) -> None:
    field(chat, elem_id).fill(value)
    field(chat, elem_id).press("Tab")


def test_one_box_both_stream_at_once_and_each_stop_stops_its_side_alone(open_page: Any, slow_two_url: str,
                                                                         bodies: Bodies) -> None:
    chat = open_compare(open_page, slow_two_url)
    assert chat.page.locator("#compare-message").count() == 1  # one message box for both sides
    assert not stop(chat, "a").is_visible() and not stop(chat, "b").is_visible()  # nothing streams
    # The right side sets its temperature apart; the left keeps the main settings (0.7, 2000).
    overrides = chat.page.locator("#b-overrides")
    assert "as in Settings" in overrides.inner_text()
    overrides.get_by_text("Settings: as in Settings").click()
    set_field(chat, "b-temperature", "1")
    wait_until(lambda: "Settings that differ: temperature 1" in overrides.inner_text(), 10, "the label saying so")
    assert "Settings: as in Settings" in chat.page.locator("#a-overrides").inner_text()
    before = len(bodies.seen)

    box(chat).fill(LONG)
    box(chat).press("Enter")  # Enter sends to both

    def both_streaming() -> bool:
        return len(side(chat, "a")) == 2 and len(side(chat, "b")) == 2 and not chat.stats_lines("#a-conversation") \
            and not chat.stats_lines("#b-conversation")

    wait_until(both_streaming, 60, "both replies streaming at the same time")
    assert box(chat).input_value() == ""
    stop(chat, "a").wait_for(state="visible", timeout=5000)
    stop(chat, "b").wait_for(state="visible", timeout=5000)
    sent = {body.temperature: body for _, body in bodies.seen[before:]}
    assert sorted(sent) == [0.7, 1.0] and {body.max_tokens for body in sent.values()} == {2000}

    box(chat).fill("next")  # Enter while the sides stream sends nothing, says why, and keeps the message
    box(chat).press("Enter")
    wait_until(lambda: "still replying" in chat.page.locator("#compare-hint").inner_text(), 5, "the hint")
    assert box(chat).input_value() == "next" and len(side(chat, "a")) == 2

    stop(chat, "a").click()  # stops the left one only
    [left] = wait_until(lambda: chat.stats_lines("#a-conversation"), 10, "the left stats line")
    assert left.endswith("stopped by you")
    stop(chat, "a").wait_for(state="hidden", timeout=5000)
    assert stop(chat, "b").is_visible() and not chat.stats_lines("#b-conversation")  # the right one streams on

    box(chat).press("Escape")  # Esc stops every side still streaming
    [right] = wait_until(lambda: chat.stats_lines("#b-conversation"), 10, "the right stats line")
    assert right.endswith("stopped by you")
    stop(chat, "b").wait_for(state="hidden", timeout=5000)
    assert box(chat).input_value() == "next"  # a stop gives back nothing, and takes nothing from the box

    chat.page.locator("#a-conversation button[aria-label='Retry']").click()  # retries the left one alone
    stop(chat, "a").wait_for(state="visible", timeout=10000)
    wait_until(lambda: not chat.stats_lines("#a-conversation"), 10, "the left one streaming again")
    assert not stop(chat, "b").is_visible() and chat.stats_lines("#b-conversation") == [right]
    stop(chat, "a").click()
    wait_until(lambda: chat.stats_lines("#a-conversation"), 10, "the left one stopped again")
    assert [r for r, _ in side(chat, "a")].count("user") == 1 and len(chat.stats_lines("#a-conversation")) == 1


# Whether any label of a side lies over what its conversation shows (each message as far as the
# conversation's box shows it).
OVERLAPS_JS = """(name) => {
  const sideEl = document.querySelector(`#compare-${name}`), chat = document.querySelector(`#${name}-conversation`);
  const shown = chat.getBoundingClientRect();
  const visible = (r) => r.width > 0 && r.height > 0;
  const clip = (r) => ({left: Math.max(r.left, shown.left), right: Math.min(r.right, shown.right),
    top: Math.max(r.top, shown.top), bottom: Math.min(r.bottom, shown.bottom)});
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const labels = [...sideEl.querySelectorAll('label, [data-testid="block-label"], [data-testid="block-info"]')]
    .map((e) => [e.innerText.trim(), e.getBoundingClientRect()]).filter(([t, r]) => t && visible(r));
  const replies = [...chat.querySelectorAll('[data-testid="user"], [data-testid="bot"]')]
    .map((e) => clip(e.getBoundingClientRect())).filter((r) => r.right > r.left && r.bottom > r.top);
  return {labels: labels.map(([t]) => t), replies: replies.length,
          overlapping: labels.filter(([, r]) => replies.some((q) => meet(r, q))).map(([t]) => t)};
}"""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_sides_labels_never_lie_over_the_replies(open_page: Any, two_url: str, width: int, height: int) -> None:
    chat = open_compare(open_page, two_url, width=width, height=height)
    set_field(chat, "b-instance-id", "other")
    box(chat).fill(LONG)
    chat.page.locator("#compare-send").click()
    wait_for_both(chat)
    for name in ("a", "b"):
        for top in (0, 200):  # the conversation scrolled to its end, then near its start
            chat.page.locator(f"#{name}-conversation").evaluate(
                f"(e) => e.querySelectorAll('*').forEach((x) => {{ if (x.scrollHeight > x.clientHeight) "
                f"x.scrollTop = {top} || x.scrollHeight; }})")
            found = chat.page.evaluate(OVERLAPS_JS, name)
            assert found["replies"] and found["labels"], found
            assert found["overlapping"] == [], (name, top, found)
        label = chat.page.locator(f"#{name}-instance-id label").first.bounding_box()
        shown = chat.page.locator(f"#{name}-conversation").bounding_box()
        assert label["y"] + label["height"] <= shown["y"]  # the instance's label is above the conversation
    assert "Right: instance ID" in chat.page.locator("#compare-b").inner_text()
    if width < 600:
        a_box, b_box = (chat.page.locator(f"#compare-{n}").bounding_box() for n in ("a", "b"))
        assert b_box["y"] >= a_box["y"] + a_box["height"] - 1  # stacked on a phone
        assert chat.page.evaluate("document.documentElement.scrollWidth") <= width


def wait_for_both(chat: ChatPage) -> None:
    wait_until(lambda: chat.stats_lines("#a-conversation") and chat.stats_lines("#b-conversation"), 60,
               "both replies to end")


def stored(chat: ChatPage) -> list[dict[str, Any]]:
    return list(chat.page.evaluate("() => window.secondmeChats.all()"))


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


def open_tab(context: Any, url: str) -> ChatPage:
    """A ChatPage in an existing browser context (its tabs share the saved conversations)."""
    chat = ChatPage.__new__(ChatPage)
    chat.context, chat.page, chat.dialogs, chat.errors, chat.answers = context, context.new_page(), [], [], []
    chat.page.on("dialog", chat._dismiss)
    chat.page.on("pageerror", lambda error: chat.errors.append(str(error)))
    chat.page.goto(url)
    chat.page.locator("#message textarea").wait_for(state="visible", timeout=20000)
    return chat


def test_a_comparison_is_saved_in_the_list_reopens_after_a_reload_and_exports_both_sides(
        context: Any, two_url: str, tmp_path: Path) -> None:
    chat = open_tab(context, two_url)
    chat.send("Hello there")  # a chat of the Chat tab, saved as ever
    wait_until(chat.stats_lines, 30, "the chat's reply")
    chat.page.get_by_role("tab", name="Compare").click()
    set_field(chat, "b-instance-id", "other")
    chat.page.locator("#b-overrides").get_by_text("Settings: as in Settings").click()
    set_field(chat, "b-max-tokens", "60")
    box(chat).fill("Show me a table and some code.")
    chat.page.locator("#compare-send").click()
    wait_for_both(chat)
    wait_until(lambda: any(t.strip() == "⚖ Show me a table and some code." for t in
                           chat.page.locator("#chats label").all_inner_texts()), 10, "the comparison in the list")
    records = {r.get("kind", "chat"): r for r in stored(chat)}
    assert set(records) == {"chat", "compare"}  # the chat kept as it was, the comparison beside it
    [left, right] = records["compare"]["sides"]
    assert (left["instance_id"], right["instance_id"]) == ("demo", "other")
    assert right["settings"] == {"system_prompt": "", "temperature": None, "max_tokens": 60}
    assert [m["role"] for m in left["messages"]][:2] == ["user", "assistant"]
    assert "Hello from Other demo" in json.dumps(right["messages"])
    assert chat.messages()[0] == ("user", "Hello there")  # the Chat tab's conversation is untouched

    chat.page.reload()  # this tab opens its comparison again
    chat.page.locator("#message textarea").wait_for(state="visible", timeout=20000)
    chat.page.get_by_role("tab", name="Compare").click()
    wait_until(lambda: len(side(chat, "b")) >= 2 and field(chat, "b-instance-id").input_value() == "other", 15,
               "the comparison after a reload")

    other = open_tab(context, two_url)  # another tab opens it from the list
    assert not side(other, "a")
    other.page.locator("#chats label").filter(has_text="⚖ Show me a table").click()
    wait_until(lambda: len(side(other, "a")) >= 2 and len(side(other, "b")) >= 2, 15, "both sides opened")
    assert other.page.locator("#compare-message").is_visible()  # the Compare tab shows
    assert field(other, "a-instance-id").input_value() == "demo"
    assert field(other, "b-instance-id").input_value() == "other"
    overrides = other.page.locator("#b-overrides")
    wait_until(lambda: "Settings that differ: max tokens 60" in overrides.inner_text(), 10, "the override named")
    overrides.get_by_text("Settings that differ").click()  # folded until asked
    assert field(other, "b-max-tokens").input_value() == "60"
    assert [m for m in other.messages()] == []  # the Chat tab's box is not filled with the comparison

    with other.page.expect_download() as exported:
        other.button("⬇ JSON").click()
    doc = json.loads(Path(exported.value.path()).read_text())
    assert doc["kind"] == "compare" and [s["instance_id"] for s in doc["sides"]] == ["demo", "other"]
    assert doc["sides"][1]["settings"]["max_tokens"] == 60
    assert doc["sides"][0]["messages"][0] == {"role": "user", "content": "Show me a table and some code."}
    with other.page.expect_download() as exported_md:
        other.button("⬇ Markdown").click()
    markdown = Path(exported_md.value.path()).read_text()
    assert "## Left — with the Second Me `demo`" in markdown and "## Right — with the Second Me `other`" in markdown
    assert "- max tokens: 60" in markdown and markdown.count("Show me a table and some code.") >= 3

    import_file(other, tmp_path / "comparison.json", doc)
    wait_until(lambda: "as a new comparison" in other.page.locator("#note").inner_text(), 15, "the import")
    titles = [t.strip() for t in other.page.locator("#chats label").all_inner_texts()]
    assert "⚖ Show me a table and some code. (imported)" in titles
    assert len([r for r in stored(other) if r.get("kind") == "compare"]) == 2

    other.page.locator("#chats label").filter(has_text="Hello there").click()  # a chat still opens as a chat
    wait_until(lambda: other.messages()[:1] == [("user", "Hello there")], 10, "the chat")
    other.page.locator("#chats label").filter(has_text="(imported)").click()
    wait_until(lambda: other.page.locator("#compare-message").is_visible(), 10, "the Compare tab")
    other.answers.append("")  # accept the confirm()
    other.button("Delete").click()  # deletes the comparison picked, not the chat
    wait_until(lambda: len(stored(other)) == 2, 10, "the comparison deleted")
    assert {r.get("kind", "chat") for r in stored(other)} == {"chat", "compare"}
    assert other.dialogs == ["Delete this comparison from this browser?"]
    assert not chat.errors and not other.errors, chat.errors + other.errors


def import_file(chat: ChatPage, file: Path, doc: Any) -> None:
    """``doc`` written to ``file`` and imported with the page's Import button, as a person picks a file."""
    file.write_text(json.dumps(doc))
    with chat.page.expect_file_chooser() as chooser:
        chat.button("⬆ Import").click()
    chooser.value.set_files(str(file))


@pytest.mark.parametrize("doc, problem", [
    ({"kind": "compare", "sides": "both"}, "a comparison must have two sides."),
    ({"kind": "compare", "sides": [{"messages": []}]}, "a comparison must have two sides."),
    ({"kind": "compare", "sides": [{"messages": [{"role": "system", "content": "x"}]}, {"messages": []}]},
     "its left side: message 1 is not a text message"),
    ({"kind": "compare", "sides": [{"messages": []}, {"messages": [], "instance_id": "<img src=x>"}]},
     "its right side: its instance ID is not valid"),
    ({"kind": "compare", "sides": [{"messages": []}, {"messages": [], "settings": {"temperature": "hot"}}]},
     "temperature and max tokens must be numbers"),
    ({"kind": "roundtable", "messages": []}, "not a conversation or a comparison this page knows"),
], ids=["sides-text", "one-side", "system-role", "bad-instance", "bad-temperature", "unknown-kind"])
def test_a_hostile_comparison_file_is_refused_in_words(context: Any, two_url: str, tmp_path: Path,
                                                       doc: dict[str, Any], problem: str) -> None:
    chat = open_tab(context, two_url)
    import_file(chat, tmp_path / "bad.json", doc)
    wait_until(lambda: "Not imported" in chat.page.locator("#note").inner_text(), 15, "the refusal")
    assert problem in chat.page.locator("#note").inner_text()
    assert stored(chat) == [] and not chat.errors


def test_a_kept_comparison_with_garbage_opens_safely(context: Any, two_url: str) -> None:
    """What the browser's storage holds may be anything (an older page, another script): opened, a
    comparison with garbage sides shows what it can, as text, and the page's scripts do not fail."""
    chat = open_tab(context, two_url)
    records = [
        {"id": "junk1", "kind": "compare", "title": "Junk sides", "updated": 2, "sides": "nothing"},
        {"id": "junk2", "kind": "compare", "title": "Odd sides", "updated": 1, "sides": [
            None, {"instance_id": 5, "settings": {"temperature": "hot", "max_tokens": [1]},
                   "messages": [{"role": "user", "metadata": None,
                                 "content": [{"type": "text", "text": "<img src=x onerror=alert(1)> hi"}]}]}]},
    ]
    for r in records:
        chat.page.evaluate("(r) => localStorage.setItem('secondme.chat.' + r.id, JSON.stringify(r))", r)
    chat.page.reload()
    chat.page.locator("#message textarea").wait_for(state="visible", timeout=20000)
    chat.page.locator("#chats label").filter(has_text="Odd sides").click()
    wait_until(lambda: len(side(chat, "b")) == 1, 10, "the one message it has")
    assert side(chat, "b")[0][1] == "<img src=x onerror=alert(1)> hi"  # as text
    assert chat.page.locator("#compare-b img").count() == 0
    assert field(chat, "b-instance-id").input_value() == ""
    assert "Settings: as in Settings" in chat.page.locator("#b-overrides").inner_text()  # no garbage taken
    chat.page.locator("#chats label").filter(has_text="Junk sides").click()
    chat.page.wait_for_function("() => sessionStorage.getItem('secondme.compare') === null", timeout=10000)
    assert chat.dialogs == [] and not chat.errors, chat.errors


def test_a_bad_setting_of_one_side_is_said_at_its_field_and_that_side_sends_nothing(open_page: Any, two_url: str,
                                                                                   bodies: Bodies) -> None:
    chat = open_compare(open_page, two_url)
    chat.page.locator("#b-overrides").get_by_text("Settings: as in Settings").click()
    set_field(chat, "b-max-tokens", "many")
    before = len(bodies.seen)
    box(chat).fill("Hi")
    box(chat).press("Enter")
    wait_until(lambda: "Max tokens must be a whole number" in chat.page.locator("#b-max-tokens").inner_text(), 20,
               "the problem at the right side's field")
    wait_until(lambda: chat.stats_lines("#a-conversation"), 30, "the left side's reply")
    assert side(chat, "b") == [] and not stop(chat, "b").is_visible()
    assert [body.max_tokens for _, body in bodies.seen[before:]] == [2000]  # the left side's request alone
    # The right side never had the message: it is back in the box, to send again once the setting is fixed.
    wait_until(lambda: box(chat).input_value() == "Hi", 10, "the message back in the box")
