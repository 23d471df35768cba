"""The ``secondme`` command: chat, ask, instances, serve."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from . import __version__
from .async_client import AsyncSecondMeClient
from .client import SecondMeClient
from .errors import (
    APIConnectionError,
    InstanceNotFoundError,
    InstanceUnavailableError,
    InvalidRequestError,
    SecondMeError,
)
from .protocol import ENDPOINTS, check_max_tokens, check_temperature, validate_instance_id
from .terminal_chat import HELP, ChatSession, run_chat
from .terminal_reply import CUT, ReplyWriter, stream_reply

__all__ = ["main", "build_parser", "DEFAULT_PORT", "EXIT_NOT_FOUND", "EXIT_OFFLINE", "EXIT_FAILED", "EXIT_CUT",
           "EXIT_CLOSED_PIPE"]

DEFAULT_PORT = 8765
LOCAL_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_OFFLINE, EXIT_CUT = 1, 2, 3, 4, 5
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for any command whose reader left early

DESCRIPTION = """Talk to a Second Me: chat in the terminal, ask one question, list the public
directory, or serve a local Second Me-compatible instance. Every command that talks to a Second Me
takes --base-url (default: $SECONDME_BASE_URL, else the hosted service, https://app.secondme.io)."""


def _base_url_hint(args: argparse.Namespace, exc: SecondMeError) -> str:
    """A connection error, and where the person could point instead when nothing was chosen."""
    if not isinstance(exc, APIConnectionError) or args.base_url or os.environ.get("SECONDME_BASE_URL"):
        return str(exc)
    try:
        SecondMeClient(LOCAL_URL, timeout=1, connect_timeout=0.5).list_instances()
        return (f"{exc}\nA local Second Me is running on {LOCAL_URL}: pass --base-url {LOCAL_URL} "
                "to talk to it.")
    except SecondMeError:
        return f"{exc}\nIs `secondme serve` running? Pass --base-url {LOCAL_URL}"


def _exit_code(exc: SecondMeError) -> int:
    if isinstance(exc, InstanceNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, InstanceUnavailableError):
        return EXIT_OFFLINE
    return EXIT_FAILED


def _checked(args: argparse.Namespace) -> str | None:
    """The problem with the chat settings given on the command line, before anything is sent."""
    try:
        validate_instance_id(args.instance_id)
        check_temperature(args.temperature)
        check_max_tokens(args.max_tokens)
    except InvalidRequestError as exc:
        return str(exc)
    return None


def _chat(args: argparse.Namespace) -> int:
    problem = _checked(args)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    client = AsyncSecondMeClient(args.base_url, endpoint=args.endpoint)
    session = ChatSession(args.instance_id.strip(), system=args.system, temperature=args.temperature,
                          max_tokens=args.max_tokens)
    return run_chat(client, session, hint=lambda exc: _base_url_hint(args, exc),
                    thoughts=sys.stderr if args.show_reasoning else None)


def _ask(args: argparse.Namespace) -> int:
    problem = _checked(args)
    question = args.question if args.question not in (None, "-") else sys.stdin.read()
    if not problem and not question.strip():
        problem = "There is no question to ask: give it after the instance ID, or on standard input."
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    messages = [{"role": "system", "content": args.system}] if args.system.strip() else []
    messages.append({"role": "user", "content": question.strip()})
    writer = ReplyWriter(sys.stdout, sys.stderr if args.show_reasoning else None)
    with asyncio.Runner() as runner:
        client = AsyncSecondMeClient(args.base_url, endpoint=args.endpoint)
        try:
            finish = stream_reply(runner, client, args.instance_id.strip(), messages, writer,
                                  temperature=args.temperature, max_tokens=args.max_tokens)
        except KeyboardInterrupt:
            print("\n(stopped)", file=sys.stderr)
            return 130
        except SecondMeError as exc:
            if writer.answer_written:
                print()
            print(_base_url_hint(args, exc), file=sys.stderr)
            return _exit_code(exc)
        finally:
            runner.run(client.aclose())
    if writer.answer_written:
        print()
    if finish == CUT:
        where = "" if writer.answer_written else " while it was still reasoning, so there is no answer"
        print(f"The reply was cut at max tokens ({args.max_tokens}){where}. Ask again with a larger --max-tokens "
              "to read it all.", file=sys.stderr)
        return EXIT_CUT
    return 0


def _instances(args: argparse.Namespace) -> int:
    try:
        instances = SecondMeClient(args.base_url).list_instances()
    except SecondMeError as exc:
        print(_base_url_hint(args, exc), file=sys.stderr)
        return _exit_code(exc)
    for i in sorted(instances, key=lambda i: not i.online):
        print(f"{'●' if i.online else '○'} {i.instance_id:<40} {i.name}  {i.description}".rstrip())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    return serve(host=args.host, port=args.port, instances=args.instance or ["demo"],
                 offline=args.offline_instance, rate=args.rate, heartbeat=args.heartbeat,
                 upstream=args.upstream, upstream_model=args.upstream_model, upstream_key=args.upstream_key)


def _add_chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance_id", help="the instance ID of the Second Me to talk to")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="where the Second Me API lives (default: $SECONDME_BASE_URL, else the hosted service)")
    parser.add_argument("--system", default="", metavar="TEXT", help="a system prompt to send first")
    parser.add_argument("--temperature", type=float, default=0.7, help="0 to 1 (default: 0.7)")
    parser.add_argument("--max-tokens", type=int, default=2000, metavar="N",
                        help="the longest reply, in tokens (default: 2000)")
    parser.add_argument("--endpoint", choices=ENDPOINTS, default="chat",
                        help="the Second Me route 'chat' (default) or the OpenAI-style 'chat/completions'")
    parser.add_argument("--show-reasoning", action="store_true",
                        help="print a reasoning model's <think> reasoning on standard error (it is never part of "
                             "the answer, nor sent back)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secondme", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"secondme {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = sub.add_parser("chat", help="chat with a Second Me in the terminal",
                          description="Chat with a Second Me in the terminal.", epilog=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_chat_options(chat)
    chat.set_defaults(run=_chat)

    ask = sub.add_parser(
        "ask", help="ask one question and print the reply",
        description="Ask one question and print only the answer on standard output (a reasoning model's "
                    "reasoning left out); errors go to standard error. Exit status: 0 done, "
                    f"{EXIT_CUT} the reply was cut at max tokens (what arrived is printed), {EXIT_NOT_FOUND} no "
                    f"such instance, {EXIT_OFFLINE} the Second Me is offline, {EXIT_FAILED} any other failure, "
                    f"{EXIT_USAGE} a bad argument, {EXIT_CLOSED_PIPE} the reader of the output left early.")
    _add_chat_options(ask)
    ask.add_argument("question", nargs="?", help="the question (default: read from standard input)")
    ask.set_defaults(run=_ask)

    for name, aliases in (("instances", ["list"]),):
        lister = sub.add_parser(name, aliases=aliases, help="list the public directory of Second Me instances",
                                description="List the public directory of Second Me instances, online ones first.")
        lister.add_argument("--base-url", default=None, metavar="URL",
                            help="where the Second Me API lives (default: $SECONDME_BASE_URL, else the hosted "
                                 "service)")
        lister.set_defaults(run=_instances)

    serve = sub.add_parser(
        "serve", help="run a local Second Me-compatible instance",
        description="Run a local Second Me-compatible instance: both chat routes, heartbeats, errors and the "
                    "directory, as the hosted service has them. Replies come from an honest demo responder, or "
                    "are relayed to an OpenAI-compatible server with --upstream. Ctrl-C stops it within 2 s.")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default: {DEFAULT_PORT})")
    serve.add_argument("--instance", action="append", default=None, metavar="ID",
                       help="an instance ID to serve (repeatable; default: demo)")
    serve.add_argument("--offline-instance", action="append", default=[], metavar="ID",
                       help="an instance ID that exists but is offline: it answers 503 (repeatable)")
    serve.add_argument("--rate", type=float, default=25.0,
                       help="the demo reply's pace in chunks per second (0: as fast as possible; default: 25)")
    serve.add_argument("--heartbeat", type=float, default=10.0, metavar="SECONDS",
                       help="seconds between heartbeat comments in a stream (default: 10)")
    serve.add_argument("--upstream", metavar="URL",
                       help="relay replies to this OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1")
    serve.add_argument("--upstream-model", default="default", metavar="NAME",
                       help="the model name sent upstream (default: default)")
    serve.add_argument("--upstream-key", default=os.environ.get("SECONDME_UPSTREAM_KEY"), metavar="KEY",
                       help="an API key for the upstream server; better set SECONDME_UPSTREAM_KEY, which keeps "
                            "it out of the process list")
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # here, so a reader that left is noticed here
    except BrokenPipeError:
        # The reader of our output left (`secondme ask … | head -5`): no traceback, and nothing more
        # written; stdout goes to devnull so that the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_CLOSED_PIPE
    return code
