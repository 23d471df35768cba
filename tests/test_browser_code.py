# ruff: noqa: F811 - the fixtures imported from test_browser are the parameters of its tests
"""View code, in a real browser: each snippet, copied with its button and run as shown, makes exactly the
request the page's Send makes, and works against the local instance."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from .faults import FaultServer, http_head, reply
from .test_browser import ChatPage, browser, demo_url, fault_url, open_page, recorder, wait_until  # noqa: F401

SNIPPETS = {"curl": "cURL", "python": "Python", "openai": "OpenAI SDK"}


def copied_snippet(chat: ChatPage, kind: str) -> str:
    """The snippet as its copy button puts it on the clipboard."""
    chat.page.get_by_role("radio", name=SNIPPETS[kind], exact=True).check()
    chat.page.evaluate("navigator.clipboard.writeText('')")
    chat.page.locator(f"#code-{kind} button").first.click()
    return str(wait_until(lambda: chat.page.evaluate("navigator.clipboard.readText()"), 5, f"the {kind} snippet"))


def run(kind: str, code: str) -> str:
    command = ["bash", "-c", code] if kind == "curl" else [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def open_view_code(chat: ChatPage) -> None:
    chat.page.locator("#view-code .label-wrap").click()
    wait_until(lambda: "curl -N" in chat.page.locator("#code-curl").inner_text(), 5, "the snippets")


def test_each_snippet_makes_exactly_the_request_send_makes(open_page: Any, faults: FaultServer,
                                                           fault_url: str) -> None:
    for path in ("/api/chat/coder", "/api/chat/coder/chat/completions"):  # the OpenAI SDK adds the latter
        faults.script(path, [http_head(), reply("Coded ", "reply.")])
    chat = open_page(fault_url)
    chat.field("System prompt").fill("Be exact, it's a test.")
    chat.page.get_by_text("Advanced").click()
    chat.page.get_by_label("L0 retrieval").check()
    chat.field("Role ID").fill("mentor")
    chat.send("First one", instance_id="coder")
    wait_until(lambda: chat.stats_lines(), 10, "the first reply")
    message = 'It\'s "quoted" — 你好 \\ $HOME `x`'
    chat.message_box.fill(message)
    open_view_code(chat)
    snippets = {kind: copied_snippet(chat, kind) for kind in SNIPPETS}
    assert "Be exact, it's a test." in snippets["python"] and "mentor" in snippets["openai"]

    outputs = {kind: run(kind, code) for kind, code in snippets.items()}
    assert "Coded reply." in outputs["python"] and "Coded reply." in outputs["openai"]
    assert '"Coded "' in outputs["curl"]  # cURL prints the stream as it came
    bodies = [seen.json() for seen in faults.requests_to("/api/chat/coder")[-3:]]  # cURL's, requests', OpenAI's
    assert faults.requests_to("/api/chat/coder/chat/completions")[-1].json() == bodies[-1]

    chat.button("Send").click()  # the page's own request for the same message
    wait_until(lambda: len(chat.stats_lines()) == 2, 10, "the second reply")
    sent = faults.requests_to("/api/chat/coder")[-1].json()
    assert sent["messages"][-1] == {"role": "user", "content": message}
    assert sent["messages"][0] == {"role": "system", "content": "Be exact, it's a test."}
    assert sent["metadata"] == {"enable_l0_retrieval": True, "role_id": "mentor"}
    assert bodies[0] == sent and bodies[1] == sent  # cURL and requests: the very body
    openai_body = bodies[2]
    assert {k: openai_body[k] for k in ("messages", "temperature", "max_tokens", "metadata", "stream")} == sent


def test_the_snippets_follow_the_controls_and_run_against_the_local_instance(open_page: Any, demo_url: str) -> None:
    chat = open_page(demo_url)
    open_view_code(chat)
    assert '"content": "Hello"' in chat.page.locator("#code-curl").inner_text()  # the box is empty
    chat.message_box.fill("From the snippet")
    chat.page.get_by_role("radio", name="Python", exact=True).check()
    wait_until(lambda: "From the snippet" in chat.page.locator("#code-python").inner_text(), 5, "in step")
    chat.page.get_by_text("Advanced").click()
    chat.page.get_by_role("radio", name="chat/completions").check()
    for kind in SNIPPETS:
        code = copied_snippet(chat, kind)
        output = run(kind, code)
        if kind == "curl":  # the raw stream, a word per chunk
            assert "snippet”." in output and "data: [DONE]" in output, output[-500:]
        else:
            assert "You said: “From the snippet”." in output, (kind, output[-500:])
    assert "/api/chat/demo/chat/completions" in copied_snippet(chat, "curl")


def test_no_credentials_of_the_base_url_are_shown() -> None:
    from secondme.web import Settings
    from secondme.web.launch import page_config
    from secondme.web.scripts import head

    js = head(page_config(Settings(base_url="https://someone:s3cret@example.test:8443/base/"), locked=False))
    assert "s3cret" not in js and "someone" not in js and "https://example.test:8443/base" in js
