"""A dispatcher on a real Redis with a plain router and channel: what the tests of its store see."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from engine.destinations.operators import OperatorTable
from engine.destinations.resolver import DestinationResolver
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.ports import Submitted
from engine.domain.clock import ManualClock
from engine.domain.enums import Lane
from engine.domain.messages import NewMessage, OutboundMessage, SubmitResult
from engine.domain.types import Destination
from engine.infra.store import LaneStreams, MessageStore
from engine.policies.batches import FeedbackBatch
from engine.routing.service import Choice

NG = "+2348031234567"


class OneRoute:
    async def route(
        self, destinations: Sequence[Destination], lanes: NDArray[np.int64], avoid: Sequence[Sequence[str]]
    ) -> list[Choice]:
        return [Choice("c1", 0, 0.01, 1.0, 0.5, False, "NG", (("c1", 0.01),)) for _ in destinations]

    async def feedback(self, feedback: FeedbackBatch) -> None:
        return None


class Channel:
    """Accepts everything, or hangs in every submit (a dispatcher that dies mid-submit)."""

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.submitted: list[str] = []
        self.entered = asyncio.Event()

    async def submit(self, messages: Sequence[OutboundMessage]) -> Submitted:
        self.submitted += [m.id for m in messages]
        self.entered.set()
        if self.hang:
            await asyncio.Event().wait()
        return Submitted(
            [SubmitResult(m.id, provider_id=f"p-{m.id}") for m in messages], [2.0] * len(messages)
        )


def dispatcher(store: MessageStore, channel: Channel) -> Dispatcher:
    return Dispatcher(
        Lane.OTP, "d1", store=store, streams=LaneStreams(store.client, store.keys), router=OneRoute(),
        channels={"c1": channel}, resolver=DestinationResolver(OperatorTable.bundled()),
        clock=ManualClock(1.0),
    )  # fmt: skip


async def accepted(store: MessageStore, ids: Sequence[str], send_at: float | None = None) -> None:
    await LaneStreams(store.client, store.keys).ensure_groups()
    await store.accept(
        [NewMessage(mid, "t", NG, "ACME", "hi", Lane.OTP, 1.0, send_at=send_at) for mid in ids]
    )
