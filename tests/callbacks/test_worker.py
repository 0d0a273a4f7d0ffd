"""The callback worker against the real Redis and real HTTP endpoints on loopback ports."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time

import numpy as np

from engine.callbacks.signing import verify
from engine.domain.enums import MessageStatus as S
from engine.infra.callbacks import CallbackWorker, DeadLetters
from engine.infra.keys import CALLBACK_GROUP
from tests.callbacks.receiver import Hit, Receiver
from tests.callbacks.rig import FAST, SECRET, TENANT, Rig, rig


def _verified(hit: Hit, r: Rig) -> bool:
    return verify(SECRET, hit.headers["a2p-signature"], hit.body, now=r.clock.now())


def test_events_arrive_signed_and_numbered_per_message(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver() as rx, rig(redis_url) as r:
            first = await r.message(rx.url, S.SENDING, S.SENT, S.DELIVERED)
            second = await r.message(rx.url, S.SENDING)
            await r.round()
            assert len(rx.hits) == 4
            assert all(_verified(hit, r) for hit in rx.hits)
            assert all(hit.headers["a2p-event-id"] == hit.event["id"] for hit in rx.hits)
            assert len({hit.event["id"] for hit in rx.hits}) == 4
            mine = [
                (h.event["sequence"], h.event["status"]) for h in rx.hits if h.event["message_id"] == first
            ]
            assert mine == [(1, "sending"), (2, "sent"), (3, "delivered")]  # in order of arrival too
            other = [h.event for h in rx.hits if h.event["message_id"] == second]
            assert [e["sequence"] for e in other] == [1]
            event = other[0]
            assert event["type"] == "message.status"
            assert (event["to"], event["client_ref"], event["metadata"]) == (
                "+447700900123",
                "order-42",
                {"order": 42},
            )
            assert r.worker.stats()["delivered"] == 4
            assert await r.retry_depth() == 0
            assert await r.store.client.xlen(r.store.keys.callback_events()) == 0

    asyncio.run(main())


def test_failure_is_retried_on_schedule_until_it_succeeds(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver(codes=[500, 503]) as rx, rig(redis_url) as r:
            await r.message(rx.url, S.FAILED, fields={"error_code": "E_ROUTE", "raw_error": "0x0b"})
            await r.round()
            await r.later(0.5)
            assert len(rx.hits) == 1  # not due yet
            await r.later(0.5)
            assert len(rx.hits) == 2
            await r.later(2.0)
            assert len(rx.hits) == 3
            await r.later(10.0)
            assert len(rx.hits) == 3
            assert len({h.body for h in rx.hits}) == 1  # the same event, byte for byte
            assert rx.hits[0].event["error"] == {"code": "E_ROUTE", "raw": "0x0b"}
            stats = r.worker.stats()
            assert (stats["delivered"], stats["failed_attempts"], stats["dead"]) == (1, 2, 0)
            assert await r.retry_depth() == 0

    asyncio.run(main())


def test_dead_receiver_ends_in_dead_letters_and_replay_resends(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver(default=503) as rx, rig(redis_url) as r:
            mid = await r.message(rx.url, S.DELIVERED)
            for wait in (0.0, 1.0, 2.0, 2.0, 2.0, 10.0):
                await r.later(wait)
            assert len(rx.hits) == 4  # at 0, 1, 3 and 5 s; the next (7 s) is past the max age
            dead = await r.worker.dead(TENANT, 10)
            assert len(dead) == 1
            assert (dead[0]["attempts"], dead[0]["event"]["message_id"]) == (4, mid)
            assert "HTTP 503" in dead[0]["last_error"]
            assert await r.retry_depth() == 0
            rx.default = 200
            assert await r.worker.replay(TENANT, 10) == 1
            assert await r.worker.replay(TENANT, 10) == 0
            await r.round()
            assert len(rx.hits) == 5
            assert rx.hits[-1].event["id"] == dead[0]["event_id"]
            assert _verified(rx.hits[-1], r)
            assert await r.worker.dead(TENANT, 10) == []
            assert r.worker.stats()["delivered"] == 1
            counters = await r.store.counters()  # what /metrics shows, whichever process serves it
            assert {k: v for k, v in counters.items() if k.startswith("callback:")} == {
                "callback:events": 1, "callback:failed_attempts": 4, "callback:dead": 1,
                "callback:replayed": 1, "callback:delivered": 1,
            }  # fmt: skip

    asyncio.run(main())


def test_dead_letters_are_listed_and_replayed_without_a_worker(redis_url: str) -> None:
    """The API process lists and replays through DeadLetters; the engine's worker sends."""

    async def main() -> None:
        async with rig(redis_url) as r:
            for _ in range(3):
                await r.message("ftp://example.com/hooks", S.SENT)
            await r.round()
            letters = DeadLetters(r.store.client, r.store.keys, r.clock)
            assert await letters.count(TENANT) == 3
            everything = await letters.list(TENANT, 10)
            assert await letters.list(TENANT, 2, offset=1) == everything[1:]
            assert await letters.list(TENANT, 0) == []
            assert await letters.replay(TENANT, 2) == 2
            assert await letters.count(TENANT) == 1
            assert await r.retry_depth() == 2

    asyncio.run(main())


def test_gone_stops_retries_without_dead_letter(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver(codes=[410]) as rx, rig(redis_url) as r:
            await r.message(rx.url, S.SENT)
            await r.round()
            await r.later(5.0)
            assert len(rx.hits) == 1
            assert r.worker.stats()["dropped"] == 1
            assert await r.worker.dead(TENANT, 10) == []
            assert await r.retry_depth() == 0

    asyncio.run(main())


def test_slow_receiver_does_not_delay_a_fast_one(redis_url: str) -> None:
    async def main() -> None:
        settings = dataclasses.replace(FAST, per_host=2)
        async with Receiver(held=True) as slow, Receiver() as fast, rig(redis_url, settings) as r:
            for _ in range(4):
                await r.message(slow.url, S.SENT)
            await r.message(fast.url, S.SENT)
            started = time.monotonic()
            await r.worker.step()
            await fast.wait_for(1, timeout_s=1.0)
            assert time.monotonic() - started < 1.0
            await slow.wait_for(2)
            assert len(slow.hits) == 2  # capped per host; the other two wait for a slot
            await r.worker.step()  # a round while the slow host is busy launches nothing more for it
            await asyncio.sleep(0.05)
            assert len(slow.hits) == 2
            slow.gate.set()
            assert await r.worker.drain(5.0)
            await r.round()
            assert len(slow.hits) == 4
            assert r.worker.stats()["delivered"] == 5

    asyncio.run(main())


def test_nothing_is_sent_unsigned(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver() as rx, rig(redis_url, secret=False) as r:
            await r.message(rx.url, S.SENT)
            await r.round()
            assert rx.hits == []
            assert r.worker.stats()["no_secret"] == 1
            assert await r.retry_depth() == 1  # kept, on the retry schedule
            await r.set_secret()
            await r.later(1.0)
            assert len(rx.hits) == 1
            assert _verified(rx.hits[0], r)

    asyncio.run(main())


def test_non_http_url_is_refused(redis_url: str) -> None:
    async def main() -> None:
        async with rig(redis_url) as r:
            await r.message("ftp://example.com/hooks", S.SENT)
            await r.round()
            dead = await r.worker.dead(TENANT, 10)
            assert len(dead) == 1
            assert "scheme 'ftp'" in dead[0]["last_error"]
            assert dead[0]["attempts"] == 0
            assert r.worker.stats()["refused_url"] == 1
            assert await r.worker.dead("someone-else", 10) == []  # dead letters are per tenant

    asyncio.run(main())


def test_connection_refused_is_retried(redis_url: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        async with rig(redis_url) as r:
            await r.message(f"http://127.0.0.1:{port}/hook", S.SENT)
            await r.round()
            assert r.worker.stats()["failed_attempts"] == 1
            assert await r.retry_depth() == 1

    asyncio.run(main())


def test_entries_read_before_a_crash_are_delivered_after_it(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver() as rx, rig(redis_url) as r:
            await r.message(rx.url, S.SENT)
            stream = r.store.keys.callback_events()
            # A worker that read the entry and died before storing it: pending, never acknowledged.
            await r.store.client.xgroup_create(stream, CALLBACK_GROUP, id="0")
            await r.store.client.xreadgroup(CALLBACK_GROUP, r.worker.consumer, {stream: ">"})
            await r.round()
            assert [h.event["sequence"] for h in rx.hits] == [1]

    asyncio.run(main())


def test_attempt_of_a_dead_worker_is_retried_after_its_lease(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver(held=True) as rx, rig(redis_url) as r:
            await r.message(rx.url, S.SENT)
            await r.worker.step()
            await rx.wait_for(1)
            await r.worker.aclose(0.0)  # dies mid-attempt
            rx.gate.set()
            successor = CallbackWorker(r.store.client, r.store.keys, FAST, r.clock, np.random.default_rng(1))
            try:
                await successor.step()
                assert await successor.drain(5.0)
                assert len(rx.hits) == 1  # still leased
                r.clock.advance(FAST.lease_s)
                await successor.step()
                assert await successor.drain(5.0)
                assert len(rx.hits) == 2
                assert rx.hits[0].body == rx.hits[1].body
                assert successor.stats()["delivered"] == 1
            finally:
                await successor.aclose()

    asyncio.run(main())


def test_an_endpoint_that_never_answers_times_out_and_is_retried(redis_url: str) -> None:
    async def main() -> None:
        settings = dataclasses.replace(FAST, timeout_s=0.3)
        async with Receiver(held=True) as rx, rig(redis_url, settings) as r:
            await r.message(rx.url, S.SENT)
            started = time.monotonic()
            await r.round()
            assert time.monotonic() - started < 2.0
            assert r.worker.stats()["failed_attempts"] == 1
            assert await r.retry_depth() == 1
            rx.gate.set()
            await r.later(1.0)
            assert r.worker.stats()["delivered"] == 1

    asyncio.run(main())


def test_a_url_reaching_our_own_network_is_refused_by_default(redis_url: str) -> None:
    async def main() -> None:
        async with Receiver() as rx, rig(redis_url, dataclasses.replace(FAST, allow_private=False)) as r:
            await r.message(rx.url, S.SENT)  # a real server, but on loopback
            await r.round()
            dead = await r.worker.dead(TENANT, 10)
            assert rx.hits == []  # nothing was sent
            assert "127.0.0.1 is not public" in dead[0]["last_error"]
            assert r.worker.stats()["refused_url"] == 1

    asyncio.run(main())
