"""Lane streams on a real Redis: trimming drops only what every dispatcher is done with."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.domain.enums import Lane
from engine.domain.messages import NewMessage
from engine.infra.store import LaneStreams
from tests.infra.conftest import open_store

NG = "+2348030000000"


def test_trim_keeps_pending_and_undelivered_entries(redis_url: str) -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        async with open_store(redis_url) as store:
            lanes = LaneStreams(store.client, store.keys)
            await lanes.ensure_groups()
            await store.accept([NewMessage(f"m{i}", "t", NG, "ACME", "hi", Lane.OTP, 1.0) for i in range(5)])
            taken, _ = await lanes.read_carried(Lane.OTP, "d1", 3, None)
            await lanes.ack(Lane.OTP, [entry for entry, _ in taken if entry != taken[1][0]])  # m1 pending
            await lanes.trim(Lane.OTP)
            key = store.keys.lane(Lane.OTP)
            entries: Any = await store.client.xrange(key)
            kept = [str(fields["id"]) for _, fields in entries]
            rest, _ = await lanes.read_carried(Lane.OTP, "d1", 10, None)
            await lanes.ack(Lane.OTP, [taken[1][0], *(entry for entry, _ in rest)])
            await lanes.trim(Lane.OTP)
            entries = await store.client.xrange(key)
            after = [str(fields["id"]) for _, fields in entries]
            return kept, after, len(rest)

    kept, after, rest = asyncio.run(scenario())
    assert kept == ["m1", "m2", "m3", "m4"]  # m1 is pending; m3 and m4 were never delivered
    assert rest == 2  # the undelivered were still there to read
    assert after == ["m4"]  # everything done; the last delivered entry stays as the trim floor


def test_a_fresh_entry_carries_its_record_and_a_released_one_names_it_only(redis_url: str) -> None:
    async def scenario() -> tuple[list[str], list[Any], list[Any]]:
        async with open_store(redis_url) as store:
            lanes = LaneStreams(store.client, store.keys)
            await lanes.ensure_groups()
            now_ = NewMessage(
                "now", "t", NG, "ACME", "héllo", Lane.OTP, 1.0, client_ref="r1", callback="https://x.test/cb"
            )
            later = NewMessage("later", "t", NG, "ACME", "hi", Lane.OTP, 1.0, send_at=5.0)
            await store.accept([now_, later])
            await store.release_due(10.0)
            entries, carried = await lanes.read_carried(Lane.OTP, "d1", 10, None)
            stored = await store.fetch([mid for _, mid in entries])
            return [mid for _, mid in entries], carried, stored

    ids, carried, stored = asyncio.run(scenario())
    assert ids == ["now", "later"]
    assert carried[0] == stored[0]  # what the dispatcher would have read back
    assert carried[1] is None  # released from the schedule: read from the store
