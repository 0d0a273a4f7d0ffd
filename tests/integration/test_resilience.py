"""Zero loss in the live engine: actors killed mid-flight, Redis restarted under traffic."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import ray

from engine.domain.enums import Lane, MessageStatus
from tests.integration.conftest import (
    FAST,
    EngineRun,
    config,
    finals,
    running,
    statuses,
    time_ordered,
    traffic,
)

pytestmark = pytest.mark.usefixtures("ray_session")

PAIR = """
[[channels]]
id = "k-a"
preset = "healthy"
receipt_median_s = 0.2
tps = 2000
window = 500

[[channels]]
id = "k-b"
preset = "healthy"
receipt_median_s = 0.2
tps = 2000
window = 500

[[routes]]
country = "*"
candidates = [
  { channel = "k-a", price = 0.010 },
  { channel = "k-b", price = 0.011 },
]
"""


async def check_no_loss(run: EngineRun, ids: list[str]) -> Counter[str]:
    """Every message final, counted once, and sent at most once."""
    records = await run.records(ids)
    counts = Counter(r["status"] for r in records)
    assert all(MessageStatus(s).is_final for s in counts), counts
    counters = await run.engine.store.counters()
    assert counters["accepted"] == len(ids)
    assert finals(counters) == len(ids), counters
    histories = await run.histories(ids)
    twice = [mid for mid, h in histories.items() if statuses(h).count("sent") > 1]
    assert not twice, f"{len(twice)} messages sent twice, e.g. {histories[twice[0]]}"
    for mid, history in histories.items():
        names = statuses(history)
        assert names[:2] == ["accepted", "queued"], (mid, history)
        assert time_ordered(history), (mid, history)
        # Handed to a channel again only after a refusal (which puts it back to `queued`).
        assert names.count("sending") - (names.count("queued") - 1) in (0, 1), (mid, history)
    return counts


async def unknown_causes(run: EngineRun, ids: list[str]) -> Counter[str]:
    """Why messages ended ``unknown``: the note of that event ("no receipt" when it has none)."""
    causes: Counter[str] = Counter()
    for history in (await run.histories(ids)).values():
        for event in history:
            if event["status"] == MessageStatus.UNKNOWN:
                causes[str(event.get("note") or "no receipt in time")] += 1
    return causes


def test_killing_actors_mid_flight_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    async def kill(run: EngineRun, name: str, handle: Any) -> None:
        counters = await run.engine.store.counters()
        print(f"killing the {name}: {counters['accepted']} accepted, {finals(counters)} final")
        ray.kill(handle, no_restart=False)

    async def scenario() -> tuple[Counter[str], Counter[str]]:
        async with running(config(tmp_path, PAIR)) as run:
            engine = run.engine
            ids: list[str] = []
            victims = [
                ("channel k-a", engine.channels["k-a"]),
                ("marketing dispatcher", engine.dispatchers[Lane.MARKETING]),
                ("router", engine.routers[0]),
            ]
            for wave in range(20):  # ~2,000 messages over ~5 s, all lanes
                batch = traffic(["NG", "KE", "GB"], 100, list(Lane), seed=wave)
                await engine.accept(batch)
                ids += [m.id for m in batch]
                if wave in (4, 8, 12):
                    await kill(run, *victims[wave // 4 - 1])
                await asyncio.sleep(0.25)
            took = await run.wait_all_final(ids, timeout_s=90)
            print(f"all {len(ids)} final {took:.1f} s after the last wave")
            counts = await check_no_loss(run, ids)
            return counts, await unknown_causes(run, ids)

    counts, unknown = asyncio.run(scenario())
    print(f"statuses after the kills: {dict(counts)}; unknown {sum(unknown.values())}: {dict(unknown)}")


DOWN_S = 6.0


def test_redis_restart_keeps_every_accepted_message(tmp_path: Path) -> None:
    async def scenario() -> Counter[str]:
        async with running(config(tmp_path, PAIR)) as run:
            engine = run.engine
            assert engine.redis_server is not None
            sent = traffic(["NG", "GB"], 300, list(Lane), seed=11)
            await engine.accept(sent)  # acknowledged: durable from here on
            ids = [m.id for m in sent]
            engine.redis_server.stop()
            await asyncio.sleep(DOWN_S)  # longer than the clients' retries and a snapshot period
            engine.redis_server.start()
            records = await run.records(ids)  # every record survived
            assert {r["id"] for r in records} == set(ids)
            for mid, history in (await run.histories(ids)).items():
                assert statuses(history)[:2] == ["accepted", "queued"], (mid, history)
            await run.wait_all_final(ids, timeout_s=60)
            counts = await check_no_loss(run, ids)
            # The router's snapshots (its warm restart) resume too.
            snapshot = engine.keys.router_snapshot("shard0")
            await engine.store.client.delete(snapshot)

            async def snapshotted() -> bool:
                return bool(await engine.store.client.exists(snapshot))

            await run.wait_until(snapshotted, 15, "the router never wrote a snapshot after the restart")
            return counts

    counts = asyncio.run(scenario())
    print(f"statuses after the Redis restart: {dict(counts)}")


def test_a_dispatcher_gone_for_good_has_its_messages_taken_over_by_its_peer(tmp_path: Path) -> None:
    """Two router shards (by country) and two dispatchers per lane; one dispatcher dies mid-submit
    and is not restarted: its peer reclaims what it left pending (XAUTOCLAIM), settles the batch it
    was submitting as ``unknown`` (never resent), and nothing is lost or doubled."""
    slow = PAIR.replace("receipt_median_s = 0.2", "receipt_median_s = 0.2\nsubmit_latency_s = 0.6")

    async def scenario() -> tuple[Counter[str], Counter[str]]:
        settings = replace(FAST, claim_idle_ms=1_500)
        cfg = replace(config(tmp_path, slow, dispatch=settings), router_shards=2, dispatchers_per_lane=2)
        async with running(cfg) as run:
            engine = run.engine
            ids: list[str] = []
            for wave in range(10):
                batch = traffic(["NG", "KE", "GB"], 100, [Lane.OTP], seed=wave)
                await engine.accept(batch)
                ids += [m.id for m in batch]
                if wave == 4:
                    ray.kill(engine.dispatchers[0], no_restart=True)  # otp-0, mid-submit, for good
                await asyncio.sleep(0.2)
            await run.wait_all_final(ids, timeout_s=90)
            return await check_no_loss(run, ids), await unknown_causes(run, ids)

    counts, unknown = asyncio.run(scenario())
    taken_over = sum(n for cause, n in unknown.items() if "restarted mid-submit" in cause)
    assert taken_over > 0, (counts, unknown)  # the peer found the dead one's batch in flight
    assert counts[MessageStatus.DELIVERED.value] > 0.5 * sum(counts.values()), counts
