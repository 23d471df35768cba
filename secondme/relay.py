"""``secondme serve --upstream``: replies relayed to an OpenAI-compatible model server (llama.cpp,
Ollama, vLLM, …) instead of the demo responder."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx

from .async_client import sse_data
from .errors import SecondMeError, error_detail
from .protocol import ReplyAssembler
from .server import ChatBody, Delta, LocalInstance

__all__ = ["UpstreamResponder"]


class UpstreamResponder:
    """Relays each request to an OpenAI-compatible server (llama.cpp, Ollama, vLLM, …)."""

    def __init__(self, base_url: str, *, model: str = "default", api_key: str | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0))

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
                    said = (await response.aread())[:65536].decode("utf-8", "replace")
                    detail = error_detail(said, response.headers.get("content-type", ""))
                    raise SecondMeError(f"The upstream model server answered {response.status_code}"
                                        + (f": {detail}" if detail else "") + ".")
                reply = ReplyAssembler()
                async for data in sse_data(response):
                    text = reply.feed(data)
                    if text:
                        yield Delta(text)
                    if reply.finished:
                        break
                reply.close()
                yield Delta(finish_reason=reply.finish_reason or "stop")
        except httpx.HTTPError as exc:
            raise SecondMeError(
                f"The upstream model server could not be reached ({type(exc).__name__})."
            ) from exc
