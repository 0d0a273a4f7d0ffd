"""Thompson sampling: the plain textbook version and the production default."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.policies.base import Matrix
from engine.policies.batches import RequestBatch
from engine.policies.beta import BetaPolicy
from engine.policies.economics import Economics
from engine.policies.registry import register
from engine.policies.space import ArmSpace


@register
class Thompson(BetaPolicy):
    """Beta-Bernoulli Thompson sampling on arrived DLRs only, as in textbooks and MABWiser."""

    name = "thompson"
    stochastic = True

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        return self._posterior(requests.now).sample(arms, self._rng)

    def _expected(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        return self._means(requests.now)[arms]


@register
class PendingThompson(BetaPolicy):
    """The default: pending-aware, discounted, cost-, capacity- and latency-aware Thompson sampling.

    Score of route ``r`` for a message of lane ``l``::

        value[l] * theta_r * P(receipt within sla[l] | route r) - price_r,   theta_r ~ Beta(a_r, b_r)

    where ``b_r`` counts in-flight messages as ``F(age)`` of a failure (``pending``), evidence halves
    every ``half_life_s`` seconds of wall-clock time (``fast_half_life_s`` takes over where recent
    evidence contradicts it: abrupt outages and recoveries), and routes are filled within their TPS budgets
    in order of sampled score (``capacity``). ``cost`` and ``sla`` switch the other two terms off for
    ablations.
    """

    name = "pending_ts"
    stochastic = True

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        *,
        half_life_s: float = 900.0,
        pending: bool = True,
        timeout_s: float = 900.0,
        fast_half_life_s: float | None = 300.0,
        capacity: bool = True,
        cost: bool = True,
        sla: bool = True,
        explore: float = 0.002,
        **kw: Any,
    ) -> None:
        super().__init__(
            space,
            rng,
            economics,
            half_life_s=half_life_s,
            pending=pending,
            timeout_s=timeout_s,
            fast_half_life_s=fast_half_life_s,
            explore=explore,
            **kw,
        )
        self.capacity_aware = capacity
        self.cost = cost
        self.sla = sla

    def _worth(self, requests: RequestBatch, arms: NDArray[np.int64], theta: Matrix) -> Matrix:
        lane = requests.lane[:, None]
        worth = self.economics.value_array[lane] * theta
        if self.sla:
            sla_cdf = self._stats.sla_cdf(requests.now, self.economics.sla_array)
            worth = worth * sla_cdf[self.space.arm_route[arms], lane]
        if self.cost:
            worth = worth - self.space.price[arms]
        return worth

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        return self._worth(requests, arms, self._posterior(requests.now).sample(arms, self._rng))

    def _expected(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        return self._worth(requests, arms, self._means(requests.now)[arms])
