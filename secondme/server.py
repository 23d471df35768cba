"""A local Second Me-compatible instance: the hosted API, served from this machine.

It answers both chat routes and the public directory the way the hosted service does
(chunk shape, heartbeats, errors inside the stream, 404/422/503), so the whole product runs
and is tested with no network. Replies come from an honest demo responder (demo.py), or are relayed
to any OpenAI-compatible server with ``--upstream`` (relay.py); the request and reply models are wire.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.responses import JSONResponse, Response, StreamingResponse

from .demo import demo_responder, paced
from .errors import SecondMeError, redact_url
from .relay import UpstreamResponder
from .serving import AnnouncingServer, BodyLimit, ServerThread, server_config
from .wire import MODEL_NAME, ChatBody, Delta, LocalInstance, Responder

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

MAX_BODY_BYTES = 8 * 1024 * 1024


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
    AnnouncingServer(server_config(app, host=host, port=port)).run()  # then says "Ctrl-C stops it."
    return 0
