"""The dispatcher's `sending` journal on a real Redis: one write per batch before any submit, cleared
with the outcomes, and what a restarted dispatcher makes of messages it finds still listed.

The router and the channel are plain objects (tests.infra.dispatching): the dispatcher and its
store are what is tested.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from engine.dispatch.ports import Submitted
from engine.domain.enums import Lane
from engine.domain.messages import OutboundMessage
from tests.infra.conftest import open_store
from tests.infra.dispatching import Channel, accepted, dispatcher


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
