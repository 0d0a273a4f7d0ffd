"""A real HTTP/1.1 server on a loopback port that plays a customer's webhook endpoint.

It answers the codes it is told to, and can hold every request until its gate opens (a slow
customer). The HTTP side is the tests' :class:`~tests.http_channel.server.MiniServer`, whose stop
closes every connection it accepted (a socket left to the garbage collector fails a later test).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from tests.http_channel.server import MiniServer, Request, Response


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
        self._server = MiniServer(self._answer)
        self.url = ""

    async def __aenter__(self) -> Receiver:
        await self._server.start()
        self.url = f"{self._server.url}/hooks/sms"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.gate.set()
        await self._server.stop()

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.hits) < count:
                await asyncio.sleep(0.005)

    async def _answer(self, request: Request) -> Response:
        self.hits.append(Hit(request.headers, request.body))
        await self.gate.wait()
        return Response(self.codes.pop(0) if self.codes else self.default)
