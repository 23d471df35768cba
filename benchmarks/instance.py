"""The local instance for the benchmark: every reply is a fixed number of chunks of a short word.

The number is the first whole number in the last message ("Write 20000 chunks."), else ``max_tokens``.

    python -m benchmarks.instance --port 8766 --rate 50
"""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncGenerator

import uvicorn

from secondme.server import ChatBody, Delta, LocalInstance, create_app, paced
from secondme.serving import KEEP_ALIVE


async def fixed_length(body: ChatBody, instance: LocalInstance) -> AsyncGenerator[Delta, None]:
    asked = re.search(r"\d+", body.messages[-1].content)
    chunks = int(asked.group()) if asked else body.max_tokens
    async for delta in paced((f"w{n % 1000} " for n in range(chunks)), instance.chunks_per_second):
        yield delta
    yield Delta(finish_reason="length")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=50.0, help="chunks per second; 0: as fast as possible")
    args = parser.parse_args()
    app = create_app([LocalInstance("bench", chunks_per_second=args.rate)], responder=fixed_length)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                timeout_keep_alive=KEEP_ALIVE)  # as the local instance is served (secondme.serving)


if __name__ == "__main__":
    main()
