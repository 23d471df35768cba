"""Roundtable: the schedule and what each participant hears (pure), then the ``roundtable`` endpoint through
gradio_client against the local instance and the fault server: turn order, the messages each participant
received, failures, Stop, the rate limit, the locked-Space rule, and bad input that sends nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client.exceptions import AppError, ValidationError

from secondme.demo import demo_text
from secondme.server import ChatBody, Delta, LocalInstance, ServerThread, create_app
from secondme.web import Settings
from secondme.web.checks import Limits
from secondme.web.ratelimit import Limiter, Rate
from secondme.web.roundtable import (
    Said,
    Seat,
    Speech,
    Table,
    heard,
    problems,
    schedule,
    speaker_label,
    system_prompt,
    transcript_markdown,
)
from secondme.web.roundtable_ui import from_link

from .faults import CUT, FaultServer, chunk, data, http_head, reply
from .test_app import Launched

ALICE, BOB, CAROL = Seat("alice", "Alice"), Seat("bob", "Bob"), Seat("carol", "")


# -- pure ------------------------------------------------------------------------------------------

def test_the_host_opens_everyone_speaks_in_turn_each_round_and_the_host_sums_up() -> None:
    turns = [(s.seat, s.kind, s.round) for s in schedule(3, 2, host=1)]
    assert turns == [(1, "opening", 0), (0, "turn", 1), (1, "turn", 1), (2, "turn", 1), (0, "turn", 2),
                     (1, "turn", 2), (2, "turn", 2), (1, "summary", 3)]
    assert [(s.seat, s.kind) for s in schedule(2, 1)] == [(0, "turn"), (1, "turn")]  # no host: no opening


def test_each_hears_its_own_turns_as_assistant_and_the_others_as_named_user_messages() -> None:
    table = Table("Cats or dogs?", (ALICE, BOB, CAROL), rounds=2)
    said = [Said(0, "Cats."), Said(1, "Dogs."), Said(2, "Both."), Said(0, "Still cats.")]
    messages, left_out = heard(table, Speech(1, "turn", 2), said, 32_000)
    assert left_out == 0
    assert messages[0]["role"] == "system" and "Cats or dogs?" in messages[0]["content"]
    assert "You speak as Bob (bob)" in messages[0]["content"]
    assert "Alice (alice), carol (carol)" in messages[0]["content"]  # named by the directory, else by ID
    assert messages[1:] == [
        {"role": "user", "content": "Alice: Cats."}, {"role": "assistant", "content": "Dogs."},
        {"role": "user", "content": "carol: Both."}, {"role": "user", "content": "Alice: Still cats."},
        {"role": "user", "content": "(Roundtable) Round 2 of 2: your turn, Bob."}]


def test_a_long_discussion_is_fitted_to_the_context_limit_most_recent_first() -> None:
    table = Table("T", (ALICE, BOB), rounds=5)
    said = [Said(i % 2, f"turn {i} " + "x" * 100) for i in range(8)]
    system = system_prompt(table, 0)
    messages, left_out = heard(table, Speech(0, "turn", 5), said, len(system) + 400)
    assert messages[0]["content"] == system and messages[-1]["content"].startswith("(Roundtable) Round 5")
    assert [m["content"][:6] for m in messages[1:-1]] == ["Bob: t", "turn 6", "Bob: t"]
    assert left_out == 5
    # Its own turn may open what it hears (the host's opening, heard in round 1).
    messages, left_out = heard(table, Speech(0, "turn", 1), [Said(0, "Welcome.")], 32_000)
    assert [m["role"] for m in messages] == ["system", "assistant", "user"] and left_out == 0


def test_names_from_the_directory_reach_markdown_as_text() -> None:
    assert speaker_label("*[x](javascript:alert(1))* <b>") == r"\*\[x\]\(javascript\:alert\(1\)\)\* \<b\>"
    table = Table("T", (Seat("a", "**Eve**\n# H"), BOB), rounds=1)
    text = transcript_markdown(table, [(Speech(0, "turn", 1), "Hi", ""), (Speech(1, "turn", 1), "", "<x> failed")])
    assert text == "**\\*\\*Eve\\*\\* \\# H:** Hi\n\n**Bob:** _(\\<x\\> failed)_"


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"instances": "alice"}, "instances", "needs 2 to 5 Second Mes"),
    ({"instances": "a,b,c,d,e,f"}, "instances", "you gave 6"),
    ({"instances": "alice, bob, alice"}, "instances", "“alice” is there twice"),
    ({"instances": "alice, bob/../x"}, "instances", "Second Mes: "),
    ({"instances": 3}, "instances", "instance IDs separated by commas"),
    ({"topic": "  "}, "topic", "Enter the topic."),
    ({"topic": "x" * 2001}, "topic", "too long"),
    ({"topic": "half \ud83d"}, "topic", "broken character"),
    ({"rounds": 0}, "rounds", "from 1 to 5, not 0"),
    ({"rounds": 6}, "rounds", "from 1 to 5, not 6"),
    ({"rounds": 2.5}, "rounds", "whole number"),
    ({"rounds": True}, "rounds", "whole number"),
    ({"rounds": "2"}, "rounds", "whole number"),
    ({"host": "carol"}, "host", "one of the Second Mes"),
    ({"temperature": 3}, "temperature", "emperature"),
    ({"max_tokens": 0}, "max_tokens", "ax"),
])
def test_bad_input_is_named_by_its_field(values: dict[str, Any], field: str, words: str) -> None:
    good = {"instances": "alice, bob", "topic": "Cats", "rounds": 2, "host": "", "temperature": 0.7,
            "max_tokens": 100}
    assert problems(good, Limits()) == {}
    found = problems({**good, **values}, Limits())
    assert list(found) == [field] and words in found[field], found


def test_a_locked_page_seats_only_the_instances_its_owner_lists() -> None:
    values = {"instances": "alice, bob", "topic": "T", "rounds": 1}
    assert problems(values, Limits(), locked=True) == {"instances": "This page holds no roundtable."}
    assert "only among: alice, carol" in problems(values, Limits(), locked=True,
                                                  allowed=("alice", "carol"))["instances"]
    assert problems(values, Limits(), locked=True, allowed=("alice", "bob", "carol")) == {}


def test_a_roundtable_takes_all_its_replies_from_the_limit_or_none() -> None:
    now = [0.0]
    limiter = Limiter(Rate(8, 60), clock=lambda: now[0])
    assert limiter.take("v", 6) == 0
    assert limiter.take("v", 4) == pytest.approx(15.0)  # 2 left; 2 more come back in 2 × 7.5 s
    assert limiter.take("v", 2) == 0  # the refusal took nothing
    assert limiter.take("v") == pytest.approx(7.5)
    assert limiter.take("v", 9) == float("inf")  # more than the limit allows at once, ever


def test_a_share_link_fills_in_what_is_well_formed() -> None:
    assert from_link({"roundtable": "alice,bob", "topic": "Cats?", "rounds": "2"}) == {
        "instances": "alice, bob", "topic": "Cats?", "rounds": 2, "host": ""}
    assert from_link({"roundtable": "alice,bad/id,alice,bob", "rounds": "9", "host": "bob"}) == {
        "instances": "alice, bob", "topic": "", "rounds": None, "host": "bob"}
    assert from_link({"instance": "alice"}) is None


def test_the_demo_takes_part_naming_itself_the_topic_and_the_last_speaker() -> None:
    table = Table("Is tea better than coffee?", (ALICE, BOB), rounds=2, host=0)
    instance = LocalInstance("bob", name="Bob")

    def answer(speech: Speech, said: list[Said]) -> str:
        messages, _ = heard(table, speech, said, 32_000)
        return demo_text(ChatBody.model_validate({"messages": messages}), instance)

    opening = answer(Speech(0, "opening", 0), [])
    assert opening.startswith("I am Alice, a demo") and "host this roundtable on “Is tea better than coffee?”" in \
        opening
    turn = answer(Speech(1, "turn", 1), [Said(0, "Welcome to our talk about tea.")])
    assert turn.startswith("I am Bob, a demo") and "Alice just said “Welcome to our talk about tea.”" in turn
    summary = answer(Speech(0, "summary", 3), [Said(0, "Hi."), Said(1, "Tea."), Said(0, "Hm."), Said(1, "Yes.")])
    assert summary.startswith("I am Alice, summing up") and "2 turns from the others (Bob)" in summary


def test_the_page_labels_each_turn_keeps_reasoning_apart_and_names_who_failed() -> None:
    from secondme.engine.conversation import ReplyStats, message_text
    from secondme.engine.turns import Shown
    from secondme.errors import InstanceUnavailableError
    from secondme.web.roundtable import Ended
    from secondme.web.roundtable_ui import ended, opening, said

    table = Table("Tea?", (Seat("a", "<img src=x onerror=alert(1)> [Eve](http://x)"), BOB), rounds=1, host=1)
    assert message_text(opening(table)) == (
        "Roundtable: Tea?\n\n🔵 **\\<img src\\=x onerror\\=alert\\(1\\)\\> \\[Eve\\]\\(http\\:"
        "\\/\\/x\\)**, 🟢 **Bob** (host) · 1 round")
    assert message_text(opening(table, "zh-CN")).startswith("圆桌：Tea?") and \
        message_text(opening(table, "zh-CN")).endswith("🟢 **Bob**（主持） · 1 轮")
    shown = said(table, Speech(1, "turn", 1), Shown("en").reply("<think>hm</think>Tea, of course."))
    assert len(shown) == 2 and shown[0]["metadata"]["title"].startswith("🟢 **Bob** · 💭")  # the reasoning, apart
    assert message_text(shown[0]) == "hm" and message_text(shown[1]) == "🟢 **Bob**\n\nTea, of course."
    offline = InstanceUnavailableError("offline", status_code=503)
    failed = ended(table, Ended(Speech(0, "turn", 1), "", ReplyStats(), offline), Shown("en"), 0, "en")
    assert len(failed) == 1 and failed[0]["metadata"]["title"].startswith("⚠️")
    assert message_text(failed[0]).startswith("🔵 **\\<img") and message_text(failed[0]).endswith(": offline")


def test_the_instances_a_locked_page_may_seat_come_from_the_environment() -> None:
    assert Settings.from_env({"SECONDME_ROUNDTABLE_INSTANCES": " ann, bob,,ann "}).roundtable_instances == (
        "ann", "bob")
    assert Settings.from_env({}).roundtable_instances == ()


# -- through the endpoint ----------------------------------------------------------------------------

class Recorder:
    """A local instance's responder that answers each participant with its name and turn, reasoning first,
    and keeps every request: (instance, messages)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[dict[str, str]]]] = []

    async def __call__(self, body: ChatBody, instance: LocalInstance) -> Any:
        self.seen.append((instance.instance_id, [m.model_dump() for m in body.messages]))
        n = sum(1 for i, _ in self.seen if i == instance.instance_id)
        for piece in ("<think>secret of ", instance.instance_id, "</think>", f"{instance.instance_id} says {n}."):
            yield Delta(piece)
        yield Delta(finish_reason="stop")


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def upstream(recorder: Recorder) -> Iterator[ServerThread]:
    instances = [LocalInstance("alice", name="Alice"), LocalInstance("bob", name="Bob"),
                 LocalInstance("carol", name="Carol"), LocalInstance("away", name="Away", online=False)]
    with ServerThread(create_app(instances, responder=recorder)) as server:
        yield server


@pytest.fixture(scope="module")
def app(upstream: ServerThread) -> Iterator[Launched]:
    launched = Launched(Settings(base_url=upstream.url))
    yield launched
    launched.close()


def paragraphs(transcript: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\*\*(.+?):\*\* (.*)$", transcript, re.M)]


def test_the_endpoint_streams_every_turn_in_order_and_each_hears_the_others(app: Launched,
                                                                           recorder: Recorder) -> None:
    recorder.seen.clear()
    before = replies_done(app)
    job = app.client.submit("alice, bob, carol", "Cats or dogs?", 2, "bob", api_name="/roundtable")
    outputs = list(job)
    transcript = job.result()
    assert len(outputs) > 8  # it streamed
    assert paragraphs(transcript) == [
        ("Bob", "bob says 1."), ("Alice", "alice says 1."), ("Bob", "bob says 2."), ("Carol", "carol says 1."),
        ("Alice", "alice says 2."), ("Bob", "bob says 3."), ("Carol", "carol says 2."), ("Bob", "bob says 4.")]
    assert [who for who, _ in recorder.seen] == ["bob", "alice", "bob", "carol", "alice", "bob", "carol", "bob"]
    # Carol, in round 2: everyone's turns so far, hers as assistant, the others' as named user messages.
    who, messages = recorder.seen[6]
    assert who == "carol" and "You speak as Carol (carol)" in messages[0]["content"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "Bob: bob says 1."), ("user", "Alice: alice says 1."), ("user", "Bob: bob says 2."),
        ("assistant", "carol says 1."), ("user", "Alice: alice says 2."), ("user", "Bob: bob says 3."),
        ("user", "(Roundtable) Round 2 of 2: your turn, Carol.")]
    assert not any("secret" in m["content"] for _, sent in recorder.seen for m in sent)  # nobody's reasoning
    assert "secret" not in transcript
    assert replies_done(app) == before + 8  # each turn is one reply in the metrics


def replies_done(app: Launched) -> float:
    metrics = httpx.get(f"{app.url}metrics").text
    found = re.search(r'^secondme_replies_total\{outcome="stop"\} ([\d.]+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_an_offline_participant_gets_a_notice_and_the_others_go_on(app: Launched, recorder: Recorder) -> None:
    recorder.seen.clear()
    transcript = app.client.predict("alice, away, carol", "Tea?", 2, "", api_name="/roundtable")
    said = paragraphs(transcript)
    assert [who for who, _ in said] == ["Alice", "Away", "Carol", "Alice", "Carol"]  # asked once, then left out
    assert said[1][1].startswith("_(") and "offline" in said[1][1]
    assert [who for who, _ in recorder.seen] == ["alice", "carol", "alice", "carol"]


@pytest.fixture(scope="module")
def fault_app(faults: FaultServer) -> Iterator[Launched]:
    launched = Launched(Settings(base_url=faults.url, timeout=5.0))
    yield launched
    launched.close()


def test_a_participant_failing_mid_turn_keeps_what_it_said_and_the_others_go_on(faults: FaultServer,
                                                                              fault_app: Launched) -> None:
    faults.script("/api/chat/mx-a", [http_head(), reply("A speaks.")])
    faults.script("/api/chat/mx-b", [http_head(), data(chunk("B starts")), CUT], [http_head(), reply("B again.")])
    transcript = fault_app.client.predict("mx-a, mx-b", "Cuts", 2, "", api_name="/roundtable")
    said = paragraphs(transcript)
    assert [who for who, _ in said] == ["mx\\-a", "mx\\-b", "mx\\-a", "mx\\-b"]
    assert said[1][1].startswith("B starts _(") and said[3][1] == "B again."
    round_two = faults.requests_to("/api/chat/mx-a")[-1].json()["messages"]
    assert {"role": "user", "content": "mx-b: B starts"} in round_two  # what arrived was said


def test_stopping_closes_the_upstream_request_at_once_and_asks_nobody_else(faults: FaultServer,
                                                                         fault_app: Launched) -> None:
    faults.script("/api/chat/st-a", [http_head(), reply("A speaks.")])
    steps: list[Any] = [http_head()]
    for n in range(200):
        steps += [data(chunk(f"word{n} ")), 0.05]
    faults.script("/api/chat/st-b", steps)
    job = fault_app.client.submit("st-a, st-b", "Stop me", 3, "", api_name="/roundtable")
    deadline = time.monotonic() + 15
    while "word3" not in (job.outputs() or [""])[-1] and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    cancelled_at = time.monotonic()
    seen = faults.requests_to("/api/chat/st-b")[0]
    while seen.client_closed_at is None and time.monotonic() < cancelled_at + 3:
        time.sleep(0.02)
    assert seen.client_closed_at is not None and seen.client_closed_at - cancelled_at < 1.0
    time.sleep(0.5)  # nobody is asked after Stop
    assert len(faults.requests_to("/api/chat/st-a")) == 1 and len(faults.requests_to("/api/chat/st-b")) == 1


def test_a_roundtable_counts_as_all_its_replies_against_the_rate_limit(upstream: ServerThread,
                                                                      recorder: Recorder) -> None:
    launched = Launched(Settings(base_url=upstream.url, rate_limit=Rate(8, 60)))
    try:
        recorder.seen.clear()
        with pytest.raises(AppError, match=r"would make 9 replies, more than this page allows at once \(8 per "
                                           r"minute\)\. Choose fewer rounds or Second Mes\."):
            launched.client.predict("alice, bob, carol", "T", 3, "", api_name="/roundtable")
        assert recorder.seen == []  # refused up front
        assert len(paragraphs(launched.client.predict("alice, bob", "T", 3, "", api_name="/roundtable"))) == 6
        with pytest.raises(AppError, match=r"would make 4 replies, and this page allows 8 per minute\. "
                                           r"Try again in 1?\d s\."):
            launched.client.predict("alice, bob", "T", 2, "", api_name="/roundtable")
        assert len(recorder.seen) == 6
        # 6 of 8 taken, the refusal took none, and the roundtable's event was not counted once more.
        for n in (4, 5):
            assert launched.client.predict("Hi", "alice", "", 0.7, 100, api_name="/chat") == f"alice says {n}."
        with pytest.raises(Exception, match="as many messages as this page allows"):
            launched.client.predict("Hi", "alice", "", 0.7, 100, api_name="/chat")
        assert len(recorder.seen) == 8
    finally:
        launched.close()


def test_a_locked_space_holds_a_roundtable_only_among_the_instances_its_owner_lists(upstream: ServerThread,
                                                                                   recorder: Recorder) -> None:
    recorder.seen.clear()
    for allowed, instances, refusal in [((), "alice, bob", "This page holds no roundtable."),
                                        (("alice", "bob"), "alice, carol", "only among: alice, bob.")]:
        launched = Launched(Settings(base_url=upstream.url, instance_id="alice", lock_instance=True,
                                     roundtable_instances=allowed))
        try:
            with pytest.raises(ValidationError, match=re.escape(refusal)):
                launched.client.predict(instances, "T", 1, "", api_name="/roundtable")
            if allowed:
                said = paragraphs(launched.client.predict("alice, bob", "T", 1, "", api_name="/roundtable"))
                assert [who for who, _ in said] == ["Alice", "Bob"]
        finally:
            launched.close()
    assert [who for who, _ in recorder.seen] == ["alice", "bob"]


@pytest.mark.parametrize(("args", "words"), [
    (("alice", "T", 2, ""), "needs 2 to 5 Second Mes"),
    (("alice, bob, alice", "T", 2, ""), "“alice” is there twice"),
    (("alice, b c", "T", 2, ""), "Second Mes: "),
    (("alice, bob", "", 2, ""), "Enter the topic."),
    (("alice, bob", "x" * 2001, 2, ""), "topic is too long"),
    (("alice, bob", "T", 6, ""), "Rounds must be from 1 to 5, not 6."),
    (("alice, bob", "T", 0, ""), "Rounds must be from 1 to 5, not 0."),
    (("alice, bob", "T", 2, "carol"), "The host must be one of the Second Mes"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_sent(app: Launched, recorder: Recorder,
                                                                   args: tuple[Any, ...], words: str) -> None:
    recorder.seen.clear()
    with pytest.raises(ValidationError, match=re.escape(words)):
        app.client.predict(*args, api_name="/roundtable")
    assert recorder.seen == []


def test_a_chinese_visitor_is_told_what_is_wrong_with_a_roundtable_in_chinese(app: Launched,
                                                                             recorder: Recorder) -> None:
    """The tab's validator says each problem in the visitor's language (the browser's, here); nothing is sent.
    (The API's speaks English, as the chat's does.)"""
    recorder.seen.clear()
    start = next(i for i, fn in app.app.fns.items() if getattr(fn.fn, "__name__", "") == "start"
                 and getattr(fn.validator, "__name__", "") == "validate")
    body = {"data": ["alice", "  ", 9, 3, 0.7, 100], "fn_index": start, "session_hash": "zh-roundtable",
            "event_data": None, "trigger_id": None}
    joined = httpx.post(app.url + "gradio_api/queue/join", json=body, timeout=10,
                        headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    said = joined.text if joined.status_code != 200 else ""
    if joined.status_code == 200:
        with httpx.stream("GET", app.url + "gradio_api/queue/data", params={"session_hash": "zh-roundtable"},
                          headers={"Accept-Language": "zh-CN"}, timeout=10) as stream:
            said = "".join(stream.iter_lines())
    for words in ("圆桌需要 2 到 5 个 Second Me", "请输入话题。", "轮数必须在 1 到 5 之间，而不是 9。",
                  "主持人必须是一个实例 ID。"):
        assert words in said, (words, said[:800])
    assert recorder.seen == []


def test_the_endpoint_is_documented_with_its_named_inputs(app: Launched) -> None:
    api = app.client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/roundtable"]
    assert [p["parameter_name"] for p in api["parameters"]] == ["instances", "topic", "rounds", "host"]


def test_each_turn_waits_in_its_instances_line_like_any_reply(faults: FaultServer) -> None:
    steps: list[Any] = [http_head()]
    for n in range(10):
        steps += [data(chunk(f"w{n} ")), 0.1]
    faults.script("/api/chat/ln-a", [*steps, data(chunk(finish="stop")), data("[DONE]")], [http_head(), reply("A.")])
    faults.script("/api/chat/ln-b", [http_head(), reply("B.")])
    launched = Launched(Settings(base_url=faults.url, timeout=5.0, instance_concurrency=1))
    try:
        chat = launched.client.submit("Hi", "ln-a", "", 0.7, 100, api_name="/chat")  # holds ln-a's one place
        deadline = time.monotonic() + 10
        while not faults.requests_to("/api/chat/ln-a") and time.monotonic() < deadline:
            time.sleep(0.02)
        table = launched.client.submit("ln-a, ln-b", "Lines", 1, "", api_name="/roundtable")
        time.sleep(0.4)
        assert len(faults.requests_to("/api/chat/ln-a")) == 1 and not faults.requests_to("/api/chat/ln-b")  # waits
        assert chat.result(timeout=20).startswith("w0 ")
        assert paragraphs(table.result(timeout=20)) == [("ln\\-a", "A."), ("ln\\-b", "B.")]
    finally:
        launched.close()


def test_the_demo_brings_guests_for_a_roundtable() -> None:
    from secondme import SecondMeClient
    from secondme.web.launch import start_demo_instance

    server = start_demo_instance()
    try:
        client = SecondMeClient(server.url)
        try:
            listed = {i.instance_id: i.name for i in client.list_instances()}
        finally:
            client.close()
    finally:
        server.stop()
    assert listed == {"demo": "Local demo Second Me", "alice": "Alice (demo)", "bob": "Bob (demo)",
                      "carol": "Carol (demo)"}
