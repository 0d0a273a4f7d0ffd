"""The dispatcher's `sending` journal on a real Redis: one write per batch before any submit, cleared
with the outcomes, and what a restarted dispatcher makes of messages it finds still listed.

The router and the channel are plain objects: the dispatcher and its store are what is tested.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

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
from tests.infra.conftest import open_store

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


async def accepted(store: MessageStore, ids: Sequence[str]) -> None:
    await LaneStreams(store.client, store.keys).ensure_groups()
    await store.accept([NewMessage(mid, "t", NG, "ACME", "hi", Lane.OTP, 1.0) for mid in ids])


def test_a_batch_is_journaled_before_its_submit_and_cleared_with_its_outcomes(redis_url: str) -> None:
    async def scenario() -> tuple[set[str], set[str], list[str | None], list[str]]:
        async with open_store(redis_url) as store:
            await accepted(store, ["a", "b"])
            channel = Channel()
            seen_at_submit: set[str] = set()
            submit = channel.submit

            async def watching(messages: Sequence[OutboundMessage]) -> Submitted:
                seen_at_submit.update(await store.in_flight(Lane.OTP))
                return await submit(messages)

            channel.submit = watching  # type: ignore[method-assign]
            await dispatcher(store, channel).step()
            records = await store.fetch(["a", "b"])
            stored: Any = await store.client.hgetall(store.keys.message("a"))
            # The routing fields are stored packed and read back flat.
            assert sorted(stored) == ["m", "r", "status", "status_at"]
            first = records[0] or {}
            assert (first["channel"], first["provider_ids"], first["attempts"]) == ("c1", "p-a", "1")
            history = await store.history(records[0] or {})
            return (
                seen_at_submit,
                await store.in_flight(Lane.OTP),
                [r["status"] if r else None for r in records],
                [str(e["status"]) for e in history],
            )

    during, after, statuses, history = asyncio.run(scenario())
    assert during == {"a", "b"}
    assert after == set()
    assert statuses == ["sent", "sent"]
    assert history == ["accepted", "queued", "sending", "sent"]


def test_a_restarted_dispatcher_settles_what_it_was_submitting_as_unknown_and_never_resends(
    redis_url: str,
) -> None:
    async def scenario() -> tuple[list[str | None], list[str], set[str], int]:
        async with open_store(redis_url) as store:
            await accepted(store, ["a", "b"])
            hanging = Channel(hang=True)
            first = asyncio.create_task(dispatcher(store, hanging).step())
            await asyncio.wait_for(hanging.entered.wait(), 5)
            first.cancel()  # it dies mid-submit: the outcome never reaches Redis
            await asyncio.gather(first, return_exceptions=True)
            assert [r and r["status"] for r in await store.fetch(["a", "b"])] == ["queued", "queued"]
            again = Channel()
            await dispatcher(store, again).recover()
            records = await store.fetch(["a", "b"])
            pending: int = (await store.client.xpending(store.keys.lane(Lane.OTP), "dispatch"))["pending"]
            return (
                [r["status"] if r else None for r in records],
                again.submitted,
                await store.in_flight(Lane.OTP),
                pending,
            )

    statuses, resent, journal, pending = asyncio.run(scenario())
    assert statuses == ["unknown", "unknown"]
    assert resent == []
    assert journal == set()
    assert pending == 0
