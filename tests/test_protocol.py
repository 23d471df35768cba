"""The pure pieces: chunk decoding, the reply assembler, error details, the directory."""

from __future__ import annotations

import json

import pytest

from secondme import StreamError
from secondme.errors import error_detail, parse_retry_after
from secondme.protocol import (
    Instance,
    ReplyAssembler,
    build_chat_request,
    decode_chunk,
    decode_completion,
    parse_instance_list,
)


@pytest.mark.parametrize("data, text, finish, done, error", [
    ('{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}', "Hi", None, False, None),
    ('{"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}', "", None, False, None),
    ('{"choices":[{"index":0,"delta":{"role":"assistant"}}]}', "", None, False, None),
    ('{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}', "", "length", False, None),
    ('{"choices":[]}', "", None, False, None),
    ('{"id":"x"}', "", None, False, None),
    ("[DONE]", "", None, True, None),
    ("not json", "", None, False, None),
    ('["a list"]', "", None, False, None),
    ('{"error":{"message":"LLama server is not running","type":"server_error"}}', "", None, False,
     "LLama server is not running"),
    ('{"error":"plain words"}', "", None, False, "plain words"),
    ('{"error":{"code":"service_unavailable"}}', "", None, False, "service_unavailable"),
])
def test_decode_chunk(data: str, text: str, finish: str | None, done: bool, error: str | None) -> None:
    chunk = decode_chunk(data)
    assert (chunk.text, chunk.finish_reason, chunk.done, chunk.error) == (text, finish, done, error)


def test_assembler_keeps_everything_and_knows_when_it_is_finished() -> None:
    reply = ReplyAssembler()
    assert reply.feed('{"choices":[{"delta":{"content":"a"}}]}') == "a"
    with pytest.raises(StreamError) as info:
        reply.close()
    assert info.value.partial == "a"
    reply.feed('{"choices":[{"delta":{},"finish_reason":"stop"}]}')
    reply.close()
    assert reply.text == "a" and reply.finish_reason == "stop"


def test_request_builder_sends_metadata_only_when_given_and_strips_the_id() -> None:
    request = build_chat_request(" abc ", [{"role": "user", "content": "x"}], endpoint="chat/completions")
    assert request.path == "/api/chat/abc/chat/completions"
    assert "metadata" not in request.payload and request.payload["stream"] is True


@pytest.mark.parametrize("body, content_type, detail", [
    ('{"detail":"Instance not found"}', "application/json", "Instance not found"),
    ('{"detail":[{"loc":["body","messages"],"msg":"Field required"}]}', "application/json", "messages: Field required"),
    ('{"message":"nope"}', "application/json", "nope"),
    ('{"error":{"message":"deep"}}', "application/json", "deep"),
    ("<html><head><title>504 Gateway Time-out</title></head><body>x</body></html>", "text/html",
     "504 Gateway Time-out"),
    ("<html><body><h1>Oops</h1>\n<p>broken</p></body></html>", "text/html", "Oops broken"),
    ("line one\nline two", "text/plain", "line one line two"),
    ("", "text/plain", ""),
])
def test_error_detail(body: str, content_type: str, detail: str) -> None:
    assert error_detail(body, content_type) == detail


def test_error_detail_is_cut_to_one_short_line() -> None:
    assert len(error_detail("x" * 5000)) == 300


def test_retry_after() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_whole_completion() -> None:
    assert decode_completion('{"choices":[{"message":{"content":"ok"}}]}') == "ok"
    with pytest.raises(StreamError, match="reported an error: bad"):
        decode_completion('{"error":{"message":"bad"}}')


def test_instance_list_is_read_tolerantly() -> None:
    body = json.loads('{"code":0,"data":{"items":[{"upload_name":"Ann","instance_id":"a1","description":"d",'
                      '"email":"e","status":"online"},{"instance_id":"b2"},{"upload_name":"no id"}],'
                      '"pagination":{}}}')
    assert parse_instance_list(body) == [Instance("a1", "Ann", "d", "online"), Instance("b2", "b2", "", "unknown")]
    assert parse_instance_list({"code": 1}) == [] and parse_instance_list([]) == []
