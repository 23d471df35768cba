"""What an OpenAI client sends, against the local instance, with the official ``openai`` package: what works,
and what is refused with a reason (README's "OpenAI clients" section promises exactly this)."""

from __future__ import annotations

from typing import Any

import openai
import pytest
import requests

from secondme.server import ServerThread

HELLO: Any = [{"role": "user", "content": "Hello"}]


def sdk(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/api/chat/demo", api_key="not-needed", max_retries=0)


def streamed_text(stream: Any) -> tuple[str, Any, Any]:
    pieces, finish, usage = [], None, None
    for event in stream:
        if event.choices:
            pieces.append(event.choices[0].delta.content or "")
            finish = event.choices[0].finish_reason or finish
        usage = event.usage or usage
    return "".join(pieces), finish, usage


def test_stream_true_streams(local_server: ServerThread) -> None:
    text, finish, usage = streamed_text(sdk(local_server).chat.completions.create(
        model="any", messages=HELLO, stream=True))
    assert "You said: “Hello”." in text and finish == "stop" and usage is None


def test_stream_false_explicitly_gives_one_completion(local_server: ServerThread) -> None:
    reply = sdk(local_server).chat.completions.create(model="any", messages=HELLO, stream=False)
    assert "You said: “Hello”." in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop" and reply.usage is not None
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_without_stream_the_api_streams_as_the_second_me_api_does(local_server: ServerThread) -> None:
    """The Second Me API streams by default: an SDK call that leaves ``stream`` out gets an SSE body, which
    the SDK cannot read as a completion. README says to pass stream=True or stream=False."""
    raw = requests.post(f"{local_server.url}/api/chat/demo/chat/completions", json={"messages": HELLO}, timeout=10)
    assert raw.headers["content-type"].startswith("text/event-stream")


def test_content_as_text_parts_and_the_developer_role(local_server: ServerThread) -> None:
    messages: Any = [{"role": "developer", "content": "Be terse."},
                     {"role": "user", "content": [{"type": "text", "text": "Two "}, {"type": "text", "text": "parts"}]}]
    text, _, _ = streamed_text(sdk(local_server).chat.completions.create(model="any", messages=messages, stream=True))
    assert "You said: “Two parts”." in text and "with the system prompt “Be terse.”" in text


def test_max_completion_tokens_and_usage_in_the_last_chunk(local_server: ServerThread) -> None:
    text, finish, usage = streamed_text(sdk(local_server).chat.completions.create(
        model="any", messages=HELLO, stream=True, max_completion_tokens=5,
        stream_options={"include_usage": True}))
    assert finish == "length" and len(text.split()) == 5
    assert usage is not None and usage.completion_tokens == 5 and usage.prompt_tokens == 1


@pytest.mark.parametrize("extra, words", [
    ({"n": 2}, "n must be 1"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "only text content is supported, not image_url"),
    ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "t"}]}, "tool and function messages"),
])
def test_what_a_second_me_cannot_do_is_refused_with_a_reason(local_server: ServerThread, extra: dict[str, Any],
                                                              words: str) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as info:
        sdk(local_server).chat.completions.create(**{"model": "any", "messages": HELLO, "stream": True, **extra})
    assert words in str(info.value.body)
