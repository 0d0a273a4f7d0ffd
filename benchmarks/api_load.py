"""A small HTTP/1.1 load generator for ``benchmarks.api``, run as its own process.

``python -m benchmarks.api_load POOL OUT --host H --port P [--connections C] [--repeat R]`` sends
every request of ``POOL`` (the format of ``benchmarks/wrk/replay.lua``: a line ``<length> <kind>``,
then that many raw bytes) once, in order, over ``C`` keep-alive connections of raw asyncio sockets,
and writes ``OUT`` (JSON): per request kind, a histogram of status codes (0 = no answer: the
connection failed or was closed before a full response), latency percentiles, and this process's
own CPU seconds, so the caller can tell whether the generator was the bottleneck.

Unlike ``wrk`` it knows which request got which answer, which the robustness run needs; it is not
meant for peak throughput (``wrk`` is, when it is installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

READ_LIMIT = 64 * 1024 * 1024
TIMEOUT_S = 30.0


def read_pool(path: Path) -> list[tuple[str, bytes]]:
    """``(kind, raw request)`` pairs from a pool file."""
    out: list[tuple[str, bytes]] = []
    with path.open("rb") as file:
        while line := file.readline():
            length, _, kind = line.decode().strip().partition(" ")
            out.append((kind or "?", file.read(int(length))))
    return out


@dataclass
class Tally:
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: list[float] = field(default_factory=list)
    reconnects: int = 0
    failures: Counter[str] = field(default_factory=Counter)


class ServerClosedError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one response and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding", "") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "") == "close"


async def worker(host: str, port: int, queue: asyncio.Queue[tuple[str, bytes]], tally: Tally) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while True:
        try:
            kind, raw = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        if writer is None or reader is None:
            reader, writer = await asyncio.open_connection(host, port, limit=READ_LIMIT)
            tally.reconnects += 1
        began = time.perf_counter()
        try:
            writer.write(raw)
            await writer.drain()
            status, close = await asyncio.wait_for(read_response(reader), TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            tally.statuses[kind][0] += 1
            tally.failures[f"{kind}: {type(exc).__name__}"] += 1
            status, close = 0, True
        else:
            tally.statuses[kind][status] += 1
            tally.latencies.append(time.perf_counter() - began)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run(pool: list[tuple[str, bytes]], host: str, port: int, connections: int) -> Tally:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in pool:
        queue.put_nowait(item)
    tally = Tally()
    await asyncio.gather(*(worker(host, port, queue, tally) for _ in range(connections)))
    return tally


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pool", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    pool = read_pool(args.pool)
    try:
        import uvloop  # noqa: PLC0415  (optional: a faster loop when installed)

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    began = time.perf_counter()
    tally = asyncio.run(run(pool, args.host, args.port, args.connections))
    elapsed = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "requests": len(pool),
        "answered": len(tally.latencies),
        "elapsed_s": elapsed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "connections": args.connections,
        "connects": tally.reconnects,
        "statuses": {kind: {str(k): v for k, v in sorted(c.items())} for kind, c in tally.statuses.items()},
        "failures": dict(tally.failures),
        "latency_ms": {
            f"p{q:g}": percentile(tally.latencies, q) * 1000.0 for q in (50.0, 90.0, 99.0, 99.9, 100.0)
        },
    }
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
