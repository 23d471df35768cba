"""The words the server writes into the page (notices, reply stats, the Thinking block), in English
and Simplified Chinese. The page's own labels are translated in the browser (i18n.py); these are made
on the server, so each is asked for in the visitor's language (``language``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import wait_amount, wait_in_words

__all__ = ["LANGUAGES", "DEFAULT", "language", "say", "has", "wait_words", "problem_in", "COOKIE"]

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
# Set by the page (launch.HEAD) to the language it shows, so that what the server writes follows a
# visitor who switched the page's language; without it, the browser's Accept-Language decides.
COOKIE = "secondme-lang"

_EN: dict[str, str] = {
    "waiting.title": "⏳ Waiting for this Second Me",
    "waiting.next": "You are next.",
    "waiting.ahead": "{ahead} ahead of you.",
    "waiting.text": "{where} It answers only a few people at once; your reply starts here as soon as it is "
                    "free. Stop leaves the line.",
    "waiting.page.title": "⏳ This page is busy",
    "waiting.page.text": "{where} It streams only so many replies at once; yours starts here as soon as one ends. "
                         "Stop leaves the line.",
    "retry.title": "⏳ The Second Me service is busy",
    "retry.text": "It asked us to wait a moment (429). Trying again in {seconds} s…",
    "context.title.one": "ℹ️ 1 older message not sent",
    "context.title.many": "ℹ️ {n} older messages not sent",
    "context.text": "This conversation is longer than this page sends at once, so the Second Me answered from "
                    "the most recent messages only.",
    "empty.title": "Empty reply",
    "empty.text": "The Second Me finished without saying anything. Press ↻ to try again.",
    "stopped.title": "⏹ Stopped",
    "stopped.replied": "You stopped the reply; what arrived is kept above. Press ↻ to regenerate it.",
    "stopped.before": "You stopped the reply before it began. Press ↻ to regenerate it.",
    "thinking.title": "💭 Thinking",
    "thinking.done": "💭 Thought",  # the Chatbot shows the duration beside it
    "stats.ttft": "{seconds} to first token",
    "stats.total": "{seconds} in all",
    "stats.chunks": "{n} chunks",
    "stats.rate": "{rate}/s",
    "stats.finished": "finished",
    "stats.length": "cut at Max tokens",
    "stats.stopped": "stopped by you",
    "stats.error": "ended by an error",
    "stats.limit": "cut at this page's limit",
    "stats.text.finished": "The Second Me finished this reply.",
    "stats.text.length": "The reply reached Max tokens ({max_tokens}) and was cut there. Raise Max tokens in the "
                         "settings, then press ↻ to get the whole reply.",
    "stats.text.stopped": "You stopped this reply.",
    "stats.text.error": "An error ended this reply; the notice below says which.",
    "stats.text.limit": "This page ends a reply that runs too long; the notice below says which limit it reached.",
    "stats.text.other": "The Second Me ended this reply ({reason}).",
    "error.InstanceUnavailableError": "This Second Me is offline",
    "error.InstanceNotFoundError": "Unknown instance",
    "error.InvalidRequestError": "Invalid settings",
    "error.RateLimitError": "Too many requests",
    "error.APITimeoutError": "Timed out",
    "error.APIConnectionError": "Connection failed",
    "error.StreamError": "The reply broke off",
    "error.APIStatusError": "Service error",
    "error.SecondMeError": "Something went wrong",
    "error.ReplyLimitError": "The reply was cut",
    "limit.chars": "The reply was longer than this page allows ({amount} characters), so it was cut there and "
                   "the Second Me was asked to stop. What arrived is kept.",
    "limit.seconds": "The reply took longer than this page allows ({amount} s), so it was cut there and the "
                     "Second Me was asked to stop. What arrived is kept.",
    "directory.unknown": "Status unknown: the directory of Second Mes could not be read.",
    "directory.absent": "Not in the public directory (it may still answer).",
    "directory.online": "● Online: {name}",
    "directory.offline": "○ Offline: {name} is not connected right now.",
    "directory.count": "{n} in the public directory, {online} online; type to filter.",
    "directory.problem": "The directory of Second Mes could not be read: {problem}",
    "card.online": "Online",
    "card.offline": "Offline",
    "card.absent": "Not in the public directory",
    "card.unknown": "Status unknown",
    "card.none": "No Second Me chosen yet",
    "card.none_about": "Type its instance ID in Settings, or browse the public directory.",
    "card.browse": "Browse Second Mes",
    "locked.talking": "You are talking to **{who}**{state}.",
    "locked.online": " (online)",
    "locked.offline": " (offline right now)",
    "roundtable.opening": "Roundtable: {topic}\n\n{names} · {rounds}",
    "roundtable.host": " (host)",
    "roundtable.rounds.one": "1 round",
    "roundtable.rounds.many": "{n} rounds",
}

_ZH: dict[str, str] = {
    "waiting.title": "⏳ 正在等待这个 Second Me",
    "waiting.next": "下一个就是你。",
    "waiting.ahead": "你前面还有 {ahead} 位。",
    "waiting.text": "{where}它一次只能回答几个人；一空出来，你的回复就会从这里开始。按“停止”可离开队列。",
    "waiting.page.title": "⏳ 本页正忙",
    "waiting.page.text": "{where}本页同时回复的人数有限；一有回复结束，你的回复就会从这里开始。按“停止”可离开队列。",
    "retry.title": "⏳ Second Me 服务繁忙",
    "retry.text": "服务请我们稍等片刻（429）。{seconds} 秒后重试…",
    "context.title.one": "ℹ️ 有 1 条较早的消息未发送",
    "context.title.many": "ℹ️ 有 {n} 条较早的消息未发送",
    "context.text": "这段对话超过了本页一次能发送的长度，所以 Second Me 只根据最近的消息作答。",
    "empty.title": "空回复",
    "empty.text": "Second Me 没有说任何内容就结束了。按 ↻ 重试。",
    "stopped.title": "⏹ 已停止",
    "stopped.replied": "你停止了这条回复；已收到的内容保留在上方。按 ↻ 重新生成。",
    "stopped.before": "你在回复开始前停止了它。按 ↻ 重新生成。",
    "thinking.title": "💭 思考中",
    "thinking.done": "💭 思考过程",
    "stats.ttft": "首个 token {seconds}",
    "stats.total": "共 {seconds}",
    "stats.chunks": "{n} 个分块",
    "stats.rate": "{rate}/秒",
    "stats.finished": "已完成",
    "stats.length": "因达到最大 token 数而截断",
    "stats.stopped": "已被你停止",
    "stats.error": "因错误结束",
    "stats.limit": "因达到本页的限制而截断",
    "stats.text.finished": "Second Me 完成了这条回复。",
    "stats.text.length": "回复达到了最大 token 数（{max_tokens}），在此截断。请在设置中调高“最大 token 数”，"
                         "然后按 ↻ 获取完整回复。",
    "stats.text.stopped": "你停止了这条回复。",
    "stats.text.error": "一个错误结束了这条回复；下方的提示说明了原因。",
    "stats.text.limit": "本页会结束过长的回复；下方的提示说明了达到的是哪项限制。",
    "stats.text.other": "Second Me 结束了这条回复（{reason}）。",
    "error.InstanceUnavailableError": "这个 Second Me 目前离线",
    "error.InstanceNotFoundError": "未知的实例",
    "error.InvalidRequestError": "设置无效",
    "error.RateLimitError": "请求过多",
    "error.APITimeoutError": "超时",
    "error.APIConnectionError": "连接失败",
    "error.StreamError": "回复中断了",
    "error.APIStatusError": "服务出错",
    "error.SecondMeError": "出了点问题",
    "error.ReplyLimitError": "回复被截断了",
    "limit.chars": "这条回复超过了本页允许的长度（{amount} 个字符），因此在此截断，并已请 Second Me 停止。"
                   "已收到的内容保留在上方。",
    "limit.seconds": "这条回复超过了本页允许的时长（{amount} 秒），因此在此截断，并已请 Second Me 停止。"
                     "已收到的内容保留在上方。",
    # The bodies of error notices: in English they are the error's own message (errors.py).
    "error.text.InstanceUnavailableError": "这个 Second Me 目前离线：它的主人的实例没有连接到服务（503）。",
    "error.text.InstanceNotFoundError": "找不到实例 ID 为 {instance} 的 Second Me。请检查 ID（404）。",
    "error.text.InvalidRequestError": "Second Me 服务认为请求无效（{status}）。原文：{message}",
    "error.text.RateLimitError": "请求过多：Second Me 服务请我们放慢速度。{when}（429）",
    "error.text.APITimeoutError": "Second Me 服务在规定时间内没有响应。请稍后重试。",
    "error.text.APIConnectionError": "无法连接到 Second Me 服务。请检查网络后重试。",
    "error.text.StreamError": "回复在完成之前中断了；已收到的内容保留在上方。按 ↻ 重试。原文：{message}",
    "error.text.APIStatusError": "Second Me 服务返回了错误（{status}）。请稍后重试。",
    "error.text.SecondMeError": "出了点问题：{message}",
    "directory.unknown": "状态未知：无法读取 Second Me 目录。",
    "directory.absent": "不在公开目录中（它仍可能回答）。",
    "directory.online": "● 在线：{name}",
    "directory.offline": "○ 离线：{name} 目前没有连接。",
    "directory.count": "公开目录中有 {n} 个，{online} 个在线；输入以筛选。",
    "directory.problem": "无法读取 Second Me 目录：{problem}",
    "card.online": "在线",
    "card.offline": "离线",
    "card.absent": "不在公开目录中",
    "card.unknown": "状态未知",
    "card.none": "还没有选择 Second Me",
    "card.none_about": "在设置里填写它的实例 ID，或浏览公开目录。",
    "card.browse": "浏览 Second Me",
    "locked.talking": "你正在与 **{who}** 对话{state}。",
    "locked.online": "（在线）",
    "locked.offline": "（目前离线）",
    "when.later": "请在 {wait} 后重试。",
    "when.moment": "请稍后重试。",
    "roundtable.opening": "圆桌：{topic}\n\n{names} · {rounds}",
    "roundtable.host": "（主持）",
    "roundtable.rounds.one": "1 轮",
    "roundtable.rounds.many": "{n} 轮",
}

_TEXTS: Mapping[str, Mapping[str, str]] = {"en": _EN, "zh-CN": _ZH}


def language(cookie: str | None, accept_language: str | None) -> str:
    """The visitor's language: the page's own choice (the cookie) when it names one we have, else the
    first of the browser's languages (Accept-Language, by weight) we have, else English. Any Chinese
    but Traditional Chinese is read as Simplified."""
    if cookie in LANGUAGES:
        return cookie
    weighted: list[tuple[float, int, str]] = []
    for order, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, order, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        if tag.startswith("zh") and not any(t in tag for t in ("-tw", "-hk", "-mo", "-hant")):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def say(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (English where it has none), with ``values`` filled in."""
    text = _TEXTS.get(lang, _EN).get(key) or _EN[key]
    return text.format(**values) if values else text


def has(lang: str, key: str) -> bool:
    return key in _TEXTS.get(lang, {})


# What the checks (checks.py, protocol.py) say, in Chinese: whole messages, then patterns with their values.
_PROBLEMS_ZH: dict[str, str] = {
    "Type a message first.": "请先输入消息。",
    "Enter the instance ID of the Second Me to talk to.": "请输入要对话的 Second Me 的实例 ID。",
    "The instance ID can only contain letters, digits, '-' and '_' (at most 128 characters).":
        "实例 ID 只能包含字母、数字、“-”和“_”（最多 128 个字符）。",
    "Temperature must be a number from 0 to 1.": "温度必须是 0 到 1 之间的数。",
    "Max tokens must be a whole number of at least 1.": "最大 token 数必须是不小于 1 的整数。",
    "The conversation could not be read; reload the page.": "无法读取这段对话；请重新加载页面。",
    "The conversation contains a broken character; clear it and start again.": "对话中有损坏的字符；请清空后重新开始。",
    "There is no message of yours to answer again.": "没有你的消息可以重新回答。",
}
_UNITS_ZH = {"minute": "分钟", "hour": "小时", "day": "天"}
_WHAT_ZH = {"message": "消息", "system prompt": "系统提示词", "role ID": "角色 ID", "instance ID": "实例 ID"}
_PROBLEM_PATTERNS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"The (.+) is too long: ([\d,]+) characters, at most ([\d,]+)\."),
     "{0}太长了：{1} 个字符，最多 {2} 个。"),
    (re.compile(r"The (.+) contains a broken character .*"), "{0}中有损坏的字符（半个表情或符号）；请删除后重试。"),
    (re.compile(r"This conversation is too long to continue \(([\d,]+) characters, at most ([\d,]+)\)\..*"),
     "这段对话太长，无法继续（{0} 个字符，最多 {1} 个）。请清空它，或撤销较早的轮次。"),
    (re.compile(r"Max tokens can be at most (\d+)\."), "最大 token 数最多为 {0}。"),
)


def problem_in(lang: str, problem: str) -> str:
    """A check's message (English, as the checks write it) in ``lang``; English where no translation is known."""
    if lang != "zh-CN" or not problem:
        return problem
    if problem in _PROBLEMS_ZH:
        return _PROBLEMS_ZH[problem]
    for pattern, text in _PROBLEM_PATTERNS_ZH:
        found = pattern.fullmatch(problem)
        if found:
            return text.format(*(_WHAT_ZH.get(g, g) for g in found.groups()))
    return problem


def wait_words(lang: str, seconds: float) -> str:
    """A wait as a person says it, in ``lang`` (errors.wait_amount decides the amount and its unit)."""
    if lang != "zh-CN":
        return wait_in_words(seconds)
    n, unit = wait_amount(seconds)
    if unit == "later":
        return "稍后"
    return f"{n} 秒" if unit == "second" else f"约 {n} {_UNITS_ZH[unit]}"
