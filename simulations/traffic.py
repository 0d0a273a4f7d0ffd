"""Message arrivals and the random numbers that decide their fate, shared by every policy.

Common random numbers: each message carries its own uniforms for delivery, receipt delay and
receipt loss. Whatever route a policy picks, the same message meets the same luck, so differences
between policies are differences of decisions, not of dice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.domain.enums import Lane
from simulations.world import World


@dataclass(frozen=True)
class Traffic:
    tick_s: float
    tick_start: NDArray[np.int64]  # messages of tick i are [tick_start[i], tick_start[i+1])
    context: NDArray[np.int64]
    lane: NDArray[np.int64]
    u_deliver: NDArray[np.float64]
    z_latency: NDArray[np.float64]
    u_receipt: NDArray[np.float64]

    @property
    def ticks(self) -> int:
        return len(self.tick_start) - 1

    def __len__(self) -> int:
        return len(self.context)

    def time(self) -> NDArray[np.float64]:
        counts = np.diff(self.tick_start)
        result: NDArray[np.float64] = np.repeat(np.arange(self.ticks) * self.tick_s, counts)
        return result


def generate(world: World, seed: int) -> Traffic:
    scenario = world.scenario
    spec = scenario.traffic
    dt = scenario.tick_s
    ticks = math.ceil(scenario.hours * 3600.0 / dt)
    rng = np.random.default_rng([seed, 0x7AFF1C])
    t = np.arange(ticks) * dt
    hour = (scenario.start_hour + t / 3600.0) % 24.0
    diurnal = 1.0 + spec.diurnal_amplitude * np.cos(2 * math.pi * (hour - spec.peak_hour) / 24.0)
    n_ctx, n_lane = len(world.context_keys), len(Lane)
    lam = (spec.rate_per_s * dt) * diurnal[:, None, None]
    lam = lam * world.traffic_weight[None, :, None] * np.asarray(spec.lanes)[None, None, :]
    lam = np.broadcast_to(lam, (ticks, n_ctx, n_lane)).copy()
    for burst in spec.bursts:
        start = burst.start_h * 3600.0
        during = (t >= start) & (t < start + burst.duration_min * 60.0)
        ctx = world.context_set(burst.contexts)
        lanes = np.array([int(burst.lane)], dtype=np.int64)
        lam[np.ix_(during, ctx, lanes)] *= burst.multiplier
    counts = rng.poisson(lam.reshape(ticks, -1))
    flat = np.repeat(np.tile(np.arange(n_ctx * n_lane), ticks), counts.ravel())
    n = len(flat)
    tick_start = np.concatenate([[0], np.cumsum(counts.sum(axis=1))]).astype(np.int64)
    return Traffic(
        tick_s=dt,
        tick_start=tick_start,
        context=(flat // n_lane).astype(np.int64),
        lane=(flat % n_lane).astype(np.int64),
        u_deliver=rng.random(n),
        z_latency=rng.standard_normal(n),
        u_receipt=rng.random(n),
    )
