"""Batches of commands in one round trip (a script call, a transaction or a read pipeline, as
engine.infra.batch chooses), against the real Redis server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.exceptions import ResponseError

from engine.domain.enums import Lane, MessageStatus
from engine.domain.messages import NewMessage
from engine.infra.batch import Batch
from engine.infra.store import Change, SentEntry
from tests.infra.conftest import open_store

NG = "+2348030000000"
ODD_BODIES = ["plain", "emoji 👋🏽 and ñ", 'quotes " and \\ backslash', "nul \x00 tab \t newline \n", ""]


def test_a_batch_runs_in_order_and_answers_each_command(redis_url: str) -> None:
    async def scenario() -> list[object]:
        async with open_store(redis_url) as store:
            batch = Batch()
            key = store.keys.message("x")
            batch.add("HSET", key, "a", "1")
            batch.add("HINCRBY", key, "a", "41")
            batch.add("HGET", key, "a")
            batch.add("HGET", key, "missing")
            return await store.batches.run(batch, replies=True)

    assert asyncio.run(scenario()) == [1, 42, "42", None]


def test_an_empty_batch_sends_nothing(redis_url: str) -> None:
    async def scenario() -> list[object]:
        async with open_store(redis_url) as store:
            return await store.batches.run(Batch(), replies=True)

    assert asyncio.run(scenario()) == []


def test_texts_survive_the_trip_byte_for_byte(redis_url: str) -> None:
    async def scenario() -> list[str]:
        async with open_store(redis_url) as store:
            sent = [
                NewMessage(f"m{i}", "t", "+2348030000000", "ACME", body, Lane.OTP, 1.0)
                for i, body in enumerate(ODD_BODIES)
            ]
            await store.accept(sent)
            return [r["body"] if r else "?" for r in await store.fetch([m.id for m in sent])]

    assert asyncio.run(scenario()) == ODD_BODIES


def test_changes_append_history_and_count_each_final_once(redis_url: str) -> None:
    async def scenario() -> tuple[list[str], dict[str, int], str]:
        async with open_store(redis_url) as store:
            await store.accept([NewMessage("m", "t", "+2348030000000", "ACME", "hi", Lane.OTP, 1.0)])
            await store.apply([Change("m", 2.0, MessageStatus.UNKNOWN, note='no "receipt"')])
            await store.apply([Change("m", 3.0, MessageStatus.DELIVERED, replaces=MessageStatus.UNKNOWN)])
            history = [str(e["status"]) for e in await store.history((await store.fetch(["m"]))[0] or {})]
            record = (await store.fetch(["m"]))[0] or {}
            return history, await store.counters(), record["status"]

    history, counters, status = asyncio.run(scenario())
    assert history == ["accepted", "queued", "unknown", "delivered"]
    assert counters == {"accepted": 1, "accepted:otp": 1, "final:unknown": 0, "final:delivered": 1}
    assert status == "delivered"


def test_sent_messages_are_found_by_any_form_of_their_provider_id(redis_url: str) -> None:
    async def scenario() -> list[str | None]:
        async with open_store(redis_url) as store:
            sent = [
                SentEntry("smsc", ["1f"], "m1", 10.0, 0, 1.0, True),
                SentEntry("smsc", ["42", "43"], "m2", 11.0, 1, 2.0, False),
            ]
            refs = [("smsc", "31"), ("smsc", "0000001F"), ("smsc", "43"), ("other", "42"), ("smsc", "zz")]
            await store.apply([], sent=sent)
            return [hit[0] if hit else None for hit in await store.lookup_sent(refs)]

    assert asyncio.run(scenario()) == ["m1", "m1", "m2", None, None]


def test_an_idempotency_key_used_again_writes_nothing_and_answers_the_first_message(redis_url: str) -> None:
    async def scenario() -> tuple[list[str | None], list[str | None], dict[str, int], int]:
        async with open_store(redis_url) as store:
            first = NewMessage("m1", "t", NG, "ACME", "hi", Lane.OTP, 1.0, idempotency=("k", "f1"))
            again = NewMessage("m2", "t", NG, "ACME", "hi", Lane.OTP, 2.0, idempotency=("k", "f2"))
            other = NewMessage("m3", "u", NG, "ACME", "hi", Lane.OTP, 2.0, idempotency=("k", "f3"))
            plain = NewMessage("m4", "t", NG, "ACME", "hi", Lane.MARKETING, 2.0)
            answers = await store.accept([first]) + await store.accept([again, other, plain])
            written = [r["id"] if r else None for r in await store.fetch(["m1", "m2", "m3", "m4"])]
            depth = await store.client.xlen(store.keys.lane(Lane.OTP))
            return answers, written, await store.counters(), depth

    answers, written, counters, otp_depth = asyncio.run(scenario())
    assert answers == [None, "m1 f1", None, None]  # keys are per tenant: "u" may use "k" too
    assert written == ["m1", None, "m3", "m4"]
    assert (counters["accepted"], counters["accepted:otp"], otp_depth) == (3, 2, 2)


def test_a_scheduled_message_waits_outside_its_lane(redis_url: str) -> None:
    async def scenario() -> tuple[str, int, list[str]]:
        async with open_store(redis_url) as store:
            m = NewMessage("m", "t", "+2348030000000", "ACME", "hi", Lane.OTP, 1.0, send_at=60.0)
            await store.accept([m])
            record = (await store.fetch(["m"]))[0] or {}
            due: Any = await store.client.zrangebyscore(store.keys.scheduled(), "-inf", 60.0)
            return record["status"], await store.client.xlen(store.keys.lane(Lane.OTP)), due

    assert asyncio.run(scenario()) == ("scheduled", 0, ["m"])


def test_due_scheduled_messages_enter_their_lane_and_canceled_ones_never(redis_url: str) -> None:
    async def scenario() -> tuple[int, dict[str, str], int, list[str]]:
        async with open_store(redis_url) as store:
            due = NewMessage("due", "t", NG, "ACME", "hi", Lane.OTP, 1.0, send_at=50.0)
            later = NewMessage("later", "t", NG, "ACME", "hi", Lane.OTP, 1.0, send_at=500.0)
            dropped = NewMessage("dropped", "t", NG, "ACME", "hi", Lane.OTP, 1.0, send_at=40.0)
            await store.accept([due, later, dropped])
            assert await store.cancel("dropped", 30.0)
            moved = await store.release_due(now=60.0)
            records = await store.fetch(["due", "later", "dropped"])
            depth: int = await store.client.xlen(store.keys.lane(Lane.OTP))
            history = [str(e["status"]) for e in await store.history((await store.fetch(["due"]))[0] or {})]
            return moved, {r["id"]: r["status"] for r in records if r}, depth, history

    moved, statuses, depth, history = asyncio.run(scenario())
    assert (moved, depth) == (1, 1)
    assert statuses == {"due": "queued", "later": "scheduled", "dropped": "canceled"}
    assert history == ["accepted", "scheduled", "queued"]


def test_the_largest_batch_the_api_takes_is_accepted_and_indexed_in_one_call(redis_url: str) -> None:
    """5,000 messages of one tenant: more index entries than one Lua call can unpack at once."""

    async def scenario() -> tuple[int, int, dict[str, int]]:
        async with open_store(redis_url) as store:
            await store.accept(
                [NewMessage(f"m{i}", "t", NG, "ACME", "hi", Lane.OTP, float(i)) for i in range(5_000)]
            )
            indexed: int = await store.client.zcard(store.keys.tenant_messages("t"))
            queued: int = await store.client.xlen(store.keys.lane(Lane.OTP))
            return indexed, queued, await store.counters()

    indexed, queued, counters = asyncio.run(scenario())
    assert (indexed, queued, counters["accepted"]) == (5_000, 5_000, 5_000)


def test_a_record_is_stored_compactly(redis_url: str) -> None:
    """A few hundred bytes of JSON in one field must not turn the record into a hash table."""

    async def scenario() -> str:
        async with open_store(redis_url) as store:
            await store.accept(
                [NewMessage("m", "t", NG, "ACME", "x" * 300, Lane.OTP, 1.0, client_ref="r" * 100)]
            )
            return str(await store.client.object("ENCODING", store.keys.message("m")))

    assert asyncio.run(scenario()) in {"ziplist", "listpack"}


def test_a_failing_command_raises_and_leaves_the_connection_usable(redis_url: str) -> None:
    async def scenario() -> tuple[str, list[object]]:
        async with open_store(redis_url) as store:
            bad = Batch()
            key = store.keys.message("x")
            bad.add("SET", key, "text")
            bad.add("HINCRBY", key, "a", "1")  # WRONGTYPE
            error = ""
            try:
                await store.batches.run(bad)
            except ResponseError as exc:
                error = str(exc)
            good = Batch()
            good.add("GET", key)
            return error, await store.batches.run(good, replies=True)

    error, replies = asyncio.run(scenario())
    assert "WRONGTYPE" in error
    assert replies == ["text"]


def test_a_batch_cancelled_midway_leaves_none_of_its_replies_to_the_next(redis_url: str) -> None:
    async def scenario() -> list[object]:
        async with open_store(redis_url) as store:
            big = Batch()
            for i in range(20_000):
                big.add("HGET", store.keys.message(f"m{i}"), "status")
            task = asyncio.create_task(store.batches.read(big))
            await asyncio.sleep(0.001)  # sent, replies not all read
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            small = Batch()
            small.add("HSET", store.keys.message("probe"), "status", "sent")
            small.add("HGET", store.keys.message("probe"), "status")
            return await store.batches.run(small, replies=True)

    assert asyncio.run(scenario()) == [1, "sent"]


def test_a_single_call_answers_its_reply_or_raises_its_error(redis_url: str) -> None:
    async def scenario() -> tuple[object, str]:
        async with open_store(redis_url) as store:
            key = store.keys.message("x")
            await store.batches.call("HSET", key, "a", "1")
            reply = await store.batches.call("HGETALL", key)
            try:
                await store.batches.call("LPUSH", key, "v")  # WRONGTYPE
            except ResponseError as exc:
                return reply, str(exc)
            return reply, ""

    reply, error = asyncio.run(scenario())
    assert reply in ({"a": "1"}, ["a", "1"])  # a map over RESP3, a flat list over RESP2
    assert "WRONGTYPE" in error


def test_a_script_batch_runs_on_a_redis_that_forgot_the_script_and_raises_its_errors(redis_url: str) -> None:
    async def scenario() -> tuple[list[object], str]:
        async with open_store(redis_url) as store:
            await store.client.script_flush()  # as after a Redis restart: the script is unknown
            key = store.keys.message("x")
            batch = Batch()
            batch.add("HSET", key, "status", "sent")
            batch.add_if_equal(key, "status", "sent", "HSET", key, "status", "delivered")
            batch.add_if_equal(key, "status", "sent", "HSET", key, "status", "never")
            replies = await store.batches.run(batch, replies=True)
            bad = Batch()
            bad.add_if(key, "status", "LPUSH", key, "v")  # WRONGTYPE, inside the script
            try:
                await store.batches.run(bad)
            except ResponseError as exc:
                return replies, str(exc)
            return replies, ""

    replies, error = asyncio.run(scenario())
    assert replies == [1, 0, None]
    assert "WRONGTYPE" in error
