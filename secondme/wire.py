"""The local instance's side of the Chat Completion API: what it serves (``LocalInstance``), the request body
it takes (``ChatBody``, validated as FastAPI does), and the pieces of a reply a responder yields (``Delta``).
The server (server.py), its demo responder (demo.py) and the relay to a model server (relay.py) share these."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["LocalInstance", "Delta", "Message", "StreamOptions", "ChatBody", "Responder", "MODEL_NAME", "MAX_TOKENS",
           "MAX_MESSAGES"]

MODEL_NAME = "lpm-registry-model"
# What one request may ask of the local instance.
MAX_TOKENS = 32_768
MAX_MESSAGES = 1_000


@dataclass
class LocalInstance:
    """One Second Me served here. ``chunks_per_second`` paces the demo reply (0: no pause)."""

    instance_id: str
    name: str = "Local demo Second Me"
    description: str = "A stand-in Second Me that runs on this machine."
    online: bool = True
    chunks_per_second: float = 25.0


@dataclass(frozen=True)
class Delta:
    """A piece of a reply: text, or the reason it finished."""

    text: str = ""
    finish_reason: str | None = None


class Message(BaseModel):
    """One message, as the Second Me API takes it. What OpenAI clients also send is read the way a
    Second Me would plausibly read it: content as a list of text parts is joined into one text, and
    the ``developer`` role is the system role under its newer name. Anything else is refused, saying why."""

    role: Literal["system", "user", "assistant"]
    content: str

    @model_validator(mode="before")
    @classmethod
    def _openai_shapes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("role") == "developer":
            data["role"] = "system"
        elif data.get("role") in ("tool", "function"):
            raise ValueError("tool and function messages are not supported: a Second Me takes system, user "
                             "and assistant messages")
        content = data.get("content")
        if isinstance(content, list):
            kinds = {part.get("type") if isinstance(part, dict) else type(part).__name__ for part in content}
            if kinds - {"text"}:
                raise ValueError(f"only text content is supported, not {', '.join(sorted(map(str, kinds - {'text'})))}")
            if not all(isinstance(part.get("text"), str) for part in content):
                raise ValueError("each text part needs a 'text' string")
            data["content"] = "".join(part["text"] for part in content)
        return data


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatBody(BaseModel):
    """The request body of the Chat Completion API, validated as FastAPI does (422)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    metadata: dict[str, Any] | None = None
    temperature: float = Field(0.7, ge=0, le=1)
    max_tokens: int = Field(2000, ge=1, le=MAX_TOKENS)
    stream: bool = True
    n: int = 1
    stream_options: StreamOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _newer_names(cls, data: Any) -> Any:
        # OpenAI's newer name for max_tokens; when both are sent, the newer one counts.
        if isinstance(data, dict) and data.get("max_completion_tokens") is not None:
            data = {**data, "max_tokens": data["max_completion_tokens"]}
        return data

    @field_validator("n")
    @classmethod
    def _one_reply(cls, n: int) -> int:
        if n != 1:
            raise ValueError("a Second Me writes one reply at a time: n must be 1")
        return n

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def prompt_tokens(self) -> int:
        """A rough count (words), for ``usage``: the demo has no tokenizer."""
        return sum(len(m.content.split()) for m in self.messages)


Responder = Callable[[ChatBody, LocalInstance], AsyncGenerator[Delta, None]]
