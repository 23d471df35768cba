"""The chat as an MCP tool, through the official ``mcp`` client: one tool, described, that asks a Second Me."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from secondme.web import Settings
from secondme.web.ratelimit import Rate

from .conftest import free_port, launched_app, start_process
from .faults import FaultServer, http_head, reply

ROOT = Path(__file__).resolve().parents[1]


def with_mcp(url: str, call: tuple[str, dict[str, Any]] | None = None) -> tuple[list[Any], Any]:
    """The server's tools, and the result of one call."""

    async def main() -> tuple[list[Any], Any]:
        async with streamable_http_client(url.rstrip("/") + "/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                result = await session.call_tool(*call) if call else None
                return tools, result

    return asyncio.run(main())


@pytest.fixture(scope="module")
def demo_app_with_mcp() -> Iterator[str]:
    """``python app.py --demo --mcp``, as a person runs it."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}"
    with start_process([sys.executable, "app.py", "--demo", "--mcp"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, ready_url=url + "/gradio_api/info"):
        yield url


def test_one_tool_that_asks_the_second_me(demo_app_with_mcp: str) -> None:
    tools, result = with_mcp(demo_app_with_mcp, ("ask_a_second_me", {"message": "Hello over MCP"}))
    assert [t.name for t in tools] == ["ask_a_second_me"]  # no other event of the page is a tool
    tool = tools[0]
    assert tool.description.startswith("Ask a Second Me")
    assert set(tool.inputSchema["properties"]) == {"message", "instance_id", "system_prompt", "temperature",
                                                   "max_tokens"}
    assert tool.inputSchema["required"] == ["message"]
    assert all(p["description"] for p in tool.inputSchema["properties"].values())
    assert not result.isError
    assert "You said: “Hello over MCP”." in result.content[0].text


def test_bad_arguments_are_refused_with_a_reason(demo_app_with_mcp: str) -> None:
    _, result = with_mcp(demo_app_with_mcp, ("ask_a_second_me", {"message": "Hi", "temperature": 5}))
    assert result.isError and "Temperature must be a number from 0 to 1" in result.content[0].text
    _, result = with_mcp(demo_app_with_mcp, ("ask_a_second_me", {"message": "Hi", "instance_id": "../x"}))
    assert result.isError and "letters, digits" in result.content[0].text


def test_a_locked_space_offers_no_instance_id(fault_server: FaultServer) -> None:
    fault_server.script("/api/chat/owner", [http_head(), reply("It is the owner.")])
    settings = Settings(base_url=fault_server.url, instance_id="owner", lock_instance=True, mcp=True)
    with launched_app(settings) as (_, url):
        tools, result = with_mcp(url, ("ask_this_second_me", {"message": "Who are you?"}))
    assert [t.name for t in tools] == ["ask_this_second_me"]
    assert "instance_id" not in tools[0].inputSchema["properties"]
    assert result.content[0].text == "It is the owner."
    assert len(fault_server.requests_to("/api/chat/owner")) == 1


def test_tool_calls_count_toward_the_visitors_rate_limit_once_each(fault_server: FaultServer) -> None:
    """A tool call is counted where it arrives; the MCP server's own call into the queue is not counted again."""
    fault_server.script("/api/chat/counted", [http_head(), reply("Counted.")])
    settings = Settings(base_url=fault_server.url, instance_id="counted", mcp=True, rate_limit=Rate(1, 60))
    with launched_app(settings) as (_, url):
        _, result = with_mcp(url, ("ask_a_second_me", {"message": "The first"}))
        assert not result.isError and result.content[0].text == "Counted."
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the client wraps the 429 in a group
            with_mcp(url, ("ask_a_second_me", {"message": "One too many"}))
    assert "429" in repr(refused.value) or "Too Many Requests" in repr(refused.value)
    assert len(fault_server.requests_to("/api/chat/counted")) == 1
