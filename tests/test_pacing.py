"""How often the page is updated while replies stream, and what each update carries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from secondme.engine.reply import MAX_UPDATE_INTERVAL, UPDATE_INTERVAL, UPDATES_PER_SECOND, EngineSettings, ReplyEngine
from secondme.engine.streaming import coalesce
from secondme.web import Settings

from .faults import FaultServer, chunk, data, http_head, reply
from .test_app_hostile import Page, send_args


@pytest.mark.parametrize("streaming, interval", [
    (0, 0.04), (1, 0.04), (10, 0.04),  # one reply, or few: every 40 ms
    (50, 0.2), (100, 0.4),  # many: stretched so the process sends about 250 updates a second
    (125, 0.5), (1000, 0.5),  # but never less often than every 500 ms
])
def test_update_interval_follows_the_load(streaming: int, interval: float) -> None:
    controller = ReplyEngine(EngineSettings.of(Settings()), {})
    controller.streaming = streaming
    assert controller.update_interval() == pytest.approx(interval)
    if UPDATE_INTERVAL < interval < MAX_UPDATE_INTERVAL:
        assert streaming / controller.update_interval() == pytest.approx(UPDATES_PER_SECOND)


@pytest.mark.parametrize("streaming, chars, interval", [
    (1, 0, 0.04), (1, 4_000, 0.04),  # a short reply: every 40 ms
    (1, 20_000, 0.2), (1, 100_000, 1.0),  # a long one: the browser renders it whole each time (test_browser_long)
    (20, 10_000, 0.1), (100, 10_000, 0.4), (50, 60_000, 0.6),  # under load too, the longer of the two waits
])
def test_a_long_reply_is_updated_less_often(streaming: int, chars: int, interval: float) -> None:
    controller = ReplyEngine(EngineSettings.of(Settings()), {})
    controller.streaming = streaming
    assert controller.update_interval(chars) == pytest.approx(interval)


def test_the_pace_is_asked_with_the_length_of_the_reply_so_far() -> None:
    asked: list[int] = []

    async def deltas() -> AsyncIterator[str]:
        for delta in ("ab", "cde", "f"):
            await asyncio.sleep(0.01)
            yield delta

    def pace(chars: int) -> float:
        asked.append(chars)
        return 0.0

    async def run() -> list[str]:
        return [text async for text in coalesce(deltas(), pace)]

    assert asyncio.run(run()) == ["ab", "abcde", "abcdef"]
    assert sorted(set(asked)) == [0, 2, 5, 6]


@pytest.fixture(scope="module")
def page(faults: FaultServer) -> Iterator[Page]:
    launched = Page(faults)
    yield launched
    launched.close()


def generating(page: Page, session: str) -> list[Any]:
    return [e["output"]["data"][0] for e in page.events(session) if e.get("msg") == "process_generating"]


def test_each_update_carries_only_what_is_new(faults: FaultServer, page: Page) -> None:
    words = [f"word{n} " for n in range(12)]
    steps: list[Any] = [http_head()]
    for word in words:
        steps += [data(chunk(word)), 0.06]  # slower than the 40 ms pace: one update per chunk
    steps.append(reply(finish="stop"))
    faults.script("/api/chat/paced", steps)
    assert page.join("send", send_args(instance="paced"), session="paced").status_code == 200
    updates = generating(page, "paced")
    assert updates[0][-1]["content"][0]["text"] == "Hi"  # the user's message at once
    assert updates[1] == [["add", [1], {"role": "assistant", "metadata": None,
                                        "content": [{"type": "text", "text": "word0 "}], "options": None}]]
    ops = [op for u in updates[2:] for op in u]
    appended = [op for op in ops if op[0] == "append"]
    assert all(op[1] == [1, "content", 0, "text"] for op in appended)
    assert "".join(op[2] for op in appended) == "".join(words[1:])  # each piece once, nothing re-sent
    [added] = [op for op in ops if op[0] != "append"]  # and, last, the reply's stats line
    assert added[:2] == ["add", [2]] and added[2]["metadata"]["id"] == "stats" and ops[-1] == added


def test_fast_chunks_are_coalesced_into_paced_updates(faults: FaultServer, page: Page) -> None:
    steps: list[Any] = [http_head()]
    for n in range(100):
        steps += [data(chunk(f"w{n} ")), 0.005]  # 100 chunks in about half a second
    steps.append(reply(finish="stop"))
    faults.script("/api/chat/fast", steps)
    assert page.join("send", send_args(instance="fast"), session="fast").status_code == 200
    updates = generating(page, "fast")
    assert 5 <= len(updates) <= 40, len(updates)  # about one per 40 ms, not one per chunk
