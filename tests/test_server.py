"""The local instance, as clients nobody here wrote see it: raw HTTP, the seed's
http.client example, the official OpenAI SDK, and the package's own clients."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlparse

import openai
import pytest
import requests

from secondme import InstanceNotFoundError, InstanceUnavailableError, SecondMeClient, StreamError
from secondme.relay import UpstreamResponder
from secondme.server import Delta, LocalInstance, ServerThread, create_app

from .faults import FaultServer, chunk, data, http_body, http_head, reply

HELLO = [{"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "Hello, please introduce yourself."}]


def raw_events(url: str, body: dict[str, Any]) -> list[str]:
    """Every SSE line of a reply, as it came, comments included."""
    with requests.post(url, json=body, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [str(line) for line in response.iter_lines(decode_unicode=True) if line]


@pytest.mark.parametrize("route", ["/api/chat/demo", "/api/chat/demo/chat/completions"])
def test_stream_is_shaped_like_the_hosted_service(local_server: ServerThread, route: str) -> None:
    lines = raw_events(local_server.url + route, {"messages": HELLO})
    assert lines[0] == ": initial heartbeat"
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[1:-1] if line.startswith("data: ")]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and chunks[0]["id"].startswith("chatcmpl-")
    assert {c["model"] for c in chunks} == {"lpm-registry-model"}
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "I am a demo" in text and "Hello, please introduce yourself." in text
    assert "You are a helpful assistant." in text and "temperature 0.7, max tokens 2000" in text


def test_max_tokens_cuts_the_reply_with_length(local_server: ServerThread) -> None:
    lines = raw_events(local_server.url + "/api/chat/demo", {"messages": HELLO, "max_tokens": 3})
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    contents = [c["choices"][0]["delta"]["content"] for c in chunks if "content" in c["choices"][0]["delta"]]
    assert len(contents) == 3
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_heartbeats_while_the_reply_is_slow() -> None:
    app = create_app([LocalInstance("sleepy", chunks_per_second=2)], heartbeat_interval=0.1)
    with ServerThread(app) as server:
        lines = raw_events(server.url + "/api/chat/sleepy", {"messages": HELLO, "max_tokens": 3})
    beats = [line for line in lines if line.startswith(": heartbeat #")]
    assert len(beats) >= 5 and beats[0] == ": heartbeat #1"


def test_settings_and_metadata_reach_the_responder(local_server: ServerThread) -> None:
    text = SecondMeClient(local_server.url).chat(
        "demo", [{"role": "user", "content": "hi"}], temperature=0.25, max_tokens=500,
        metadata={"enable_l0_retrieval": True, "role_id": "mentor"})
    assert "temperature 0.25, max tokens 500, L0 retrieval on, role “mentor”" in text


def test_invalid_body_is_a_fastapi_422(local_server: ServerThread) -> None:
    response = requests.post(local_server.url + "/api/chat/demo",
                             json={"messages": [{"role": "robot", "content": "x"}], "temperature": 3}, timeout=5)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and {tuple(d["loc"]) for d in detail} >= {("body", "temperature")}
    assert requests.post(local_server.url + "/api/chat/demo", json={"messages": []}, timeout=5).status_code == 422


def test_unknown_and_offline_instances(local_server: ServerThread) -> None:
    client = SecondMeClient(local_server.url)
    with pytest.raises(InstanceNotFoundError):
        client.chat("nobody", HELLO)
    with pytest.raises(InstanceUnavailableError) as info:
        client.chat("offline", HELLO)
    assert info.value.detail == "Instance offline is not connected"


def test_marking_an_instance_offline_at_run_time() -> None:
    app = create_app([LocalInstance("flaky", chunks_per_second=0)])
    with ServerThread(app) as server:
        client = SecondMeClient(server.url)
        assert "I am a demo" in client.chat("flaky", HELLO)
        app.state.instances["flaky"].online = False
        with pytest.raises(InstanceUnavailableError):
            client.chat("flaky", HELLO)


def test_directory_in_the_hosted_shape(local_server: ServerThread) -> None:
    body = requests.get(local_server.url + "/api/upload/list", params={"page_size": 100}, timeout=5).json()
    assert body["code"] == 0 and set(body["data"]) == {"items", "pagination"}
    statuses = {i["instance_id"]: i["status"] for i in body["data"]["items"]}
    assert statuses == {"demo": "online", "slow": "online", "offline": "offline"}
    instances = SecondMeClient(local_server.url).list_instances()
    assert [(i.instance_id, i.online) for i in instances] == [("demo", True), ("slow", True), ("offline", False)]


def test_not_streamed_is_one_chat_completion(local_server: ServerThread) -> None:
    body = requests.post(local_server.url + "/api/chat/demo", json={"messages": HELLO, "stream": False},
                         timeout=5).json()
    assert body["object"] == "chat.completion"
    assert "I am a demo" in body["choices"][0]["message"]["content"]


def test_the_official_openai_sdk_streams_a_reply(local_server: ServerThread) -> None:
    sdk = openai.OpenAI(base_url=f"{local_server.url}/api/chat/demo", api_key="not-needed")
    stream: Any = sdk.chat.completions.create(model="lpm-registry-model", messages=HELLO, stream=True)  # type: ignore[arg-type]
    pieces, finish = [], None
    for event in stream:
        if event.choices:
            pieces.append(event.choices[0].delta.content or "")
            finish = event.choices[0].finish_reason or finish
    assert "I am a demo" in "".join(pieces) and len(pieces) > 10
    assert finish == "stop"


def test_the_seed_http_client_example_works(local_server: ServerThread) -> None:
    """The API document's own Python sample, pointed at the local instance over http."""
    where = urlparse(local_server.url)
    data = {"messages": HELLO, "metadata": {"enable_l0_retrieval": False, "role_id": "default_role"},
            "temperature": 0.7, "max_tokens": 2000, "stream": True}
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port)
    conn.request("POST", "/api/chat/demo", body=json.dumps(data), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    printed = []
    for line in response:
        if line:
            decoded_line = line.decode("utf-8").strip()
            if decoded_line == "data: [DONE]":
                break
            if decoded_line.startswith("data: "):
                chunk = json.loads(decoded_line[6:])
                content = chunk["choices"][0]["delta"].get("content", "")
                if content:
                    printed.append(content)
    conn.close()
    assert "Hello, please introduce yourself." in "".join(printed)


def test_the_relay_sends_the_request_upstream_and_streams_back_chunk_by_chunk(fault_server: FaultServer) -> None:
    """``--upstream``, against a recording OpenAI-compatible server."""
    steps: list[Any] = [http_head(chunked=True)]
    for piece in [data(chunk("Up")), data(chunk("stream")), data(chunk("ed", finish="stop")) + data("[DONE]")]:
        steps += [b"%x\r\n%s\r\n" % (len(piece), piece), 0.3]
    steps.append(b"0\r\n\r\n")
    fault_server.script("/v1/chat/completions", steps)
    upstream = UpstreamResponder(fault_server.url + "/v1", model="llama3.2", api_key="sk-upstream")
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Again"}]
    arrivals: list[tuple[float, str]] = []
    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        started = time.monotonic()
        for delta in SecondMeClient(relay.url).stream_chat("mine", conversation, temperature=0.2, max_tokens=77,
                                                           metadata={"role_id": "r"}):
            arrivals.append((time.monotonic() - started, delta))
    assert [d for _, d in arrivals] == ["Up", "stream", "ed"]
    assert arrivals[1][0] - arrivals[0][0] > 0.2 and arrivals[2][0] - arrivals[1][0] > 0.2  # not buffered
    sent = fault_server.requests_to("/v1/chat/completions")[0]
    assert sent.json() == {"model": "llama3.2", "messages": conversation, "temperature": 0.2, "max_tokens": 77,
                           "stream": True}
    assert sent.headers["authorization"] == "Bearer sk-upstream"


@pytest.mark.parametrize("status, body, words", [
    ("401 Unauthorized", '{"error": {"message": "bad key"}}', "The upstream model server answered 401: bad key."),
    ("500 Internal Server Error", "<html><title>Boom</title></html>", "answered 500: Boom."),
])
def test_the_relay_turns_an_upstream_error_into_a_clear_error_in_the_stream(
        fault_server: FaultServer, status: str, body: str, words: str) -> None:
    fault_server.script("/v1/chat/completions", http_body(status, "application/json" if "{" in body else "text/html",
                                                          body))
    upstream = UpstreamResponder(fault_server.url + "/v1")
    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        with pytest.raises(StreamError) as info:
            SecondMeClient(relay.url).chat("mine", HELLO)
    assert words in str(info.value)


def test_relay_reports_a_dead_upstream_inside_the_stream() -> None:
    upstream = UpstreamResponder("http://127.0.0.1:9/v1")
    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        with pytest.raises(StreamError, match="upstream model server could not be reached"):
            SecondMeClient(relay.url).chat("mine", HELLO)


def test_serve_upstream_from_the_command_line(fault_server: FaultServer) -> None:
    from .conftest import free_port, start_process

    fault_server.script("/v1/chat/completions", [http_head(), reply("relayed", " reply")])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with start_process([sys.executable, "-m", "secondme", "serve", "--port", str(port), "--instance", "me",
                        "--upstream", fault_server.url + "/v1", "--upstream-model", "qwen"],
                       env={**os.environ, "SECONDME_UPSTREAM_KEY": "sk-env"}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, ready_url=url + "/api/upload/list"):
        assert SecondMeClient(url).chat("me", HELLO, temperature=0.4, max_tokens=9) == "relayed reply"
    sent = fault_server.requests_to("/v1/chat/completions")[0]
    assert sent.json()["model"] == "qwen" and sent.json()["temperature"] == 0.4 and sent.json()["max_tokens"] == 9
    assert sent.headers["authorization"] == "Bearer sk-env"


def test_a_client_leaving_stops_the_reply() -> None:
    """When the reader goes away, the responder is closed instead of talking to no one."""
    closed: list[float] = []

    async def endless(body: Any, instance: LocalInstance) -> Any:
        try:
            while True:
                await asyncio.sleep(0.02)
                yield Delta("tick ")
        finally:
            closed.append(time.monotonic())

    with ServerThread(create_app([LocalInstance("x")], responder=endless)) as server:
        for _ in SecondMeClient(server.url).stream_chat("x", HELLO):
            break
        left = time.monotonic()
        deadline = left + 3
        while not closed and time.monotonic() < deadline:
            time.sleep(0.02)
    assert closed and closed[0] - left < 1.0


def test_terminal_chat_streams_replies_and_keeps_the_conversation(local_server: ServerThread) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "secondme", "chat", "demo", "--base-url", local_server.url, "--max-tokens", "60"],
        input="Hello there\nAnd again\n/quit\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "You said: “Hello there”." in done.stdout
    assert "This is turn 2 of our conversation" in done.stdout


def test_terminal_chat_reports_errors_readably(local_server: ServerThread) -> None:
    done = subprocess.run([sys.executable, "-m", "secondme", "chat", "offline", "--base-url", local_server.url],
                          input="Hi\n", capture_output=True, text=True, timeout=60)
    assert "[!] This Second Me is offline right now" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "secondme", "list", "--base-url", local_server.url],
                            capture_output=True, text=True, timeout=60)
    assert "● demo" in listed.stdout and "○ offline" in listed.stdout
