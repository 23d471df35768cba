# ruff: noqa: F811 - the fixture imported from test_browser is the parameter of its tests
"""The page's copies of Python's rules (static/mirror.js, ``secondme.mirror``) decide as Python does, case by case:
the text of a message, the messages a reply is asked with and how they fit the context limit (View code), and the
checks the page makes before a send or a retry. The cases sit at each limit, one under and one over, in code points
that are one or two UTF-16 units, blanks that Python and JavaScript see differently, broken characters, and long
conversations. The page is the page's own <head> (the config and every script), with no Gradio app behind it."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from secondme.engine.conversation import fit_context, message_text, notice, shown_as_written, to_upstream, user
from secondme.web import Settings
from secondme.web.checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TOKENS_LIMIT, Checks
from secondme.web.launch import page_config
from secondme.web.scripts import head

from .test_browser import browser  # noqa: F401

SETTINGS = Settings(max_message_chars=40, max_conversation_chars=120, max_context_chars=60)
ADDRESS = "http://parity.test/"
# Python's blanks (str.isspace), JavaScript's (String.trim) and neither's, alone and around a word.
BLANKS = [*"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000", "\ufeff",
          "\u200b", "\u180e"]
# Characters of one code point: one UTF-16 unit or two (an emoji, a rare CJK), a combining mark, a display guard.
UNITS = ["a", "é", "中", "😀", "𠀋", "e\u0301", "<", "!["]
BROKEN = ["\ud83d", "a\ude00", "\ude00\ud83d"]


@pytest.fixture(scope="module")
def mirror(browser: Any) -> Iterator[Any]:
    """A page with the page's head (window.secondmeConfig for SETTINGS, then every script), at an address of its own."""
    html = f"<!doctype html><html><head>{head(page_config(SETTINGS, locked=False))}</head><body></body></html>"
    page = browser.new_page()
    page.route(ADDRESS, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    page.goto(ADDRESS)
    page.wait_for_function("() => window.secondme?.mirror && window.secondmeConfig", timeout=60_000)
    yield page
    page.close()


def run(page: Any, function: str, cases: list[Any]) -> list[Any]:
    """Each case's arguments through ``function`` (given ``M``, the mirror, and ``C``, its checks for the config),
    in the page. Strings go over as JSON in ASCII, both ways, so a lone surrogate arrives as it left."""
    script = f"""(cases) => {{
        const M = window.secondme.mirror, C = M.checks(window.secondmeConfig.chat), f = {function};
        return JSON.stringify(JSON.parse(cases).map((args) => f(...args) ?? null));
    }}"""
    return json.loads(page.evaluate(script, json.dumps(cases)))


def same(python: list[Any], javascript: list[Any], cases: list[Any]) -> None:
    differ = [(case, p, j) for case, p, j in zip(cases, python, javascript, strict=True) if p != j]
    assert not differ, f"{len(differ)} of {len(cases)} differ, e.g. (case, Python, JavaScript): {differ[:3]!r}"


def code(problem: Any) -> str | None:
    return problem.code if problem is not None else None


def texts(seed: int, count: int) -> list[str]:
    """``count`` texts of 0 to 12 characters from UNITS (some blank, some guarded Markdown)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(UNITS) for _ in range(rng.randrange(13))) for _ in range(count)]


def conversation(seed: int, turns: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    said = texts(seed, turns)
    roles = [("user", "assistant")[(i + rng.randrange(4) // 3) % 2] for i in range(turns)]  # mostly alternating
    return [{"role": role, "content": text or "x"} for role, text in zip(roles, said, strict=True)]


def test_fit_context_keeps_what_python_keeps_at_every_edge_of_the_limit(mirror: Any) -> None:
    cases: list[Any] = []
    for seed in range(60):
        messages = conversation(seed, 1 + seed % 9)
        if seed % 3 == 0:
            messages.insert(0, {"role": "system", "content": "Be brief 😀" * (seed % 4)})
        sizes = [len(m["content"]) for m in messages]
        # Every limit where one more or one fewer message fits, one under and one over, and none at all.
        edges = {sum(sizes[i:]) + d for i in range(len(sizes)) for d in (-1, 0, 1)} | {sizes[0] - 1, 0, -1}
        cases += [[messages, limit] for limit in sorted(edges)]
    cases.append([[{"role": "user", "content": "a" * 500}], 60])  # the message answered is sent, however long
    cases.append([[{"role": "system", "content": "s" * 80}, {"role": "user", "content": "hi"}], 60])
    cases.append([[], 60])
    long = conversation(7, 400)
    cases += [[long, limit] for limit in (0, 59, 60, 61, 1000, 1001, 2000)]
    python = [list(fit_context(messages, limit)) for messages, limit in cases]
    assert {left for _, left in python} >= {0, 1, 2}  # the cases leave out none, one and several
    same(python, run(mirror, "M.fitContext", cases), cases)


def test_the_text_sent_is_pythons_for_every_kind_of_message(mirror: Any) -> None:
    said = texts(1, 12) + BROKEN + ["<\u200bscript>", "!\u200b[x](y)", "`\u200bmermaid", "a" * 200]
    messages: list[Any] = [user(t) for t in said] + [{"role": "assistant", "content": shown_as_written(t)}
                                                   for t in said]
    messages += [
        notice("⚠️ Title", "a notice is never sent"), {"role": "assistant", "content": "", "metadata": None},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"text": "b"}, {"type": "image", "text": "c"},
                                     {"type": None, "text": "d"}, {"type": "text", "text": None},
                                     {"type": "text", "text": 5}, "e", None, ["f"]]},
        {"role": "user", "content": {"text": "a mapping is no content"}}, {"role": "user", "content": None},
        {"role": "user", "content": 7}, {"role": "system", "content": "a system message is not the conversation's"},
        {"role": "tool", "content": "x"}, {"role": "user", "content": "x", "metadata": {"title": ""}},
        {"role": "user", "content": "x", "metadata": {"title": "t"}}, {"content": "no role"},
    ]
    cases = [[m] for m in messages]
    same([message_text(m) for m in messages], run(mirror, "M.text", cases), cases)
    histories = [messages[i:i + 9] for i in range(0, len(messages), 3)]
    upstream: list[Any] = [[system, h] for system in ("", " ", "\x1c", "\ufeff", "Be kind.") for h in histories]
    same([to_upstream(s, h) for s, h in upstream], run(mirror, "M.toUpstream", upstream), upstream)


def _values(**changed: Any) -> dict[str, Any]:
    good = {"instance_id": "demo", "system_prompt": "", "temperature": 0.7, "max_tokens": 512, "l0": False,
            "role_id": None, "endpoint": "chat"}
    return {**good, **changed}


def test_the_checks_before_a_send_find_what_pythons_find(mirror: Any) -> None:
    most = SETTINGS.max_message_chars
    messages: list[Any] = [None, 5, True, ["x"], "", *BLANKS, *(b + "x" + b for b in BLANKS), *BROKEN]
    for unit in ("a", "😀", "中", "e\u0301"):
        messages += [unit * (most // len(unit) + d) for d in (-1, 0, 1)]
    messages += ["😀" * most + "\ud83d", " " * most + "x", "x" + " " * most]
    instances: list[Any] = [None, 3, "", " ", "a", "a" * 128, "a" * 129, " a-b_C9 ", "a b", "é", "a\n", "\na",
                            "a\x1c", "\x1ca", "\ufeffa", "a\u3000", "../x", "a%2F", "😀"]
    texts_at = [(name, limit) for name, limit in (("system_prompt", MAX_SYSTEM_PROMPT_CHARS),
                                                 ("role_id", MAX_ROLE_ID_CHARS))]
    settings = [_values(instance_id=v) for v in instances]
    for name, limit in texts_at:
        settings += [_values(**{name: v}) for v in (None, "", " ", 4, *BROKEN, "x" * limit, "x" * (limit + 1),
                                                    "😀" * limit, "😀" * (limit + 1), "\ufeff" * (limit + 1))]
    settings += [_values(temperature=v) for v in (0, 1, 0.0, 1.0, 0.5, -0.0001, 1.0001, -1, 2, True, False, None,
                                                   "0.5", [0.5])]
    settings += [_values(max_tokens=v) for v in (1, 0, -1, MAX_TOKENS_LIMIT, MAX_TOKENS_LIMIT + 1, 8192.0, 1.0,
                                                  1.5, 8192.5, 1e20, True, False, None, "5", [5])]
    settings += [_values(l0=v) for v in (True, False, None, "yes", 1, 0)]
    settings += [_values(endpoint=v) for v in ("chat", "chat/completions", "chat/", "", None, 1)]
    for locked in (False, True):
        checks = Checks(SETTINGS.limits, locked=locked)
        python = [code(checks.message(m)) for m in messages]
        assert "check.too_long" in python and "check.message.empty" in python and None in python
        javascript = run(mirror, f"(m) => M.checks({{...window.secondmeConfig.chat, locked: {str(locked).lower()}}})"
                                 ".message(m)", [[m] for m in messages])
        same(python, javascript, messages)
        found = [{k: code(v) for k, v in checks.settings(s).items()} for s in settings]
        javascript = run(mirror, f"(s) => M.checks({{...window.secondmeConfig.chat, locked: {str(locked).lower()}}})"
                                 ".settings(s)", [[s] for s in settings])
        same(found, javascript, settings)


def test_the_checks_of_a_conversation_find_what_pythons_find(mirror: Any) -> None:
    most = SETTINGS.max_conversation_chars
    histories: list[Any] = [None, "nope", {}, [], [None], [[]], [{"role": "system", "content": "x"}],
                            [{"content": "x"}], [{"role": "user", "content": 5}], [{"role": "user", "content": None}],
                            [{"role": "user", "content": "x", "metadata": []}],
                            [{"role": "user", "content": "x", "metadata": "t"}],
                            [{"role": "user", "content": "x", "metadata": {"title": "t"}}],
                            [{"role": "assistant", "content": "only a reply"}]]
    histories += [[{"role": "user", "content": b}] for b in BROKEN]
    for unit in ("a", "😀", "e\u0301"):
        for d in (-1, 0, 1):  # the whole conversation one under, at and one over the limit, notices counted
            n = most // len(unit) + d
            half = n // 2
            histories.append([user(unit * half), notice("t", unit * (n - half))])
            histories.append([{"role": "user", "content": [{"type": "text", "text": unit * half},
                                                           {"type": "image", "text": "not counted" * 50}]},
                              {"role": "assistant", "content": unit * (n - half)}])
    histories.append([user("x")] * (most + 1))  # a long conversation of short messages
    histories.append([user("x")] * most)
    histories.append([user("<" * most)])  # guarded: shown longer than it was written
    checks = Checks(SETTINGS.limits, locked=False)
    for kind in ("conversation", "rerun"):
        python = [code(getattr(checks, kind)(h)) for h in histories]
        assert len(set(python)) >= 4, python
        same(python, run(mirror, f"C.{kind}", [[h] for h in histories]), histories)


def test_the_scripts_say_the_catalogs_words_in_the_pages_language(mirror: Any) -> None:
    """secondme.say: the catalog's text in the page's language, each parameter put in once and as it is (a value
    that looks like a parameter or a replacement pattern stays so), a number grouped where the text says {n:,}."""
    from secondme.engine.words import say

    said = "([lang, key, params]) => { document.documentElement.lang = lang; return secondme.say(key, params); }"
    cases: list[tuple[str, str, dict[str, Any]]] = [
             ("en", "js.preset.delete", {"name": "$& {name} $1"}), ("zh-CN", "js.preset.delete", {"name": "$&"}),
             ("zh-CN", "js.saved.evicted", {"max": 50, "chars": 4_000_000, "titles": "“a”"}),
             ("en", "js.saved.evicted", {"max": 50, "chars": 4_000_000, "titles": "{max}"}),
             ("zh-TW", "js.busy", {}), ("en", "page.chat_tab", {}), ("zh-CN", "page.compare_tab", {})]
    for lang, key, params in cases:
        expected = say("en" if lang == "zh-TW" else lang, key, **params)  # Traditional Chinese has no words of ours
        assert mirror.evaluate(said, [lang, key, params]) == expected, (lang, key)
    assert "4,000,000" in say("en", "js.saved.evicted", max=50, chars=4_000_000, titles="")
    with pytest.raises(Exception, match="no words for js.nothing"):
        mirror.evaluate(said, ["en", "js.nothing", {}])
