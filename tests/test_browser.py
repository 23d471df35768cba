"""The page in a real browser (Debian's chromium driven by Playwright), used as a person would."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme.server import ChatBody, LocalInstance, ServerThread, create_app, demo_responder
from secondme.web import Settings

from .conftest import launched_app
from .faults import FaultServer, chunk, data, http_body, http_head, reply

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
INSTALL_HINT = "Browser tests need Debian's chromium: sudo apt-get install -y chromium (bash tests/run.sh does it)."


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.03)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop open until it stops
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Recorder:
    """The local instance's demo responder, keeping each request it answers."""

    def __init__(self) -> None:
        self.bodies: list[ChatBody] = []

    def __call__(self, body: ChatBody, instance: LocalInstance) -> Any:
        self.bodies.append(body)
        return demo_responder(body, instance)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def demo_url(recorder: Recorder) -> Iterator[str]:
    """The page in --demo form, on the local instance (replies paced at 40 chunks/s)."""
    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=40)], responder=recorder)) as upstream:
        with launched_app(Settings(base_url=upstream.url, instance_id="demo", demo=True)) as (_, url):
            yield url


@pytest.fixture(scope="module")
def slow_demo_url(recorder: Recorder) -> Iterator[str]:
    """The page in --demo form, its replies paced at 5 chunks/s: "Tell me a long story" streams for about 50 s,
    time enough to do things while it does on a loaded machine."""
    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=5)], responder=recorder)) as upstream:
        with launched_app(Settings(base_url=upstream.url, instance_id="demo", demo=True)) as (_, url):
            yield url


@pytest.fixture(scope="module")
def fault_url(faults: FaultServer) -> Iterator[str]:
    with launched_app(Settings(base_url=faults.url, timeout=5.0)) as (_, url):
        yield url


class ChatPage:
    """What a person sees and does on the page."""

    def __init__(self, browser: Any, url: str, *, width: int = 1280, height: int = 900, dark: bool = False,
                 locale: str = "en-US") -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                           color_scheme="dark" if dark else "light",
                                           permissions=["clipboard-read", "clipboard-write"])
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.answers: list[str] = []  # what to type into the page's prompt() dialogs, in turn
        self.errors: list[str] = []  # the page's uncaught script errors
        self.page.on("dialog", self._dismiss)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(url + ("?__theme=dark" if dark else ""))
        # The page is up when its message box is shown; a roundtable's link opens its own tab, where the box is not.
        ready = "#rt-topic textarea" if "roundtable=" in url else "#message textarea"
        self.page.locator(ready).first.wait_for(state="visible", timeout=20000)

    def _dismiss(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        if dialog.type in ("prompt", "confirm") and self.answers:
            dialog.accept(self.answers.pop(0))
        else:
            dialog.dismiss()

    @property
    def message_box(self) -> Any:
        return self.page.get_by_role("textbox", name="Message", exact=True)

    def field(self, label: str) -> Any:
        # A field that fails validation adds its message to its accessible name.
        return self.page.get_by_role("textbox", name=re.compile("^" + re.escape(label)))

    def button(self, name: str) -> Any:
        return self.page.get_by_role("button", name=name, exact=True)

    def send(self, text: str, *, instance_id: str | None = None, enter: bool = False) -> None:
        if instance_id is not None:
            self.field("Instance ID").fill(instance_id)
            self.field("Instance ID").press("Tab")  # and on, as a person does (into Browse)
        self.message_box.fill(text)
        if enter:
            self.message_box.press("Enter")
        else:
            self.button("Send").click()

    def messages(self, where: str = "#conversation") -> list[tuple[str, str]]:
        """(user|bot, visible text) of each message in the conversation, but the replies' stats lines."""
        found = self.page.query_selector_all(f"{where} [data-testid='user'], {where} [data-testid='bot']")
        return [(el.get_attribute("data-testid") or "", el.inner_text().replace("\u200b", "").strip())
                for el in found if not el.query_selector(".stats-line")]

    def stats_lines(self, where: str = "#conversation") -> list[str]:
        return [el.inner_text().strip() for el in self.page.query_selector_all(f"{where} .stats-line .title")]

    def last_bot(self) -> str:
        bots = [text for role, text in self.messages() if role == "bot"]
        return bots[-1] if bots else ""

    def wait_for_bot(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        return wait_until(lambda: predicate(self.last_bot()) and self.last_bot(), timeout, "the reply")

    def idle(self) -> bool:
        return self.button("Send").is_visible() and not self.button("Stop").is_visible()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., ChatPage]]:
    pages: list[ChatPage] = []

    def make(url: str, **kwargs: Any) -> ChatPage:
        pages.append(ChatPage(browser, url, **kwargs))
        return pages[-1]

    yield make
    for page in pages:
        page.close()
    errors = [error for page in pages for error in page.errors]
    assert not errors, f"the page's scripts failed: {errors}"


def test_type_send_and_watch_the_reply_stream_in(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    chat.send("Hello from a browser", enter=True)
    states: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = chat.last_bot()
        if text and (not states or text != states[-1]):
            states.append(text)
        if text.endswith("max tokens 2000."):
            break
        time.sleep(0.02)
    assert states and states[-1].endswith("max tokens 2000."), states[-1:]
    assert "You said: “Hello from a browser”." in states[-1]
    assert len(states) >= 4, f"only {len(states)} states seen: the reply did not stream"
    squashed = [re.sub(r"\s+", " ", s) for s in states]
    assert all(b.startswith(a[: max(0, len(a) - 2)]) for a, b in zip(squashed, squashed[1:], strict=False))
    wait_until(chat.idle, 5, "Send to come back")
    assert chat.message_box.input_value() == ""


def test_typing_the_next_message_while_a_reply_streams_is_kept(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    chat.send("First")
    chat.wait_for_bot(lambda t: len(t) > 10)
    chat.message_box.type("my next question")
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the reply to finish")
    assert chat.message_box.input_value() == "my next question"


def test_multi_turn_history_is_sent_upstream(open_page: Any, demo_url: str, recorder: Recorder) -> None:
    chat = open_page(demo_url)
    chat.field("System prompt").fill("Answer like a pirate.")
    chat.field("System prompt").press("Tab")
    chat.send("First question")
    first = chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the first reply to finish")
    before = len(recorder.bodies)
    chat.send("Second question")
    chat.wait_for_bot(lambda t: "turn 2" in t and t.endswith("max tokens 2000."))
    sent = recorder.bodies[before]
    assert [(m.role, m.content) for m in sent.messages] == [
        ("system", "Answer like a pirate."), ("user", "First question"), ("assistant", first.strip()),
        ("user", "Second question")]


def test_stop_mid_reply_keeps_the_partial_and_closes_upstream(open_page: Any, fault_url: str,
                                                              faults: FaultServer) -> None:
    steps: list[Any] = [http_head()]
    for n in range(300):
        steps += [data(chunk(f"word{n} ")), 0.05]
    faults.script("/api/chat/endless", steps)
    chat = open_page(fault_url)
    chat.send("Talk for a long time", instance_id="endless")
    chat.wait_for_bot(lambda t: "word5" in t)
    assert chat.button("Stop").is_visible()
    chat.button("Stop").click()
    stopped_at = time.monotonic()
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "the stopped notice")
    seen = faults.requests_to("/api/chat/endless")[-1]
    wait_until(lambda: seen.client_closed_at is not None, 3, "the upstream connection to close")
    assert seen.client_closed_at is not None and seen.client_closed_at - stopped_at < 1.0
    bots = [text for role, text in chat.messages() if role == "bot"]
    assert bots[0].startswith("word0 word1 word2 word3 word4 word5")
    assert "what arrived is kept" in bots[-1]
    kept = bots[0]
    time.sleep(0.5)
    assert [text for role, text in chat.messages() if role == "bot"][0] == kept  # nothing more arrives
    wait_until(chat.idle, 5, "Send to come back")


@pytest.mark.parametrize("how", ["Stop", "Esc"])
def test_stop_does_not_give_the_sent_message_back(open_page: Any, slow_demo_url: str, how: str) -> None:
    """The message was sent and is in the conversation: after Stop the box stays empty, so Enter sends nothing."""
    chat = open_page(slow_demo_url)
    chat.send("Tell me a long story", enter=True)
    chat.wait_for_bot(lambda t: "keeps going" in t, 15)
    if how == "Stop":
        chat.button("Stop").click()
    else:
        chat.message_box.press("Escape")
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "the stopped notice")
    wait_until(chat.idle, 5, "Send to come back")
    time.sleep(1.0)  # the stopped event's failure step has run by now: nothing comes back
    assert chat.message_box.input_value() == ""
    chat.message_box.press("Enter")
    chat.page.wait_for_timeout(500)
    assert [text for role, text in chat.messages() if role == "user"] == ["Tell me a long story"]


def test_stop_before_the_join_is_answered_still_stops_the_reply(open_page: Any, slow_demo_url: str) -> None:
    """Stop clicked before ``queue/join`` answered (its round trip: a good part of a second to a Space) names no
    event. Gradio refused that cancel, the page went idle as if stopped, and the reply streamed in anyway. Here the
    join's answer is held until Stop has been clicked."""
    chat = open_page(slow_demo_url)
    routes: list[Any] = []
    chat.page.route("**/queue/join*", lambda route: routes.append((route, route.fetch())))
    chat.send("Tell me a long story", enter=True)
    for _ in range(500):  # Playwright's sync API runs the route handler only while the page is waited on
        if routes:
            break
        chat.page.wait_for_timeout(20)
    assert routes, "the join was never sent"
    chat.button("Stop").click()
    chat.page.wait_for_timeout(200)  # the cancel is on its way
    route, answer = routes[0]
    route.fulfill(response=answer)
    chat.page.unroute("**/queue/join*")
    wait_until(chat.idle, 5, "Send to come back")
    chat.page.wait_for_timeout(1000)  # what was sent before the reply stopped has arrived by now
    said = chat.messages()
    chat.page.wait_for_timeout(2000)  # at 5 chunks/s, a reply that went on streams on meanwhile
    assert chat.messages() == said, "the reply went on after Stop"
    assert [text for role, text in said if role == "user"] == ["Tell me a long story"]
    assert chat.idle()


def test_retry_regenerates_the_last_reply(open_page: Any, fault_url: str, faults: FaultServer) -> None:
    faults.script("/api/chat/retry", [http_head(), reply("An answer.")])
    chat = open_page(fault_url)
    chat.send("Question?", instance_id="retry")
    chat.wait_for_bot(lambda t: t == "An answer.")
    wait_until(chat.idle, 5, "the reply to finish")
    chat.button("Retry").click()
    wait_until(lambda: len(faults.requests_to("/api/chat/retry")) == 2, 10, "the retried request")
    wait_until(chat.idle, 5, "the retried reply to finish")
    first, second = (r.json()["messages"] for r in faults.requests_to("/api/chat/retry"))
    assert first == second
    assert chat.messages() == [("user", "Question?"), ("bot", "An answer.")]


def test_edit_a_message_and_rerun_from_it(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    chat.send("Original question")
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the reply to finish")
    chat.send("A follow-up")
    chat.wait_for_bot(lambda t: "turn 2" in t and t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the second reply to finish")
    chat.button("Edit").first.click()
    editor = chat.page.locator("#conversation textarea")
    editor.fill("Edited question")
    chat.button("Submit").click()
    wait_until(lambda: len(chat.messages()) == 2 and "Edited question" in chat.last_bot()
               and chat.last_bot().endswith("max tokens 2000."), 15, "the rerun from the edit")
    assert chat.messages()[0] == ("user", "Edited question")
    assert "This is turn 1" in chat.last_bot()


def test_undo_and_clear(open_page: Any, fault_url: str, faults: FaultServer) -> None:
    faults.script("/api/chat/undo", [http_head(), reply("Reply.")])
    chat = open_page(fault_url)
    chat.send("Take this back", instance_id="undo")
    chat.wait_for_bot(lambda t: t == "Reply.")
    wait_until(chat.idle, 5, "the reply to finish")
    chat.button("Undo").click()
    wait_until(lambda: chat.messages() == [], 5, "undo")
    assert chat.message_box.input_value() == "Take this back"
    chat.send("Keep this one")
    chat.wait_for_bot(lambda t: t == "Reply.")
    wait_until(chat.idle, 5, "the reply to finish")
    chat.button("Clear").click()
    wait_until(lambda: chat.messages() == [], 5, "clear")


@pytest.mark.parametrize("instance_id, script, title, words", [
    ("gone", http_body("503 Service Unavailable", "application/json", '{"detail":"not connected"}'),
     "This Second Me is offline", "its owner's instance is not connected (503)"),
    ("nobody", http_body("404 Not Found", "application/json", '{"detail":"Instance not found"}'),
     "Unknown instance", "No Second Me was found with the instance ID “nobody”"),
])
def test_offline_and_unknown_instances_show_a_notice_in_the_conversation(
        open_page: Any, fault_url: str, faults: FaultServer, instance_id: str, script: list[Any], title: str,
        words: str) -> None:
    faults.script(f"/api/chat/{instance_id}", script)
    chat = open_page(fault_url)
    chat.send("Are you there?", instance_id=instance_id)
    notice = chat.wait_for_bot(lambda t: words in t)
    assert title in notice
    assert chat.messages()[0] == ("user", "Are you there?")
    notice_box = chat.page.locator("#conversation [data-testid='bot']").last
    assert notice_box.is_visible()


def test_a_bad_instance_id_is_reported_inline_and_nothing_is_sent(open_page: Any, fault_url: str,
                                                                   faults: FaultServer) -> None:
    chat = open_page(fault_url)
    before = len(faults.requests_to("/api/chat"))  # the page's directory read is not a chat
    chat.send("Hello?", instance_id="not valid!")
    settings = chat.page.locator("#settings")
    try:
        wait_until(lambda: "can only contain letters, digits" in settings.inner_text(), 5, "the inline message")
    except AssertionError as exc:  # (seen once in a full run, not reproduced since: say what the page showed)
        raise AssertionError(f"{exc}; the settings column read: {settings.inner_text()!r}") from None
    chat.field("Instance ID").fill("")
    chat.button("Send").click()
    wait_until(lambda: "Enter the instance ID" in settings.inner_text(), 5, "the inline message")
    time.sleep(0.3)
    assert len(faults.requests_to("/api/chat")) == before
    assert chat.messages() == []
    assert chat.message_box.input_value() == "Hello?"  # what was typed is not lost


def test_retry_with_a_bad_instance_id_is_reported_inline_and_sends_nothing(open_page: Any, fault_url: str,
                                                                         faults: FaultServer) -> None:
    faults.script("/api/chat/fine", [http_head(), reply("A reply.")])
    chat = open_page(fault_url)
    chat.send("Question", instance_id="fine")
    chat.wait_for_bot(lambda t: t == "A reply.")
    wait_until(chat.idle, 5, "the reply to finish")
    before = len(faults.requests_to("/api/chat"))  # the page's directory read is not a chat
    chat.field("Instance ID").fill("no good")
    chat.button("Retry").click()
    settings = chat.page.locator("#settings")
    try:
        wait_until(lambda: "can only contain letters, digits" in settings.inner_text(), 5, "the inline message")
    except AssertionError as exc:  # (seen once in a full run, not reproduced since: say what the page showed)
        raise AssertionError(f"{exc}; the settings column read: {settings.inner_text()!r}") from None
    time.sleep(0.3)
    assert len(faults.requests_to("/api/chat")) == before
    assert chat.idle(), "Stop is shown although nothing is running"
    assert chat.messages() == [("user", "Question"), ("bot", "A reply.")]


def test_markup_in_a_reply_renders_as_text_and_runs_nothing(open_page: Any, fault_url: str,
                                                            faults: FaultServer) -> None:
    hostile = ('Look: <script>window.__xss = 1; alert(1)</script> and <img src=x onerror="window.__xss = 2"> '
               'and [click me](javascript:window.__xss=3) and <a href="javascript:window.__xss=4">raw link</a>')
    faults.script("/api/chat/hostile", [http_head(), reply(hostile)])
    chat = open_page(fault_url)
    chat.send("<b>not bold</b> <img src=y onerror=\"window.__xss = 5\">", instance_id="hostile")
    text = chat.wait_for_bot(lambda t: "raw link" in t)
    assert "<script>window.__xss = 1; alert(1)</script>" in text
    assert '<img src=x onerror="window.__xss = 2">' in text
    assert '<a href="javascript:window.__xss=4">raw link</a>' in text
    assert chat.messages()[0] == ("user", '<b>not bold</b> <img src=y onerror="window.__xss = 5">')
    conversation = chat.page.locator("#conversation")
    assert conversation.locator("script, img[src='x'], img[src='y'], b").count() == 0
    assert conversation.locator("a[href^='javascript']").count() == 0
    link = conversation.get_by_text("click me")
    assert link.count() == 1  # the Markdown link is there, as text or a harmless link: click it
    link.first.click()
    time.sleep(0.3)
    assert chat.page.evaluate("window.__xss") is None
    assert chat.dialogs == []
    upstream = faults.requests_to("/api/chat/hostile")[0].json()["messages"][-1]["content"]
    assert upstream == '<b>not bold</b> <img src=y onerror="window.__xss = 5">'  # sent as typed


def test_a_phone_shows_the_chat_and_the_controls_without_sideways_scrolling(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url, width=390, height=844)
    widths = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    settings = [None, chat.field("Instance ID"), chat.field("System prompt")]
    for control in (chat.message_box, chat.button("Send"), *settings):
        if control is None:  # the settings are in a drawer, behind the header's button
            chat.page.locator("#open-settings").click()
            chat.page.wait_for_function("document.getElementById('settings-drawer')?.classList.contains('open')")
            continue
        control.scroll_into_view_if_needed()

        def on_screen(c: Any = control) -> bool:  # (a drawer slides in)
            box = c.bounding_box()
            return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

        wait_until(on_screen, 10, "the control on screen")
    chat.page.keyboard.press("Escape")
    chat.page.wait_for_function("!document.getElementById('settings-drawer')?.classList.contains('open')")
    chat.send("Hi from my phone")
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."))
    widths = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways after a reply: {widths}"


LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
SHOTS = [("desktop-light", LAPTOP), ("desktop-dark", {**LAPTOP, "dark": True}), ("phone", PHONE),
         ("phone-dark", {**PHONE, "dark": True})]


@pytest.mark.parametrize("name, options", SHOTS, ids=[s[0] for s in SHOTS])
def test_screenshots(open_page: Any, demo_url: str, request: pytest.FixtureRequest, name: str,
                     options: dict[str, Any]) -> None:
    """Not a test: the command that takes README's pictures of the page in use,
    ``python -m pytest tests/test_browser.py -k screenshots --screenshots assets``."""
    keep = request.config.getoption("--screenshots")
    if not keep:
        pytest.skip("takes README's screenshots only when asked: --screenshots DIR")
    chat = open_page(demo_url, **options)
    chat.send("Hi! Who are you, and what can you do?")
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the reply to finish")
    chat.send("Can you remember what I asked first?")
    chat.wait_for_bot(lambda t: "turn 2" in t and t.endswith("max tokens 2000."))
    wait_until(chat.idle, 5, "the reply to finish")
    Path(keep).mkdir(parents=True, exist_ok=True)
    chat.page.locator("#message textarea").blur()  # no caret or focus ring in the picture
    chat.page.mouse.move(0, 0)  # and no button under the mouse
    chat.page.screenshot(path=str(Path(keep) / f"{name}.png"))


CONTRAST_JS = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92
    : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let bg = el;
  while (bg && getComputedStyle(bg).backgroundColor.match(/rgba\\(.*, 0\\)$|transparent/)) bg = bg.parentElement;
  const [a, b] = [lum(getComputedStyle(el).color), lum(getComputedStyle(bg).backgroundColor)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_failure_is_unmistakable_and_a_stop_stays_quiet(open_page: Any, fault_url: str, faults: FaultServer,
                                                         dark: bool) -> None:
    faults.script("/api/chat/down", http_body("503 Service Unavailable", "application/json", "{}"))
    chat = open_page(fault_url, dark=dark)
    chat.send("Are you there?", instance_id="down")
    alert = chat.page.locator("#conversation [role='alert']")
    alert.wait_for(state="visible", timeout=10000)
    assert "This Second Me is offline" in alert.inner_text()
    body = alert.locator(".content p").first
    assert body.is_visible()  # open, not collapsed
    for text in (body, alert.locator(".title p").first):
        assert text.evaluate(CONTRAST_JS) > 4.5 + 0.5
    assert float(body.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 14
    # A stopped reply's notice is not an alert.
    steps: list[Any] = [http_head()]
    for n in range(600):  # 30 s: still streaming when Stop is pressed, however loaded the machine
        steps += [data(chunk(f"w{n} ")), 0.05]
    faults.script("/api/chat/stoppable", steps)
    wait_until(chat.idle, 5, "Send to come back")
    chat.send("Talk", instance_id="stoppable")
    chat.wait_for_bot(lambda t: "w3" in t)
    chat.button("Stop").click()
    wait_until(lambda: "Stopped" in chat.last_bot(), 5, "the stopped notice")
    assert alert.count() == 1


def test_a_full_queue_gives_the_message_back_and_send_returns(browser: Any, faults: FaultServer) -> None:
    from gradio_client import Client
    from gradio_client.utils import Status

    faults.script("/api/chat/busy", [http_head(), data(chunk("held")), 30.0])
    settings = Settings(base_url=faults.url, instance_id="busy", concurrency=1, queue_size=1)
    with launched_app(settings) as (_, url):
        client = Client(url, verbose=False)
        jobs: list[Any] = []
        try:
            for expected in (Status.ITERATING, Status.IN_QUEUE):  # the one slot busy, the one place taken
                jobs.append(client.submit(f"caller {len(jobs)}", api_name="/chat"))
                job, want = jobs[-1], expected
                wait_until(lambda: job.status().code == want, 10, f"a caller {want}")  # noqa: B023
            chat = ChatPage(browser, url)
            try:
                chat.send("Please keep this message")
                wait_until(lambda: chat.message_box.input_value() == "Please keep this message", 10,
                           "the message to come back to the box")
                wait_until(chat.idle, 5, "Send to come back")
                assert chat.messages() == []
                assert "busy" in chat.page.locator("body").inner_text().lower() or \
                    "queue" in chat.page.locator("body").inner_text().lower()
            finally:
                chat.close()
        finally:
            for job in jobs:
                job.cancel()
            client.close()


def test_closing_the_tab_releases_a_silent_upstream(open_page: Any, fault_url: str, faults: FaultServer) -> None:
    faults.script("/api/chat/quiet", [http_head(), data(chunk("Let me think")), 30.0, reply("late")])
    chat = open_page(fault_url)
    chat.send("A hard question", instance_id="quiet")
    chat.wait_for_bot(lambda t: "Let me think" in t)
    chat.page.close()
    closed_tab = time.monotonic()
    seen = faults.requests_to("/api/chat/quiet")[-1]
    wait_until(lambda: seen.client_closed_at is not None, 5, "the upstream connection to close")
    assert seen.client_closed_at is not None
    released = seen.client_closed_at - closed_tab
    print(f"upstream released {released:.2f} s after the tab closed")
    assert released < 1.0
