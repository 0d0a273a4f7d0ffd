"""HTTP aggregator channels in the channel contract: each case serves a fake aggregator on loopback
(in a background thread) and a delivery-report intake in the test's loop, which the aggregator
calls back and which feeds ``HttpChannel.ingest_webhook``.

``http_cases(ChannelCase)`` takes the case class as an argument, so this module never imports the
contract module that imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

from engine.domain.channel import Channel
from tests.http_channel.fake import FakeAggregator
from tests.http_channel.helpers import intake, make_channel
from tests.http_channel.server import ThreadedServer

C = TypeVar("C")
TWILIO_TPS_CAP = 30.0  # the contract's burst of 200 meets 429s (and the channel's pause after them)


def _opener(mapping: str, tps_cap: float | None) -> Callable[[], AbstractAsyncContextManager[Channel]]:
    @asynccontextmanager
    async def open_channel() -> AsyncIterator[Channel]:
        fake = FakeAggregator(mapping, dlr_delay_s=0.01, tps_cap=tps_cap)
        server = ThreadedServer(fake.handle)
        await asyncio.to_thread(server.start)
        try:
            async with intake() as hook:
                channel = make_channel(mapping, server.url, hook.url)
                hook.accept = channel.ingest_webhook
                try:
                    yield channel
                finally:
                    await channel.close()
        finally:
            await asyncio.to_thread(server.stop, fake.aclose)

    return open_channel


def http_cases(make: Callable[..., C]) -> list[C]:
    """The HTTP cases, built with the contract's ``ChannelCase``.

    Neither claims ``rejects``: the contract's rejection check expects SMPP-style raw codes
    (``0x...``); HTTP rejections are tested in ``tests/http_channel``.
    """
    twilio = _opener("twilio_like", TWILIO_TPS_CAP)
    infobip = _opener("infobip_like", None)
    return [
        make(name="http-twilio_like", open=twilio, delivers=True, rejects=False, throttles=True),
        make(name="http-infobip_like", open=infobip, delivers=True, rejects=False, throttles=False),
    ]
