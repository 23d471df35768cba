"""Every word the page says, in English and Simplified Chinese: one catalog for the labels (i18n.py builds
Gradio's I18n from the ``page.`` keys), what the server writes (texts.say), what the checks find (checks.py's
Problem codes) and what the page's JavaScript says (words.for_page). Data only; words.py reads it.

A text names its parameters as ``{name}`` (``{count:,}`` to group a number's digits); both languages of a key
take the same ones (tests/test_words.py). To add a language, add its tag to words.LANGUAGES and a text to every
key.
"""

from __future__ import annotations

__all__ = ["CATALOG"]

CATALOG: dict[str, dict[str, str]] = {
    # The page's labels (Gradio's I18n, i18n.t(name) for the key page.<name>).
    "page.conversation": {"en": "Conversation", "zh-CN": "对话"},
    "page.placeholder": {
        "en": "Say hello: the reply streams in as the Second Me writes it. Or start with one of these:",
        "zh-CN": "打个招呼吧：Second Me 边写，回复边流式出现。也可以从这里开始：",
    },
    "page.placeholder_none": {  # the empty conversation while no Second Me is chosen (i18n._no_instance)
        "en": "**Choose a Second Me to talk to.** Each has an instance ID: its owner shares it, or find one at "
              "[app.secondme.io](https://app.secondme.io). Type it under **Instance ID**, or:",
        "zh-CN": "**选择一个要对话的 Second Me。** 每个 Second Me 都有一个实例 ID：由它的主人分享，或在 "
                 "[app.secondme.io](https://app.secondme.io) 上找到。把它填进**实例 ID**，或者：",
    },
    "page.settings": {"en": "Settings", "zh-CN": "设置"},
    "page.browse_button": {"en": "Browse Second Mes", "zh-CN": "浏览 Second Me"},
    "page.message": {"en": "Message", "zh-CN": "消息"},
    "page.message_placeholder": {"en": "Write to the Second Me…", "zh-CN": "写给 Second Me…"},
    "page.send": {"en": "Send", "zh-CN": "发送"},
    "page.stop": {"en": "Stop", "zh-CN": "停止"},
    "page.instance_id": {"en": "Instance ID", "zh-CN": "实例 ID"},
    "page.instance_placeholder": {"en": "the ID of the Second Me to talk to", "zh-CN": "要对话的 Second Me 的 ID"},
    "page.browse": {"en": "Browse Second Mes", "zh-CN": "浏览 Second Me"},
    "page.browse_info": {
        "en": "The public directory, online ones first; type to filter.",
        "zh-CN": "公开目录，在线的排在前面；输入以筛选。",
    },
    "page.system_prompt": {"en": "System prompt", "zh-CN": "系统提示词"},
    "page.temperature": {"en": "Temperature", "zh-CN": "温度"},
    "page.max_tokens": {"en": "Max tokens", "zh-CN": "最大 token 数"},
    "page.advanced": {"en": "Advanced", "zh-CN": "高级"},
    "page.l0": {"en": "L0 retrieval", "zh-CN": "L0 检索"},
    "page.l0_info": {"en": "Let the Second Me search its owner's documents", "zh-CN": "让 Second Me 检索其主人的文档"},
    "page.role_id": {"en": "Role ID", "zh-CN": "角色 ID"},
    "page.role_placeholder": {"en": "optional: a role its owner defined", "zh-CN": "可选：其主人定义的角色"},
    "page.endpoint": {"en": "Endpoint", "zh-CN": "接口"},
    "page.copy_link": {"en": "🔗 Copy link", "zh-CN": "🔗 复制链接"},
    "page.conversations": {"en": "Conversations", "zh-CN": "对话记录"},
    "page.conversations_info": {"en": "Kept in this browser only.", "zh-CN": "只保存在此浏览器中。"},
    "page.title": {"en": "Title", "zh-CN": "标题"},
    "page.title_placeholder": {"en": "rename: type and press Enter", "zh-CN": "重命名：输入后按回车"},
    "page.new_chat": {"en": "+ New chat", "zh-CN": "+ 新对话"},
    "page.delete": {"en": "Delete", "zh-CN": "删除"},
    "page.delete_all": {"en": "Delete all", "zh-CN": "全部删除"},
    "page.import": {"en": "⬆ Import", "zh-CN": "⬆ 导入"},
    "page.preset": {"en": "Preset", "zh-CN": "预设"},
    "page.save_preset": {"en": "Save preset", "zh-CN": "保存预设"},
    "page.delete_preset": {"en": "Delete preset", "zh-CN": "删除预设"},
    "page.view_code": {"en": "View code", "zh-CN": "查看代码"},
    "page.view_code_info": {
        "en": "The request your next message makes, with these settings and this conversation.",
        "zh-CN": "你的下一条消息会发出的请求，使用当前设置和这段对话。",
    },
    "page.chat_tab": {"en": "Chat", "zh-CN": "聊天"},
    "page.compare_tab": {"en": "Compare", "zh-CN": "对比"},
    "page.compare_intro": {
        "en": "One message, two replies side by side: two Second Mes, or one with two settings.",
        "zh-CN": "一条消息，两个回复并排显示：两个 Second Me，或同一个 Second Me 的两组设置。",
    },
    "page.left": {"en": "Left", "zh-CN": "左"},
    "page.right": {"en": "Right", "zh-CN": "右"},
    "page.compare_message_placeholder": {"en": "Write to both…", "zh-CN": "同时写给两边…"},
    "page.roundtable_tab": {"en": "Roundtable", "zh-CN": "圆桌"},
    "page.roundtable_intro": {
        "en": "Several Second Mes discuss one topic in rounds, each hearing what the others said; a host, if you pi"
              "ck "
              "one, opens and sums up.",
        "zh-CN": "几个 Second Me 按轮次讨论同一个话题，每个都能听到其他人说了什么；如果选了主持人，由它开场并总结。",
    },
    "page.rt_instances": {"en": "Second Mes", "zh-CN": "Second Me"},
    "page.rt_instances_placeholder": {
        "en": "2 to 5 instance IDs, separated by commas",
        "zh-CN": "2 到 5 个实例 ID，用逗号分隔",
    },
    "page.rt_browse": {"en": "Add from Browse", "zh-CN": "从浏览中添加"},
    "page.rt_topic": {"en": "Topic", "zh-CN": "话题"},
    "page.rt_topic_placeholder": {"en": "What should they discuss?", "zh-CN": "要讨论什么？"},
    "page.rt_rounds": {"en": "Rounds", "zh-CN": "轮数"},
    "page.rt_host": {"en": "Host (optional)", "zh-CN": "主持人（可选）"},
    "page.rt_host_placeholder": {"en": "one of the IDs above", "zh-CN": "上面的某个 ID"},
    "page.rt_conversation": {"en": "Roundtable", "zh-CN": "圆桌"},
    "page.rt_start": {"en": "Start", "zh-CN": "开始"},
    "page.header_intro": {
        "en": "Chat with a **Second Me**, a person's own AI model, and watch its reply stream in. Speaks the Second "
              "Me [Chat Completion API]({doc}).",
        "zh-CN": "与 **Second Me**（一个人自己的 AI 模型）聊天，看它的回复实时流出。使用 Second Me [Chat Completion "
                 "API]({doc})。",
    },
    "page.language": {"en": "Language", "zh-CN": "语言"},
    "page.header_demo": {
        "en": "> 🧪 **Local demo.** You are talking to a demo Second Me that runs on this machine, not a real "
              "person's. It tells you what it received.",
        "zh-CN": "> 🧪 **本地演示。** 你在和一个运行在本机上的演示 Second Me "
                 "对话，而不是某个真实的人的。它会告诉你它收到了什么。",
    },
    # Suggested first messages, in the empty conversation: ones any Second Me can answer (i18n.STARTERS), and the
    # local demo's own, each showing something (i18n.DEMO_STARTERS: starter.1 to starter.4).
    "starter.any.1": {"en": "Introduce yourself in a few sentences.", "zh-CN": "用几句话介绍一下你自己。"},
    "starter.any.2": {"en": "What are you working on these days?", "zh-CN": "你最近在忙什么？"},
    "starter.any.3": {"en": "What do you know a lot about?", "zh-CN": "你最了解哪些事情？"},
    "starter.any.4": {"en": "What should I ask you first?", "zh-CN": "我应该先问你什么？"},
    "starter.1": {"en": "Introduce yourself in three sentences.", "zh-CN": "用三句话介绍一下你自己。"},
    "starter.2": {"en": "Think it through: what should I ask you first?", "zh-CN": "思考一下：我应该先问你什么？"},
    "starter.3": {"en": "Show me a table and some code.", "zh-CN": "给我看一个表格和一段代码。"},
    "starter.4": {"en": "Tell me a long story.", "zh-CN": "给我讲一个很长的故事。"},
    # What the server writes into the page (texts.say).
    "waiting.title": {"en": "⏳ Waiting for this Second Me", "zh-CN": "⏳ 正在等待这个 Second Me"},
    "waiting.next": {"en": "You are next.", "zh-CN": "下一个就是你。"},
    "waiting.ahead": {"en": "{ahead} ahead of you.", "zh-CN": "你前面还有 {ahead} 位。"},
    "waiting.text": {
        "en": "{where} It answers only a few people at once; your reply starts here as soon as it is free. Stop "
              "leaves the line.",
        "zh-CN": "{where}它一次只能回答几个人；一空出来，你的回复就会从这里开始。按“停止”可离开队列。",
    },
    "waiting.page.title": {"en": "⏳ This page is busy", "zh-CN": "⏳ 本页正忙"},
    "waiting.page.text": {
        "en": "{where} It streams only so many replies at once; yours starts here as soon as one ends. Stop leaves "
              "the line.",
        "zh-CN": "{where}本页同时回复的人数有限；一有回复结束，你的回复就会从这里开始。按“停止”可离开队列。",
    },
    "retry.title": {"en": "⏳ The Second Me service is busy", "zh-CN": "⏳ Second Me 服务繁忙"},
    "retry.text": {
        "en": "It asked us to wait a moment (429). Trying again in {seconds} s…",
        "zh-CN": "服务请我们稍等片刻（429）。{seconds} 秒后重试…",
    },
    "context.title.one": {"en": "ℹ️ 1 older message not sent", "zh-CN": "ℹ️ 有 1 条较早的消息未发送"},
    "context.title.many": {"en": "ℹ️ {n} older messages not sent", "zh-CN": "ℹ️ 有 {n} 条较早的消息未发送"},
    "context.text": {
        "en": "This conversation is longer than this page sends at once, so the Second Me answered from the most "
              "recent messages only.",
        "zh-CN": "这段对话超过了本页一次能发送的长度，所以 Second Me 只根据最近的消息作答。",
    },
    "empty.title": {"en": "Empty reply", "zh-CN": "空回复"},
    "empty.text": {
        "en": "The Second Me finished without saying anything. Press ↻ to try again.",
        "zh-CN": "Second Me 没有说任何内容就结束了。按 ↻ 重试。",
    },
    "stopped.title": {"en": "⏹ Stopped", "zh-CN": "⏹ 已停止"},
    "stopped.replied": {
        "en": "You stopped the reply; what arrived is kept above. Press ↻ to regenerate it.",
        "zh-CN": "你停止了这条回复；已收到的内容保留在上方。按 ↻ 重新生成。",
    },
    "stopped.before": {
        "en": "You stopped the reply before it began. Press ↻ to regenerate it.",
        "zh-CN": "你在回复开始前停止了它。按 ↻ 重新生成。",
    },
    "thinking.title": {"en": "💭 Thinking", "zh-CN": "💭 思考中"},
    "thinking.done": {"en": "💭 Thought", "zh-CN": "💭 思考过程"},
    "stats.ttft": {"en": "{seconds} to first token", "zh-CN": "首个 token {seconds}"},
    "stats.total": {"en": "{seconds} in all", "zh-CN": "共 {seconds}"},
    "stats.chunks": {"en": "{n} chunks", "zh-CN": "{n} 个分块"},
    "stats.rate": {"en": "{rate}/s", "zh-CN": "{rate}/秒"},
    "stats.finished": {"en": "finished", "zh-CN": "已完成"},
    "stats.length": {"en": "cut at Max tokens", "zh-CN": "因达到最大 token 数而截断"},
    "stats.stopped": {"en": "stopped by you", "zh-CN": "已被你停止"},
    "stats.error": {"en": "ended by an error", "zh-CN": "因错误结束"},
    "stats.limit": {"en": "cut at this page's limit", "zh-CN": "因达到本页的限制而截断"},
    "stats.text.finished": {"en": "The Second Me finished this reply.", "zh-CN": "Second Me 完成了这条回复。"},
    "stats.text.length": {
        "en": "The reply reached Max tokens ({max_tokens}) and was cut there. Raise Max tokens in the settings, then "
              "press ↻ to get the whole reply.",
        "zh-CN": "回复达到了最大 token 数（{max_tokens}），在此截断。请在设置中调高“最大 token 数”，然后按 ↻ "
                 "获取完整回复。",
    },
    "stats.text.stopped": {"en": "You stopped this reply.", "zh-CN": "你停止了这条回复。"},
    "stats.text.error": {
        "en": "An error ended this reply; the notice below says which.",
        "zh-CN": "一个错误结束了这条回复；下方的提示说明了原因。",
    },
    "stats.text.limit": {
        "en": "This page ends a reply that runs too long; the notice below says which limit it reached.",
        "zh-CN": "本页会结束过长的回复；下方的提示说明了达到的是哪项限制。",
    },
    "stats.text.other": {
        "en": "The Second Me ended this reply ({reason}).",
        "zh-CN": "Second Me 结束了这条回复（{reason}）。",
    },
    "error.InstanceUnavailableError": {"en": "This Second Me is offline", "zh-CN": "这个 Second Me 目前离线"},
    "error.InstanceNotFoundError": {"en": "Unknown instance", "zh-CN": "未知的实例"},
    "error.InvalidRequestError": {"en": "Invalid settings", "zh-CN": "设置无效"},
    "error.RateLimitError": {"en": "Too many requests", "zh-CN": "请求过多"},
    "error.APITimeoutError": {"en": "Timed out", "zh-CN": "超时"},
    "error.APIConnectionError": {"en": "Connection failed", "zh-CN": "连接失败"},
    "error.StreamError": {"en": "The reply broke off", "zh-CN": "回复中断了"},
    "error.APIStatusError": {"en": "Service error", "zh-CN": "服务出错"},
    "error.SecondMeError": {"en": "Something went wrong", "zh-CN": "出了点问题"},
    "error.ReplyLimitError": {"en": "The reply was cut", "zh-CN": "回复被截断了"},
    "limit.chars": {
        "en": "The reply was longer than this page allows ({amount} characters), so it was cut there and the Second "
              "Me was asked to stop. What arrived is kept.",
        "zh-CN": "这条回复超过了本页允许的长度（{amount} 个字符），因此在此截断，并已请 Second Me "
                 "停止。已收到的内容保留在上方。",
    },
    "limit.seconds": {
        "en": "The reply took longer than this page allows ({amount} s), so it was cut there and the Second Me was "
              "asked to stop. What arrived is kept.",
        "zh-CN": "这条回复超过了本页允许的时长（{amount} 秒），因此在此截断，并已请 Second Me "
                 "停止。已收到的内容保留在上方。",
    },
    "directory.unknown": {
        "en": "Status unknown: the directory of Second Mes could not be read.",
        "zh-CN": "状态未知：无法读取 Second Me 目录。",
    },
    "directory.absent": {
        "en": "Not in the public directory (it may still answer).",
        "zh-CN": "不在公开目录中（它仍可能回答）。",
    },
    "directory.online": {"en": "● Online: {name}", "zh-CN": "● 在线：{name}"},
    # The header's card (directory_ui.card_html): the Second Me's status, or none chosen yet.
    "card.online": {"en": "Online", "zh-CN": "在线"},
    "card.offline": {"en": "Offline", "zh-CN": "离线"},
    "card.absent": {"en": "Not in the public directory", "zh-CN": "不在公开目录中"},
    "card.unknown": {"en": "Status unknown", "zh-CN": "状态未知"},
    "card.none": {"en": "No Second Me chosen yet", "zh-CN": "还没有选择 Second Me"},
    "card.none_about": {
        "en": "Type its instance ID in Settings, or browse the public directory.",
        "zh-CN": "在设置里填写它的实例 ID，或浏览公开目录。",
    },
    "card.browse": {"en": "Browse Second Mes", "zh-CN": "浏览 Second Me"},
    "directory.offline": {
        "en": "○ Offline: {name} is not connected right now.",
        "zh-CN": "○ 离线：{name} 目前没有连接。",
    },
    "directory.count": {
        "en": "{n} in the public directory, {online} online; type to filter.",
        "zh-CN": "公开目录中有 {n} 个，{online} 个在线；输入以筛选。",
    },
    "directory.problem": {
        "en": "The directory of Second Mes could not be read: {problem}",
        "zh-CN": "无法读取 Second Me 目录：{problem}",
    },
    "locked.talking": {"en": "You are talking to **{who}**{state}.", "zh-CN": "你正在与 **{who}** 对话{state}。"},
    "locked.online": {"en": " (online)", "zh-CN": "（在线）"},
    "locked.offline": {"en": " (offline right now)", "zh-CN": "（目前离线）"},
    "roundtable.opening": {
        "en": "Roundtable: {topic}\n\n{names} · {rounds}",
        "zh-CN": "圆桌：{topic}\n\n{names} · {rounds}",
    },
    "roundtable.host": {"en": " (host)", "zh-CN": "（主持）"},
    "roundtable.rounds.one": {"en": "1 round", "zh-CN": "1 轮"},
    "roundtable.rounds.many": {"en": "{n} rounds", "zh-CN": "{n} 轮"},
    "error.text.InstanceUnavailableError": {
        "en": "This Second Me is offline right now: its owner's instance is not connected (503).",
        "zh-CN": "这个 Second Me 目前离线：它的主人的实例没有连接到服务（503）。",
    },
    "error.text.InstanceNotFoundError": {
        "en": "No Second Me was found with the instance ID {instance}. Check the ID (404).",
        "zh-CN": "找不到实例 ID 为 {instance} 的 Second Me。请检查 ID（404）。",
    },
    "error.text.InvalidRequestError": {
        "en": "The Second Me service found the request invalid ({status}). It said: {message}",
        "zh-CN": "Second Me 服务认为请求无效（{status}）。原文：{message}",
    },
    "error.text.RateLimitError": {
        "en": "Too many requests: the Second Me service asked us to slow down. {when} (429)",
        "zh-CN": "请求过多：Second Me 服务请我们放慢速度。{when}（429）",
    },
    "error.text.APITimeoutError": {
        "en": "The Second Me service did not answer in time. Try again shortly.",
        "zh-CN": "Second Me 服务在规定时间内没有响应。请稍后重试。",
    },
    "error.text.APIConnectionError": {
        "en": "Could not reach the Second Me service. Check the network and try again.",
        "zh-CN": "无法连接到 Second Me 服务。请检查网络后重试。",
    },
    "error.text.StreamError": {
        "en": "The reply broke off before it finished; what arrived is kept above. Press ↻ to try again. It said: "
              "{message}",
        "zh-CN": "回复在完成之前中断了；已收到的内容保留在上方。按 ↻ 重试。原文：{message}",
    },
    "error.text.APIStatusError": {
        "en": "The Second Me service answered with an error ({status}). Try again shortly.",
        "zh-CN": "Second Me 服务返回了错误（{status}）。请稍后重试。",
    },
    "error.text.SecondMeError": {"en": "Something went wrong: {message}", "zh-CN": "出了点问题：{message}"},
    "when.later": {"en": "Try again in {wait}.", "zh-CN": "请在 {wait} 后重试。"},
    "when.moment": {"en": "Try again in a moment.", "zh-CN": "请稍后重试。"},
    # The checks' problems (checks.py: a Problem's code is its key).
    "check.must_be_text": {"en": "The {what} must be text.", "zh-CN": "{what}必须是文本。"},
    "check.message.empty": {"en": "Type a message first.", "zh-CN": "请先输入消息。"},
    "check.required": {"en": "Enter the {what}.", "zh-CN": "请输入{what}。"},
    "check.too_long": {
        "en": "The {what} is too long: {count:,} characters, at most {limit:,}.",
        "zh-CN": "{what}太长了：{count:,} 个字符，最多 {limit:,} 个。",
    },
    "check.broken": {
        "en": "The {what} contains a broken character (half of an emoji or symbol); remove it and try again.",
        "zh-CN": "{what}中有损坏的字符（半个表情或符号）；请删除后重试。",
    },
    "check.conversation.unreadable": {
        "en": "The conversation could not be read; reload the page.",
        "zh-CN": "无法读取这段对话；请重新加载页面。",
    },
    "check.conversation.broken": {
        "en": "The conversation contains a broken character; clear it and start again.",
        "zh-CN": "对话中有损坏的字符；请清空后重新开始。",
    },
    "check.conversation.too_long": {
        "en": "This conversation is too long to continue ({count:,} characters, at most {limit:,}). "
              "Clear it, or undo earlier turns.",
        "zh-CN": "这段对话太长，无法继续（{count:,} 个字符，最多 {limit:,} 个）。请清空它，或撤销较早的轮次。",
    },
    "check.instance.missing": {
        "en": "Enter the instance ID of the Second Me to talk to.",
        "zh-CN": "请输入要对话的 Second Me 的实例 ID。",
    },
    "check.instance.invalid": {
        "en": "The instance ID can only contain letters, digits, '-' and '_' (at most 128 characters).",
        "zh-CN": "实例 ID 只能包含字母、数字、“-”和“_”（最多 128 个字符）。",
    },
    "check.temperature": {"en": "Temperature must be a number from 0 to 1.", "zh-CN": "温度必须是 0 到 1 之间的数。"},
    "check.max_tokens.invalid": {
        "en": "Max tokens must be a whole number of at least 1.",
        "zh-CN": "最大 token 数必须是不小于 1 的整数。",
    },
    "check.max_tokens.too_big": {"en": "Max tokens can be at most {limit}.", "zh-CN": "最大 token 数最多为 {limit}。"},
    "check.l0": {"en": "L0 retrieval must be true or false.", "zh-CN": "L0 检索只能是开或关。"},
    "check.endpoint": {
        "en": "The endpoint must be 'chat' or 'chat/completions'.",
        "zh-CN": "接口必须是“chat”或“chat/completions”。",
    },
    "check.rerun.nothing": {
        "en": "There is no message of yours to answer again.",
        "zh-CN": "没有你的消息可以重新回答。",
    },
    "check.edit.unreadable": {"en": "The edit could not be read; try again.", "zh-CN": "无法读取这次编辑；请重试。"},
    "check.edit.not_yours": {
        "en": "Only a message of yours in this conversation can be edited.",
        "zh-CN": "只能编辑这段对话中你自己的消息。",
    },
    "check.edit.title": {"en": "Edit not sent", "zh-CN": "编辑未发送"},
    # A roundtable's checks (roundtable.problems_found).
    "roundtable.check.instances.unreadable": {
        "en": "The Second Mes must be instance IDs separated by commas.",
        "zh-CN": "Second Me 必须是用逗号分隔的实例 ID。",
    },
    "roundtable.check.instances.count": {
        "en": "A roundtable needs {least} to {most} Second Mes (instance IDs separated by commas); you gave {count}.",
        "zh-CN": "圆桌需要 {least} 到 {most} 个 Second Me（用逗号分隔的实例 ID）；你给了 {count} 个。",
    },
    "roundtable.check.instances.bad": {"en": "Second Mes: {problem}", "zh-CN": "Second Me：{problem}"},
    "roundtable.check.instances.twice": {
        "en": "Second Mes: “{instance}” is there twice; each Second Me takes one seat.",
        "zh-CN": "Second Me：“{instance}”出现了两次；每个 Second Me 只占一个座位。",
    },
    "roundtable.check.locked.none": {"en": "This page holds no roundtable.", "zh-CN": "本页不举办圆桌。"},
    "roundtable.check.locked.among": {
        "en": "This page holds a roundtable only among: {allowed}.",
        "zh-CN": "本页只在这些 Second Me 之间举办圆桌：{allowed}。",
    },
    "roundtable.check.rounds.whole": {
        "en": "Rounds must be a whole number from 1 to {most}.",
        "zh-CN": "轮数必须是 1 到 {most} 之间的整数。",
    },
    "roundtable.check.rounds.range": {
        "en": "Rounds must be from 1 to {most}, not {given:g}.",
        "zh-CN": "轮数必须在 1 到 {most} 之间，而不是 {given:g}。",
    },
    "roundtable.check.host.type": {"en": "The host must be an instance ID.", "zh-CN": "主持人必须是一个实例 ID。"},
    "roundtable.check.host.seat": {
        "en": "The host must be one of the Second Mes at the table (or left empty).",
        "zh-CN": "主持人必须是圆桌上的某个 Second Me（或留空）。",
    },
    # A rate as the page says it (ratelimit.Rate), and a refusal past it.
    "rate.second": {"en": "{count} per second", "zh-CN": "每秒 {count} 条"},
    "rate.minute": {"en": "{count} per minute", "zh-CN": "每分钟 {count} 条"},
    "rate.hour": {"en": "{count} per hour", "zh-CN": "每小时 {count} 条"},
    "rate.day": {"en": "{count} per day", "zh-CN": "每天 {count} 条"},
    "rate.seconds": {"en": "{count} per {times} seconds", "zh-CN": "每 {times} 秒 {count} 条"},
    "rate.minutes": {"en": "{count} per {times} minutes", "zh-CN": "每 {times} 分钟 {count} 条"},
    "rate.hours": {"en": "{count} per {times} hours", "zh-CN": "每 {times} 小时 {count} 条"},
    "rate.days": {"en": "{count} per {times} days", "zh-CN": "每 {times} 天 {count} 条"},
    "rate.period": {"en": "{count} per {times:g} s", "zh-CN": "每 {times:g} 秒 {count} 条"},
    "ratelimit.refused": {
        "en": "You have sent as many messages as this page allows ({rate}). Try again in {wait}.",
        "zh-CN": "你发送的消息已达到本页允许的数量（{rate}）。请在 {wait} 后重试。",
    },
    "roundtable.refused.title": {"en": "Not started", "zh-CN": "未开始"},
    "roundtable.refused.too_many": {
        "en": "This roundtable would make {cost} replies, more than this page allows at once ({rate}). "
              "Choose fewer rounds or Second Mes.",
        "zh-CN": "这个圆桌会产生 {cost} 条回复，超过了本页一次允许的数量（{rate}）。请减少轮数或 Second Me。",
    },
    "roundtable.refused.wait": {
        "en": "This roundtable would make {cost} replies, and this page allows {rate}. Try again in {wait}.",
        "zh-CN": "这个圆桌会产生 {cost} 条回复，而本页允许 {rate}。请在 {wait} 后重试。",
    },
    # An imported conversation's refusal (saved_ui.read_import).
    "import.title": {"en": "Not imported", "zh-CN": "未导入"},
    "import.note": {"en": "**Not imported.** {reason}", "zh-CN": "**未导入。** {reason}"},
    "import.too_large": {
        "en": "That file is too large to import (at most {most:,} bytes).",
        "zh-CN": "这个文件太大，无法导入（最多 {most:,} 字节）。",
    },
    "import.not_a_file": {
        "en": "Choose a conversation file exported from this page (.json).",
        "zh-CN": "请选择从本页导出的对话文件（.json）。",
    },
    "import.not_json": {
        "en": "That file is not a conversation exported from this page (it is not JSON).",
        "zh-CN": "这个文件不是从本页导出的对话（它不是 JSON）。",
    },
    "import.refused": {"en": "That file could not be imported: {problem}", "zh-CN": "这个文件无法导入：{problem}"},
    "import.no_messages": {"en": "it has no list of messages.", "zh-CN": "它没有消息列表。"},
    "import.not_text": {
        "en": "message {n} is not a text message from 'user' or 'assistant'.",
        "zh-CN": "第 {n} 条消息不是来自“user”或“assistant”的文本消息。",
    },
    "import.title_not_text": {
        "en": "message {n} has a title that is not text.",
        "zh-CN": "第 {n} 条消息的标题不是文本。",
    },
    "import.bad_instance": {"en": "its instance ID is not valid: {problem}", "zh-CN": "它的实例 ID 无效：{problem}"},
    "import.bad_settings": {"en": "its settings are not valid: {problems}", "zh-CN": "它的设置无效：{problems}"},
    "import.untitled": {"en": "Imported conversation", "zh-CN": "导入的对话"},
    # A page address's instance ID that was not taken (settings_ui.instance_from_link).
    "link.ignored": {
        "en": "The link's instance ID was ignored: {problem}",
        "zh-CN": "链接中的实例 ID 已被忽略：{problem}",
    },
    # The fields a check names ({what}).
    "field.message": {"en": "message", "zh-CN": "消息"},
    "field.system_prompt": {"en": "system prompt", "zh-CN": "系统提示词"},
    "field.role_id": {"en": "role ID", "zh-CN": "角色 ID"},
    "field.topic": {"en": "topic", "zh-CN": "话题"},
    # A wait as a person says it (texts.wait_words; in English, what errors.wait_in_words says).
    "wait.later": {"en": "later", "zh-CN": "稍后"},
    "wait.second": {"en": "{n} s", "zh-CN": "{n} 秒"},
    "wait.minute": {"en": "about {n} minutes", "zh-CN": "约 {n} 分钟"},
    "wait.hour": {"en": "about {n} hours", "zh-CN": "约 {n} 小时"},
    "wait.day": {"en": "about {n} days", "zh-CN": "约 {n} 天"},
    # What the page's JavaScript says (for_page()).
    "js.busy": {
        "en": "The Second Me is still replying. Press Stop (or Esc) first; your message stays in the box.",
        "zh-CN": "Second Me 还在回复。请先按“停止”（或 Esc）；你的消息会留在输入框里。",
    },
    "js.preset.empty": {
        "en": "The system prompt is empty: there is nothing to save.",
        "zh-CN": "系统提示词是空的：没有可保存的内容。",
    },
    "js.preset.name": {"en": "Name this preset:", "zh-CN": "为这个预设命名："},
    "js.preset.no_storage": {
        "en": "This browser does not let the page keep presets (private mode?).",
        "zh-CN": "此浏览器不允许本页保存预设（隐私模式？）。",
    },
    "js.preset.pick": {
        "en": "Pick one of your own presets (marked ★) first; the built-in ones stay.",
        "zh-CN": "请先选择一个你自己的预设（带 ★ 的）。内置预设不能删除。",
    },
    "js.preset.delete": {"en": "Delete the preset “{name}”?", "zh-CN": "删除预设“{name}”？"},
    "js.preset.helpful.name": {"en": "Helpful assistant", "zh-CN": "乐于助人的助手"},
    "js.preset.helpful.prompt": {"en": "You are a helpful assistant.", "zh-CN": "你是一个乐于助人的助手。"},
    "js.preset.brief.name": {"en": "Brief", "zh-CN": "简短"},
    "js.preset.brief.prompt": {
        "en": "Answer briefly: one to three sentences, no lists unless asked.",
        "zh-CN": "简短作答：一到三句话，除非被要求，否则不要列清单。",
    },
    "js.preset.owner.name": {"en": "Speak as your owner", "zh-CN": "以主人的身份说话"},
    "js.preset.owner.prompt": {
        "en": "Answer as the person you are a Second Me of: in the first person, in their own voice, from what you "
              "know of them.",
        "zh-CN": "以你所代表的那个人的身份回答：用第一人称、用他们自己的口吻，依据你对他们的了解。",
    },
    "js.preset.interview.name": {"en": "Interview me about my Second Me", "zh-CN": "就我的 Second Me 采访我"},
    "js.preset.interview.prompt": {
        "en": "Interview me about my Second Me: ask one question at a time about what it should know, how it should "
              "speak and what it must not say, and wait for my answer before the next.",
        "zh-CN": "就我的 Second Me "
                 "采访我：一次只问一个问题，问它应该知道什么、应该怎样说话、不能说什么，等我回答后再问下一个。",
    },
    "js.preset.translator.name": {"en": "Translator", "zh-CN": "翻译"},
    "js.preset.translator.prompt": {
        "en": "Translate what I write: Chinese into English, any other language into Simplified Chinese. Reply with "
              "the translation only.",
        "zh-CN": "翻译我写的内容：中文译成英文，其他语言译成简体中文。只回复译文。",
    },
}
