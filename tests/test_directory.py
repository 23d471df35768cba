"""Finding a Second Me and sharing a link: the cached directory, the status text, the link's instance,
and importing a conversation file (page functions, no browser)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from secondme import AsyncSecondMeClient, Instance, SecondMeError
from secondme.web import Settings
from secondme.web.checks import Checks, Limits
from secondme.web.directory import Directory, Listing
from secondme.web.directory_ui import browse_update, locked_text, status_text
from secondme.web.saved_ui import MAX_IMPORT_BYTES, read_import
from secondme.web.share_link import instance_from_link

from .conftest import launched_app
from .faults import FaultServer, http_body

ANN = Instance("ann", "Ann", "Ann's own", "online")
BOB = Instance("bob", "Bob", "", "offline")
CAT = Instance("cat", "cat", "", "online")


def test_a_thousand_visitors_cost_the_service_one_read_per_30_seconds() -> None:
    reads = 0

    async def fetch() -> list[Instance]:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)  # a slow directory: every visitor arrives while it is read
        return [BOB, ANN]

    clock = [1000.0]
    directory = Directory(fetch, clock=lambda: clock[0])

    async def visitors(n: int) -> list[Listing]:
        return await asyncio.gather(*(directory.listing() for _ in range(n)))

    async def day() -> None:  # one event loop, as in the app
        listings = await visitors(1000)
        assert reads == 1 and {id(x) for x in listings} == {id(listings[0])}
        assert [i.instance_id for i in listings[0].instances] == ["ann", "bob"]  # online first
        clock[0] += 29
        await visitors(10)
        assert reads == 1
        clock[0] += 2
        await visitors(10)
        assert reads == 2

    asyncio.run(day())


def test_a_failed_read_is_kept_too_and_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = 0

    async def fetch() -> list[Instance]:
        nonlocal reads
        reads += 1
        raise SecondMeError("Could not reach the Second Me service.")

    directory = Directory(fetch)
    first = asyncio.run(directory.listing())
    asyncio.run(directory.listing())
    assert reads == 1
    assert first.problem == ("The directory of Second Mes could not be read: Could not reach the Second Me "
                             "service.")
    # In Chinese, said once (not the English sentence inside the Chinese one); the error's own words stay.
    assert browse_update(first, "zh-CN")["info"] == "无法读取 Second Me 目录：Could not reach the Second Me service."


@pytest.mark.parametrize("script, words", [
    (http_body("200 OK", "text/html", "<html>maintenance</html>"), "could not be read"),
    (http_body("200 OK", "application/json", '{"code": 0, "data": {"nothing": []}}'), "could not be read"),
    (http_body("404 Not Found", "application/json", '{"detail": "Not Found"}'), "404"),
    (http_body("500 Internal Server Error", "application/json", "{}"), "500"),
], ids=["html", "garbage-json", "404", "500"])
def test_a_directory_that_answers_garbage_or_errors(fault_server: FaultServer, script: list[Any],
                                                    words: str) -> None:
    fault_server.script("/api/upload/list", script)
    directory = Directory(AsyncSecondMeClient(fault_server.url).list_instances)
    listing = asyncio.run(directory.listing())
    assert listing.instances == () and words in listing.problem
    assert browse_update(listing)["choices"] == [] and "could not be read" in browse_update(listing)["info"]
    assert status_text(listing, "ann") == "Status unknown: the directory of Second Mes could not be read."


def test_a_directory_that_cannot_be_reached() -> None:
    directory = Directory(AsyncSecondMeClient("http://127.0.0.1:9").list_instances)
    assert "Could not reach the Second Me service" in asyncio.run(directory.listing()).problem


def test_status_and_browse_from_the_directory() -> None:
    listing = Listing((ANN, CAT, BOB))
    assert status_text(listing, "ann") == "● Online: Ann"
    assert status_text(listing, " bob ") == "○ Offline: Bob is not connected right now."
    assert status_text(listing, "zed") == "Not in the public directory (it may still answer)."
    assert status_text(listing, "") == "" and status_text(listing, None) == ""
    update = browse_update(listing)
    assert update["choices"] == [("● Ann — Ann's own", "ann"), ("● cat", "cat"), ("○ Bob", "bob")]
    assert update["info"].startswith("3 in the public directory, 2 online")
    assert locked_text(listing, "bob") == "You are talking to **Bob** (offline right now)."
    assert locked_text(Listing(problem="down"), "bob") == "You are talking to **bob**."
    # A name is anyone's text: each punctuation mark a character reference, so neither HTML nor Markdown is made.
    assert status_text(Listing((Instance("x", "<b>X</b>", "", "online"),)), "x") == (
        "● Online: &#60;b&#62;X&#60;&#47;b&#62;")
    assert locked_text(Listing((Instance("x", "<b>X</b>", "", "online"),)), "x") == (
        "You are talking to **&#60;b&#62;X&#60;&#47;b&#62;** (online).")
    assert status_text(Listing((Instance("x", "![t](http://t/) *X*", "", "online"),)), "x") == (
        "● Online: &#33;&#91;t&#93;&#40;http&#58;&#47;&#47;t&#47;&#41; &#42;X&#42;")
    problem = browse_update(Listing(problem="down: [click](http://t/)"))["info"]
    assert "](" not in problem and "click" in problem  # the field's info line makes links of [text](url)


@pytest.mark.parametrize("query, locked, expected", [
    ({"instance": "ann"}, False, ("ann", "")),
    ({"instance": " ann "}, False, ("ann", "")),
    ({}, False, (None, "")),
    ({"instance": "ann"}, True, (None, "")),  # a locked page talks to its own instance only
    ({"instance": "../admin"}, False, (None, "The link's instance ID was ignored: The instance ID can only contain "
                                             "letters, digits, '-' and '_' (at most 128 characters).")),
    ({"instance": ""}, False, (None, "The link's instance ID was ignored: Enter the instance ID of the Second Me "
                                     "to talk to.")),
])
def test_the_instance_a_link_asks_for(query: dict[str, str], locked: bool, expected: tuple[Any, str]) -> None:
    assert instance_from_link(query, locked) == expected


def test_a_link_s_ignored_instance_is_noted_in_the_visitors_language() -> None:
    assert instance_from_link({"instance": "../admin"}, False, "zh-CN") == (
        None, "链接中的实例 ID 已被忽略：实例 ID 只能包含字母、数字、“-”和“_”（最多 128 个字符）。")
    assert instance_from_link({"instance": " ann "}, False, "zh-CN") == ("ann", "")


def test_a_locked_page_has_no_browse(fault_server: FaultServer) -> None:
    with launched_app(Settings(base_url=fault_server.url, instance_id="owner", lock_instance=True)) as (app, _):
        ids = {c.get("props", {}).get("elem_id") for c in app.config["components"]}
    assert "browse" not in ids and "locked-note" in ids


CHECKS = Checks(Limits(message_chars=1000, conversation_chars=5000), locked=False)


def write(tmp_path: Path, doc: Any) -> str:
    """The text of a conversation file, as the browser reads it."""
    return doc if isinstance(doc, str) else json.dumps(doc)


GOOD = {"app": "secondme-chat", "title": "Talk", "instance_id": "ann", "base_url": "http://evil.example",
        "settings": {"system_prompt": "Be brief.", "temperature": 0.3, "max_tokens": 50, "l0": True, "role_id": "r",
                     "endpoint": "chat/completions", "file": "/etc/passwd"},
        "messages": [{"role": "user", "content": "Hi <b>"}, {"role": "assistant", "content": "Hello"},
                     {"role": "assistant", "title": "⚠️ Timed out", "content": "It went quiet."}]}


def test_importing_an_exported_conversation(tmp_path: Path) -> None:
    record = json.loads(read_import(write(tmp_path, GOOD), CHECKS))
    assert record["title"] == "Talk" and record["instance_id"] == "ann"
    assert record["settings"] == {"system_prompt": "Be brief.", "temperature": 0.3, "max_tokens": 50, "l0": True,
                                  "role_id": "r", "endpoint": "chat/completions"}
    assert [(m["role"], m["metadata"], m["content"][0]["text"]) for m in record["messages"]] == [
        ("user", None, "Hi <\u200bb>"), ("assistant", None, "Hello"),
        ("assistant", {"title": "⚠️ Timed out"}, "It went quiet.")]
    assert "evil" not in json.dumps(record) and "passwd" not in json.dumps(record)


@pytest.mark.parametrize("doc, words", [
    ("not json", "it is not JSON"),
    ({"messages": "all of them"}, "has no list of messages"),
    ({"messages": [{"role": "system", "content": "x"}]}, "message 1 is not a text message"),
    ({"messages": [{"role": "user", "content": {"path": "/etc/passwd"}}]}, "message 1 is not a text message"),
    ({"messages": [{"role": "user", "content": "x", "title": "⚠️"}]}, "message 1 has a title"),
    ({"messages": [{"role": "user", "content": "x" * 6000}]}, "too long to continue"),
    ({"messages": [], "instance_id": "../x"}, "its instance ID is not valid"),
    ({"messages": [], "settings": {"temperature": "hot"}}, "its settings are not valid: Temperature"),
    ({"messages": [], "settings": {"l0": "yes"}}, "L0 retrieval must be true or false"),
])
def test_a_hostile_import_is_refused_with_a_reason(tmp_path: Path, doc: Any, words: str) -> None:
    import gradio as gr

    with pytest.raises(gr.Error) as info:
        read_import(write(tmp_path, doc), CHECKS)
    assert words in str(info.value)


@pytest.mark.parametrize("doc, words", [
    ("not json", "这个文件不是从本页导出的对话（它不是 JSON）。"),
    ({"messages": "all of them"}, "这个文件无法导入：它没有消息列表。"),
    ({"messages": [{"role": "system", "content": "x"}]}, "第 1 条消息不是来自“user”或“assistant”的文本消息。"),
    ({"messages": [{"role": "user", "content": "x", "title": "⚠️"}]}, "第 1 条消息的标题不是文本。"),
    ({"messages": [{"role": "user", "content": "x" * 6000}]}, "这段对话太长，无法继续（6,000 个字符，最多 5,000 个）"),
    ({"messages": [], "instance_id": "../x"}, "它的实例 ID 无效：实例 ID 只能包含字母"),
    ({"messages": [], "settings": {"temperature": "hot", "l0": "yes"}},
     "它的设置无效：温度必须是 0 到 1 之间的数。 L0 检索只能是开或关。"),
    (" " * (MAX_IMPORT_BYTES + 1), "这个文件太大，无法导入（最多 2,000,000 字节）。"),
])
def test_an_import_is_refused_in_the_visitors_language(tmp_path: Path, doc: Any, words: str) -> None:
    import gradio as gr

    with pytest.raises(gr.Error) as info:
        read_import(write(tmp_path, doc), CHECKS, "zh-CN")
    assert words in str(info.value) and info.value.title == "未导入"


def test_an_import_untitled_and_empty_is_named_in_the_visitors_language(tmp_path: Path) -> None:
    assert json.loads(read_import(write(tmp_path, {"messages": []}), CHECKS, "zh-CN"))["title"] == "导入的对话"
    assert json.loads(read_import(write(tmp_path, {"messages": []}), CHECKS))["title"] == "Imported conversation"


def test_an_import_is_size_capped() -> None:
    import gradio as gr

    from secondme.web.saved_ui import TOO_LARGE

    for text in (" " * (MAX_IMPORT_BYTES + 1), TOO_LARGE + "9999999"):  # sent whole, or as the browser's marker
        with pytest.raises(gr.Error, match="too large to import"):
            read_import(text, CHECKS)
    assert read_import("", CHECKS) == ""  # the file picker was closed: nothing happens
