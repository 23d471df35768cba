"""The asynchronous client: httpx for the transport, httpx-sse for the SSE framing.

Same surface and same shared pieces as ``SecondMeClient``; used by the web app so that a
hundred streams cost a hundred coroutines, not a hundred threads.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

# The decoders are httpx-sse's own; its EventSource insists on a text/event-stream header,
# and a Second Me reply is parsed tolerantly whatever content type the relay put on it.
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from .client import ClientOptions, _directory, _is_json
from .errors import ERROR_BODY_LIMIT, StreamError, error_for_status
from .network import no_cookies, use_lean_backend
from .protocol import (
    MAX_JSON_BYTES,
    ChatRequest,
    Endpoint,
    EventSizeGuard,
    Instance,
    ReplyAssembler,
    build_chat_request,
    decode_completion,
)

__all__ = ["AsyncSecondMeClient", "AsyncChatStream"]



async def sse_data(response: httpx.Response, guard: EventSizeGuard | None = None) -> AsyncGenerator[str, None]:
    """The data of each SSE event in the body, as soon as its blank line arrives. No event larger
    than ``guard``'s limit is held (StreamError)."""
    lines = SSELineDecoder()
    events = SSEDecoder()
    guard = guard or EventSizeGuard()
    async for text in response.aiter_text():
        guard.feed(text)
        for line in lines.decode(text):
            event = events.decode(line)
            if event is not None:
                yield event.data
    for line in [*lines.flush(), ""]:
        event = events.decode(line)
        if event is not None:
            yield event.data


async def _read_at_most(response: httpx.Response, limit: int) -> bytearray:
    """The body, or its first ``limit`` bytes and one more when it is longer."""
    body = bytearray()
    async for piece in response.aiter_bytes():
        body += piece
        if len(body) > limit:
            del body[limit + 1:]
            break
    return body


async def _read_json_body(client: AsyncSecondMeClient, response: httpx.Response) -> str:
    body = await _read_at_most(response, MAX_JSON_BYTES)
    if len(body) > MAX_JSON_BYTES:
        raise client.options.too_large()
    return body.decode("utf-8", "replace")


async def _reply_deltas(client: AsyncSecondMeClient, request: ChatRequest,
                        reply: ReplyAssembler) -> AsyncGenerator[str, None]:
    response = await client._send(request)
    try:
        if _is_json(response.headers.get("content-type", "")):
            text = decode_completion(await _read_json_body(client, response), client.options.secrets)
            if text:
                yield text
            return
        try:
            async for data in sse_data(response, EventSizeGuard(partial=reply)):
                delta = reply.feed(data)
                if delta:
                    yield delta
                if reply.finished:  # complete: [DONE] may never come
                    return
        except httpx.TimeoutException as exc:
            raise client.options.timeout_error(partial=reply.text) from exc
        except httpx.TransportError as exc:
            raise StreamError(
                "The reply was cut off: the connection to the Second Me broke.",
                partial=reply.text,
            ) from exc
        reply.close()
    finally:
        await response.aclose()


class AsyncChatStream(AsyncIterator[str]):
    """The text deltas of one reply. Connects on the first ``__anext__``.

    Use ``async with`` or call ``aclose()`` to close the connection when stopping early.
    """

    def __init__(self, client: AsyncSecondMeClient, request: ChatRequest) -> None:
        #: The reply as it arrives: its text chunks, finish reason and the time of its first text.
        self.reply = ReplyAssembler(secrets=client.options.secrets)
        # The generator holds no reference back to this object, so dropping the stream
        # (a ``break`` out of a loop over it) finalizes it and closes the connection.
        self._gen = _reply_deltas(client, request, self.reply)

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> str:
        return await self._gen.__anext__()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._gen.aclose()


class AsyncSecondMeClient:
    """The async twin of ``SecondMeClient``: ``stream_chat`` gives an async iterator,
    ``chat`` and ``list_instances`` are coroutines."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        endpoint: Endpoint = "chat",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        api_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.options = ClientOptions.resolve(
            base_url,
            endpoint=endpoint,
            timeout=timeout,
            connect_timeout=connect_timeout,
            api_key=api_key,
        )
        # Its own client reads through LeanBackend (network.py): a chunk costs about a quarter less CPU.
        self._http = http_client or use_lean_backend(httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            cookies=no_cookies(),  # one client serves every visitor of the app
            # Each open stream holds a connection; the app bounds how many run at once.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        ))

    @property
    def base_url(self) -> str:
        return self.options.base_url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSecondMeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def stream_chat(
        self,
        instance_id: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float = 0.7,
        max_tokens: int = 2000,
        metadata: Mapping[str, Any] | None = None,
    ) -> AsyncChatStream:
        """Stream a reply; the input is checked now, before anything is sent."""
        request = build_chat_request(
            instance_id,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            metadata=metadata,
            endpoint=self.options.endpoint,
        )
        return AsyncChatStream(self, request)

    async def chat(
        self,
        instance_id: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float = 0.7,
        max_tokens: int = 2000,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """The whole reply as one string."""
        parts = []
        async with self.stream_chat(
            instance_id,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            metadata=metadata,
        ) as stream:
            async for delta in stream:
                parts.append(delta)
        return "".join(parts)

    async def list_instances(self, *, page_size: int = 100) -> list[Instance]:
        """The public directory of Second Me instances, with their online status."""
        request = self._http.build_request(
            "GET",
            f"{self.options.request_base_url}/api/upload/list",
            params={"page_size": page_size},
            headers=self.options.headers(stream=False),
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                limit = ERROR_BODY_LIMIT if response.status_code >= 400 else MAX_JSON_BYTES
                body = await _read_at_most(response, limit)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise self.options.timeout_error(
                connecting=isinstance(exc, httpx.ConnectTimeout)
            ) from exc
        except httpx.TransportError as exc:
            raise self.options.connection_error(exc) from exc
        return _directory(response.status_code, response.headers, body, limit)

    async def _send(self, request: ChatRequest) -> httpx.Response:
        http_request = self._http.build_request(
            "POST",
            self.options.request_base_url + request.path,
            json=request.payload,
            headers=self.options.headers(stream=True),
        )
        try:
            response = await self._http.send(http_request, stream=True)
        except httpx.ConnectTimeout as exc:
            raise self.options.timeout_error(connecting=True) from exc
        except httpx.TimeoutException as exc:
            raise self.options.timeout_error() from exc
        except httpx.TransportError as exc:
            raise self.options.connection_error(exc) from exc
        if response.status_code >= 400:
            body = bytearray()
            try:
                body = await _read_at_most(response, ERROR_BODY_LIMIT)
            except httpx.TransportError:
                pass
            finally:
                await response.aclose()
            raise error_for_status(
                response.status_code,
                response.headers,
                body[:ERROR_BODY_LIMIT].decode("utf-8", "replace"),
                instance_id=request.instance_id,
                secrets=self.options.secrets,
            )
        return response
