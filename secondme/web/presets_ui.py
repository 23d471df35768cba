"""System prompt presets: a few built in, and your own, kept in this browser (``localStorage``).

All of it runs in the browser (the events are JavaScript only): picking a preset fills the system
prompt, Save keeps the prompt in the field under a name you give, Delete forgets one of yours. The
built-in ones are in the page's language; yours are as you wrote them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["BUILT_IN", "MESSAGES", "create", "wire"]

# (id, {language: (name, prompt)})
BUILT_IN: tuple[tuple[str, dict[str, tuple[str, str]]], ...] = (
    ("helpful", {"en": ("Helpful assistant", "You are a helpful assistant."),
                 "zh-CN": ("乐于助人的助手", "你是一个乐于助人的助手。")}),
    ("brief", {"en": ("Brief", "Answer briefly: one to three sentences, no lists unless asked."),
               "zh-CN": ("简短", "简短作答：一到三句话，除非被要求，否则不要列清单。")}),
    ("owner", {"en": ("Speak as your owner", "Answer as the person you are a Second Me of: in the first "
                      "person, in their own voice, from what you know of them."),
               "zh-CN": ("以主人的身份说话", "以你所代表的那个人的身份回答：用第一人称、用他们自己的口吻，"
                         "依据你对他们的了解。")}),
    ("interview", {"en": ("Interview me about my Second Me", "Interview me about my Second Me: ask one "
                          "question at a time about what it should know, how it should speak and what it must "
                          "not say, and wait for my answer before the next."),
                   "zh-CN": ("就我的 Second Me 采访我", "就我的 Second Me 采访我：一次只问一个问题，"
                             "问它应该知道什么、应该怎样说话、不能说什么，等我回答后再问下一个。")}),
    ("translator", {"en": ("Translator", "Translate what I write: Chinese into English, any other language "
                           "into Simplified Chinese. Reply with the translation only."),
                    "zh-CN": ("翻译", "翻译我写的内容：中文译成英文，其他语言译成简体中文。只回复译文。")}),
)

# What the preset buttons may have to say, in the page's language (static/presets.js, window.secondmePresets).
MESSAGES = {
    "en": {"empty": "The system prompt is empty: there is nothing to save.", "name": "Name this preset:",
           "no_storage": "This browser does not let the page keep presets (private mode?).",
           "pick": "Pick one of your own presets (marked ★) first; the built-in ones stay.",
           "delete": "Delete the preset “{name}”?"},
    "zh-CN": {"empty": "系统提示词是空的：没有可保存的内容。", "name": "为这个预设命名：",
              "no_storage": "此浏览器不允许本页保存预设（隐私模式？）。",
              "pick": "请先选择一个你自己的预设（带 ★ 的）。内置预设不能删除。", "delete": "删除预设“{name}”？"},
}


def create(page: Page) -> None:
    page.add("preset", gr.Dropdown(choices=[], value=None, label=t("preset"), elem_id="preset",
                                   allow_custom_value=False, filterable=False))
    with gr.Row(elem_id="preset-buttons"):
        page.add("save_preset", gr.Button(t("save_preset"), size="sm", min_width=56, elem_id="save-preset"))
        page.add("delete_preset", gr.Button(t("delete_preset"), size="sm", min_width=56, elem_id="delete-preset"))


def wire(page: Page, demo: gr.Blocks) -> None:
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented"}
    demo.load(None, None, page["preset"], js=call("presets.load"), **js_only)
    # A pick, by mouse (select) or keyboard (change), fills the prompt. Not "input": it also fires whenever the
    # dropdown loses the focus, and would put the preset back over a prompt typed since.
    gr.on([page["preset"].select, page["preset"].change], None, [page["preset"], page["system_prompt"]],
          page["system_prompt"], js=call("presets.pick"), **js_only)
    page["save_preset"].click(None, [page["system_prompt"], page["preset"]], page["preset"], js=call("presets.save"),
                              **js_only)
    page["delete_preset"].click(None, page["preset"], page["preset"], js=call("presets.remove"), **js_only)
