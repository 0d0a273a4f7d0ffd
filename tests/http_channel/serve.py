"""Serve the fake aggregator in its own process (for benchmarks): prints ``port <n>`` once ready,
then serves until stdin closes.

    python -m tests.http_channel.serve --mapping infobip_like
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.http_channel.fake import FakeAggregator
from tests.http_channel.server import MiniServer


async def serve(mapping: str) -> None:
    fake = FakeAggregator(mapping)
    server = MiniServer(fake.handle)
    await server.start()
    print(f"port {server.port}", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # the parent closes our stdin to stop us
    await server.stop()
    await fake.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mapping", required=True, choices=["twilio_like", "infobip_like"])
    asyncio.run(serve(parser.parse_args().mapping))


if __name__ == "__main__":
    main()
