"""Run several policies on the same worlds and traffic, seed by seed, next to the oracle.

Runs are streamed: each seed's runs are summarised and written out before the next seed starts,
so memory holds one seed's traffic whatever the number of seeds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from simulations.decisions import DecisionLog
from simulations.metrics import summarize
from simulations.oracle import ORACLE
from simulations.runner import run_policy
from simulations.scenario import Scenario
from simulations.series import cumulative_regret, route_shares
from simulations.traffic import generate
from simulations.world import World


@dataclass
class SimulationResult:
    scenario: Scenario
    policies: list[str]
    seeds: list[int]
    summary: list[dict[str, Any]] = field(default_factory=list)
    shares: list[pd.DataFrame] = field(default_factory=list)
    regret: list[pd.DataFrame] = field(default_factory=list)

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary)


def ticks(scenario: Scenario) -> int:
    return math.ceil(scenario.hours * 3600.0 / scenario.tick_s)


def simulate(
    scenario: Scenario,
    policies: Sequence[str],
    seeds: Sequence[int],
    *,
    decisions: DecisionLog | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Every policy (and the oracle) on every seed; ``on_tick`` is called once per simulated tick."""
    result = SimulationResult(scenario, list(policies), list(seeds))
    for seed in seeds:
        world = World(scenario, seed)
        traffic = generate(world, seed)
        oracle = run_policy(world, traffic, ORACLE, seed, on_tick)
        for spec in [ORACLE, *policies]:
            started = time.perf_counter()
            run = oracle if spec == ORACLE else run_policy(world, traffic, spec, seed, on_tick)
            elapsed = time.perf_counter() - started
            record = summarize(world, traffic, run, oracle)
            if spec != ORACLE:
                record["sim_messages_per_s"] = len(traffic) / elapsed if elapsed else None
            result.summary.append(record)
            result.shares.append(route_shares(world, traffic, run))
            result.regret.append(cumulative_regret(traffic, run, oracle))
            if decisions is not None:
                decisions.write(world, traffic, run)
    return result
