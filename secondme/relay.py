"""``secondme serve --upstream``: replies relayed to an OpenAI-compatible model server (llama.cpp,
Ollama, vLLM, …) instead of the demo responder."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx

from .async_client import _read_at_most, sse_data
from .errors import ERROR_BODY_LIMIT, SecondMeError, error_detail, redact_secrets
from .network import no_cookies
from .protocol import EventSizeGuard, ReplyAssembler
from .wire import ChatBody, Delta, LocalInstance

__all__ = ["UpstreamResponder"]


class UpstreamResponder:
    """Relays each request to an OpenAI-compatible server (llama.cpp, Ollama, vLLM, …)."""

    def __init__(self, base_url: str, *, model: str = "default", api_key: str | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._secrets = (api_key,)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0),
                                       cookies=no_cookies())  # one client relays every caller's requests

    async def __call__(
        self, body: ChatBody, instance: LocalInstance
    ) -> AsyncGenerator[Delta, None]:
        payload = {
            "model": self.model,
            "messages": [m.model_dump() for m in body.messages],
            "temperature": body.temperature,
            "max_tokens": body.max_tokens,
            "stream": True,
        }
        try:
            async with self._http.stream("POST", self.url, json=payload, headers=self._headers) as response:
                if response.status_code >= 400:
                    said = redact_secrets(
                        (await _read_at_most(response, ERROR_BODY_LIMIT))[:ERROR_BODY_LIMIT].decode("utf-8", "replace"),
                        self._secrets)
                    detail = redact_secrets(error_detail(said, response.headers.get("content-type", "")), self._secrets)
                    raise SecondMeError(f"The upstream model server answered {response.status_code}"
                                        + (f": {detail}" if detail else "") + ".")
                reply = ReplyAssembler(secrets=self._secrets)
                async for data in sse_data(response, EventSizeGuard(partial=reply)):
                    text = reply.feed(data)
                    if text:
                        yield Delta(text)
                    if reply.finished:
                        break
                reply.close()
                if reply.finish_reason:  # the upstream's own; a [DONE] alone claims no reason
                    yield Delta(finish_reason=reply.finish_reason)
        except httpx.HTTPError as exc:
            raise SecondMeError(
                f"The upstream model server could not be reached ({type(exc).__name__})."
            ) from exc
