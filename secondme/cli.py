"""``python -m secondme``: serve a local instance, chat in the terminal, list instances."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .client import SecondMeClient
from .errors import SecondMeError
from .protocol import ENDPOINTS

DEFAULT_PORT = 8765


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import LocalInstance, UpstreamResponder, create_app, demo_responder
    from .serving import server_config

    instances = [LocalInstance(i, chunks_per_second=args.rate) for i in args.instance]
    instances += [LocalInstance(i, online=False) for i in args.offline_instance]
    responder = (
        UpstreamResponder(args.upstream, model=args.upstream_model, api_key=args.upstream_key)
        if args.upstream
        else demo_responder
    )
    app = create_app(instances, responder=responder, heartbeat_interval=args.heartbeat)
    where = f"http://{args.host}:{args.port}"
    print(f"Local Second Me on {where}  (instances: {', '.join(args.instance)})", flush=True)
    print(f"  chat:  POST {where}/api/chat/{args.instance[0]}", flush=True)
    print(f"  OpenAI SDK base_url: {where}/api/chat/{args.instance[0]}", flush=True)
    if args.upstream:
        print(f"  replies relayed to {args.upstream} (model {args.upstream_model})", flush=True)
    uvicorn.Server(server_config(app, host=args.host, port=args.port)).run()
    return 0


def _chat(args: argparse.Namespace) -> int:
    client = SecondMeClient(args.base_url, endpoint=args.endpoint)
    history: list[dict[str, str]] = []
    if args.system:
        history.append({"role": "system", "content": args.system})
    print(f"Chatting with {args.instance_id} at {client.options.safe_base_url}. "
          "Ctrl-C stops a reply; /reset forgets the conversation; Ctrl-D or /quit leaves.")
    while True:
        try:
            text = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text == "/reset":
            history = history[:1] if args.system else []
            print("(conversation forgotten)")
            continue
        messages = [*history, {"role": "user", "content": text}]
        parts: list[str] = []
        print(f"{args.instance_id}> ", end="", flush=True)
        try:
            with client.stream_chat(
                args.instance_id, messages, temperature=args.temperature, max_tokens=args.max_tokens
            ) as stream:
                for delta in stream:
                    parts.append(delta)
                    print(delta, end="", flush=True)
            print()
        except KeyboardInterrupt:
            print(" [stopped]")
        except SecondMeError as exc:
            print(f"\n[!] {exc}")
            if not parts:
                continue
        history = [*messages, {"role": "assistant", "content": "".join(parts)}]


def _list(args: argparse.Namespace) -> int:
    try:
        instances = SecondMeClient(args.base_url).list_instances()
    except SecondMeError as exc:
        print(exc, file=sys.stderr)
        return 1
    for i in instances:
        print(f"{'●' if i.online else '○'} {i.instance_id:<40} {i.name}  {i.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m secondme", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a local Second Me-compatible instance")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--instance", action="append", default=None,
                       help="an instance ID to serve (repeatable; default: demo)")
    serve.add_argument("--offline-instance", action="append", default=[],
                       help="an instance ID that exists but is offline (answers 503)")
    serve.add_argument("--rate", type=float, default=25.0,
                       help="demo reply pace in chunks per second (0: as fast as possible)")
    serve.add_argument("--heartbeat", type=float, default=10.0, help="seconds between heartbeats")
    serve.add_argument("--upstream", help="relay replies to this OpenAI-compatible base URL, "
                       "e.g. http://127.0.0.1:11434/v1")
    serve.add_argument("--upstream-model", default="default", help="model name sent upstream")
    serve.add_argument("--upstream-key", default=None, help="API key for the upstream server")
    serve.set_defaults(run=_serve)

    chat = sub.add_parser("chat", help="chat with a Second Me in the terminal")
    chat.add_argument("instance_id")
    chat.add_argument("--base-url", default=None, help="default: $SECONDME_BASE_URL or the hosted service")
    chat.add_argument("--system", default="", help="system prompt")
    chat.add_argument("--temperature", type=float, default=0.7)
    chat.add_argument("--max-tokens", type=int, default=2000)
    chat.add_argument("--endpoint", choices=ENDPOINTS, default="chat")
    chat.set_defaults(run=_chat)

    lister = sub.add_parser("list", help="list the public directory of instances")
    lister.add_argument("--base-url", default=None)
    lister.set_defaults(run=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "instance", None) is None and args.command == "serve":
        args.instance = ["demo"]
    return int(args.run(args))
