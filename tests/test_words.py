"""The one catalog of the page's words (secondme/engine/words.json, words.py): every word in every language, with
the same parameters; every problem a check can find has its words, in Chinese too; the English of the checks
is the library's own; the JavaScript's words are plain JSON."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

import pytest

from secondme.engine.texts import wait_words
from secondme.engine.words import CATALOG, LANGUAGES, Word, for_page, has, labels, parameters, said, say
from secondme.errors import InvalidRequestError, wait_in_words
from secondme.protocol import check_max_tokens, check_temperature, validate_instance_id
from secondme.web import checks as checks_module
from secondme.web import roundtable as roundtable_module
from secondme.web.checks import MAX_TOKENS_LIMIT, Checks, Limits, Problem

CHECKS = Checks(Limits(message_chars=10, conversation_chars=20), locked=False)
BROKEN = "half \ud83d"


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_word_is_in_every_language_with_the_same_parameters(key: str) -> None:
    texts = CATALOG[key]
    assert sorted(texts) == sorted(LANGUAGES), key
    assert all(isinstance(texts[lang], str) and texts[lang].strip() for lang in LANGUAGES), key
    assert len({frozenset(parameters(texts[lang])) for lang in LANGUAGES}) == 1, texts


def test_a_text_differing_in_its_parameters_is_seen() -> None:
    """The check above can fail: a Chinese text that lost a parameter is told apart."""
    assert parameters("The {what} is too long: {count:,}") == {"what", "count"}
    assert parameters("{what}太长了") != parameters("The {what} is too long: {count:,}")


def _codes_in(source: Path) -> set[str]:
    """The catalog keys a module names as a Problem's code or a Word: every literal string given to them,
    both sides of a conditional, and f"field.{...}" spelled out for the fields the checks name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Problem", "Word") \
                and node.args:
            first = node.args[0]
            values = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for value in values:
                assert isinstance(value, (ast.Constant, ast.JoinedStr)), ast.dump(value)  # a code it can read
                if isinstance(value, ast.Constant):
                    assert isinstance(value.value, str)
                    found.add(value.value)
    return found


def test_every_problem_a_check_can_find_has_its_words() -> None:
    web = Path(checks_module.__file__).parent
    codes = set().union(*(_codes_in(web / name) for name in ("checks.py", "roundtable.py", "saved_ui.py")))
    assert {"check.message.empty", "check.too_long", "check.l0", "check.edit.not_yours",
            "roundtable.check.host.seat", "import.not_text"} <= codes  # it reads them
    assert codes - set(CATALOG) == set()
    # The fields the checks name ({what}: f"field.{what}").
    fields = {"message", "system_prompt", "role_id", "topic"}
    assert {f"field.{name}" for name in fields} <= set(CATALOG)


def _problems() -> dict[str, Problem | None]:
    """One of each problem the checks find, from input as a browser or an API caller could send it."""
    history = [{"role": "assistant", "content": "hi"}]
    return {
        "message empty": CHECKS.message("  "),
        "message not text": CHECKS.message(3),
        "message too long": CHECKS.message("x" * 11),
        "message broken": CHECKS.message(BROKEN),
        "instance missing": CHECKS.settings({"instance_id": ""})["instance_id"],
        "instance invalid": CHECKS.settings({"instance_id": "../x"})["instance_id"],
        "system prompt broken": CHECKS.settings({"system_prompt": BROKEN})["system_prompt"],
        "temperature": CHECKS.settings({"temperature": "hot"})["temperature"],
        "max tokens": CHECKS.settings({"max_tokens": 0})["max_tokens"],
        "max tokens too big": CHECKS.settings({"max_tokens": MAX_TOKENS_LIMIT + 1})["max_tokens"],
        "l0": CHECKS.settings({"l0": "yes"})["l0"],
        "role not text": CHECKS.settings({"role_id": 7})["role_id"],
        "endpoint": CHECKS.settings({"endpoint": "other"})["endpoint"],
        "conversation unreadable": CHECKS.conversation("nope"),
        "conversation broken": CHECKS.conversation([{"role": "user", "content": BROKEN}]),
        "conversation too long": CHECKS.conversation([{"role": "user", "content": "x" * 21}]),
        "nothing to answer again": CHECKS.rerun(history),
        "edit unreadable": CHECKS.edited(history, None)[0],
        "edit not yours": CHECKS.edited(history, {"index": 0, "value": "x"})[0],
    }


def _roundtable_problems() -> dict[str, Problem | None]:
    good = {"instances": "alice, bob", "topic": "Cats", "rounds": 2, "host": "", "temperature": 0.7,
            "max_tokens": 100}

    def one(name: str, field: str, *, locked: bool = False, allowed: tuple[str, ...] = (), **values: Any) -> Any:
        found = roundtable_module.problems_found({**good, **values}, Limits(), locked=locked, allowed=allowed)
        assert list(found) == [field], (name, found)
        english = roundtable_module.problems({**good, **values}, Limits(), locked=locked, allowed=allowed)
        assert english == {field: str(found[field])}  # what the API and the log say
        return found[field]

    return {
        "unreadable": one("unreadable", "instances", instances=3),
        "count": one("count", "instances", instances="alice"),
        "bad": one("bad", "instances", instances="alice, b c"),
        "twice": one("twice", "instances", instances="alice, bob, alice"),
        "locked": one("locked", "instances", locked=True),
        "among": one("among", "instances", locked=True, allowed=("alice", "carol")),
        "topic": one("topic", "topic", topic=" "),
        "rounds whole": one("rounds whole", "rounds", rounds=2.5),
        "rounds range": one("rounds range", "rounds", rounds=6),
        "host type": one("host type", "host", host=3),
        "host seat": one("host seat", "host", host="carol"),
    }


def test_every_problem_is_said_in_every_language_and_in_chinese_as_chinese() -> None:
    problems = {**_problems(), **_roundtable_problems()}
    assert all(isinstance(p, Problem) for p in problems.values()), problems
    for name, problem in problems.items():
        english, chinese = said(problem, "en"), said(problem, "zh-CN")
        assert english and chinese and english != chinese, name
        assert any("\u4e00" <= c <= "\u9fff" for c in chinese), (name, chinese)  # not English left as it was
        assert "{" not in english and "{" not in chinese, (name, english, chinese)
        assert str(problem) == english  # what the API and the import's note say
    assert said(None, "zh-CN") == ""


def test_the_checks_english_is_what_it_was_and_the_numbers_are_grouped() -> None:
    problems = _problems()
    assert str(problems["message too long"]) == "The message is too long: 11 characters, at most 10."
    assert str(CHECKS.message("x" * 1001)) == "The message is too long: 1,001 characters, at most 10."
    assert said(CHECKS.message("x" * 1001), "zh-CN") == "消息太长了：1,001 个字符，最多 10 个。"
    assert str(problems["message not text"]) == "The message must be text."
    assert str(problems["system prompt broken"]) == ("The system prompt contains a broken character (half of an "
                                                     "emoji or symbol); remove it and try again.")
    assert str(problems["conversation too long"]) == ("This conversation is too long to continue (21 characters, "
                                                      "at most 20). Clear it, or undo earlier turns.")
    assert str(problems["max tokens too big"]) == "Max tokens can be at most 8192."
    assert said(problems["max tokens too big"], "zh-CN") == "最大 token 数最多为 8192。"
    table = _roundtable_problems()
    assert str(table["bad"]) == ("Second Mes: The instance ID can only contain letters, digits, '-' and '_' "
                                 "(at most 128 characters).")
    assert said(table["bad"], "zh-CN") == "Second Me：实例 ID 只能包含字母、数字、“-”和“_”（最多 128 个字符）。"
    assert str(table["topic"]) == "Enter the topic."
    assert str(table["rounds range"]) == "Rounds must be from 1 to 5, not 6."
    assert str(table["among"]) == "This page holds a roundtable only among: alice, carol."


@pytest.mark.parametrize("check, value", [
    (validate_instance_id, ""), (validate_instance_id, None), (validate_instance_id, "../x"),
    (validate_instance_id, "x" * 129), (check_temperature, 1.5), (check_temperature, math.nan),
    (lambda v: check_max_tokens(v, limit=MAX_TOKENS_LIMIT), 2.5),
    (lambda v: check_max_tokens(v, limit=MAX_TOKENS_LIMIT), True),
    (lambda v: check_max_tokens(v, limit=MAX_TOKENS_LIMIT), MAX_TOKENS_LIMIT + 1),
])
def test_the_page_says_in_english_what_the_library_says(check: Any, value: Any) -> None:
    """The page's checks of the instance, temperature and max tokens are the library's (protocol.py): their
    English is the library's message, word for word."""
    with pytest.raises(InvalidRequestError) as info:
        check(value)
    name = {validate_instance_id: "instance_id", check_temperature: "temperature"}.get(check, "max_tokens")
    assert str(CHECKS.settings({name: value})[name]) == str(info.value)


def test_what_the_library_accepts_the_page_accepts() -> None:
    accepted = {"instance_id": " ann-1_B ", "temperature": 0, "max_tokens": 8192.0, "l0": False, "role_id": "",
                "endpoint": "chat/completions", "system_prompt": None}
    assert CHECKS.settings(accepted) == dict.fromkeys(accepted)


@pytest.mark.parametrize("seconds", [0.2, 12, 89.5, 90, 3599, 5400, 86400 * 2, 86400 * 30, math.inf, math.nan])
def test_a_wait_in_english_is_the_librarys_and_in_chinese_is_chinese(seconds: float) -> None:
    assert wait_words("en", seconds) == wait_in_words(seconds)
    assert wait_words("zh-CN", seconds) != wait_in_words(seconds)


def test_say_fills_in_words_in_the_same_language_and_refuses_unknown_keys() -> None:
    assert say("zh-CN", "check.required", what=Word("field.topic")) == "请输入话题。"
    assert say("en", "check.required", what=Word("field.topic")) == "Enter the topic."
    assert say("fr", "check.required", what=Word("field.topic")) == "Enter the topic."  # a language it lacks
    assert has("zh-CN", "check.l0") and not has("zh-CN", "no.such.word")
    with pytest.raises(KeyError):
        say("en", "no.such.word")


def test_the_labels_are_the_page_keys_in_each_language() -> None:
    from secondme.web.i18n import DEMO_STARTERS, EN, STARTERS, ZH, t

    assert EN == labels("en") and ZH == labels("zh-CN") and EN.keys() == ZH.keys()
    assert EN["send"] == "Send" and ZH["send"] == "发送" and t("send") is not None
    assert DEMO_STARTERS["zh-CN"][0] == "用三句话介绍一下你自己。" and len(DEMO_STARTERS["en"]) == 4
    assert STARTERS["zh-CN"][0] == "用几句话介绍一下你自己。" and len(STARTERS["en"]) == 4  # for any Second Me
    with pytest.raises(KeyError):
        t("waiting.title")  # a server text is not a label


def test_the_pages_javascript_gets_its_words_as_json() -> None:
    words = for_page()
    assert sorted(words) == sorted(LANGUAGES)
    assert json.loads(json.dumps(words)) == words
    assert words["en"].keys() == words["zh-CN"].keys()
    assert words["en"]["js.busy"].startswith("The Second Me is still replying")
    assert words["zh-CN"]["js.busy"].startswith("Second Me 还在回复")
    assert words["zh-CN"]["js.preset.delete"] == "删除预设“{name}”？"
    assert words["zh-CN"]["page.compare_tab"] == "对比"
    assert not any(key.startswith(("check.", "waiting.", "error.")) for key in words["en"])  # the server's own


def _keys_said_in(source: Path) -> set[str]:
    """The literal keys a module gives say() (its second argument) or its import's refuse() (its first)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            at = {"say": 1, "refuse": 0}.get(node.func.id)
            key = node.args[at] if at is not None and len(node.args) > at else None
            if isinstance(key, ast.Constant):
                found.add(str(key.value))
    return found


def test_every_word_the_page_asks_for_is_in_the_catalog() -> None:
    from secondme.engine import conversation

    web = Path(checks_module.__file__).parent
    said_keys = set().union(*(_keys_said_in(path) for folder in (web, web.parent / "engine")
                              for path in folder.glob("*.py")))
    assert {"thinking.title", "import.not_json", "roundtable.refused.title", "check.edit.title"} <= said_keys
    assert said_keys - set(CATALOG) == set()
    # The keys made from a name: each error's title and (in Chinese) its text, each ending, each limit, each wait.
    kinds = [kind.__name__ for kind in conversation._ERROR_KINDS]
    made = {f"error.{kind}" for kind in kinds} | {f"error.text.{kind}" for kind in kinds if kind != "ReplyLimitError"}
    made |= {f"stats.{ending}" for ending in conversation.ENDINGS}
    made |= {f"stats.text.{ending}" for ending in (*conversation.ENDINGS, "other")}
    made |= {f"limit.{limit}" for limit in ("chars", "seconds")} | {f"wait.{unit}" for unit in ("second", "later")}
    made |= {f"{kind}.{part}" for kind in ("waiting", "waiting.page") for part in ("title", "text")}
    assert made - set(CATALOG) == set()


def test_every_word_the_pages_javascript_asks_for_is_in_the_catalog() -> None:
    """The keys static/*.js gives secondme.say (literally, or a preset's made from its id) are the catalog's js.*
    ones, which the page is given (for_page)."""
    import re

    from secondme.web import scripts

    sources = "\n".join(scripts.read(name) for name in scripts.FILES)
    keys = set(re.findall(r"'((?:js|page)\.[\w.]+)'", sources))  # every key it names, said or chosen
    keys |= {f"js.preset.{key}" for key in re.findall(r"P\.say\('(\w+)'", sources)}  # the preset buttons' words
    assert {"js.busy", "js.saved.deleted", "js.link.copied", "js.roundtable.title", "page.chat_tab"} <= keys
    given = set(for_page()["en"])
    assert keys - given == set()
    presets = [key for key in given if re.fullmatch(r"js\.preset\.\w+\.name", key)]
    assert len(presets) == 5 and all(key.replace(".name", ".prompt") in given for key in presets)
