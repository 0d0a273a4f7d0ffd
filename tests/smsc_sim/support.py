"""Test support: a running simulator as an async context manager, and a raw-socket ESME that speaks
our codec (so tests can send what no well-behaved client library would)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from adapters.smpp import pdu
from adapters.smpp.smsc_sim import SmscSettings, SmscSimulator
from engine.domain.clock import Clock

FAST = {"receipt_delay_median_s": 0.01, "receipt_delay_sigma": 0.2}  # receipts in about 10 ms


@asynccontextmanager
async def running(
    clock: Clock | None = None, seed: int = 7, **overrides: Any
) -> AsyncIterator[SmscSimulator]:
    """A simulator on a free loopback port, stopped on the way out whatever happens."""
    settings = SmscSettings(**{"port": 0, **FAST, **overrides})
    simulator = SmscSimulator(settings, rng=np.random.default_rng(seed), clock=clock)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


class RawEsme:
    """A bare TCP peer: write any bytes, read whole PDUs back (or see the connection close)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._splitter = pdu.FrameSplitter()
        self._frames: list[bytes] = []
        self._sequence = 0

    @classmethod
    @asynccontextmanager
    async def connect(cls, port: int) -> AsyncIterator[RawEsme]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):  # the server may have closed first, on purpose
                await writer.wait_closed()

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def send(self, message: pdu.Pdu) -> None:
        await self.write(pdu.encode(message))

    async def receive(self, timeout: float = 2.0) -> pdu.Pdu | None:
        """The next PDU, or None if the server closed the connection."""
        while not self._frames:
            try:
                data = await asyncio.wait_for(self._reader.read(65536), timeout)
            except ConnectionError:
                data = b""
            if not data:
                return None
            self._frames.extend(self._splitter.feed(data))
        return pdu.decode(self._frames.pop(0))

    async def silent(self, seconds: float) -> bool:
        """True if nothing arrives (and the connection stays open) for ``seconds``."""
        try:
            await self.receive(timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def bind(
        self, mode: pdu.BindMode = pdu.BindMode.TRANSCEIVER, system_id: str = "esme", password: str = "secret"
    ) -> pdu.BindResp:
        await self.send(
            pdu.Bind(mode=mode, system_id=system_id, password=password, sequence_number=self.next_sequence())
        )
        answer = await self.receive()
        assert isinstance(answer, pdu.BindResp), answer
        return answer

    async def submit(
        self, destination: str = "447700900123", text: bytes = b"hi", **fields: Any
    ) -> pdu.Pdu | None:
        fields = {"source_addr": "ACME", "registered_delivery": 1, **fields}
        submit = pdu.SubmitSm(
            destination_addr=destination, short_message=text, sequence_number=self.next_sequence(), **fields
        )
        await self.send(submit)
        return await self.receive()
