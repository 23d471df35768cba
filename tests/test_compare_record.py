"""A comparison (the Compare tab) as a file: imported as hostile, both sides checked; and how a side's own
settings fall back to the main ones."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pytest

from secondme.web.checks import Checks, Limits
from secondme.web.compare_ui import resolve
from secondme.web.saved_ui import read_import

CHECKS = Checks(Limits(message_chars=1000, conversation_chars=5000), locked=False)

GOOD = {"app": "secondme-chat", "kind": "compare", "title": "Two of them", "base_url": "http://evil.example",
        "sides": [
            {"instance_id": "ann", "settings": {"system_prompt": "", "temperature": None, "max_tokens": None},
             "messages": [{"role": "user", "content": "Hi <b>"}, {"role": "assistant", "content": "Hello"}]},
            {"instance_id": "bob", "settings": {"system_prompt": "Be brief.", "temperature": 1, "max_tokens": 60,
                                                "file": "/etc/passwd"},
             "messages": [{"role": "user", "content": "Hi <b>"},
                          {"role": "assistant", "title": "⚠️ Timed out", "content": "It went quiet."}]}]}


def test_importing_an_exported_comparison() -> None:
    record = json.loads(read_import(json.dumps(GOOD), CHECKS))
    assert record["kind"] == "compare" and record["title"] == "Two of them"
    [left, right] = record["sides"]
    assert (left["instance_id"], right["instance_id"]) == ("ann", "bob")
    assert left["settings"] == {"system_prompt": "", "temperature": None, "max_tokens": None}
    assert right["settings"] == {"system_prompt": "Be brief.", "temperature": 1, "max_tokens": 60}
    assert [(m["role"], m["metadata"], m["content"][0]["text"]) for m in right["messages"]] == [
        ("user", None, "Hi <\u200bb>"), ("assistant", {"title": "⚠️ Timed out"}, "It went quiet.")]
    assert "evil" not in json.dumps(record) and "passwd" not in json.dumps(record)


def test_each_side_is_held_to_a_conversations_limit_of_its_own() -> None:
    long = [{"role": "user", "content": "x" * 900}, {"role": "assistant", "content": "y" * 900}] * 2  # 3,600 each
    record = json.loads(read_import(json.dumps({"kind": "compare", "sides": [side(messages=long),
                                                                             side(messages=long)]}), CHECKS))
    assert [len(s["messages"]) for s in record["sides"]] == [4, 4]


def test_a_chat_without_a_kind_imports_as_before() -> None:
    record = json.loads(read_import(json.dumps({"messages": [{"role": "user", "content": "Hi"}]}), CHECKS))
    assert "kind" not in record and record["messages"][0]["role"] == "user"


def side(**changes: Any) -> dict[str, Any]:
    return {"instance_id": "ann", "settings": {}, "messages": [], **changes}


@pytest.mark.parametrize("doc, words", [
    ({"kind": "compare"}, "a comparison must have two sides"),
    ({"kind": "compare", "sides": [side()]}, "a comparison must have two sides"),
    ({"kind": "compare", "sides": [side(), side(), side()]}, "a comparison must have two sides"),
    ({"kind": "compare", "sides": [side(), "bob"]}, "a comparison must have two sides"),
    ({"kind": "compare", "sides": [side(messages="all"), side()]}, "its left side: it has no list of messages"),
    ({"kind": "compare", "sides": [side(), side(messages=[{"role": "user", "content": {"path": "/etc/passwd"}}])]},
     "its right side: message 1 is not a text message"),
    ({"kind": "compare", "sides": [side(instance_id="../x"), side()]}, "its left side: its instance ID is not valid"),
    ({"kind": "compare", "sides": [side(), side(settings={"temperature": "hot"})]},
     "temperature and max tokens must be numbers"),
    ({"kind": "compare", "sides": [side(), side(settings={"max_tokens": True})]},
     "temperature and max tokens must be numbers"),
    ({"kind": "compare", "sides": [side(settings={"temperature": 5}), side()]},
     "its left side: its settings are not valid: Temperature"),
    ({"kind": "compare", "sides": [side(), side(settings={"max_tokens": 10**9})]},
     "its right side: its settings are not valid: Max tokens"),
    ({"kind": "compare", "sides": [side(settings={"system_prompt": "x" * 100_000}), side()]},
     "its left side: its settings are not valid"),
    ({"kind": "compare", "sides": [side(), side(messages=[{"role": "user", "content": "x" * 3000}] * 2)]},
     "its right side: This conversation is too long"),
    ({"kind": ["compare"], "messages": []}, "not a conversation or a comparison this page knows"),
    ({"kind": "roundtable", "messages": []}, "not a conversation or a comparison this page knows"),
])
def test_a_hostile_comparison_is_refused_with_a_reason(doc: Any, words: str) -> None:
    with pytest.raises(gr.Error) as info:
        read_import(json.dumps(doc), CHECKS)
    assert words in str(info.value)


def test_a_side_uses_its_own_settings_where_it_set_them_and_the_main_ones_elsewhere() -> None:
    main = ["You are a helpful assistant.", 0.7, 2000]
    assert resolve(["", None, None], main) == main
    assert resolve(["  ", " ", ""], main) == main  # blank is "as in Settings"
    assert resolve(["Be brief.", "1", "60"], main) == ["Be brief.", 1, 60]
    assert resolve(["", "0.25", "60.0"], main) == main[:1] + [0.25, 60]
    assert resolve(["", "hot", "many"], main) == main[:1] + ["hot", "many"]  # left for the validator to refuse
