"""A real HTTP/1.1 server on a loopback port that plays a customer's webhook endpoint.

Minimal on purpose (asyncio streams, keep-alive, Content-Length bodies): it answers the codes it is
told to, and can hold every request until its gate opens (a slow customer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Hit:
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def event(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.body)
        return out


class Receiver:
    def __init__(self, codes: Sequence[int] = (), default: int = 200, *, held: bool = False) -> None:
        self.codes = list(codes)  # answered in order, then ``default``
        self.default = default
        self.hits: list[Hit] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.url = ""

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hooks/sms"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.gate.set()
        # A connection accepted just before close() starts its task a loop turn later: a few
        # rounds catch it, so its transport is closed rather than left to the garbage collector.
        for _ in range(3):
            await asyncio.sleep(0)
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.hits) < count:
                await asyncio.sleep(0.005)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:  # keep-alive: one connection, many requests
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.hits.append(Hit(headers, body))
                await self.gate.wait()
                code = self.codes.pop(0) if self.codes else self.default
                writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        except asyncio.CancelledError:
            pass  # closing the receiver; ending normally keeps asyncio's stream callback quiet
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
