"""The oracle: knows the true delivery probabilities and delays at every moment.

It routes with the same capacity fill as the real policies, so the gap to it is what learning
costs, not what capacity costs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from engine.policies.base import Matrix, Policy
from engine.policies.batches import RequestBatch
from engine.policies.economics import Economics
from engine.policies.space import ArmSpace
from simulations.world import World

ORACLE = "oracle"


class Oracle(Policy):
    name = ORACLE
    capacity_aware = True

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None,
        *,
        world: World,
        world_arm: Callable[[], NDArray[np.int64]],
    ) -> None:
        super().__init__(space, rng, economics)
        self._world = world
        self._world_arm = world_arm
        self._truth: tuple[float, NDArray[np.float64]] | None = None

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        if self._truth is None or self._truth[0] != requests.now:
            self._truth = (requests.now, self._world.delivery_at(requests.now))
        wa = self._world_arm()[arms]
        channel = self._world.arms.channel[wa]
        lane = requests.lane[:, None]
        worth = self.economics.value_array[lane] * self._truth[1][wa] * self._world.sla_factor[channel, lane]
        result: Matrix = worth - self.space.price[arms]
        return result
