"""What the receipt processor reads back, against the real Redis server: the correlation view of a
record (never its body) and the provider-id index, canonical form first."""

from __future__ import annotations

import asyncio

from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.records import Record, SentView, packed_route
from engine.infra.store import Change, MessageStore, SentEntry
from tests.infra.conftest import open_store

NG = "+2348030000000"
ROUTE = {"channel": "c", "arm": "3", "parts": "2", "provider_ids": "p1,p2", "submitted_at": "2.0"}


async def _accept(store: MessageStore, mid: str, callback: str = "") -> None:
    await store.accept([NewMessage(mid, "t", NG, "ACME", "a long body", Lane.OTP, 1.0, callback=callback)])


def test_the_receipt_view_is_the_record_without_its_accepted_message(redis_url: str) -> None:
    async def scenario() -> tuple[list[Record | None], Record]:
        async with open_store(redis_url) as store:
            await _accept(store, "m", callback="https://example.com/cb")
            parts = {"part_status": '["delivered",null]', "part_errors": "[null,null]"}
            fields = {**packed_route(ROUTE), **parts}
            await store.apply([Change("m", 2.0, MessageStatus.SENT, fields)])
            whole = (await store.fetch(["m"]))[0] or {}
            return await store.fetch_for_receipts(["m", "nobody"]), whole

    (view, missing), whole = asyncio.run(scenario())
    assert missing is None
    assert view is not None
    assert "body" not in view
    assert view == {k: whole[k] for k in view}  # what it holds is what the whole record says
    assert {k: view[k] for k in ("id", "status", "channel", "provider_ids", "callback")} == {
        "id": "m", "status": "sent", "channel": "c", "provider_ids": "p1,p2", "callback": "https://example.com/cb"
    }  # fmt: skip
    assert (view["part_status"], view["part_errors"]) == ('["delivered",null]', "[null,null]")


def test_the_receipt_view_keeps_only_records_in_the_status_asked_for(redis_url: str) -> None:
    async def scenario() -> list[str | None]:
        async with open_store(redis_url) as store:
            for mid in ("sent", "done"):
                await _accept(store, mid)
                await store.apply([Change(mid, 2.0, MessageStatus.SENT, packed_route(ROUTE))])
            await store.apply([Change("done", 3.0, MessageStatus.DELIVERED)])
            views = await store.fetch_for_receipts(["sent", "done", "nobody"], status=MessageStatus.SENT)
            return [v["id"] if v else None for v in views]

    assert asyncio.run(scenario()) == ["sent", None, None]


def test_a_canonical_match_wins_and_other_forms_are_tried_when_it_misses(redis_url: str) -> None:
    async def scenario() -> tuple[list[str | None], list[str | None]]:
        async with open_store(redis_url) as store:
            # "16" reads as hex 0x16 = 22 and as decimal 16 = hex "10": its forms meet "10"'s.
            sent = [
                SentEntry("smsc", ["10"], "ten", 10.0, 0, 1.0, False),
                SentEntry("smsc", ["0016"], "sixteen", 10.0, 0, 1.0, False),
            ]
            await store.apply([], sent=sent)
            both = await store.lookup_sent([("smsc", "16"), ("smsc", "0010"), ("smsc", " "), ("smsc", "99")])
            await store.client.delete(store.keys.provider_id("smsc", "16"))
            after = await store.lookup_sent([("smsc", "16"), ("other", "16")])
            return [hit[0] if hit else None for hit in both], [hit[0] if hit else None for hit in after]

    both, after = asyncio.run(scenario())
    assert both == ["sixteen", "ten", None, None]
    assert after == ["ten", None]  # "16" not indexed any more: found under its form "10"


def test_the_index_keeps_what_correlating_needs_besides_the_state(redis_url: str) -> None:
    async def scenario() -> list[tuple[str, SentView | None] | None]:
        async with open_store(redis_url) as store:
            sent = SentEntry("smsc", ["a 1", "b"], "m", 10.0, arm=4, submitted_at=2.5, implied=True)
            await store.apply([], sent=[sent])
            return await store.lookup_sent([("smsc", "b"), ("smsc", "a 1")])

    view = SentView(4, 2.5, True, ("a 1", "b"))
    assert asyncio.run(scenario()) == [("m", view), ("m", view)]  # under each part's id, spaces and all


def test_an_index_entry_that_names_only_the_message_still_finds_it(redis_url: str) -> None:
    """As an earlier version wrote them: the message is then read whole."""

    async def scenario() -> list[tuple[str, SentView | None] | None]:
        async with open_store(redis_url) as store:
            await store.client.set(store.keys.provider_id("smsc", "7"), "m")
            return await store.lookup_sent([("smsc", "7")])

    assert asyncio.run(scenario()) == [("m", None)]
