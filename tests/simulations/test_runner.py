from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulations.decisions import SCHEMA, DecisionLog
from simulations.runner import run_policy
from simulations.scenario import EventKind, Scenario, load
from simulations.simulate import simulate
from simulations.traffic import generate
from simulations.world import World
from tests.simulations.conftest import shrink

SUMMARY_KEYS = {
    "policy", "seed", "delivery_pct_of_oracle", "utility_pct_of_oracle", "regret_per_1000",
    "cost_per_delivered", "shift_away_median_s", "shift_away_p90_s", "messages",
}  # fmt: skip


def test_same_seed_same_world_traffic_and_decisions(small_outage: Scenario) -> None:
    runs = []
    for _ in range(2):
        world = World(small_outage, 5)
        traffic = generate(world, 5)
        runs.append((traffic, run_policy(world, traffic, "pending_ts", 5)))
    (t1, r1), (t2, r2) = runs
    np.testing.assert_array_equal(t1.u_deliver, t2.u_deliver)
    np.testing.assert_array_equal(r1.arm, r2.arm)
    np.testing.assert_array_equal(r1.receipt_at, r2.receipt_at)


def test_different_seeds_differ(small_outage: Scenario) -> None:
    a, b = generate(World(small_outage, 1), 1), generate(World(small_outage, 2), 2)
    assert len(a) != len(b) or not np.array_equal(a.context, b.context)


def test_every_message_is_routed_and_priced(small_outage: Scenario) -> None:
    world = World(small_outage, 3)
    traffic = generate(world, 3)
    run = run_policy(world, traffic, "pending_ts", 3)
    assert (run.arm >= 0).all()
    assert (run.cost > 0).all()
    assert np.isin(run.receipt, [-1, 0, 1]).all()


def test_black_hole_delivers_nothing_and_reports_nothing(small_outage: Scenario) -> None:
    world = World(small_outage, 3)
    traffic = generate(world, 3)
    run = run_policy(world, traffic, "least_cost", 3)  # never moves away: the hole gets traffic
    outage = next(e for e in world.events if e.kind is EventKind.BLACKHOLE)
    t = traffic.time()
    dead = np.isin(run.arm, np.flatnonzero(world.targets(0))) & (t >= outage.start_s) & (t < outage.end_s)
    assert dead.any()
    assert not run.delivered[dead].any()
    assert (run.receipt[dead] == -1).all()


def test_oracle_avoids_the_black_hole(small_outage: Scenario) -> None:
    world = World(small_outage, 3)
    traffic = generate(world, 3)
    run = run_policy(world, traffic, "oracle", 3)
    outage = next(e for e in world.events if e.kind is EventKind.BLACKHOLE)
    t = traffic.time()
    during = (t >= outage.start_s) & (t < outage.end_s)
    assert not np.isin(run.arm[during], np.flatnonzero(world.targets(0))).any()


def test_routes_appear_and_disappear_with_the_table() -> None:
    scenario = shrink(load("outage-drift"), 7.0)
    world = World(scenario, 2)
    traffic = generate(world, 2)
    run = run_policy(world, traffic, "round_robin", 2)  # uses every available route
    t = traffic.time()
    for i, event in enumerate(world.events):
        used = np.isin(run.arm, np.flatnonzero(world.targets(i)))
        if event.kind is EventKind.ROUTE_ADDED:
            assert not used[t < event.start_s].any()
            assert used[t >= event.start_s].any()
        if event.kind is EventKind.ROUTE_REMOVED:
            assert not used[t >= event.start_s].any()


def test_duplicate_and_fake_receipts() -> None:
    scenario = shrink(load("dlr-pathologies"), 3.0)
    world = World(scenario, 1)
    traffic = generate(world, 1)
    run = run_policy(world, traffic, "least_cost_health", 1)
    assert run.duplicates_dropped > 0
    fake = next(i for i, e in enumerate(world.events) if e.kind is EventKind.FAKE_DELIVERED)
    on_grey = np.isin(run.arm, np.flatnonzero(world.targets(fake)))
    lied = on_grey & (run.receipt == 1) & ~run.delivered
    assert lied.any()


def test_simulate_summarises_and_logs_every_decision(small_outage: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "decisions.parquet"
    with DecisionLog(path) as log:
        result = simulate(small_outage, ["pending_ts", "least_cost"], [1, 2], decisions=log)
    summary = result.summary_frame()
    assert set(summary.columns) >= SUMMARY_KEYS
    assert sorted(summary["policy"].unique()) == ["least_cost", "oracle", "pending_ts"]
    oracle = summary[summary["policy"] == "oracle"]
    assert (oracle["delivery_pct_of_oracle"] == 100.0).all()
    frame = pd.read_parquet(path)
    assert list(frame.columns) == SCHEMA.names
    assert len(frame) == summary["messages"].sum()
    assert frame.groupby(["policy", "seed"], observed=True).size().nunique() <= 2
    assert frame["propensity"].between(0, 1, inclusive="right").all()


@pytest.mark.parametrize("name", ["stationary", "otp-burst", "dlr-pathologies"])
def test_every_bundled_scenario_runs(name: str) -> None:
    result = simulate(shrink(load(name), 1.2), ["pending_ts"], [1])
    assert len(result.summary) == 2
