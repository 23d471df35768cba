"""The web app's settings, read from the server's environment when the app is built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..protocol import DEFAULT_BASE_URL
from .checks import Limits
from .ratelimit import Network, Rate, trusted_networks

__all__ = ["Settings"]

_TRUE = {"1", "true", "yes", "on"}


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the page needs to know; the base URL never comes from the browser."""

    base_url: str = DEFAULT_BASE_URL
    instance_id: str = ""
    lock_instance: bool = False
    title: str = "Second Me Chat"
    concurrency: int = 256
    queue_size: int = 1024
    timeout: float = 60.0
    demo: bool = False
    mcp: bool = False
    max_message_chars: int = Limits.message_chars
    max_conversation_chars: int = Limits.conversation_chars
    max_context_chars: int = 32_000  # what one request sends at most; older messages are left out
    instance_concurrency: int | None = None  # replies streaming from one instance at once; None: no line
    max_reply_chars: int = 200_000  # a reply is cut past this many characters (an upstream can send endlessly)
    max_reply_seconds: int = 600  # a reply is cut after streaming this long (even one nobody reads)
    rate_limit: Rate | None = None  # replies one visitor may start; None: no limit
    trusted_proxies: tuple[Network, ...] = ()  # whose X-Forwarded-For names the visitor
    roundtable_instances: tuple[str, ...] = ()  # on a locked page, the only instances a roundtable may seat

    @property
    def event_concurrency(self) -> int:
        """Gradio's concurrency limit for the reply events. Without lines it is ``concurrency``; with
        them, a reply waiting in its instance's line must hold no slot of the app's, so Gradio lets
        the waiting ones run too (up to ``queue_size`` of them) and the controller's own line holds
        the streaming ones to ``concurrency``."""
        return self.concurrency if self.instance_concurrency is None else self.concurrency + self.queue_size

    @property
    def limits(self) -> Limits:
        return Limits(message_chars=self.max_message_chars, conversation_chars=self.max_conversation_chars)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            base_url=(env.get("SECONDME_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            instance_id=env.get("SECONDME_INSTANCE_ID", "").strip(),
            lock_instance=env.get("SECONDME_LOCK_INSTANCE", "").strip().lower() in _TRUE,
            mcp=env.get("SECONDME_MCP", "").strip().lower() in _TRUE,
            title=env.get("SECONDME_TITLE", "").strip() or cls.title,
            concurrency=_int(env, "SECONDME_CONCURRENCY", cls.concurrency),
            queue_size=_int(env, "SECONDME_QUEUE_SIZE", cls.queue_size),
            max_message_chars=_int(env, "SECONDME_MAX_MESSAGE_CHARS", cls.max_message_chars),
            max_conversation_chars=_int(env, "SECONDME_MAX_CONVERSATION_CHARS", cls.max_conversation_chars),
            max_context_chars=_int(env, "SECONDME_MAX_CONTEXT_CHARS", cls.max_context_chars),
            instance_concurrency=_int(env, "SECONDME_INSTANCE_CONCURRENCY", 0) or None,
            max_reply_chars=_int(env, "SECONDME_MAX_REPLY_CHARS", cls.max_reply_chars),
            max_reply_seconds=_int(env, "SECONDME_MAX_REPLY_SECONDS", cls.max_reply_seconds),
            rate_limit=Rate.parse(env["SECONDME_RATE_LIMIT"]) if env.get("SECONDME_RATE_LIMIT", "").strip()
            else None,
            trusted_proxies=trusted_networks(env.get("SECONDME_TRUSTED_PROXIES", "")),
            roundtable_instances=tuple(dict.fromkeys(
                i.strip() for i in env.get("SECONDME_ROUNDTABLE_INSTANCES", "").split(",") if i.strip())),
        )
        return replace(settings, **overrides)
