from __future__ import annotations

import dataclasses

import pytest

from simulations.scenario import Scenario, load


def shrink(scenario: Scenario, hours: float) -> Scenario:
    """The same scenario in a small world, so a test runs in a second."""
    world = dataclasses.replace(scenario.world, contexts=12, channels=8, routes_per_context=(2, 4))
    traffic = dataclasses.replace(scenario.traffic, rate_per_s=6.0)
    return dataclasses.replace(scenario.with_hours(hours), world=world, traffic=traffic)


@pytest.fixture
def small_outage() -> Scenario:
    return shrink(load("outage-drift"), 2.5)
