"""The virtual-time runner: the production Router, driven tick by tick on simulated traffic.

Per tick: receipts that are due are de-duplicated and fed back with the previous tick's submits,
then the tick's messages are routed in one batch, their true fate is drawn from the message's own
random numbers (common to every policy) and their receipts are scheduled. Channels queue what
exceeds their TPS, so overload shows up as latency, as it does in life.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    """Route every message of ``traffic`` with the policy ``spec`` (or the oracle) through a Router."""
    return _Simulation(world, traffic, spec, seed).run(on_tick)


def _empty_run(spec: str, seed: int, n: int) -> Run:
    return Run(
        policy=spec,
        seed=seed,
        arm=np.full(n, -1, dtype=np.int64),
        propensity=np.zeros(n, dtype=np.float32),
        explored=np.zeros(n, dtype=bool),
        delivered=np.zeros(n, dtype=bool),
        latency_s=np.full(n, np.nan, dtype=np.float32),
        receipt=np.full(n, NO_RECEIPT, dtype=np.int8),
        receipt_at=np.full(n, np.nan, dtype=np.float32),
        cost=np.zeros(n, dtype=np.float32),
        utility=np.zeros(n, dtype=np.float32),
        decide_seconds=0.0,
        duplicates_dropped=0,
    )


class _Simulation:
    """One policy on one seed's traffic; ``run`` fills a :class:`Run` in place."""

    def __init__(self, world: World, traffic: Traffic, spec: str, seed: int) -> None:
        self.world, self.traffic = world, traffic
        self.space = ArmSpace()
        self._mapping = np.empty(0, dtype=np.int64)
        rng = np.random.default_rng([seed, 0xDEC1DE])
        economics = world.scenario.economics
        policy: Policy
        if spec == ORACLE:
            policy = Oracle(self.space, rng, economics, world=world, world_arm=self.world_arm)
        else:
            policy = create(spec, self.space, rng, economics)
        self.clock = ManualClock(0.0)
        self.router = Router(world.route_table(0.0), policy, self.clock)
        self.contexts = np.array([self.router.context_of(d) for d in world.destinations], dtype=np.int64)
        self.out = _empty_run(spec, seed, len(traffic))
        self.seen = BitmapReceipts(len(traffic))
        self.receipts = EventQueue()
        self.backlog = np.zeros(len(world.arms.context))  # messages queued at each channel
        self.decide_seconds = 0.0

    def world_arm(self) -> NDArray[np.int64]:
        """World arm id of every arm in the router's space (the space grows as routes appear)."""
        if len(self._mapping) != self.space.n_arms:
            self._mapping = _world_arm_map(self.space, self.world)
        return self._mapping

    def run(self, on_tick: Callable[[int], None] | None) -> Run:
        dt = self.traffic.tick_s
        table_changes = [t for t in self.world.table_changes() if t > 0]
        submits = FeedbackBatch.submitted(0.0, np.empty(0, dtype=np.int64))
        for tick in range(self.traffic.ticks):
            t = tick * dt
            self.clock.set(t)
            while table_changes and table_changes[0] <= t:
                table_changes.pop(0)
                self.router.replace_table(self.world.route_table(t))
            self.router.feedback(FeedbackBatch.concat(t, [submits, *self._receipts_due(t)]))
            self.backlog = np.maximum(self.backlog - self.world.arms.tps * dt, 0.0)
            submits = self._route(tick, t)
            if on_tick:
                on_tick(tick)
        return replace(self.out, decide_seconds=self.decide_seconds, duplicates_dropped=self.seen.duplicates)

    def _receipts_due(self, t: float) -> list[FeedbackBatch]:
        """Receipts arriving by ``t``; only the first per message reaches the router."""
        due = self.receipts.pop_until(t)
        if due is None:
            return []
        first = self.seen.first(due["msg"].astype(np.int64))
        msg, ok, at = due["msg"][first].astype(np.int64), due["ok"][first].astype(bool), due["at"][first]
        self.out.receipt[msg] = ok
        self.out.receipt_at[msg] = at
        kind = np.where(ok, FeedbackKind.DELIVERED, FeedbackKind.UNDELIVERED).astype(np.int64)
        sub = due["sub"][first].astype(np.float64)
        return [FeedbackBatch(t, kind, due["arm"][first].astype(np.int64), sub, at.astype(np.float64))]

    def _route(self, tick: int, t: float) -> FeedbackBatch:
        """Route the tick's messages in one batch and settle their fate; returns their submits."""
        lo, hi = int(self.traffic.tick_start[tick]), int(self.traffic.tick_start[tick + 1])
        lanes = self.traffic.lane[lo:hi]
        started = time.perf_counter()
        decision = self.router.route(self.contexts[self.traffic.context[lo:hi]], lanes)
        self.decide_seconds += time.perf_counter() - started
        routed = decision.arm >= 0
        ids, space_arm, lane = np.arange(lo, hi)[routed], decision.arm[routed], lanes[routed]
        wa = self.world_arm()[space_arm]
        delivered, latency = self._fate(t, ids, space_arm, wa, lane)
        economics, out = self.world.scenario.economics, self.out
        price = self.space.price[space_arm]
        on_time = delivered & (latency <= economics.sla_array[lane])
        out.arm[ids], out.propensity[ids] = wa, decision.propensity[routed]
        out.explored[ids], out.delivered[ids] = decision.explored[routed], delivered
        out.latency_s[ids], out.cost[ids] = latency, price
        out.utility[ids] = economics.value_array[lane] * on_time - price
        return FeedbackBatch.submitted(t, space_arm)

    def _fate(
        self,
        t: float,
        ids: NDArray[np.int64],
        space_arm: NDArray[np.int64],
        wa: NDArray[np.int64],
        lane: NDArray[np.int64],
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """The truth, from each message's own dice: queueing behind the channel's TPS, delivery,
        latency, and the receipts it will (or will not) send. Returns (delivered, latency)."""
        world, arms, traffic = self.world, self.world.arms, self.traffic
        queue_s = (self.backlog[wa] + rank_within(wa, lane)) / arms.tps[wa]
        self.backlog += np.bincount(wa, minlength=len(self.backlog))
        ch = arms.channel[wa]
        latency = queue_s + world.latency_median[ch] * np.exp(
            world.latency_sigma[ch] * traffic.z_latency[ids]
        )
        delivered = traffic.u_deliver[ids] < world.delivery_at(t)[wa]
        fake = world.fake_delivered_at(t)[wa]
        u = traffic.u_receipt[ids]
        arrival = t + np.where(fake, FAKE_RECEIPT_DELAY_S, latency)
        period = world.dlr_batch_period_at(t)[wa]
        held = period > 0
        arrival[held] = np.ceil(arrival[held] / period[held]) * period[held]
        reported = ~world.blackholed_at(t)[wa] & (u >= world.missing_dlr[ch])
        duplicated = reported & (u > 1.0 - world.duplicate_rate_at(t)[wa])
        says_ok = delivered | fake
        for mask, gap in ((reported, 0.0), (duplicated, DUPLICATE_GAP_S)):
            sub = np.full(int(mask.sum()), t)
            self.receipts.push(
                arrival[mask] + gap, msg=ids[mask], arm=space_arm[mask], sub=sub, ok=says_ok[mask]
            )
        return delivered, latency
