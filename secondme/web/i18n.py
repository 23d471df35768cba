"""The page's own words (labels, buttons, placeholders, the header) in English and Simplified Chinese,
through Gradio's ``I18n``: the browser shows them in its language, and the page's language switch
(language_ui.py) switches it. What the server writes into the conversation is in texts.py.

Components take ``t("key")``; ``page_i18n(settings)`` is given to ``launch()`` (launch.py).
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from .settings import Settings

__all__ = ["t", "page_i18n", "EN", "ZH", "STARTERS", "DEMO_STARTERS"]

EN: dict[str, str] = {
    "conversation": "Conversation",
    "placeholder": "Say hello: the reply streams in as the Second Me writes it. Or start with one of these:",
    "placeholder_none": "**Choose a Second Me to talk to.** Each has an instance ID: its owner shares it, or find "
                        "one at [app.secondme.io](https://app.secondme.io). Type it under **Instance ID**, or:",
    "settings": "Settings",
    "open_chats": "Conversations",
    "open_settings": "Settings",
    "browse_button": "Browse Second Mes",
    "browse_placeholder": "Search the directory…",
    "preset_placeholder": "Choose a preset…",
    "message": "Message",
    "message_placeholder": "Write to the Second Me…",
    "send": "Send",
    "stop": "Stop",
    "instance_id": "Instance ID",
    "instance_placeholder": "the ID of the Second Me to talk to",
    "browse": "Browse Second Mes",
    "browse_info": "The public directory, online ones first; type to filter.",
    "system_prompt": "System prompt",
    "temperature": "Temperature",
    "max_tokens": "Max tokens",
    "advanced": "Advanced",
    "l0": "L0 retrieval",
    "l0_info": "Let the Second Me search its owner's documents",
    "role_id": "Role ID",
    "role_placeholder": "optional: a role its owner defined",
    "endpoint": "Endpoint",
    "copy_link": "🔗 Copy link",
    "conversations": "Conversations",
    "conversations_info": "Kept in this browser only.",
    "title": "Title",
    "title_placeholder": "rename: type and press Enter",
    "new_chat": "+ New chat",
    "delete": "Delete",
    "delete_all": "Delete all",
    "import": "⬆ Import",
    "preset": "Preset",
    "save_preset": "Save preset",
    "delete_preset": "Delete preset",
    "view_code": "View code",
    "view_code_info": "The request your next message makes, with these settings and this conversation.",
    "chat_tab": "Chat",
    "compare_tab": "Compare",
    "compare_intro": "One message, two replies side by side: two Second Mes, or one with two settings.",
    "left": "Left",
    "right": "Right",
    "compare_message_placeholder": "Write to both…",
    "roundtable_tab": "Roundtable",
    "roundtable_intro": "Several Second Mes discuss one topic in rounds, each hearing what the others said; a host, "
                        "if you pick one, opens and sums up.",
    "rt_instances": "Second Mes",
    "rt_instances_placeholder": "2 to 5 instance IDs, separated by commas",
    "rt_browse": "Add from Browse",
    "rt_topic": "Topic",
    "rt_topic_placeholder": "What should they discuss?",
    "rt_rounds": "Rounds",
    "rt_host": "Host (optional)",
    "rt_host_placeholder": "one of the IDs above",
    "rt_conversation": "Roundtable",
    "rt_start": "Start",
    "header_intro": "Chat with a **Second Me**, a person's own AI model, and watch its reply stream in. "
                    "Speaks the Second Me [Chat Completion API]({doc}).",
    "language": "Language",
    "header_demo": "> 🧪 **Local demo.** You are talking to a demo Second Me that runs on this machine, not a real "
                   "person's. It tells you what it received.",
}

ZH: dict[str, str] = {
    "conversation": "对话",
    "placeholder": "打个招呼吧：Second Me 边写，回复边流式出现。也可以从这里开始：",
    "placeholder_none": "**选择一个要对话的 Second Me。** 每个 Second Me 都有一个实例 ID：由它的主人分享，或在 "
                        "[app.secondme.io](https://app.secondme.io) 上找到。把它填进**实例 ID**，或者：",
    "settings": "设置",
    "open_chats": "对话记录",
    "open_settings": "设置",
    "browse_button": "浏览 Second Me",
    "browse_placeholder": "搜索目录…",
    "preset_placeholder": "选择一个预设…",
    "message": "消息",
    "message_placeholder": "写给 Second Me…",
    "send": "发送",
    "stop": "停止",
    "instance_id": "实例 ID",
    "instance_placeholder": "要对话的 Second Me 的 ID",
    "browse": "浏览 Second Me",
    "browse_info": "公开目录，在线的排在前面；输入以筛选。",
    "system_prompt": "系统提示词",
    "temperature": "温度",
    "max_tokens": "最大 token 数",
    "advanced": "高级",
    "l0": "L0 检索",
    "l0_info": "让 Second Me 检索其主人的文档",
    "role_id": "角色 ID",
    "role_placeholder": "可选：其主人定义的角色",
    "endpoint": "接口",
    "copy_link": "🔗 复制链接",
    "conversations": "对话记录",
    "conversations_info": "只保存在此浏览器中。",
    "title": "标题",
    "title_placeholder": "重命名：输入后按回车",
    "new_chat": "+ 新对话",
    "delete": "删除",
    "delete_all": "全部删除",
    "import": "⬆ 导入",
    "preset": "预设",
    "save_preset": "保存预设",
    "delete_preset": "删除预设",
    "view_code": "查看代码",
    "view_code_info": "你的下一条消息会发出的请求，使用当前设置和这段对话。",
    "chat_tab": "聊天",
    "compare_tab": "对比",
    "compare_intro": "一条消息，两个回复并排显示：两个 Second Me，或同一个 Second Me 的两组设置。",
    "left": "左",
    "right": "右",
    "compare_message_placeholder": "同时写给两边…",
    "roundtable_tab": "圆桌",
    "roundtable_intro": "几个 Second Me 按轮次讨论同一个话题，每个都能听到其他人说了什么；"
                        "如果选了主持人，由它开场并总结。",
    "rt_instances": "Second Me",
    "rt_instances_placeholder": "2 到 5 个实例 ID，用逗号分隔",
    "rt_browse": "从浏览中添加",
    "rt_topic": "话题",
    "rt_topic_placeholder": "要讨论什么？",
    "rt_rounds": "轮数",
    "rt_host": "主持人（可选）",
    "rt_host_placeholder": "上面的某个 ID",
    "rt_conversation": "圆桌",
    "rt_start": "开始",
    "header_intro": "与 **Second Me**（一个人自己的 AI 模型）聊天，看它的回复实时流出。"
                    "使用 Second Me [Chat Completion API]({doc})。",
    "language": "语言",
    "header_demo": "> 🧪 **本地演示。** 你在和一个运行在本机上的演示 Second Me 对话，而不是某个真实的人的。"
                   "它会告诉你它收到了什么。",
}

# Suggested first messages, shown while the conversation is empty (a click sends one; launch.HEAD): ones any
# Second Me can answer, and, with the local demo (settings.demo, instance "demo"), ones it answers each in its
# own way: thinking, a table and code, a reply cut at Max tokens. directory_ui picks which the page shows.
STARTERS = {
    "en": ("Introduce yourself in a few sentences.", "What are you working on these days?",
           "What do you know a lot about?", "What should I ask you first?"),
    "zh-CN": ("用几句话介绍一下你自己。", "你最近在忙什么？", "你最了解哪些事情？", "我应该先问你什么？"),
}
DEMO_STARTERS = {
    "en": ("Introduce yourself in three sentences.", "Think it through: what should I ask you first?",
           "Show me a table and some code.", "Tell me a long story."),
    "zh-CN": ("用三句话介绍一下你自己。", "思考一下：我应该先问你什么？", "给我看一个表格和一段代码。",
              "给我讲一个很长的故事。"),
}


def _placeholder(words: dict[str, str], starters: tuple[str, ...]) -> str:
    buttons = "".join(f'<button class="starter" type="button">{html.escape(s)}</button>' for s in starters)
    return f'{words["placeholder"]}\n\n<div class="starters">{buttons}</div>'


def _no_instance(words: dict[str, str]) -> str:
    """The empty conversation while no Second Me is chosen: where IDs come from, and Browse (layout.js)."""
    button = f'<button class="browse-start" type="button">{html.escape(words["browse_button"])}</button>'
    return f'{words["placeholder_none"]}\n\n<div class="starters no-instance">{button}</div>'


API_DOC_URL = "https://github.com/mindverse/Second-Me/tree/master/docs"


def t(key: str) -> Any:
    """The page's text for ``key``, shown in the visitor's language: an ``I18nData``, which Gradio's
    components take wherever they take text (its type hints say ``str``)."""
    if key not in EN and key not in ("header", "about", "placeholder_demo"):
        raise KeyError(f"no text for {key!r}")
    return I18nData(key)


def page_i18n(settings: Settings) -> gr.I18n:
    """The translations for this page; the header carries its title."""
    title = f"# {html.escape(settings.title)}\n\n"

    def header(words: dict[str, str]) -> str:
        # The conversation is the page: its header is the title (and the demo's note); what the page is for is
        # said at the foot of the conversations' drawer ("about").
        parts = [title.strip()]
        if settings.demo:
            parts.append(words["header_demo"])
        return "\n\n".join(parts)

    def placeholders(words: dict[str, str], lang: str) -> dict[str, str]:
        return {"placeholder": _placeholder(words, STARTERS[lang]),
                "placeholder_demo": _placeholder(words, DEMO_STARTERS[lang]),
                "placeholder_none": _no_instance(words)}

    def about(words: dict[str, str]) -> str:
        return words["header_intro"].format(doc=API_DOC_URL)

    return gr.I18n(en={**EN, "header": header(EN), "about": about(EN), **placeholders(EN, "en")},
                   **{"zh-CN": {**ZH, "header": header(ZH), "about": about(ZH), **placeholders(ZH, "zh-CN")}})
