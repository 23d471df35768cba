"""A local Second Me-compatible instance: the hosted API, served from this machine.

It answers both chat routes and the public directory the way the hosted service does
(chunk shape, heartbeats, errors inside the stream, 404/422/503), so the whole product runs
and is tested with no network. Replies come from an honest demo responder, or are relayed
to any OpenAI-compatible server with ``--upstream`` (relay.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import SecondMeError, redact_url
from .serving import AnnouncingServer, BodyLimit, ServerThread, server_config

__all__ = [
    "LocalInstance",
    "Delta",
    "ChatBody",
    "create_app",
    "demo_responder",
    "paced",
    "MODEL_NAME",
    "ServerThread",
    "serve",
]

MODEL_NAME = "lpm-registry-model"
# What one request may ask of the local instance.
MAX_TOKENS = 32_768
MAX_MESSAGES = 1_000
MAX_BODY_BYTES = 8 * 1024 * 1024


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

_PIECES = re.compile(r"\S+\s*|\s+")


# What a visitor can ask the demo to show (in English or Chinese): its reasoning, Markdown with a table
# and a code block, and a reply long enough to be cut at Max tokens.
_ASKS_TO_THINK = re.compile(r"\b(think|reason)|思考|推理", re.I)
_ASKS_FOR_MARKDOWN = re.compile(r"\b(table|code|markdown)|表格|代码", re.I)
_ASKS_FOR_LONG = re.compile(r"\b(long|story)|长|故事", re.I)
_LONG_PARAGRAPH = (
    "This paragraph is here to make the reply long: a demo has no story of its own to tell, so it says again "
    "that it is a demo and keeps going until Max tokens stops it. "
)


def _last_user(body: ChatBody) -> str:
    return next((m.content for m in reversed(body.messages) if m.role == "user"), "")


def _settings_words(body: ChatBody) -> list[str]:
    settings = [f"temperature {body.temperature:g}", f"max tokens {body.max_tokens}"]
    metadata = body.metadata or {}
    if metadata.get("enable_l0_retrieval"):
        settings.append("L0 retrieval on")
    if metadata.get("role_id"):
        settings.append(f"role “{metadata['role_id']}”")
    return settings


# A roundtable's system prompt (web/roundtable.py: PROMPT_HEAD, system_prompt, cue), as the demo reads it.
_ROUNDTABLE = re.compile(r"^You are taking part in a roundtable discussion\b.*?You speak as (.+?) \([\w-]+\)\.",
                         re.S)
_TOPIC = re.compile(r"^The topic: (.*)$", re.M)
_CUE = "(Roundtable) "


def _short(text: str, words: int = 14) -> str:
    said = text.split()
    return " ".join(said[:words]) + ("…" if len(said) > words else "")


def roundtable_text(body: ChatBody, instance: LocalInstance) -> str | None:
    """The demo's turn in a roundtable (None when this is not one): it says who it is, names the topic,
    and answers the last speaker by name."""
    system = next((m.content for m in body.messages if m.role == "system"), "")
    me, topic = _ROUNDTABLE.match(system), _TOPIC.search(system)
    if me is None or topic is None:
        return None
    name, about = me.group(1), _short(topic.group(1), 20)
    cue = _last_user(body)
    heard = [m.content for m in body.messages if m.role == "user" and not m.content.startswith(_CUE)]
    speakers = list(dict.fromkeys(h.split(": ", 1)[0] for h in heard if ": " in h))
    mine = sum(1 for m in body.messages if m.role == "assistant")
    demo = "a demo Second Me that runs on this machine, not a real person's"
    if "open the discussion" in cue:
        return (f"I am {name}, {demo}, and I host this roundtable on “{about}”. A demo has no views of its "
                "own, so I will keep to the facts: welcome, everyone, and let us each say what we think.")
    if "sum up" in cue:
        who = ", ".join(speakers) if speakers else "nobody else"
        return (f"I am {name}, summing up our roundtable on “{about}”. I heard {len(heard)} "
                f"turn{'s' if len(heard) != 1 else ''} from the others ({who}). As a demo I can only say who "
                "spoke; thank you all.")
    if heard:
        speaker, _, words = heard[-1].partition(": ")
        answer = f"{speaker} just said “{_short(words)}”"
    else:
        answer = "nobody else has spoken yet" if mine else "I am the first to speak"
    return (f"I am {name}, {demo}. On “{about}”: {answer}. I heard {len(heard)} "
            f"turn{'s' if len(heard) != 1 else ''} from the others, and this is my turn {mine + 1}.")


def demo_text(body: ChatBody, instance: LocalInstance) -> str:
    """What the demo responder says: it is a demo, and this is what it received. Asked to think, it
    reasons first inside ``<think>``; asked for a table or code, it shows both; asked for something
    long, it writes until ``max_tokens`` cuts it (``demo_responder``). In a roundtable, it takes its turn."""
    turn = roundtable_text(body, instance)
    if turn is not None:
        return turn
    last_user = _last_user(body)
    system = next((m.content for m in body.messages if m.role == "system"), "")
    metadata = body.metadata or {}
    turns = sum(1 for m in body.messages if m.role == "user")
    parts = [
        f"Hello from {instance.name} (“{instance.instance_id}”). I am a demo that runs on this "
        "machine, not a real person's Second Me, so I can only tell you what I received.",
        f"You said: “{last_user.strip()}”." if last_user.strip() else "Your message was empty.",
    ]
    if metadata.get("enable_l0_retrieval"):
        parts.append("You turned on L0 retrieval: a real Second Me would first search its owner's documents for "
                     "what you asked. This demo has no documents, so it found nothing.")
    if metadata.get("role_id"):
        parts.append(f"You asked for the role “{metadata['role_id']}”: a real Second Me would answer with the prompt "
                     "its owner wrote for that role. This demo has no roles.")
    if _ASKS_FOR_MARKDOWN.search(last_user):
        rows = "\n".join(f"| {name} | {value} |" for name, value in (
            ("Instance", instance.instance_id), ("Messages", len(body.messages)),
            ("Temperature", f"{body.temperature:g}"), ("Max tokens", body.max_tokens),
            ("L0 retrieval", "on" if metadata.get("enable_l0_retrieval") else "off"),
            ("Role", metadata.get("role_id") or "none")))
        parts.append(f"Here is what you sent, as a table:\n\n| Setting | Value |\n|---|---|\n{rows}")
        parts.append("And the same request from Python, with this project's client:\n\n```python\n"
                     "from secondme import SecondMeClient\n\n"
                     "client = SecondMeClient(\"http://127.0.0.1:8765\")  # python -m secondme serve\n"
                     f"for text in client.stream_chat({instance.instance_id!r}, [{{\"role\": \"user\", "
                     f"\"content\": \"Hi\"}}],\n                             max_tokens={body.max_tokens}):\n"
                     "    print(text, end=\"\", flush=True)\n```")
    parts.append(
        f"This is turn {turns} of our conversation; I got {len(body.messages)} "
        + ("message" if len(body.messages) == 1 else "messages")
        + (f", with the system prompt “{system.strip()}”" if system.strip() else "")
        + f", and these settings: {', '.join(_settings_words(body))}."
    )
    text = "\n\n".join(parts)
    if _ASKS_TO_THINK.search(last_user):
        received = f"{len(body.messages)} message{'s' if len(body.messages) != 1 else ''}"
        text = ("<think>\nThe visitor asked me to think it through. I am a demo, so my reasoning is short: I "
                f"received {received} and these settings: {', '.join(_settings_words(body))}. "
                "I will say plainly that I am a demo, then repeat what I received.\n</think>\n\n" + text)
    if _ASKS_FOR_LONG.search(last_user):
        repeats = body.max_tokens // len(_LONG_PARAGRAPH.split()) + 1
        text += "\n\n" + _LONG_PARAGRAPH * repeats  # always more than max_tokens allows
    return text


async def demo_responder(body: ChatBody, instance: LocalInstance) -> AsyncGenerator[Delta, None]:
    """Streams ``demo_text`` a word at a time at the instance's pace (a long reply a few words at a time,
    so that it reaches Max tokens soon), honouring max_tokens: each word counts as a token."""
    words = _PIECES.findall(demo_text(body, instance))
    cut = words[: body.max_tokens]
    size = 8 if _ASKS_FOR_LONG.search(_last_user(body)) else 1
    pieces = ["".join(cut[i:i + size]) for i in range(0, len(cut), size)]
    async for delta in paced(pieces, instance.chunks_per_second):
        yield delta
    yield Delta(finish_reason="length" if len(words) > body.max_tokens else "stop")


async def paced(pieces: Iterable[str], chunks_per_second: float) -> AsyncGenerator[Delta, None]:
    """Each piece as a Delta, on a fixed schedule (no drift); 0 chunks/s means no pause at all."""
    interval = 1.0 / chunks_per_second if chunks_per_second > 0 else 0.0
    start = time.monotonic()
    for n, piece in enumerate(pieces):
        if interval:
            await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
        yield Delta(piece)


def _chunk(reply_id: str, created: int, delta: dict[str, Any] | None, finish_reason: str | None,
           usage: dict[str, int] | None = None) -> str:
    body: dict[str, Any] = {
        "id": reply_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_NAME,
        "system_fingerprint": None,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return f"data: {_json(body)}\n\n"


def _json(body: Any) -> str:
    """``body`` as JSON, in UTF-8 where it can be: a lone surrogate (half an emoji, which a visitor can
    send and the demo says back) cannot be encoded, so then every character is escaped instead."""
    text = json.dumps(body, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return json.dumps(body)
    return text


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


async def _sse_reply(
    deltas: AsyncGenerator[Delta, None], heartbeat_interval: float, usage_for: int | None = None
) -> AsyncIterator[str]:
    """The SSE lines of one reply, as the hosted service relays them from an instance; with
    ``usage_for`` (the prompt's size), a last chunk with ``usage``, as OpenAI's ``include_usage`` asks."""
    reply_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    beats = 0
    written = 0
    yield ": initial heartbeat\n\n"
    yield _chunk(reply_id, created, {"role": "assistant"}, None)
    pending: asyncio.Future[Delta] = asyncio.ensure_future(anext(deltas))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=heartbeat_interval)
            if not done:
                beats += 1
                yield f": heartbeat #{beats}\n\n"
                continue
            try:
                delta = pending.result()
            except StopAsyncIteration:
                break
            if delta.finish_reason:
                yield _chunk(reply_id, created, {}, delta.finish_reason)
            elif delta.text:
                written += 1
                yield _chunk(reply_id, created, {"content": delta.text}, None)
            pending = asyncio.ensure_future(anext(deltas))
        if usage_for is not None:
            yield _chunk(reply_id, created, None, None, _usage(usage_for, written))
    except Exception as exc:  # the instance reports every failure inside the stream
        message = str(exc) if isinstance(exc, SecondMeError) else f"{type(exc).__name__}"
        error = {"message": message, "type": "server_error", "code": "service_unavailable"}
        yield f"data: {_json({'error': error})}\n\n"
    finally:
        if not pending.done():
            pending.cancel()
            await asyncio.wait({pending})
        await deltas.aclose()
    yield "data: [DONE]\n\n"


async def _whole_reply(deltas: AsyncGenerator[Delta, None], prompt_tokens: int) -> dict[str, Any]:
    parts, finish = [], "stop"
    try:
        async for delta in deltas:
            parts.append(delta.text)
            finish = delta.finish_reason or finish
    finally:
        await deltas.aclose()
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(parts)},
                "finish_reason": finish,
            }
        ],
        "usage": _usage(prompt_tokens, sum(1 for p in parts if p)),
    }


async def _unless_client_leaves(request: Request, work: Any, poll: float = 0.2) -> Any:
    """The result of ``work``, or None as soon as the client has gone (the work is cancelled)."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=poll)
            if not task.done() and await request.is_disconnected():
                return None
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


def create_app(
    instances: Iterable[LocalInstance] = (LocalInstance("demo"),),
    *,
    responder: Responder = demo_responder,
    heartbeat_interval: float = 10.0,
) -> FastAPI:
    """The local instance as an ASGI app. ``app.state.instances`` maps ID to LocalInstance;
    set an instance's ``online`` to False and its chat answers 503."""
    app = FastAPI(title="Local Second Me", docs_url=None, redoc_url=None,
                  middleware=[Middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)])
    app.state.instances = {i.instance_id: i for i in instances}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422 echoes the input back: a NaN cannot be encoded (a 500 instead), and a
        # large message would be sent back whole. Say where and what, never the value.
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    def find(instance_id: str) -> LocalInstance:
        instance = app.state.instances.get(instance_id)
        if instance is None:
            raise HTTPException(404, detail=f"Instance {instance_id} not found")
        if not instance.online:
            raise HTTPException(503, detail=f"Instance {instance_id} is not connected")
        return instance

    async def chat(instance_id: str, body: ChatBody, request: Request) -> Any:
        instance = find(instance_id)
        deltas = responder(body, instance)
        if not body.stream:
            reply = await _unless_client_leaves(request, _whole_reply(deltas, body.prompt_tokens()))
            if reply is None:
                return Response(status_code=499)
            return Response(_json(reply), media_type="application/json")
        return StreamingResponse(
            _sse_reply(deltas, heartbeat_interval, body.prompt_tokens() if body.include_usage else None),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    app.post("/api/chat/{instance_id}")(chat)
    app.post("/api/chat/{instance_id}/chat/completions")(chat)

    @app.get("/api/upload/list")
    async def directory(page_size: int = 100) -> dict[str, Any]:
        items = [
            {
                "upload_name": i.name,
                "instance_id": i.instance_id,
                "description": i.description,
                "email": "",
                "status": "online" if i.online else "offline",
            }
            for i in list(app.state.instances.values())[:page_size]
        ]
        total = len(app.state.instances)
        return {
            "code": 0,
            "message": "success",
            "data": {
                "items": items,
                "pagination": {"page": 1, "page_size": page_size, "total": total},
            },
        }

    return app


def serve(*, host: str, port: int, instances: list[str], offline: list[str], rate: float, heartbeat: float,
          upstream: str | None = None, upstream_model: str = "default", upstream_key: str | None = None) -> int:
    """``secondme serve``: the local instance on ``host:port`` until Ctrl-C or SIGTERM (within 2 s)."""
    served = [LocalInstance(i, chunks_per_second=rate) for i in instances]
    served += [LocalInstance(i, online=False) for i in offline]
    from .relay import UpstreamResponder

    responder: Responder = (UpstreamResponder(upstream, model=upstream_model, api_key=upstream_key)
                            if upstream else demo_responder)
    app = create_app(served, responder=responder, heartbeat_interval=heartbeat)
    where = f"http://{host}:{port}"
    print(f"Local Second Me on {where}  (instances: {', '.join(instances)})", flush=True)
    print(f"  chat:  POST {where}/api/chat/{instances[0]}", flush=True)
    print(f"  OpenAI SDK base_url: {where}/api/chat/{instances[0]}", flush=True)
    if upstream:
        print(f"  replies relayed to {redact_url(upstream)} (model {upstream_model}); an OpenAI-compatible server "
              "has no roles or L0 retrieval, so role_id and enable_l0_retrieval are not passed on", flush=True)
    print("Ctrl-C stops it.", flush=True)
    AnnouncingServer(server_config(app, host=host, port=port)).run()
    return 0
