"""Routing in the live engine: learning from receipts, failover, lane priority."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest

from adapters.simulated import Behaviour
from engine.domain.enums import Lane, MessageStatus
from tests.integration.conftest import (
    EngineRun,
    config,
    event_time,
    running,
    statuses,
    time_ordered,
    traffic,
)

pytestmark = pytest.mark.usefixtures("ray_session")

TWINS = """
[[channels]]
id = "ng-a"
preset = "healthy"
receipt_median_s = 0.2
missing_rate = 0.0
tps = 2000
window = 500

[[channels]]
id = "ng-b"
preset = "healthy"
receipt_median_s = 0.2
missing_rate = 0.0
tps = 2000
window = 500

[[routes]]
country = "NG"
candidates = [
  { channel = "ng-a", price = 0.020, tps = 1000 },
  { channel = "ng-b", price = 0.020, tps = 1000 },
]
"""


async def shares(run: EngineRun, waves: list[list[str]]) -> Counter[str]:
    """Messages per channel over these waves (routed ones only)."""
    ids = [mid for wave in waves for mid in wave]
    return Counter(r["channel"] for r in await run.records(ids) if r.get("channel"))


def test_routing_moves_away_from_a_black_holed_channel(tmp_path: Path) -> None:
    wave_s, before_s, after_s, last_s = 0.5, 5.0, 15.0, 3.0

    async def send_waves(run: EngineRun, until: float, into: list[list[str]], seed: int) -> None:
        while time.monotonic() < until:
            wave = traffic(["NG"], 100, [Lane.TRANSACTIONAL], seed=seed + len(into))
            await run.engine.accept(wave)
            into.append([m.id for m in wave])
            await asyncio.sleep(wave_s)

    async def scenario() -> None:
        async with running(config(tmp_path, TWINS)) as run:
            before: list[list[str]] = []
            after: list[list[str]] = []
            await send_waves(run, time.monotonic() + before_s, before, seed=0)
            share_before = await shares(run, before[2:])
            dark, _ = share_before.most_common(1)[0]
            await run.engine.channels[dark].adapter_call.remote("set_behaviour", Behaviour(black_hole=True))
            await send_waves(run, time.monotonic() + after_s, after, seed=1000)
            await asyncio.sleep(1.0)  # the last wave gets routed
            last = after[-int(last_s / wave_s) :]
            share_last = await shares(run, last)
        total_before, total_last = sum(share_before.values()), sum(share_last.values())
        print(f"black-holed {dark}: before {dict(share_before)}, last {last_s:.0f} s {dict(share_last)}")
        assert total_before > 0.5 * 100 * len(before[2:])  # most were routed when it went dark
        assert total_last > 0.9 * 100 * len(last)
        assert share_before[dark] >= 0.5 * total_before
        assert share_last[dark] < 0.25 * total_last, (dark, share_before, share_last)

    asyncio.run(scenario())


FAILOVER = """
[[channels]]
id = "cheap"
preset = "healthy"
reject_p = 1.0
tps = 5000
window = 1000

[[channels]]
id = "good"
preset = "healthy"
delivery_p = 1.0
missing_rate = 0.0
receipt_median_s = 0.2
tps = 5000
window = 1000

[[channels]]
id = "refuse-x"
preset = "rejecting"
reject_p = 1.0
tps = 5000
window = 1000

[[channels]]
id = "refuse-y"
preset = "rejecting"
reject_p = 1.0
tps = 5000
window = 1000

[[routes]]
country = "NG"
candidates = [
  { channel = "cheap", price = 0.005, tps = 5000 },
  { channel = "good", price = 0.020, tps = 5000 },
]

[[routes]]
country = "KE"
candidates = [
  { channel = "refuse-x", price = 0.005, tps = 5000 },
  { channel = "refuse-y", price = 0.006, tps = 5000 },
]
"""


def test_failover_keeps_the_message_and_fails_when_every_route_refuses(tmp_path: Path) -> None:
    # Least cost tries the refusing cheap channel first, every time. One lane, one accept: the
    # messages reach the channels in one or two batches, before the circuit breakers open.
    async def scenario() -> None:
        async with running(config(tmp_path, FAILOVER, policy="least_cost")) as run:
            nigeria = traffic(["NG"], 200, [Lane.TRANSACTIONAL], seed=3)
            await run.engine.accept(nigeria)
            ng_ids = [m.id for m in nigeria]
            await run.wait_all_final(ng_ids, timeout_s=45)
            kenya = traffic(["KE"], 100, [Lane.TRANSACTIONAL], seed=4)
            await run.engine.accept(kenya)
            ke_ids = [m.id for m in kenya]
            await run.wait_all_final(ke_ids, timeout_s=45)
            ng, ke = await run.records(ng_ids), await run.records(ke_ids)
            ng_history = await run.histories(ng_ids)
            channels = run.engine.channels
            carried = {name: await channels[name].adapter_call.remote("submitted_ids") for name in channels}
        assert sorted(carried["good"]) == sorted(ng_ids)  # the very ids that were accepted
        assert carried["cheap"] == carried["refuse-x"] == carried["refuse-y"] == []
        assert Counter((r["status"], r["channel"], r["attempts"]) for r in ng) == {
            ("delivered", "good", "2"): len(nigeria)
        }
        for record in ng:
            assert record["avoid"] == "cheap"
            history = ng_history[record["id"]]
            assert statuses(history) == [
                "accepted", "queued", "sending", "queued", "sending", "sent", "delivered"
            ], history  # fmt: skip
            assert history[2]["note"] == "via cheap"
            assert history[4]["note"] == "via good"
            assert history[3]["note"] == "cheap refused: rejected"
        assert Counter((r["status"], r["error_code"], r["raw_error"]) for r in ke) == {
            ("failed", "rejected", "0x0000000B"): len(kenya)
        }
        assert {r["avoid"] for r in ke} == {"refuse-x,refuse-y"}

    asyncio.run(scenario())


def test_a_channel_whose_circuit_opens_gets_no_traffic_while_it_is_open(tmp_path: Path) -> None:
    # Least cost would try the refusing cheap channel first every time. Once its circuit breaker has
    # opened, the supervisor takes it out of the router's choices (within a round, one second): new
    # messages go straight to the good channel instead of failing over from a circuit-open refusal.
    async def scenario() -> list[tuple[str, str]]:
        async with running(config(tmp_path, FAILOVER, policy="least_cost")) as run:
            await run.engine.accept(traffic(["NG"], 50, [Lane.TRANSACTIONAL], seed=7))
            health = run.engine.store.client

            async def cheap_open() -> bool:
                raw = await health.hget(run.engine.keys.channel_health(), "cheap")
                return raw is not None and json.loads(raw)["circuit"] == "open"

            await run.wait_until(cheap_open, 15, "the cheap channel's circuit breaker to open")
            await asyncio.sleep(1.5)  # the supervisor's next round tells the router (cool-down: 10 s)
            later = traffic(["NG"], 50, [Lane.TRANSACTIONAL], seed=8)
            await run.engine.accept(later)
            ids = [m.id for m in later]
            await run.wait_all_final(ids, timeout_s=30)
            return [(r["channel"], r["attempts"]) for r in await run.records(ids)]

    assert Counter(asyncio.run(scenario())) == {("good", "1"): 50}


SLOW_LINK = """
[[channels]]
id = "slow"
preset = "healthy"
receipt_median_s = 0.2
tps = 100

[[routes]]
country = "NG"
candidates = [{ channel = "slow", price = 0.02, tps = 100 }]
"""


def test_otp_overtakes_a_marketing_flood(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(config(tmp_path, SLOW_LINK)) as run:
            flood = traffic(["NG"], 1500, [Lane.MARKETING], seed=5)
            await run.engine.accept(flood)
            await asyncio.sleep(0.5)
            otp = traffic(["NG"], 50, [Lane.OTP], seed=6)
            await run.engine.accept(otp)
            otp_ids, flood_ids = [m.id for m in otp], [m.id for m in flood]
            await run.wait_all_final(otp_ids, timeout_s=30)
            await run.wait_all_final(flood_ids, timeout_s=90)
            otp_sent = [event_time(h, MessageStatus.SENT) for h in (await run.histories(otp_ids)).values()]
            flood_history = await run.histories(flood_ids)
            flood_counts = await run.status_counts(flood_ids)
        flood_sent = [event_time(h, MessageStatus.SENT) for h in flood_history.values()]
        unordered = [h for h in flood_history.values() if not time_ordered(h)]
        assert not unordered, f"{len(unordered)} histories out of time order, e.g. {unordered[0]}"
        assert None not in otp_sent, "an OTP was never sent"
        sent_times = [t for t in flood_sent if t is not None]
        otp_last = max(t for t in otp_sent if t is not None)
        print(f"marketing: {flood_counts}; OTP all sent {otp_last - otp[0].created_at:.1f} s after accept")
        assert sent_times, "no marketing message was sent"
        assert otp_last < statistics.median(sent_times)
        assert flood_counts[MessageStatus.FAILED] == 0, flood_counts

    asyncio.run(scenario())
