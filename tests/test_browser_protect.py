"""In a browser: a reply waiting in its instance's line, Stop while it waits, and the rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from secondme.web import Settings
from secondme.web.ratelimit import Rate

from .conftest import launched_app
from .faults import FaultServer, chunk, data, http_head, reply
from .test_browser import ChatPage, browser, open_page, wait_until  # noqa: F401 - fixtures

SLOW = [http_head(), data(chunk(role="assistant")), data(chunk("Slow ")), 2.5, data(chunk("reply.")),
        data(chunk(finish="stop")), data("[DONE]")]


@pytest.fixture(scope="module")
def protected_url(faults: FaultServer) -> Iterator[str]:
    faults.script("/api/chat/busy", SLOW)
    faults.script("/api/chat/quick", [http_head(), reply("Quick reply.")])
    with launched_app(Settings(base_url=faults.url, timeout=5.0, instance_concurrency=1)) as (_, url):
        yield url


@pytest.fixture()
def limited_url(faults: FaultServer) -> Iterator[str]:
    faults.script("/api/chat/quick", [http_head(), reply("Quick reply.")])
    with launched_app(Settings(base_url=faults.url, timeout=5.0, rate_limit=Rate(2, 60))) as (_, url):
        yield url


def test_a_waiting_reply_says_so_where_it_will_appear_and_stop_leaves_the_line(open_page: Any,  # noqa: F811
                                                                               protected_url: str) -> None:
    first, second = open_page(protected_url), open_page(protected_url)
    first.send("Hold the line", instance_id="busy")
    first.wait_for_bot(lambda t: t.startswith("Slow"))
    second.send("Let me in", instance_id="busy")
    waiting = second.wait_for_bot(lambda t: "Waiting for this Second Me" in t)
    assert "You are next." in waiting
    second.button("Stop").click()
    stopped = second.wait_for_bot(lambda t: "Stopped" in t)
    assert "Waiting" not in stopped and "before it began" in stopped
    wait_until(second.idle, 5, "Send to come back")
    first.wait_for_bot(lambda t: t == "Slow reply.")


def test_past_the_rate_limit_the_page_says_when_and_keeps_the_message(open_page: Any,  # noqa: F811
                                                                      limited_url: str) -> None:
    chat = open_page(limited_url)
    for n in (1, 2):
        chat.send(f"Message {n}", instance_id="quick")
        wait_until(partial(lambda sent: len(chat.messages()) == 2 * sent and chat.idle(), n), 10,
                   "the reply to finish")
    sent_before = len(chat.messages())
    chat.send("One too many")
    refused = chat.page.get_by_text(re.compile(r"as many messages as this page allows \(2 per minute\)\. "
                                               r"Try again in \d+ s\."))
    refused.first.wait_for(state="visible", timeout=10000)
    wait_until(chat.idle, 5, "Send to come back")
    assert chat.message_box.input_value() == "One too many"
    time.sleep(0.3)
    assert len(chat.messages()) == sent_before  # nothing was sent


def test_a_refused_retry_is_an_error_and_send_comes_back(open_page: Any, limited_url: str) -> None:  # noqa: F811
    chat = open_page(limited_url)
    for n in (1, 2):
        chat.send(f"Message {n}", instance_id="quick")
        wait_until(partial(lambda sent: len(chat.messages()) == 2 * sent and chat.idle(), n), 10,
                   "the reply to finish")
    chat.button("Retry").click()
    refused = chat.page.get_by_text(re.compile(r"as many messages as this page allows \(2 per minute\)"))
    refused.first.wait_for(state="visible", timeout=10000)
    wait_until(chat.idle, 5, "Send to come back")
    assert [text for _, text in chat.messages()][-1] == "Quick reply."  # the reply it would have replaced stays
