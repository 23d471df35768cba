"""The ``secondme`` command, run as a person runs it: in a subprocess, and the chat in a pseudo-terminal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import requests

from secondme import __version__
from secondme.server import ServerThread

from .conftest import free_port, start_process
from .faults import FaultServer, chunk, data, http_head, reply

ROOT = Path(__file__).resolve().parents[1]


def secondme(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "secondme", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})}, cwd=ROOT)


def test_version() -> None:
    done = secondme("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"secondme {__version__}"


@pytest.mark.parametrize("command", [[], ["chat"], ["ask"], ["instances"], ["serve"]])
def test_help_reads_well(command: list[str]) -> None:
    done = secondme(*command, "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: secondme")
    assert "``" not in done.stdout and ":class:" not in done.stdout  # no raw reStructuredText


def test_every_option_has_help() -> None:
    import argparse

    from secondme.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in [("secondme", parser), *subparsers.choices.items()]:
        for action in sub._actions:
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_ask_prints_only_the_reply(local_server: ServerThread) -> None:
    done = secondme("ask", "demo", "What do you hear?", "--base-url", local_server.url, "--max-tokens", "200")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hello from Local demo Second Me")
    assert "You said: “What do you hear?”." in done.stdout and done.stderr == ""


def test_ask_reads_the_question_from_stdin(local_server: ServerThread) -> None:
    done = secondme("ask", "demo", "--base-url", local_server.url, stdin="A question from a pipe\n")
    assert done.returncode == 0, done.stderr
    assert "You said: “A question from a pipe”." in done.stdout


def test_ask_uses_the_environment_base_url(local_server: ServerThread) -> None:
    done = secondme("ask", "demo", "Hi", env={"SECONDME_BASE_URL": local_server.url})
    assert done.returncode == 0 and "You said: “Hi”." in done.stdout


@pytest.mark.parametrize("instance, code, words", [
    ("nobody", 3, "No Second Me was found"),
    ("offline", 4, "offline right now"),
])
def test_ask_exit_status_says_what_failed(local_server: ServerThread, instance: str, code: int, words: str) -> None:
    done = secondme("ask", instance, "Hi", "--base-url", local_server.url)
    assert done.returncode == code
    assert done.stdout == "" and words in done.stderr


def test_ask_other_failures_and_bad_arguments(fault_server: FaultServer) -> None:
    fault_server.script("/api/chat/broken", [http_head(), data(chunk("Half an ans")) + data({"error": "crashed"})])
    done = secondme("ask", "broken", "Hi", "--base-url", fault_server.url)
    assert done.returncode == 1
    assert done.stdout == "Half an ans\n" and "crashed" in done.stderr
    bad = secondme("ask", "not valid!", "Hi", "--base-url", fault_server.url)
    assert bad.returncode == 2 and "letters, digits" in bad.stderr
    assert secondme("ask", "abc", "Hi", "--temperature", "3", "--base-url", fault_server.url).returncode == 2
    assert not fault_server.requests_to("/api/chat/not")


def test_a_connection_error_points_at_a_running_local_instance() -> None:
    from secondme.server import LocalInstance, create_app

    env = {"SECONDME_BASE_URL": ""}
    try:
        with ServerThread(create_app([LocalInstance("demo")]), port=8765):
            done = secondme("ask", "demo", "Hi", env={**env, "SECONDME_BASE_URL": ""})
            assert done.returncode == 1
            assert "A local Second Me is running on http://127.0.0.1:8765: pass --base-url" in done.stderr
    except OSError:
        pytest.skip("port 8765 is taken on this machine")
    done = secondme("ask", "demo", "Hi", env=env)
    assert "Is `secondme serve` running? Pass --base-url http://127.0.0.1:8765" in done.stderr


def test_instances_lists_online_first(local_server: ServerThread) -> None:
    done = secondme("instances", "--base-url", local_server.url)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("● ") and lines[-1].startswith("○ offline")


@pytest.fixture
def chat(local_server: ServerThread, tmp_path: Path) -> Iterator[pexpect.spawn]:
    child = pexpect.spawn(sys.executable, ["-m", "secondme", "chat", "demo", "--base-url", local_server.url,
                                           "--max-tokens", "60"], cwd=str(tmp_path), encoding="utf-8", timeout=20,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"})
    try:
        child.expect("/help lists the commands")
        child.expect("you> ")
        yield child
    finally:
        child.terminate(force=True)


def test_chat_in_a_terminal_with_its_commands(chat: pexpect.spawn, tmp_path: Path) -> None:
    chat.sendline("/help")
    chat.expect("/max-tokens N")
    chat.sendline("/system Speak plainly.")
    chat.expect(r"\(system prompt: Speak plainly.\)")
    chat.sendline("/temperature 2")
    chat.expect("Temperature must be a number from 0 to 1")
    chat.sendline("/temperature 0.3")
    chat.expect(r"\(temperature 0.3\)")
    chat.sendline("/bogus")
    chat.expect("Unknown command /bogus")
    chat.sendline("First message")
    chat.expect("temperature 0.3")
    chat.expect("you> ")
    chat.sendline("//slash sent as text")
    chat.expect("You said: “/slash sent as text”")
    chat.expect("turn 2")
    chat.expect("you> ")
    chat.sendline("/save talk.md")
    chat.expect(r"saved 4 messages")
    saved = (tmp_path / "talk.md").read_text()
    assert "# Conversation with demo" in saved and "Speak plainly." in saved and "First message" in saved
    chat.sendline("/reset")
    chat.expect("conversation forgotten")
    chat.sendline("Again")
    chat.expect("turn 1")
    chat.expect("you> ")
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_chat_ctrl_c_stops_a_reply_and_twice_at_the_prompt_quits(local_server: ServerThread) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "secondme", "chat", "slow", "--base-url", local_server.url],
                          encoding="utf-8", timeout=20, env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"})
    try:
        child.expect("you> ")
        child.sendline("Tell me everything")
        child.expect("Hello from")
        child.sendintr()
        child.expect(r"\[stopped\]")
        child.expect("you> ")
        child.sendintr()
        child.expect("Press Ctrl-C again")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_chat_refuses_a_malformed_id_before_anything() -> None:
    done = secondme("chat", "bad id!", "--base-url", "http://127.0.0.1:9")
    assert done.returncode == 2 and "letters, digits" in done.stderr


def test_serve_says_what_it_closes_and_stops_within_two_seconds(tmp_path: Path) -> None:

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with start_process([sys.executable, "-m", "secondme", "serve", "--port", str(port), "--rate", "2"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                       ready_url=url + "/api/upload/list") as process:
        streams = [requests.post(url + "/api/chat/demo", json={"messages": [{"role": "user", "content": "Hi"}]},
                                 stream=True, timeout=10) for _ in range(2)]
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, _ = process.communicate(timeout=10)
        assert time.monotonic() - started < 2.0
        assert "Stopping (closing 2 open replies)." in out
        for stream in streams:
            stream.close()


def test_upstream_key_comes_from_the_environment() -> None:
    from secondme.cli import build_parser

    os.environ["SECONDME_UPSTREAM_KEY"] = "from-env"
    try:
        args = build_parser().parse_args(["serve", "--upstream", "http://127.0.0.1:9/v1"])
    finally:
        del os.environ["SECONDME_UPSTREAM_KEY"]
    assert args.upstream_key == "from-env"


def readme_terminal_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## In the terminal"):text.index("## The local Second Me")]
    block = section[section.index("```bash\n") + 8:section.index("\n```", section.index("```bash"))]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def python_first_on_path(tmp_path: Path) -> dict[str, str]:
    """The environment with ``python`` meaning the interpreter running the tests, whatever is on PATH and
    whether or not its venv is activated: README's commands are run as written, by this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # A script, not a link: a venv's python finds its venv from the path it is started by.
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "SECONDME_BASE_URL"}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"}


def test_the_readme_terminal_examples_work_offline_as_written(tmp_path: Path) -> None:
    serve, *examples = readme_terminal_examples()
    assert serve == "python -m secondme serve"
    try:
        with socket.create_connection(("127.0.0.1", 8765), timeout=0.5):
            pytest.skip("port 8765 is taken on this machine")
    except OSError:
        pass
    env = python_first_on_path(tmp_path)
    with start_process(serve.split(), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       ready_url="http://127.0.0.1:8765/api/upload/list") as process:
        for line in examples:
            done = subprocess.run(["bash", "-c", line], cwd=ROOT, input="/quit\n", capture_output=True, text=True,
                                  timeout=60, env=env)
            assert done.returncode == 0, (line, done.stderr)
            assert done.stdout.strip(), line
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_serve_upstream_says_once_what_it_does_not_pass_on() -> None:

    with start_process([sys.executable, "-m", "secondme", "serve", "--port", str(free_port()), "--upstream",
                        "http://user:secret@127.0.0.1:9/v1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    said = "".join(lines)
    assert "replies relayed to http://127.0.0.1:9/v1" in said and "secret" not in said
    assert said.count("role_id and enable_l0_retrieval are not passed on") == 1


def test_ask_into_a_pipe_that_closes_early_ends_quietly(local_server: ServerThread) -> None:
    """``secondme ask … | head -5``: head leaves while the reply still streams; no traceback, status 141."""
    script = ('set -o pipefail; "$0" -m secondme ask slow "Tell me a long story" --base-url "$1" | head -5; '
              'echo "status $?" >&2')
    done = subprocess.run(["bash", "-c", script, sys.executable, local_server.url], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.stdout.startswith("Hello from") and len(done.stdout.splitlines()) == 5
    assert done.stderr == "status 141\n", done.stderr  # nothing else said: no traceback, no "Exception ignored"


def test_ask_prints_the_answer_without_its_reasoning(local_server: ServerThread) -> None:
    plain = secondme("ask", "demo", "Think it through", "--base-url", local_server.url)
    assert plain.returncode == 0 and plain.stderr == ""
    assert plain.stdout.startswith("Hello from Local demo Second Me")
    assert "<think>" not in plain.stdout and "The visitor asked me" not in plain.stdout
    shown = secondme("ask", "demo", "Think it through", "--base-url", local_server.url, "--show-reasoning")
    assert shown.returncode == 0 and shown.stdout == plain.stdout
    assert shown.stderr.startswith("The visitor asked me to think it through.") and "think>" not in shown.stderr


@pytest.mark.parametrize("question, said, answered", [
    ("Tell me a long story", "The reply was cut at max tokens (40). Ask again with a larger --max-tokens", True),
    ("Think, then tell me a long story", "cut at max tokens (40) while it was still reasoning, so there is no answer",
     False),
])
def test_ask_says_when_max_tokens_cut_the_reply(local_server: ServerThread, question: str, said: str,
                                                answered: bool) -> None:
    done = secondme("ask", "demo", question, "--base-url", local_server.url, "--max-tokens", "40")
    assert done.returncode == 5 and said in done.stderr
    if answered:  # what arrived is printed
        assert done.stdout.startswith("Hello from") and done.stdout.endswith("\n")
    else:
        assert done.stdout == ""


def test_chat_shows_the_answer_alone_and_never_sends_the_reasoning_back(fault_server: FaultServer) -> None:
    # The tags arrive split across chunks, as a stream may cut them.
    fault_server.script("/api/chat/thinker", [http_head(), reply("<thi", "nk>A secret pl", "an.</th", "ink>\n\n",
                                                                 "The answer.")],
                        [http_head(), reply("<think>More thought.</think>Cut sh", finish="length")])
    done = secondme("chat", "thinker", "--base-url", fault_server.url, stdin="First\nSecond\n/quit\n")
    assert done.returncode == 0, done.stderr
    assert "thinker> The answer.\n" in done.stdout and "thinker> Cut sh\n" in done.stdout
    assert "secret" not in done.stdout + done.stderr and "think>" not in done.stdout
    assert "[cut at max tokens (2000): /max-tokens N for longer replies]" in done.stdout
    second = fault_server.requests_to("/api/chat/thinker")[1].json()["messages"]
    assert second == [{"role": "user", "content": "First"}, {"role": "assistant", "content": "The answer."},
                      {"role": "user", "content": "Second"}]
    shown = secondme("chat", "thinker", "--base-url", fault_server.url, "--show-reasoning", stdin="Again\n/quit\n")
    assert "More thought.\n" in shown.stderr and "More thought" not in shown.stdout
