"""A message's history on a real Redis: on the usual path (sent on the first try, then delivered)
the record implies every entry and no history list is written; any other path still writes what
the record cannot tell, and reads back the same history as before."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.dispatch.receipts import ReceiptProcessor
from engine.domain.clock import ManualClock
from engine.domain.messages import Receipt, ReceiptStatus
from engine.infra.store import MessageStore
from tests.infra.conftest import open_store
from tests.infra.dispatching import Channel, OneRoute, accepted, dispatcher

Entries = list[tuple[str, float, str]]


async def read(store: MessageStore, mid: str) -> tuple[Entries, bool]:
    """The message's history as (status, at, note), and whether it has a history list in Redis."""
    record = (await store.fetch([mid]))[0] or {}
    history = await store.history(record)
    entries = [(str(e["status"]), float(str(e["at"])), str(e.get("note", ""))) for e in history]
    listed: int = await store.client.exists(store.keys.history(mid))
    return entries, bool(listed)


def receipt(mid: str, status: ReceiptStatus, at: float) -> Receipt:
    return Receipt("c1", f"p-{mid}", status, at)  # the test channel answers "p-<id>"


SENT: Entries = [("accepted", 1.0, ""), ("queued", 1.0, ""), ("sending", 1.0, "via c1"), ("sent", 2.0, "")]


def test_a_message_sent_and_delivered_on_the_usual_path_keeps_no_list_but_its_whole_history(
    redis_url: str,
) -> None:
    async def scenario() -> tuple[tuple[Entries, bool], tuple[Entries, bool]]:
        async with open_store(redis_url) as store:
            await accepted(store, ["a"])
            await dispatcher(store, Channel()).step()
            sent = await read(store, "a")
            processor = ReceiptProcessor(store, OneRoute(), ManualClock(5.0), receipt_timeout_s=60.0)
            await processor.ingest([receipt("a", ReceiptStatus.DELIVERED, 4.0)])
            await processor.ingest([receipt("a", ReceiptStatus.DELIVERED, 4.5)])  # a duplicate
            return sent, await read(store, "a")

    sent, delivered = asyncio.run(scenario())
    assert sent == (SENT, False)
    assert delivered == ([*SENT, ("delivered", 4.0, "")], False)


def test_what_follows_an_implied_sent_other_than_a_delivery_is_written(redis_url: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with open_store(redis_url) as store:
            await accepted(store, ["failed", "late"])
            await dispatcher(store, Channel()).step()
            processor = ReceiptProcessor(store, OneRoute(), ManualClock(5.0), receipt_timeout_s=60.0)
            await processor.ingest([receipt("failed", ReceiptStatus.UNDELIVERED, 4.0)])
            # "late" hears nothing until its deadline (sent at 2.0 + the dispatcher's 900 s), then
            # its receipt comes and corrects the timeout.
            processor.clock = ManualClock(1_000.0)
            await processor.tick()
            await processor.ingest([receipt("late", ReceiptStatus.DELIVERED, 1_001.0)])
            return {mid: await read(store, mid) for mid in ("failed", "late")}

    read_back = asyncio.run(scenario())
    assert read_back["failed"] == ([*SENT, ("undelivered", 4.0, "")], True)
    late, listed = read_back["late"]
    assert [e[0] for e in late] == ["accepted", "queued", "sending", "sent", "unknown", "delivered"]
    assert late[-1] == ("delivered", 1_001.0, "late receipt corrected the timeout")
    assert listed


def test_a_scheduled_message_writes_its_entries_after_its_release(redis_url: str) -> None:
    async def scenario() -> tuple[Entries, bool]:
        async with open_store(redis_url) as store:
            await accepted(store, ["s"], send_at=1.5)
            assert await store.release_due(1.6) == 1
            await dispatcher(store, Channel()).step()
            return await read(store, "s")

    entries, listed = asyncio.run(scenario())
    assert [e[0] for e in entries] == ["accepted", "scheduled", "queued", "sending", "sent"]
    assert entries[2] == ("queued", 1.6, "send_at reached")
    assert listed
