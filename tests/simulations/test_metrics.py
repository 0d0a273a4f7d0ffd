"""Run metrics (shift times, quantiles) and the cross-seed comparison, on synthetic arrays."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from simulations.compare import COLUMNS, comparison, mean_ci, t95
from simulations.metrics import _first_low_window, _quantile, shifts
from simulations.runner import Run
from simulations.scenario import Event, EventKind, load
from simulations.traffic import Traffic
from simulations.world import World

F64 = NDArray[np.float64]
MINUTES_15 = np.arange(0.0, 900.0)  # one message a second


# -- _first_low_window ---------------------------------------------------------------------------


def test_share_dropping_to_zero_at_minute_three_gives_180_s() -> None:
    assert _first_low_window(MINUTES_15, MINUTES_15 < 180.0, 0.1) == 180.0


def test_share_dropping_to_five_percent_at_minute_two_gives_120_s() -> None:
    on = (MINUTES_15 < 120.0) | (MINUTES_15 % 20.0 == 0.0)
    assert _first_low_window(MINUTES_15, on, 0.1) == 120.0


def test_share_that_never_drops_is_inf() -> None:
    assert _first_low_window(MINUTES_15, MINUTES_15 % 2.0 == 0.0, 0.1) == math.inf


def test_fewer_than_five_minutes_or_no_traffic_is_inf() -> None:
    t = np.arange(0.0, 240.0)
    assert _first_low_window(t, np.zeros(len(t), dtype=bool), 0.1) == math.inf
    assert _first_low_window(np.empty(0), np.empty(0, dtype=bool), 0.1) == math.inf


# -- _quantile -----------------------------------------------------------------------------------


def test_quantile_tolerates_inf() -> None:
    values = np.array([10.0, 20.0, math.inf])
    assert _quantile(values, 0.5) == 20.0
    assert _quantile(values, 0.9) is None


def test_quantile_is_an_observed_value() -> None:
    assert _quantile(np.array([4.0, 1.0, 3.0, 2.0]), 0.5) == 2.0


@pytest.mark.parametrize("values", [np.empty(0), np.array([math.inf, math.inf])])
def test_quantile_undefined_is_none(values: F64) -> None:
    assert _quantile(values, 0.5) is None


# -- shifts --------------------------------------------------------------------------------------

OUTAGE_START, OUTAGE_END, RUN_END = 1800.0, 3600.0, 7200.0


@pytest.fixture(scope="module")
def world() -> World:
    """One context, two routes; the route on channel ch00 is black-holed from 30 to 60 min."""
    sc = load("stationary")
    spec = dataclasses.replace(sc.world, contexts=1, channels=2, routes_per_context=(2, 2))
    outage = Event(EventKind.BLACKHOLE, start_h=OUTAGE_START / 3600.0, duration_min=30.0, channel="ch00")
    return World(dataclasses.replace(sc, world=spec, events=(outage,)), seed=1)


def one_per_second(seconds: int) -> Traffic:
    n = seconds
    zeros = np.zeros(n)
    return Traffic(
        1.0,
        np.arange(n + 1, dtype=np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        zeros,
        zeros,
        zeros,
    )


def run_of(arm: NDArray[np.int64]) -> Run:
    n = len(arm)
    f32 = np.zeros(n, np.float32)
    no = np.zeros(n, dtype=bool)
    return Run("p", 1, arm, f32, no, no, f32, np.full(n, -1, np.int8), f32, f32, f32, 0.0, 0)


def routed(world: World, leave_after_s: float, back_after_s: float) -> Run:
    """All traffic on the black-holed route except from ``start + leave`` to ``end + back``."""
    target = int(np.flatnonzero(world.targets(0))[0])
    other = 1 - target
    t = np.arange(RUN_END)
    away = (t >= OUTAGE_START + leave_after_s) & (t < OUTAGE_END + back_after_s)
    return run_of(np.where(away, other, target).astype(np.int64))


def test_shifts_measure_time_away_and_back(world: World) -> None:
    shift = shifts(world, one_per_second(int(RUN_END)), routed(world, 180.0, 120.0))
    assert shift.away_s.tolist() == [180.0]
    assert shift.back_s.tolist() == [180.0]  # the end of the first minute bin at half the old share
    assert shift.outage_messages == 180


def test_shifts_never_leaving_or_never_coming_back_are_inf(world: World) -> None:
    traffic = one_per_second(int(RUN_END))
    stuck = shifts(world, traffic, routed(world, math.inf, 0.0))
    assert stuck.away_s.tolist() == [math.inf]
    assert stuck.back_s.tolist() == [60.0]
    assert stuck.outage_messages == int(OUTAGE_END - OUTAGE_START)
    gone = shifts(world, traffic, routed(world, 0.0, math.inf))
    assert gone.away_s.tolist() == [0.0]
    assert gone.back_s.tolist() == [math.inf]
    assert gone.outage_messages == 0


def test_shifts_skip_a_route_with_too_little_traffic_before(world: World) -> None:
    target = int(np.flatnonzero(world.targets(0))[0])
    t = np.arange(RUN_END)
    arm = np.where((t >= OUTAGE_START) & (t < OUTAGE_START + 60.0), target, 1 - target)
    shift = shifts(world, one_per_second(int(RUN_END)), run_of(arm.astype(np.int64)))
    assert len(shift.away_s) == 0
    assert len(shift.back_s) == 0
    assert shift.outage_messages == 60


# -- compare -------------------------------------------------------------------------------------


def test_mean_ci_uses_the_t_quantile() -> None:
    mean, half = mean_ci(np.array([1.0, 2.0, 3.0, 4.0, 5.0, math.nan, math.inf]))
    assert mean == pytest.approx(3.0)
    assert half == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))


def test_mean_ci_of_one_or_no_value() -> None:
    assert mean_ci(np.array([7.0]))[0] == 7.0
    assert math.isnan(mean_ci(np.array([7.0]))[1])
    assert all(math.isnan(v) for v in mean_ci(np.array([math.nan])))


def test_t95_table_ends() -> None:
    assert math.isnan(t95(1))
    assert t95(2) == 12.706
    assert t95(31) == 2.042
    assert t95(100) == 1.96


def summary_rows(policy: str, seeds: list[int], delivery: list[float]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for seed, value in zip(seeds, delivery, strict=True):
        row: dict[str, object] = dict.fromkeys(COLUMNS, 1.0)
        row.update(policy=policy, seed=seed, delivery_pct_of_oracle=value, shift_away_median_s=None)
        rows.append(row)
    return rows


def by_policy(table: pd.DataFrame, key: str) -> dict[str, float]:
    return dict(zip(table["policy"].tolist(), table[key].to_numpy(dtype=float).tolist(), strict=True))


def test_comparison_takes_paired_differences_by_seed() -> None:
    ref = summary_rows("ref", [1, 2, 3], [90.0, 92.0, 94.0])
    new = summary_rows("new", [3, 1, 4, 2], [94.0, 91.0, 50.0, 95.0])  # seed 4 has no reference
    new[0]["shift_away_median_s"] = 120.0
    table = comparison(pd.DataFrame(ref + new), "ref")
    assert table["policy"].tolist() == ["ref", "new"]
    assert table["seeds"].tolist() == [3, 4]
    assert by_policy(table, "delivery_pct_of_oracle")["new"] == pytest.approx((94 + 91 + 50 + 95) / 4)
    shift = by_policy(table, "shift_away_median_s")  # None counts as missing
    assert shift["new"] == 120.0
    assert math.isnan(shift["ref"])
    # Pairs (seed: new - ref): 1: 1, 2: 3, 3: 0; the half-width is t(2 df) * sd / sqrt(3).
    diff, ci = by_policy(table, "delivery_pct_of_oracle_diff"), by_policy(table, "delivery_pct_of_oracle_ci")
    assert diff["new"] == pytest.approx(4 / 3)
    assert ci["new"] == pytest.approx(4.303 * math.sqrt(7 / 3) / math.sqrt(3))
    assert math.isnan(diff["ref"])
    assert math.isnan(ci["ref"])
    assert by_policy(table, "regret_per_1000_diff")["new"] == pytest.approx(0.0)
