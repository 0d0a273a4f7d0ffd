"""Webhook receipts and conversions reach the receipt processor through Redis; a conversion proves
delivery: it corrects ``unknown``, teaches the router once, and is idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from engine.dispatch.receipts import ReceiptProcessor
from engine.domain.clock import ManualClock
from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage, Receipt, ReceiptStatus
from engine.domain.types import Destination
from engine.infra.records import packed_route
from engine.infra.store import Change, Conversion, Inbound, MessageStore, SentEntry
from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.routing.service import Choice
from tests.infra.conftest import open_store


class RecordingRouter:
    """Below the boundary under test: only remembers the feedback it is given."""

    def __init__(self) -> None:
        self.feedback_batches: list[FeedbackBatch] = []

    async def route(
        self, destinations: Sequence[Destination], lanes: np.ndarray, avoid: Sequence[Sequence[str]]
    ) -> list[Choice]:
        raise AssertionError("the receipt processor never routes")

    async def feedback(self, feedback: FeedbackBatch) -> None:
        self.feedback_batches.append(feedback)


async def _sent(store: MessageStore, mid: str, status: MessageStatus, provider_id: str = "p1") -> None:
    await store.accept([NewMessage(mid, "t", "+2348030000000", "ACME", "hi", Lane.OTP, 1.0)])
    fields = {"channel": "c", "arm": "3", "provider_ids": provider_id, "submitted_at": "2.0", "parts": "1"}
    await store.apply([Change(mid, 2.0, MessageStatus.SENT, packed_route(fields)), Change(mid, 5.0, status)])


def _indexed(mid: str, provider_id: str, deadline: float) -> SentEntry:
    """The index entry of a message as :func:`_sent` sent it."""
    return SentEntry("c", [provider_id], mid, deadline, 3, 2.0, False)


def test_a_conversion_corrects_unknown_and_teaches_the_router_once(redis_url: str) -> None:
    async def scenario() -> tuple[list[str], dict[str, int], list[FeedbackBatch]]:
        async with open_store(redis_url) as store:
            router = RecordingRouter()
            processor = ReceiptProcessor(store, router, ManualClock(10.0), receipt_timeout_s=60.0)
            await _sent(store, "m", MessageStatus.UNKNOWN)
            inbound = Inbound(store.client, store.keys)
            await inbound.push([Conversion("m", 9.0), Conversion("m", 9.5), Conversion("nobody", 9.0)])
            await processor.tick()
            await inbound.push([Conversion("m", 11.0)])
            await processor.tick()
            history = [str(e["status"]) for e in await store.history((await store.fetch(["m"]))[0] or {})]
            return history, await store.counters(), router.feedback_batches

    history, counters, feedback = asyncio.run(scenario())
    assert history[-2:] == ["unknown", "delivered"]
    assert (counters["final:unknown"], counters["final:delivered"]) == (0, 1)
    kinds = [int(k) for batch in feedback for k in batch.kind]
    arms = [int(a) for batch in feedback for a in batch.arm]
    assert (kinds, arms) == ([FeedbackKind.DELIVERED], [3])


def test_webhook_receipts_pushed_by_the_api_settle_messages(redis_url: str) -> None:
    from engine.domain.messages import Receipt, ReceiptStatus  # noqa: PLC0415

    async def scenario() -> tuple[str, int]:
        async with open_store(redis_url) as store:
            processor = ReceiptProcessor(store, RecordingRouter(), ManualClock(10.0), receipt_timeout_s=60.0)
            await _sent(store, "m", MessageStatus.SENT)
            await store.apply([], sent=[_indexed("m", "p1", 70.0)])
            await Inbound(store.client, store.keys).push([Receipt("c", "p1", ReceiptStatus.DELIVERED, 8.0)])
            await processor.tick()
            record = (await store.fetch(["m"]))[0] or {}
            left: int = await store.client.xlen(store.keys.inbound())
            return record["status"], left

    assert asyncio.run(scenario()) == ("delivered", 0)  # and the stream entry is gone once processed


def test_a_receipt_for_a_message_indexed_by_its_id_alone_settles_it_from_its_record(redis_url: str) -> None:
    """Index entries written before the index kept a :class:`SentView` (an upgrade mid-traffic)."""

    async def scenario() -> tuple[str, list[int], list[float]]:
        async with open_store(redis_url) as store:
            router = RecordingRouter()
            processor = ReceiptProcessor(store, router, ManualClock(10.0), receipt_timeout_s=60.0)
            await _sent(store, "m", MessageStatus.SENT)
            await store.client.set(store.keys.provider_id("c", "p1"), "m")
            await processor.ingest([Receipt("c", "p1", ReceiptStatus.DELIVERED, 8.0)])
            await processor.flush()
            record = (await store.fetch(["m"]))[0] or {}
            batches = router.feedback_batches
            return (
                record["status"],
                [int(a) for b in batches for a in b.arm],
                [float(s) for b in batches for s in b.submitted_at],
            )

    assert asyncio.run(scenario()) == ("delivered", [3], [2.0])  # arm and submit time from the record


def test_at_a_batch_deadline_only_its_silent_messages_become_unknown(redis_url: str) -> None:
    from engine.domain.messages import Receipt, ReceiptStatus  # noqa: PLC0415

    async def scenario() -> tuple[dict[str, str], int, int]:
        async with open_store(redis_url) as store:
            clock = ManualClock(10.0)
            processor = ReceiptProcessor(store, RecordingRouter(), clock, receipt_timeout_s=60.0)
            await _sent(store, "quiet", MessageStatus.SENT)
            await _sent(store, "heard", MessageStatus.SENT, provider_id="p2")
            await store.apply([], sent=[_indexed("quiet", "p1", 62.0), _indexed("heard", "p2", 62.0)])
            await processor.ingest([Receipt("c", "p2", ReceiptStatus.DELIVERED, 8.0)])
            await processor.tick()  # before the deadline: nothing times out
            early = {r["id"]: r["status"] for r in await store.fetch(["quiet", "heard"]) if r}
            assert early == {"quiet": "sent", "heard": "delivered"}
            clock.advance(60.0)
            await processor.tick()
            statuses = {r["id"]: r["status"] for r in await store.fetch(["quiet", "heard"]) if r}
            waiting: int = await store.client.zcard(store.keys.deadlines())
            return statuses, waiting, processor.counts["timeouts"]

    statuses, waiting, timeouts = asyncio.run(scenario())
    assert statuses == {"quiet": "unknown", "heard": "delivered"}
    assert (waiting, timeouts) == (0, 1)


def test_a_timeout_never_overwrites_a_receipt_written_since_the_records_were_read(redis_url: str) -> None:
    async def scenario() -> tuple[list[str], dict[str, str], dict[str, int], int]:
        async with open_store(redis_url) as store:
            await _sent(store, "heard", MessageStatus.SENT)
            await _sent(store, "quiet", MessageStatus.SENT)
            # The tick read both as `sent`; a receipt for one is written before its timeouts are.
            await store.apply([Change("heard", 70.0, MessageStatus.DELIVERED)])
            timed_out = await store.time_out([("heard", 75.0), ("quiet", 75.0)], {"quiet"})
            records = await store.fetch(["heard", "quiet"])
            events: int = await store.client.xlen(store.keys.callback_events())
            return timed_out, {r["id"]: r["status"] for r in records if r}, await store.counters(), events

    timed_out, statuses, counters, events = asyncio.run(scenario())
    assert timed_out == ["quiet"]
    assert statuses == {"heard": "delivered", "quiet": "unknown"}
    assert (counters["final:delivered"], counters["final:unknown"]) == (1, 1)
    assert events == 1  # the callback event of the one that changed


async def _feedback_setup(
    store: MessageStore, provider_ids: list[str]
) -> tuple[ReceiptProcessor, RecordingRouter, ManualClock]:
    """A processor that hands feedback on at most every 0.1 s, and one `sent` message per id."""
    clock = ManualClock(10.0)
    router = RecordingRouter()
    processor = ReceiptProcessor(store, router, clock, receipt_timeout_s=60.0, feedback_every_s=0.1)
    for pid in provider_ids:
        await _sent(store, f"m-{pid}", MessageStatus.SENT, provider_id=pid)
        await store.apply([], sent=[_indexed(f"m-{pid}", pid, 70.0)])
    return processor, router, clock


def test_receipt_feedback_reaches_the_router_in_batches_at_most_every_interval(redis_url: str) -> None:
    async def scenario() -> list[list[int]]:
        async with open_store(redis_url) as store:
            processor, router, clock = await _feedback_setup(store, ["p1", "p2", "p3"])
            seen: list[list[int]] = []
            for pid in ("p1", "p2", "p3"):  # 0.04 s apart: the first goes at once, the others wait
                await processor.ingest([Receipt("c", pid, ReceiptStatus.DELIVERED, clock.now())])
                seen.append([len(b) for b in router.feedback_batches])
                clock.advance(0.04)
            await processor.tick()  # a tick hands on whatever waits
            seen.append([len(b) for b in router.feedback_batches])
            return seen

    assert asyncio.run(scenario()) == [[1], [1], [1], [1, 2]]


def test_flush_hands_buffered_feedback_on_at_once(redis_url: str) -> None:
    async def scenario() -> list[list[int]]:
        async with open_store(redis_url) as store:
            processor, router, clock = await _feedback_setup(store, ["p1", "p2"])
            seen: list[list[int]] = []
            for pid in ("p1", "p2"):  # the second waits for the interval
                await processor.ingest([Receipt("c", pid, ReceiptStatus.DELIVERED, clock.now())])
            seen.append([len(b) for b in router.feedback_batches])
            await processor.flush()  # no time has passed: flushed because asked, not because due
            seen.append([len(b) for b in router.feedback_batches])
            await processor.flush()  # nothing left: no empty batch
            seen.append([len(b) for b in router.feedback_batches])
            return seen

    assert asyncio.run(scenario()) == [[1], [1, 1], [1, 1]]
