"""The demo-recovery benchmark's replica and its binomial bound (the statistics are its own run's)."""

from __future__ import annotations

import pytest

from benchmarks.demo_recovery import BIN_S, OUTAGE_BINS_S, Replica, simulate, upper95
from engine.runtime.demo import COUNTRIES, DEMO_POLICY, DemoPlan


def test_upper_bound_matches_clopper_pearson() -> None:
    assert upper95(0, 400) == pytest.approx(0.0092, abs=1e-4)  # about 3.7 / n: the "rule of three"
    assert upper95(5, 100) == pytest.approx(0.1128, abs=1e-4)
    assert upper95(7, 7) == 1.0


def test_replica_routes_all_traffic_and_applies_the_outage() -> None:
    plan = DemoPlan()
    bins = simulate(DEMO_POLICY, seed=1, replica=Replica(countries=("NG",)))
    expected = plan.rate_per_s * COUNTRIES["NG"] * BIN_S  # Poisson: sd about 35
    assert bins.shape == (9, 2)
    assert all(abs(routed - expected) < 6 * expected**0.5 for routed in bins[:, 1])
    share = bins[:, 0] / bins[:, 1]
    assert share[0] > 0.5  # the best route for Nigeria, before its black hole
    assert share[int(OUTAGE_BINS_S[0] // BIN_S)] < 0.2  # well into the black hole: traffic has left
