"""A tiny HTTP/1.1 server on loopback for tests: keep-alive, Content-Length bodies, and handlers
that can stall or hang up on purpose (which an ASGI app cannot do).

``MiniServer`` runs on the current event loop; ``ThreadedServer`` runs one in a background thread
with its own loop, so a stalled handler never stalls the client under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized"}


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # close the connection instead of answering

    def encode(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


Handler = Callable[[Request], Awaitable[Response]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


class MiniServer:
    def __init__(self, handler: Handler, port: int = 0) -> None:
        self.handler = handler
        self.port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.Transport] = set()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        def protocol() -> _Tracked:
            return _Tracked(asyncio.StreamReader(), self._connection, self._transports)

        self._server = await asyncio.get_running_loop().create_server(protocol, LOOPBACK, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # A connection accepted just before close() starts its handler a loop turn later (Python
        # 3.11's wait_closed does not wait for it): a few rounds catch those, so each one closes
        # its transport instead of leaving it to the garbage collector's ResourceWarning.
        for _ in range(3):
            await asyncio.sleep(0)
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # A connection whose handler never got to run (its task cancelled before its first step)
        # still has an open transport. Abort every one the server accepted and wait for each to
        # report connection_lost: only then is its socket closed. A transport still closing when
        # the loop stops keeps its socket, and the garbage collector's ResourceWarning then fails
        # whichever later test happens to collect it.
        for transport in list(self._transports):
            transport.abort()
        for _ in range(100):
            if not self._transports:
                break
            await asyncio.sleep(0.001)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while (request := await _read(reader)) is not None:
                response = await self.handler(request)
                if response.hang_up:
                    break
                writer.write(response.encode())
                await writer.drain()
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away
        except asyncio.CancelledError:
            pass  # stop(): asyncio's server callback logs a handler task that ends cancelled
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


class _Tracked(asyncio.StreamReaderProtocol):
    """The stream protocol ``asyncio.start_server`` uses, remembering each accepted transport
    (Python 3.11's ``Server.close`` leaves accepted connections open)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]],
        transports: set[asyncio.Transport],
    ) -> None:
        super().__init__(reader, connected)
        self._accepted = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP server's connections are streams
        self._mine = transport
        self._accepted.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._accepted.discard(self._mine)
        super().connection_lost(exc)


async def _read(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    first, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target, headers, body)


class ThreadedServer:
    """A MiniServer on its own loop in a daemon thread; ``call`` runs a coroutine there."""

    def __init__(self, handler: Handler, port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = MiniServer(handler, port)
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-http", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self._thread.start()
        self.call(self.server.start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def stop(self, *cleanups: Callable[[], Coroutine[Any, Any, None]]) -> None:
        for cleanup in cleanups:
            self.call(cleanup())
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
