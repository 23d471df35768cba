"""What the page shows of each reply: its reasoning as a Thinking block, its stats line, and the demo
instance that shows both (through gradio_client, as the page receives them)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from secondme.demo import demo_text
from secondme.engine.conversation import ReplyStats, stats_notice, thinking, user
from secondme.reasoning import split_reasoning
from secondme.web import Settings
from secondme.web.controller import ChatController
from secondme.wire import ChatBody, LocalInstance

from .faults import FaultServer, http_head, reply
from .test_app import SYSTEM, Launched, local_app, respond, stats_lines, texts  # noqa: F401 - a fixture


def _meta(message: dict[str, Any]) -> dict[str, Any]:
    return message.get("metadata") or {}


# -- <think> parted from the answer, whatever the chunking ---------------------------------------

THOUGHTFUL = "  <think>\nFirst I weigh it; a < b here.\n</think>\n\nThe answer, with <think> inside it."


@pytest.mark.parametrize("size", [1, 2, 3, 7, 97, len(THOUGHTFUL)])
def test_reasoning_is_never_shown_as_answer_text_at_any_chunking(size: int) -> None:
    seen_thinking = False
    for end in range(size, len(THOUGHTFUL) + size, size):
        split = split_reasoning(THOUGHTFUL[:end])
        assert "<" not in split.answer or split.answer.startswith("The answer"), (end, split)
        assert "</" not in (split.reasoning or "") and "<th" not in (split.reasoning or ""), (end, split)
        seen_thinking = seen_thinking or split.thinking
        if split.thinking:
            assert split.answer == ""
    final = split_reasoning(THOUGHTFUL, final=True)
    assert final.reasoning == "First I weigh it; a < b here."
    assert final.answer == "The answer, with <think> inside it." and not final.thinking
    assert seen_thinking == (size < len(THOUGHTFUL))


def test_only_a_leading_think_block_is_reasoning_and_what_was_held_back_is_given_at_the_end() -> None:
    assert split_reasoning("Say <think> twice") == split_reasoning("Say <think> twice", final=True)
    assert split_reasoning("Say <think> twice").reasoning is None
    assert split_reasoning("<thi").answer == ""  # perhaps a tag: held back while streaming
    assert split_reasoning("<thi", final=True).answer == "<thi"  # it was not one
    cut = split_reasoning("<think>never finished", final=True)  # cut at Max tokens while thinking
    assert (cut.reasoning, cut.answer, cut.thinking) == ("never finished", "", False)
    assert split_reasoning("<think>half</thi").reasoning == "half"


# -- through the page --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thinking_app(faults: FaultServer) -> Iterator[Launched]:
    parts = ["<thi", "nk>Let me ", "see.</th", "ink>", "\n\nIt is ", "forty-two."]
    paced: list[Any] = [http_head()]
    for part in parts:  # each its own update of the page: the block is seen open
        paced += [reply(part, finish=None, done=False), 0.1]
    faults.script("/api/chat/thinker", [*paced, reply(finish="stop")])
    faults.script("/api/chat/counted", [http_head(), reply("One ", "two ", "three ", "four.")])
    faults.script("/api/chat/cut", [http_head(), reply("Once upon", " a time", finish="length")])
    # The read timeout outlasts every wait of these tests (a stall that times out would end a reply that a test
    # means to end otherwise).
    launched = Launched(Settings(base_url=faults.url, timeout=40.0))
    yield launched
    launched.close()


def test_reasoning_streams_as_a_thinking_block_and_is_never_sent_back(thinking_app: Launched,
                                                                        faults: FaultServer) -> None:
    states = respond(thinking_app, "What is it?", [], "thinker")
    final = states[-1]
    assert [m["role"] for m in final] == ["user", "assistant", "assistant", "assistant"]
    block, answer = final[1], final[2]
    assert _meta(block)["id"] == "thinking" and _meta(block)["status"] == "done"
    assert _meta(block)["title"] == "💭 Thought" and 0.2 <= _meta(block)["duration"] < 2  # shown beside it
    assert texts([block])[0][2] == "Let me see."
    assert texts([answer])[0] == ("assistant", "", "It is forty-two.")
    for state in states:  # while it streamed: no tag, no reasoning, in the answer
        for role, title, text in texts(state):
            assert "<th" not in text and "</" not in text, text
            if role == "assistant" and not title:
                assert "Let me" not in text
    assert any(_meta(m).get("status") == "pending" and _meta(m).get("id") == "thinking"
               for state in states for m in state)  # open, with a spinner, while it was written

    faults.script("/api/chat/thinker", [http_head(), reply("Still ", "forty-two.")])
    respond(thinking_app, "And now?", final, "thinker")
    sent = faults.requests_to("/api/chat/thinker")[-1].json()["messages"]
    assert sent == [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is it?"},
                    {"role": "assistant", "content": "It is forty-two."}, {"role": "user", "content": "And now?"}]


def test_each_reply_has_a_quiet_stats_line_that_is_never_sent_back(thinking_app: Launched,
                                                                     faults: FaultServer) -> None:
    final = respond(thinking_app, "Hi", [], "counted")[-1]
    [line] = stats_lines(final)
    assert re.fullmatch(r"⏱ [\d.]+ s to first token · [\d.]+ s in all · 4 chunks · \d+/s · finished", line), line
    stats = final[-1]
    assert _meta(stats) == {"title": line, "status": "done", "id": "stats"}  # collapsed: small and quiet
    respond(thinking_app, "Again", final, "counted")
    sent = faults.requests_to("/api/chat/counted")[-1].json()["messages"]
    assert all("first token" not in m["content"] and "finished" not in m["content"] for m in sent)


def test_a_reply_cut_at_max_tokens_says_so_and_how_to_get_the_rest(thinking_app: Launched) -> None:
    final = respond(thinking_app, "A story", [], "cut", max_tokens=2)[-1]
    assert texts(final)[-1] == ("assistant", "", "Once upon a time")
    [line] = stats_lines(final)
    assert line.startswith("⏱ ") and line.endswith(" · ✂️ cut at Max tokens")
    hint = "".join(p["text"] for p in final[-1]["content"])
    assert "Max tokens (2)" in hint and "Raise Max tokens" in hint


def test_an_error_ends_the_stats_line_and_the_notice_says_which(thinking_app: Launched, faults: FaultServer) -> None:
    faults.script("/api/chat/breaks", [http_head(), reply("Half a rep", finish=None, done=False)])
    final = respond(thinking_app, "Hi", [], "breaks")[-1]
    assert stats_lines(final)[0].endswith(" · ended by an error")
    assert texts(final)[-1][1] == "⚠️ The reply broke off"
    assert texts(final)[1] == ("assistant", "", "Half a rep")


def test_stop_reports_the_stats_so_far_and_closes_an_open_thinking_block() -> None:
    from secondme.protocol import ReplyAssembler

    ctl = ChatController(Settings(), {})
    asked = time.monotonic() - 2
    running = ReplyStats(asked_at=asked, max_tokens=50, reply=ReplyAssembler(parts=["a", "b", "c"],
                                                                             first_text_at=asked + 0.5))
    ctl.turns.running[("", "chat")] = running
    stopped = ctl.mark_stopped([user("Hi"), thinking("Hmm, let me", None)])
    block, line, notice = stopped[1:]
    assert _meta(block)["status"] == "done" and _meta(block)["id"] == "thinking"
    assert _meta(line)["id"] == "stats" and _meta(line)["title"].endswith("3 chunks · 2/s · stopped by you")
    assert "0.50 s to first token" in _meta(line)["title"]
    assert _meta(notice)["title"] == "⏹ Stopped" and "kept above" in texts([notice])[0][2]
    assert ("", "chat") not in ctl.turns.running


def test_the_stats_line_in_chinese() -> None:
    from secondme.protocol import ReplyAssembler

    stats = ReplyStats(asked_at=1.0, ended_at=3.0, ended="length", max_tokens=9,
                       reply=ReplyAssembler(parts=["x"] * 10, first_text_at=1.25))
    line = _meta(stats_notice(stats, "zh-CN"))["title"]
    assert line == "⏱ 首个 token 0.25 s · 共 2.00 s · 10 个分块 · 6/秒 · ✂️ 因达到最大 token 数而截断"


# -- the demo shows what the page can do ---------------------------------------------------------


def _demo(message: str, **body: Any) -> str:
    return demo_text(ChatBody.model_validate({"messages": [{"role": "user", "content": message}], **body}),
                     LocalInstance("demo"))


def test_the_demo_thinks_when_asked_and_says_it_is_a_demo() -> None:
    text = _demo("Think it over, please")
    assert text.startswith("<think>\n") and "</think>" in text
    split = split_reasoning(text, final=True)
    assert split.reasoning and "I am a demo" in split.reasoning
    assert split.answer.startswith("Hello from Local demo Second Me") and "not a real person's" in split.answer
    assert "<think>" not in _demo("Hello")


def test_the_demo_shows_a_table_and_a_code_block_and_acknowledges_l0_and_role() -> None:
    text = _demo("Show me a table and some code", metadata={"role_id": "mentor", "enable_l0_retrieval": True})
    assert "| Setting | Value |\n|---|---|\n| Instance | demo |" in text and "| Role | mentor |" in text
    assert "```python\nfrom secondme import SecondMeClient" in text and text.count("```") == 2
    assert "L0 retrieval: a real Second Me would first search its owner's documents" in text
    assert "the role “mentor”: a real Second Me would answer with the prompt its owner wrote" in text
    assert "not a real person's Second Me" in text
    assert "role “mentor”" not in _demo("Hi") and "L0" not in _demo("Hi")


def test_the_demos_long_reply_stops_at_max_tokens_with_length(local_app: Launched) -> None:  # noqa: F811
    final = respond(local_app, "Tell me a long story", [], "demo", max_tokens=120)[-1]
    [line] = stats_lines(final)
    assert line.startswith("⏱ ") and line.endswith("✂️ cut at Max tokens")
    answer = texts(final)[1][2]
    assert len(answer.split()) == 120 and "a demo" in answer
    short = respond(local_app, "Hello", [], "demo")[-1]
    assert stats_lines(short)[0].endswith("· finished")


def test_the_demo_reasoning_reaches_the_page_as_a_thinking_block(local_app: Launched) -> None:  # noqa: F811
    final = respond(local_app, "Think first", [], "demo")[-1]
    assert _meta(final[1])["id"] == "thinking" and "I am a demo" in texts(final)[1][2]
    assert texts(final)[2][2].startswith("Hello from")



def test_the_checks_messages_in_chinese() -> None:
    from secondme.engine.texts import language
    from secondme.engine.words import said
    from secondme.web.checks import Checks, Limits, text_problem

    checks = Checks(Limits(), locked=False)
    assert said(checks.message("   "), "zh-CN") == "请先输入消息。"
    assert said(text_problem("s" * 4001, "system_prompt", 4000), "zh-CN") == \
        "系统提示词太长了：4,001 个字符，最多 4,000 个。"
    assert said(checks.message("   "), "en") == "Type a message first."
    # The rarer ones, English on the Chinese page before, have Chinese too (tests/test_words.py: all of them).
    assert said(checks.settings({"l0": "yes"})["l0"], "zh-CN") == "L0 检索只能是开或关。"
    assert language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert language(None, "en-US,en;q=0.9,zh;q=0.8") == "en"
    assert language(None, "zh-TW,en;q=0.5") == "en"  # Traditional Chinese: the page has no such text
    assert language("en", "zh-CN") == "en"  # the page's own choice first
    assert language("fr", None) == "en"


def test_a_chinese_visitor_is_told_what_is_wrong_in_chinese(local_app: Launched) -> None:  # noqa: F811
    import httpx

    send = next(i for i, fn in local_app.app.fns.items() if fn.api_name == "send")
    body = {"data": ["   ", [], "bad id!", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": send,
            "session_hash": "zh-checks", "event_data": None, "trigger_id": None}
    joined = httpx.post(local_app.url + "gradio_api/queue/join", json=body, timeout=10,
                        headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    said = joined.text if joined.status_code != 200 else ""
    if joined.status_code == 200:
        with httpx.stream("GET", local_app.url + "gradio_api/queue/data", params={"session_hash": "zh-checks"},
                          headers={"Accept-Language": "zh-CN"}, timeout=10) as stream:
            said = "".join(stream.iter_lines())
    assert "请先输入消息。" in said and "实例 ID 只能包含字母" in said, said[:500]


def test_only_a_stopped_reply_is_remembered_for_stop_and_without_its_text(thinking_app: Launched,
                                                                          faults: FaultServer) -> None:
    from gradio_client import Client

    ctl = thinking_app.app.chat_page.ctl
    respond(thinking_app, "Hi", [], "counted")
    assert not ctl.turns.running  # a reply that ended on its own leaves nothing behind
    # A stall longer than any wait below, and shorter than the read timeout (thinking_app): on a loaded machine
    # the reply still ends by the cancel alone.
    faults.script("/api/chat/slowly", [http_head(), reply("First ", finish=None, done=False), 30.0])
    client = Client(thinking_app.url, verbose=False)  # a session of its own: the cancel names it
    job = client.submit("Hi", [], "slowly", SYSTEM, 0.7, 100, False, "", "chat", api_name="/send")
    deadline = time.monotonic() + 10
    # Seen by the client, as Stop is clicked once the reply is seen: a cancel sent before the client has its
    # event's id is refused (422) and cancels nothing.
    while not any("First" in str(update) for update in job.outputs()):
        assert time.monotonic() < deadline, "the reply did not start"
        time.sleep(0.02)
    assert any(s.chunks for s in ctl.turns.running.values())
    job.cancel()  # as Stop does
    deadline = time.monotonic() + 10
    while not all(s.ended_at for s in ctl.turns.running.values()):
        assert time.monotonic() < deadline, "the reply was not stopped"
        time.sleep(0.02)
    assert len(ctl.turns.running) == 1, "the reply ended by itself before the cancel reached it"
    [stats] = ctl.turns.running.values()  # kept for mark_stopped
    assert stats.reply is None and stats.chunks == 1 and stats.first_text_at is not None  # figures, no text
    client.close()
