"""What decides a reply, with no Gradio in it: one reply from asking to its end (reply: the lines, the 429
waited out, the pacing, the limits, the metrics and the log line), a reply as a conversation or the public
API shows it and what Stop reports (turns), the lines themselves (lines), the pacing (streaming), the metrics
(metrics), the conversation's shape and the words the server says (conversation, texts). It takes plain
values and yields plain values; the web page (``secondme.web``) only adapts it."""

from .reply import EngineSettings, ReplyEngine, RetryingIn, Turn, Update, Waiting
from .turns import EmptyAnswer, Shown, Turns

__all__ = ["EngineSettings", "ReplyEngine", "RetryingIn", "Turn", "Update", "Waiting", "EmptyAnswer", "Shown",
           "Turns"]
