"""Hostile text in a real browser: every text from outside (replies, finish reasons, error bodies, imported
conversations and titles, directory entries) reaches the page only as text, and what a person typed is
shown, copied, edited, exported and sent exactly as typed (conversation.shown_as_written, launch.TEXT_JS).

No element may be made of the text: the checks look for any element that loads, runs, covers or takes
input (``FORBIDDEN``) inside what was rendered, and a tracking server counts every fetch the page makes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme.engine.conversation import (
    GUARD,
    SHOWN_PATTERN,
    WRITTEN_PATTERN,
    as_written,
    markdown_literal,
    shown_as_written,
)
from secondme.web import Settings

from .conftest import launched_app
from .faults import FaultServer, chunk, data, http_body, http_head
from .test_browser import ChatPage, Recorder, browser, demo_url, open_page, recorder, wait_until  # noqa: F401

# Elements that no text may make. The Markdown's own harmless ones stay possible (links, a task list's
# disabled checkbox), and so do Gradio's own (a code block's copy button and its icon).
FORBIDDEN = ("img, image, form, input:not([type=checkbox][disabled]), textarea, select, iframe, frame, object, "
             "embed, video, audio, source, picture, svg, math, style, script, link, meta, base, details, dialog, "
             "[style], [onerror], [onload], [onclick], a[href^='javascript' i], a[href^='data' i], button, .mermaid")
# What the page's widgets (a dropdown, a list of choices) may never hold: they have inputs and icons of their own.
LOADERS = ("img, image, form, iframe, frame, object, embed, video, audio, style, script, link, meta, base, "
           "a[href^='javascript' i]")
# The forbidden elements in the rendered Markdown (messages, titles, notes) under ``root``.
_MADE = f"""(root) => [...root.querySelectorAll('.md')]
  .flatMap((md) => [...md.querySelectorAll({json.dumps(FORBIDDEN)})])
  .filter((el) => !el.closest('button.copy_code_button')).map((el) => el.outerHTML.slice(0, 120))"""
_LOADED = f"(root) => [...root.querySelectorAll({json.dumps(LOADERS)})].map((el) => el.outerHTML.slice(0, 120))"


@pytest.fixture(scope="module")
def tracker() -> Iterator[FaultServer]:
    """Where the hostile texts point: it must never be asked for anything."""
    server = FaultServer().start()
    yield server
    server.stop()


def payloads(track: str) -> list[tuple[str, str, str]]:
    """(name, text, what the page shows of it): CommonMark's and the page's edge cases. Each points at a
    tracking path of its own, ``/track/<n>/``."""
    return [(name, text.replace("TRACK", f"{track}/track/{n}/"), shown.replace("TRACK", f"{track}/track/{n}/"))
            for n, (name, text, shown) in enumerate(_payloads("TRACK"))]


def _payloads(t: str) -> list[tuple[str, str, str]]:
    return [
        ("escaped backtick", f"\\`<img src={t}?1 onerror=alert(1)>`", f"`<img src={t}?1 onerror=alert(1)>`"),
        ("one backtick opens, two close", f"`<img src={t}?2>``", f"`<img src={t}?2>``"),
        ("fence not at line start", f"foo ```\n<img src={t}?3>", f"foo ``` <img src={t}?3>"),
        ("tilde fence", f"~~~\n<img src={t}?4>\n~~~", f"<img src={t}?4>"),
        ("backtick fence", f"```html\n<form action={t}?5><input type=password></form>\n```",
         f"<form action={t}?5><input type=password></form>"),
        ("unclosed fence", f"```\n<img src={t}?6>", f"<img src={t}?6>"),
        ("indented code", f"    <iframe src={t}?7></iframe>", f"<iframe src={t}?7></iframe>"),
        ("html block 1: script", "<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("html block 1: style", f"<style>*{{background:url({t}?9)}}</style>",
         f"<style>*{{background:url({t}?9)}}</style>"),
        ("html block 1: textarea", "<textarea>x</textarea>", "<textarea>x</textarea>"),
        ("html block 2: comment", f"<!-- <img src={t}?11> -->", f"<!-- <img src={t}?11> -->"),
        ("html block 3: processing", "<?php echo 1; ?>", "<?php echo 1; ?>"),
        ("html block 4: declaration", "<!DOCTYPE html>", "<!DOCTYPE html>"),
        ("html block 5: CDATA", f"<![CDATA[<img src={t}?14>]]>", f"<![CDATA[<img src={t}?14>]]>"),
        ("html block 6: a fake password form over the page",
         f'<div style="position:fixed;inset:0;z-index:9999;background:#fff"><form action="{t}?15">'
         '<input type="password" placeholder="Password"></form></div>',
         f'<div style="position:fixed;inset:0;z-index:9999;background:#fff"><form action="{t}?15">'
         '<input type="password" placeholder="Password"></form></div>'),
        ("html block 7: custom element", "<custom-el onclick=alert(1)>x</custom-el>",
         "<custom-el onclick=alert(1)>x</custom-el>"),
        ("details", "<details open><summary>Open me</summary>hidden</details>",
         "<details open><summary>Open me</summary>hidden</details>"),
        ("autolink", "<http://127.0.0.1:1/phish>", "<http://127.0.0.1:1/phish>"),
        ("email autolink", "<a@b.example>", "<a@b.example>"),
        ("inline img onerror", 'Look: <img src=x onerror="alert(1)"> here',
         'Look: <img src=x onerror="alert(1)"> here'),
        ("svg", f"<svg onload=alert(1)><image href={t}?21 /></svg>",
         f"<svg onload=alert(1)><image href={t}?21 /></svg>"),
        ("iframe srcdoc", '<iframe srcdoc="<script>parent.alert(1)</script>"></iframe>',
         '<iframe srcdoc="<script>parent.alert(1)</script>"></iframe>'),
        ("javascript link, html", '<a href="javascript:alert(1)">click</a>',
         '<a href="javascript:alert(1)">click</a>'),
        ("javascript link, markdown", "[click me](javascript:alert(1))", "click me"),
        ("markdown image", f"![tracked]({t}?25)", "!tracked"),
        ("reference image", f"![logo][r]\n\n[r]: {t}?26", "!logo"),
        ("link reference to javascript", "[x]: javascript:alert(1)\n\nsee [x]", "see x"),
        ("entities", "&lt;img src=x&gt; and &amp;lt;b&amp;gt;", "<img src=x> and &lt;b&gt;"),
        ("nested list with html", f"- a\n  - <img src={t}?29>\n    - <b>bold?</b>",
         f"a <img src={t}?29> <b>bold?</b>"),
        ("table with html", f"| a | b |\n|---|---|\n| <img src={t}?30> | <form> |", f"<img src={t}?30>"),
        ("blockquote and heading", f"> <img src={t}?31>\n\n# <img src={t}?31>", f"<img src={t}?31>"),
        ("zero-width characters", f"ze\u200bro <\u200bimg src={t}?32> wi\u200cdth",
         f"zero <img src={t}?32> wi\u200cdth"),
        ("right-to-left override", f"\u202egnp.exe <img src={t}?33>", f"\u202egnp.exe <img src={t}?33>"),
        ("mermaid", "```mermaid\ngraph TD; A[<img src=x>]-->B\n```", "graph TD; A[<img src=x>]-->B"),
        ("unclosed tag", f"<img src={t}?35", f"<img src={t}?35"),
        ("head elements", f'<base href="{t}/"><meta http-equiv="refresh" content="0;url={t}?36">'
         f'<link rel="stylesheet" href="{t}?36">', f'<base href="{t}/"><meta http-equiv="refresh"'),
        ("media", f"<video poster={t}?37></video><audio src={t}?37></audio><object data={t}?37></object>"
         f"<embed src={t}?37><input type=image src={t}?37>", f"<video poster={t}?37></video>"),
        ("reasoning", f"<think><img src={t}?39> ![r]({t}?39)</think>Done <b>here</b>", "Done <b>here</b>"),
        ("a tag split across chunks", f"<im<img src={t}?38>g src={t}?38>", f"<im<img src={t}?38>g src={t}?38>"),
    ]


def visible(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace(GUARD, "")).strip()


def streamed(text: str, finish: str = "stop") -> list[Any]:
    """A reply in two chunks, cut in the middle (the page renders each update)."""
    half = len(text) // 2
    return [http_head(), data(chunk(role="assistant")), data(chunk(text[:half])), data(chunk(text[half:])),
            data(chunk(finish=finish)), data("[DONE]")]


@pytest.fixture(scope="module")
def hostile_url(faults: FaultServer, tracker: FaultServer) -> Iterator[str]:
    for n, (_, text, _) in enumerate(payloads(tracker.url)):
        faults.script(f"/api/chat/h{n}", streamed(text))
    faults.script("/api/chat/ended", streamed("Ended oddly.", finish=f"<img src={tracker.url}/track?f>**f**"))
    faults.script("/api/chat/refused", http_body("422 Unprocessable Entity", "application/json", json.dumps(
        {"detail": f"<img src={tracker.url}/track?e1> <form><input type=password></form>"})))
    faults.script("/api/chat/broken", [http_head(), data({"error": {"message": f"![x]({tracker.url}/track?e2) "
                                                                               "<iframe src=x></iframe>"}}),
                                       data("[DONE]")])
    faults.script("/api/upload/list", http_body("200 OK", "application/json", json.dumps({"code": 0, "data": {
        "items": [{"instance_id": "evil", "upload_name": f"![me]({tracker.url}/track?d1) <img src=x> **Eve**",
                   "description": f"<form><input></form> ![d]({tracker.url}/track?d2)", "status": "online"}]}})))
    with launched_app(Settings(base_url=faults.url, timeout=5.0)) as (_, url):
        yield url


@pytest.fixture(scope="module")
def hostile_page(browser: Any, hostile_url: str) -> Iterator[ChatPage]:  # noqa: F811
    page = ChatPage(browser, hostile_url)
    yield page
    page.close()
    assert not page.errors, f"the page's scripts failed: {page.errors}"


def ask(chat: ChatPage, instance_id: str) -> Any:
    """Sends a message to ``instance_id`` and returns the reply's row once it has ended."""
    before = chat.page.locator("#conversation .message-row.bot-row").count()
    chat.send("Say it", instance_id=instance_id)
    wait_until(lambda: chat.page.locator("#conversation .message-row.bot-row").count() > before and chat.idle(),
               20, "the reply to end")
    return chat.page.locator("#conversation .message-row.bot-row").last


def test_the_tracker_would_see_a_fetch_from_the_page(hostile_page: ChatPage, tracker: FaultServer) -> None:
    """The checks below can fail: an image the page itself loads reaches the tracker."""
    hostile_page.page.evaluate("(url) => { new Image().src = url; }", f"{tracker.url}/control")
    wait_until(lambda: tracker.requests_to("/control"), 10, "the control fetch")


def test_an_innocent_reply_makes_no_forbidden_element(hostile_page: ChatPage, faults: FaultServer) -> None:
    faults.script("/api/chat/innocent", streamed("Fine: **bold**, a [link](https://example.org), "
                                                 "`code`\n\n```python\nprint(1 < 2)\n```\n\n- [ ] a task"))
    row = ask(hostile_page, "innocent")
    assert row.locator("pre code").count() == 1 and row.locator("a[href='https://example.org']").count() == 1
    assert row.evaluate(_MADE) == []
    hostile_page.page.evaluate("navigator.clipboard.writeText('')")
    row.locator("pre").hover()
    row.locator("button.copy_code_button").click()  # the code block's own copy button: the code, as written
    assert wait_until(lambda: hostile_page.page.evaluate("navigator.clipboard.readText()"), 5,
                      "the code on the clipboard").strip() == "print(1 < 2)"


@pytest.mark.parametrize("n", range(len(payloads(""))), ids=[name for name, _, _ in payloads("")])
def test_a_hostile_reply_is_shown_as_text(hostile_page: ChatPage, tracker: FaultServer, n: int) -> None:
    _, text, shown = payloads(tracker.url)[n]
    row = ask(hostile_page, f"h{n}")
    assert row.evaluate(_MADE) == [], text
    assert visible(shown) in visible(row.inner_text()), text
    assert not tracker.requests_to(f"/track/{n}/")


def test_a_finish_reason_and_error_bodies_are_shown_as_text(hostile_page: ChatPage, tracker: FaultServer) -> None:
    row = ask(hostile_page, "ended")
    line = visible(row.locator(".stats-line .title").inner_text())
    # Shown as it came, or (where the app names a finish_reason from a fixed set) not at all: never as markup.
    assert "<img" not in line or f"<img src={tracker.url}/track?f>**f**" in line, line
    assert row.evaluate(_MADE) == []
    for instance_id, words in (("refused", f"<img src={tracker.url}/track?e1> <form><input type=password></form>"),
                               ("broken", "<iframe src=x></iframe>")):
        row = ask(hostile_page, instance_id)
        assert row.evaluate(_MADE) == [], instance_id
        assert words in visible(row.inner_text())
    assert not tracker.requests_to("/track?")


def test_an_imported_conversation_and_its_titles_are_shown_as_text(hostile_page: ChatPage, tracker: FaultServer,
                                                                    tmp_path: Path) -> None:
    corpus = payloads(tracker.url)
    title = f"<img src={tracker.url}/track?t1> ![t]({tracker.url}/track?t2)"
    messages: list[dict[str, Any]] = []
    for _, text, _ in corpus:
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": text}]
    messages.append({"role": "assistant", "title": f"<form><input></form> ![t]({tracker.url}/track?t3)",
                     "content": "A notice"})
    file = tmp_path / "hostile.json"
    file.write_text(json.dumps({"title": title, "messages": messages}))
    chat = hostile_page
    chat.button("+ New chat").click()
    with chat.page.expect_file_chooser() as chooser:
        chat.button("⬆ Import").click()
    chooser.value.set_files(str(file))
    wait_until(lambda: "Imported" in chat.page.locator("#note").inner_text(), 15, "the import")
    wait_until(lambda: len(chat.messages()) >= len(messages), 15, "the imported messages")
    conversation = chat.page.locator("#conversation")
    for selector in ("#conversation", "#note"):
        assert chat.page.locator(selector).evaluate(_MADE) == [], selector
    assert chat.page.locator("#chats").evaluate(_LOADED) == []
    shown = visible(conversation.inner_text())
    for name, _, words in corpus:
        assert visible(words) in shown, name
    assert f"<form><input></form> !t{tracker.url}/track?t3".replace(" ", "") not in shown  # a title is Markdown
    assert "<form><input></form>" in shown
    assert visible(title) in visible(chat.page.locator("#note").inner_text())
    assert visible(" ".join(title.split())) in visible(chat.page.locator("#chats").inner_text())
    assert not tracker.requests_to("/track?")


def test_a_conversation_kept_by_an_older_version_is_guarded_when_opened(open_page: Any, hostile_url: str,  # noqa: F811
                                                                         tracker: FaultServer) -> None:
    """The browser's storage may hold what an older page kept, with the old guard or none (its own reply of
    `<img …>`` was kept as it was shown): opened, it is guarded once, and exported as it was written."""
    chat = open_page(hostile_url)
    text = f"`<img src={tracker.url}/track?k1>`` and <\u200bb>kept</b>"
    record = {"id": "oldone", "title": "Kept before", "instance_id": "", "settings": {}, "created": 1, "updated": 1,
              "messages": [{"role": "user", "metadata": None, "content": [{"type": "text", "text": "Hi"}]},
                           {"role": "assistant", "metadata": {"title": f"![t]({tracker.url}/track?k2)"},
                            "content": [{"type": "text", "text": text}]}]}
    chat.page.evaluate("(r) => localStorage.setItem('secondme.chat.oldone', JSON.stringify(r))", record)
    chat.page.reload()
    chat.page.locator("#chats label").filter(has_text="Kept before").click()
    wait_until(lambda: len(chat.messages()) == 2, 10, "the kept conversation")
    assert chat.page.locator("#conversation").evaluate(_MADE) == []
    assert f"`<img src={tracker.url}/track?k1>``" in visible(chat.page.locator("#conversation").inner_text())
    with chat.page.expect_download() as exported:
        chat.button("⬇ JSON").click()
    doc = json.loads(Path(exported.value.path()).read_text())
    assert doc["messages"][1] == {"role": "assistant", "title": f"![t]({tracker.url}/track?k2)",
                                  "content": as_written(text)}  # the old guard undone too
    assert not tracker.requests_to("/track?")


def test_a_directory_entry_is_shown_as_text(hostile_page: ChatPage, tracker: FaultServer) -> None:
    chat = hostile_page
    chat.field("Instance ID").fill("evil")
    status = chat.page.locator("#instance-status")
    name = f"![me]({tracker.url}/track?d1) <img src=x> **Eve**"
    wait_until(lambda: "Online" in status.inner_text(), 10, "the instance's status")
    assert visible(name) in visible(status.inner_text())
    chat.page.locator("#browse input").click()
    option = chat.page.get_by_role("option").filter(has_text="Eve")
    option.first.wait_for(state="visible", timeout=10000)
    assert visible(name) in visible(option.first.inner_text()) and option.first.evaluate(_LOADED) == []
    assert status.evaluate(_MADE) == [] and status.evaluate(_LOADED) == []
    card = chat.page.locator("#assistant-card .card")  # the header's card names it too, as text
    wait_until(lambda: "Eve" in card.inner_text(), 10, "the card")
    assert visible(name) in visible(card.inner_text())
    assert card.evaluate(f"(c) => [...c.querySelectorAll({json.dumps(FORBIDDEN)})].length") == 0
    assert card.evaluate(_LOADED) == []
    assert chat.page.locator("#browse").evaluate(_LOADED) == []
    pointing = ("[src*='/track'], link[href*='/track'], image[href*='/track'], [action*='/track'], "
                "[poster*='/track'], [data*='/track']")  # a link may point there: it is not fetched
    assert chat.page.locator("body").evaluate(f"(b) => b.querySelectorAll({json.dumps(pointing)}).length") == 0
    assert not tracker.requests_to("/track?")


def test_the_page_guards_and_unguards_exactly_as_python_does(hostile_page: ChatPage, tracker: FaultServer) -> None:
    texts = [text for _, text, _ in payloads(tracker.url)] + [
        "", "<", "!", "`", GUARD, "![", "!" + GUARD + "[", "`mermaid", "`" + GUARD + "mermaid", "<" + GUARD * 2,
        "a < b ! c ` d", "```mermaid\nx\n```"]
    page = hostile_page.page.evaluate("(texts) => texts.map((t) => [window.secondmeText.shown(t), "
                                      "window.secondmeText.written(window.secondmeText.shown(t)), "
                                      "window.secondmeText.literal(t)])", texts)
    assert page == [[shown_as_written(t), t, markdown_literal(t)] for t in texts]
    assert all(as_written(shown_as_written(t)) == t for t in texts)
    assert SHOWN_PATTERN and WRITTEN_PATTERN


TYPED = "is 1<2 and <div> ok? ![a](b) `mermaid` and <\u200b kept"


def test_what_a_person_typed_is_shown_copied_edited_exported_and_sent_as_typed(
        open_page: Any, demo_url: str, recorder: Recorder) -> None:  # noqa: F811
    chat = open_page(demo_url)
    before = len(recorder.bodies)
    chat.send(TYPED)
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), 20)
    wait_until(chat.idle, 5, "the reply to finish")
    assert recorder.bodies[before].messages[-1].content == TYPED  # what the upstream received
    user = chat.page.locator("#conversation [data-testid='user']").first
    assert visible(user.inner_text()) == visible(TYPED.replace("![a](b)", "!a").replace("`mermaid`", "mermaid"))

    chat.page.evaluate("navigator.clipboard.writeText('')")
    user.hover()
    chat.page.locator("#conversation .message-buttons-right button[aria-label='Copy message']").first.click()
    assert wait_until(lambda: chat.page.evaluate("navigator.clipboard.readText()"), 5, "the copy") == TYPED

    chat.page.evaluate("navigator.clipboard.writeText('')")
    chat.page.locator("#conversation button[aria-label='Copy conversation']").first.click()
    everything = wait_until(lambda: chat.page.evaluate("navigator.clipboard.readText()"), 5, "the copy of all")
    assert everything.startswith(f"user: {TYPED}")

    chat.page.evaluate("navigator.clipboard.writeText('')")
    user.locator("code").first.evaluate("(el) => { const r = document.createRange(); r.selectNodeContents(el); "
                                        "const s = getSelection(); s.removeAllRanges(); s.addRange(r); }")
    chat.page.keyboard.press("Control+c")
    assert wait_until(lambda: chat.page.evaluate("navigator.clipboard.readText()"), 5, "the selection") == "mermaid"

    with chat.page.expect_download() as exported:
        chat.button("⬇ JSON").click()
    doc = json.loads(Path(exported.value.path()).read_text())
    assert doc["messages"][0] == {"role": "user", "content": TYPED}

    chat.button("Edit").first.click()
    editor = chat.page.locator("#conversation textarea.edit-textarea")
    wait_until(lambda: editor.input_value() == TYPED, 5, "the text, as typed, in the edit box")
    editor.press("End")
    editor.type(" really")
    before = len(recorder.bodies)
    chat.button("Submit").click()
    wait_until(lambda: len(recorder.bodies) > before, 15, "the edited message to be sent")
    assert recorder.bodies[before].messages[-1].content == TYPED + " really"
