"""The virtual-time runner: the production Router, driven tick by tick on simulated traffic.

Per tick: receipts that are due are de-duplicated and fed back with the previous tick's submits,
then the tick's messages are routed in one batch, their true fate is drawn from the message's own
random numbers (common to every policy) and their receipts are scheduled. Channels queue what
exceeds their TPS, so overload shows up as latency, as it does in life.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.dlr.dedup import BitmapReceipts
from engine.domain.clock import ManualClock
from engine.policies.base import Policy
from engine.policies.batches import FeedbackBatch, FeedbackKind
from engine.policies.capacity import rank_within
from engine.policies.registry import create
from engine.policies.space import ArmSpace
from engine.routing.router import Router
from simulations.eventqueue import EventQueue
from simulations.oracle import ORACLE, Oracle
from simulations.traffic import Traffic
from simulations.world import World

FAKE_RECEIPT_DELAY_S = 0.5
DUPLICATE_GAP_S = 7.0
NO_RECEIPT = -1


@dataclass(frozen=True)
class Run:
    """What happened to every message under one policy and seed (index = message id)."""

    policy: str
    seed: int
    arm: NDArray[np.int64]  # world arm id, -1 if unroutable
    propensity: NDArray[np.float32]
    explored: NDArray[np.bool_]
    delivered: NDArray[np.bool_]
    latency_s: NDArray[np.float32]
    receipt: NDArray[np.int8]  # first receipt: 1 delivered, 0 undelivered, -1 none
    receipt_at: NDArray[np.float32]  # NaN without receipt
    cost: NDArray[np.float32]
    utility: NDArray[np.float32]
    decide_seconds: float
    duplicates_dropped: int


def _world_arm_map(space: ArmSpace, world: World) -> NDArray[np.int64]:
    lookup = {
        (world.context_keys[c], world.channel_names[ch]): i
        for i, (c, ch) in enumerate(zip(world.arms.context, world.arms.channel, strict=True))
    }
    return np.array(
        [
            lookup[(space.contexts[c], space.routes[r])]
            for c, r in zip(space.arm_context, space.arm_route, strict=True)
        ],
        dtype=np.int64,
    )


def run_policy(
    world: World,
    traffic: Traffic,
    spec: str,
    seed: int,
    on_tick: Callable[[int], None] | None = None,
) -> Run:
    scenario = world.scenario
    economics = scenario.economics
    dt = traffic.tick_s
    space = ArmSpace()
    mapping = np.empty(0, dtype=np.int64)

    def world_arm() -> NDArray[np.int64]:
        nonlocal mapping
        if len(mapping) != space.n_arms:
            mapping = _world_arm_map(space, world)
        return mapping

    rng = np.random.default_rng([seed, 0xDEC1DE])
    policy: Policy
    if spec == ORACLE:
        policy = Oracle(space, rng, economics, world=world, world_arm=world_arm)
    else:
        policy = create(spec, space, rng, economics)
    clock = ManualClock(0.0)
    router = Router(world.route_table(0.0), policy, clock)
    contexts = np.array([router.context_of(d) for d in world.destinations], dtype=np.int64)
    table_changes = [t for t in world.table_changes() if t > 0]

    n = len(traffic)
    arm = np.full(n, -1, dtype=np.int64)
    propensity = np.zeros(n, dtype=np.float32)
    explored = np.zeros(n, dtype=bool)
    delivered = np.zeros(n, dtype=bool)
    latency = np.full(n, np.nan, dtype=np.float32)
    receipt = np.full(n, NO_RECEIPT, dtype=np.int8)
    receipt_at = np.full(n, np.nan, dtype=np.float32)
    cost = np.zeros(n, dtype=np.float32)
    utility = np.zeros(n, dtype=np.float32)

    seen = BitmapReceipts(n)
    queue = EventQueue()
    backlog = np.zeros(len(world.arms.context))
    submits = FeedbackBatch.submitted(0.0, np.empty(0, dtype=np.int64))
    decide_seconds = 0.0
    w = world.arms
    for tick in range(traffic.ticks):
        t = tick * dt
        clock.set(t)
        while table_changes and table_changes[0] <= t:
            table_changes.pop(0)
            router.replace_table(world.route_table(t))
        # 1. feedback: last tick's submits and the receipts due now (first receipt only)
        parts = [submits]
        due = queue.pop_until(t)
        if due is not None:
            first = seen.first(due["msg"].astype(np.int64))
            msg = due["msg"][first].astype(np.int64)
            ok = due["ok"][first].astype(bool)
            receipt[msg] = ok
            receipt_at[msg] = due["at"][first]
            kind = np.where(ok, FeedbackKind.DELIVERED, FeedbackKind.UNDELIVERED).astype(np.int64)
            parts.append(
                FeedbackBatch(
                    t,
                    kind,
                    due["arm"][first].astype(np.int64),
                    due["sub"][first].astype(np.float64),
                    due["at"][first].astype(np.float64),
                )
            )
        router.feedback(FeedbackBatch.concat(t, parts))
        # 2. route this tick's messages in one batch
        lo, hi = int(traffic.tick_start[tick]), int(traffic.tick_start[tick + 1])
        backlog = np.maximum(backlog - w.tps * dt, 0.0)
        if hi == lo:
            submits = FeedbackBatch.submitted(t, np.empty(0, dtype=np.int64))
            if on_tick:
                on_tick(tick)
            continue
        lanes = traffic.lane[lo:hi]
        started = time.perf_counter()
        decision = router.route(contexts[traffic.context[lo:hi]], lanes)
        decide_seconds += time.perf_counter() - started
        routed = decision.arm >= 0
        ids = np.arange(lo, hi)[routed]
        space_arm = decision.arm[routed]
        wa = world_arm()[space_arm]
        lane = lanes[routed]
        # 3. the truth: queueing behind the channel's TPS, delivery, delay, receipts
        rank = rank_within(wa, lane)
        queue_s = (backlog[wa] + rank) / w.tps[wa]
        backlog += np.bincount(wa, minlength=len(backlog))
        ch = w.channel[wa]
        lat = queue_s + world.latency_median[ch] * np.exp(world.latency_sigma[ch] * traffic.z_latency[ids])
        ok = traffic.u_deliver[ids] < world.delivery_at(t)[wa]
        fake = world.fake_delivered_at(t)[wa]
        u = traffic.u_receipt[ids]
        reported = ~world.blackholed_at(t)[wa] & (u >= world.missing_dlr[ch])
        arrival = t + np.where(fake, FAKE_RECEIPT_DELAY_S, lat)
        period = world.dlr_batch_period_at(t)[wa]
        held = period > 0
        arrival[held] = np.ceil(arrival[held] / period[held]) * period[held]
        says_ok = ok | fake
        r = reported
        queue.push(arrival[r], msg=ids[r], arm=space_arm[r], sub=np.full(int(r.sum()), t), ok=says_ok[r])
        dup = reported & (u > 1.0 - world.duplicate_rate_at(t)[wa])
        queue.push(
            arrival[dup] + DUPLICATE_GAP_S,
            msg=ids[dup],
            arm=space_arm[dup],
            sub=np.full(int(dup.sum()), t),
            ok=says_ok[dup],
        )
        price = space.price[space_arm]
        on_time = ok & (lat <= economics.sla_array[lane])
        arm[ids], propensity[ids], explored[ids] = (
            wa,
            decision.propensity[routed],
            decision.explored[routed],
        )
        delivered[ids], latency[ids], cost[ids] = ok, lat, price
        utility[ids] = economics.value_array[lane] * on_time - price
        submits = FeedbackBatch.submitted(t, space_arm)
        if on_tick:
            on_tick(tick)
    return Run(
        policy=spec,
        seed=seed,
        arm=arm,
        propensity=propensity,
        explored=explored,
        delivered=delivered,
        latency_s=latency,
        receipt=receipt,
        receipt_at=receipt_at,
        cost=cost,
        utility=utility,
        decide_seconds=decide_seconds,
        duplicates_dropped=seen.duplicates,
    )
