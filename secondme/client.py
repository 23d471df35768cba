"""The synchronous client: requests for the transport, sseclient-py for the SSE framing.

Everything else (checking input, building requests, decoding chunks, mapping errors) is
shared with the async client through ``protocol`` and ``errors``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import sseclient
import urllib3.exceptions

from .errors import (
    ERROR_BODY_LIMIT,
    APIConnectionError,
    APITimeoutError,
    SecondMeError,
    StreamError,
    error_for_status,
    redact_url,
)
from .protocol import (
    DEFAULT_BASE_URL,
    ENDPOINTS,
    MAX_JSON_BYTES,
    ChatRequest,
    Endpoint,
    EventSizeGuard,
    Instance,
    ReplyAssembler,
    build_chat_request,
    decode_completion,
    instances_from_answer,
)

__all__ = ["SecondMeClient", "ChatStream", "ClientOptions"]

_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class ClientOptions:
    """What both clients need to reach a Second Me; resolved once, when a client is made."""

    base_url: str
    endpoint: Endpoint
    timeout: float
    connect_timeout: float
    api_key: str | None

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        *,
        endpoint: Endpoint,
        timeout: float,
        connect_timeout: float,
        api_key: str | None,
    ) -> ClientOptions:
        if endpoint not in ENDPOINTS:
            raise ValueError("endpoint must be 'chat' or 'chat/completions'")
        base = base_url or os.environ.get("SECONDME_BASE_URL") or DEFAULT_BASE_URL
        key = api_key if api_key is not None else os.environ.get("SECONDME_API_KEY") or None
        return cls(base.rstrip("/"), endpoint, timeout, connect_timeout, key)

    def headers(self, *, stream: bool) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if stream:
            # A compressed stream is held back by the decompressor; ask for it plain.
            headers["Accept-Encoding"] = "identity"
            headers["Cache-Control"] = "no-store"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    @property
    def request_base_url(self) -> str:
        """The base URL requests go to. With an API key, without any ``user:password@``: the key is
        what authorizes, and an HTTP library would replace its header with the URL's credentials."""
        return _without_userinfo(self.base_url) if self.api_key else self.base_url

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """What an error's words must never show: the key, and the base URL's password."""
        return (self.api_key, urlsplit(self.base_url).password)

    def too_large(self) -> StreamError:
        return StreamError(f"The Second Me sent a reply larger than this client reads ({MAX_JSON_BYTES >> 20} MiB).")

    @property
    def safe_base_url(self) -> str:
        """The base URL without credentials: what a log or the operator's terminal may show."""
        return redact_url(self.base_url)

    # The messages name no address and no credentials: a public page shows them to visitors.
    def connection_error(self, exc: BaseException) -> APIConnectionError:
        return APIConnectionError(
            "Could not reach the Second Me service. Check the address and your connection. "
            f"({type(exc).__name__})",
            url=self.safe_base_url,
        )

    def timeout_error(self, *, partial: str = "", connecting: bool = False) -> APITimeoutError:
        if connecting:
            return APITimeoutError(
                f"The Second Me service did not answer within {self.connect_timeout:g} s.",
                url=self.safe_base_url,
            )
        return APITimeoutError(
            f"The Second Me went quiet: nothing arrived for {self.timeout:g} s.",
            partial=partial,
            url=self.safe_base_url,
        )


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _is_json(content_type: str) -> bool:
    return "json" in content_type.lower()


def _read_json_body(client: SecondMeClient, response: requests.Response) -> str:
    """A whole JSON answer, read only up to MAX_JSON_BYTES."""
    body = response.raw.read(MAX_JSON_BYTES + 1, decode_content=True)
    if len(body) > MAX_JSON_BYTES:
        raise client.options.too_large()
    return bytes(body).decode("utf-8", "replace")


def _directory(status_code: int, headers: Mapping[str, str], body: bytes | bytearray, limit: int) -> list[Instance]:
    """The directory from an answer read at most ``limit`` bytes (and one more) far."""
    if len(body) > limit and status_code < 400:
        raise SecondMeError(f"The instance directory sent an answer larger than this client reads ({limit >> 20} MiB).")
    return instances_from_answer(status_code, headers, bytes(body[:limit]).decode("utf-8", "replace"))


def _guarded(source: Iterator[bytes], guard: EventSizeGuard) -> Generator[bytes, None, None]:
    for piece in source:
        guard.feed(piece)
        yield piece


def _reply_deltas(client: SecondMeClient, request: ChatRequest) -> Generator[str, None, None]:
    response = client._send(request)
    try:
        if _is_json(response.headers.get("content-type", "")):
            text = decode_completion(_read_json_body(client, response), client.options.secrets)
            if text:
                yield text
            return
        reply = ReplyAssembler(secrets=client.options.secrets)
        try:
            raw = response.raw
            # read1 returns whatever bytes have arrived, so no delta waits for a full buffer.
            source = iter(lambda: raw.read1(_READ_SIZE, decode_content=True), b"")
            guarded = _guarded(source, EventSizeGuard(partial=reply))
            for event in sseclient.SSEClient(guarded).events():
                delta = reply.feed(event.data)
                if delta:
                    yield delta
                if reply.finished:  # complete: [DONE] may never come
                    return
        except (
            urllib3.exceptions.ReadTimeoutError,
            requests.exceptions.ReadTimeout,
            TimeoutError,
        ) as exc:
            raise client.options.timeout_error(partial=reply.text) from exc
        except (
            urllib3.exceptions.HTTPError,
            requests.exceptions.RequestException,
            OSError,
        ) as exc:
            raise StreamError(
                "The reply was cut off: the connection to the Second Me broke.",
                partial=reply.text,
            ) from exc
        reply.close()
    finally:
        response.close()


class ChatStream(Iterator[str]):
    """The text deltas of one reply, in order, as they arrive.

    Connects on the first ``next()``. ``close()`` (also on leaving a ``with`` block, or when
    the stream is garbage-collected after a ``break``) closes the HTTP connection.
    """

    def __init__(self, client: SecondMeClient, request: ChatRequest) -> None:
        # The generator holds no reference back to this object, so dropping the stream
        # (a ``break`` out of a loop over it) finalizes it and closes the connection.
        self._gen = _reply_deltas(client, request)

    def __next__(self) -> str:
        return next(self._gen)

    def __iter__(self) -> ChatStream:
        return self

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        self._gen.close()


class SecondMeClient:
    """A client for the Second Me Chat Completion API.

    ``base_url`` falls back to ``SECONDME_BASE_URL``, then the hosted service; an API key,
    if one is ever needed, to ``SECONDME_API_KEY`` (sent as a Bearer token, never logged).
    ``timeout`` is how long a stream may stay silent: heartbeats come every 10 s.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        endpoint: Endpoint = "chat",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        api_key: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.options = ClientOptions.resolve(
            base_url,
            endpoint=endpoint,
            timeout=timeout,
            connect_timeout=connect_timeout,
            api_key=api_key,
        )
        self._session = session or requests.Session()

    @property
    def base_url(self) -> str:
        return self.options.base_url

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SecondMeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream_chat(
        self,
        instance_id: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float = 0.7,
        max_tokens: int = 2000,
        metadata: Mapping[str, Any] | None = None,
    ) -> ChatStream:
        """Stream a reply; the input is checked now, before anything is sent."""
        request = build_chat_request(
            instance_id,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            metadata=metadata,
            endpoint=self.options.endpoint,
        )
        return ChatStream(self, request)

    def chat(
        self,
        instance_id: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float = 0.7,
        max_tokens: int = 2000,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """The whole reply as one string."""
        with self.stream_chat(
            instance_id,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            metadata=metadata,
        ) as stream:
            return "".join(stream)

    def list_instances(self, *, page_size: int = 100) -> list[Instance]:
        """The public directory of Second Me instances, with their online status."""
        url = f"{self.options.request_base_url}/api/upload/list"
        try:
            response = self._session.get(
                url,
                params={"page_size": page_size},
                headers=self.options.headers(stream=False),
                timeout=(self.options.connect_timeout, self.options.timeout),
                stream=True,
            )
            try:
                limit = ERROR_BODY_LIMIT if response.status_code >= 400 else MAX_JSON_BYTES
                body = response.raw.read(limit + 1, decode_content=True)
            finally:
                response.close()
        except (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError) as exc:
            raise self.options.timeout_error(
                connecting=isinstance(exc, requests.exceptions.ConnectTimeout)
            ) from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.options.connection_error(exc) from exc
        return _directory(response.status_code, response.headers, body, limit)

    def _send(self, request: ChatRequest) -> requests.Response:
        try:
            response = self._session.post(
                self.options.request_base_url + request.path,
                json=request.payload,
                headers=self.options.headers(stream=True),
                stream=True,
                timeout=(self.options.connect_timeout, self.options.timeout),
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self.options.timeout_error(connecting=True) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise self.options.timeout_error() from exc
        except requests.exceptions.RequestException as exc:
            raise self.options.connection_error(exc) from exc
        if response.status_code >= 400:
            try:
                body = response.raw.read(ERROR_BODY_LIMIT, decode_content=True)
            except (urllib3.exceptions.HTTPError, OSError):
                body = b""
            finally:
                response.close()
            raise error_for_status(
                response.status_code,
                response.headers,
                body.decode("utf-8", "replace"),
                instance_id=request.instance_id,
                secrets=self.options.secrets,
            )
        return response
