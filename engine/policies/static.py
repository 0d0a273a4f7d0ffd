"""Baselines without learning (or with a simple health rule): what gateways do today."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.policies.base import Matrix, Policy
from engine.policies.batches import DecisionBatch, RequestBatch
from engine.policies.beta import BetaPolicy
from engine.policies.economics import Economics
from engine.policies.registry import register
from engine.policies.space import ArmSpace


@register
class RoundRobin(Policy):
    """Each context cycles through its available routes."""

    name = "round_robin"

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(space, rng, economics, **kw)
        self._pointer = np.zeros(0, dtype=np.int64)

    def _turn(self, requests: RequestBatch) -> NDArray[np.int64]:
        if len(self._pointer) < len(self.space.contexts):
            self._pointer = np.resize(self._pointer, len(self.space.contexts))
            self._pointer[len(self._pointer) :] = 0
        order = np.argsort(requests.context, kind="stable")
        ctx = requests.context[order]
        starts = np.flatnonzero(np.r_[True, ctx[1:] != ctx[:-1]])
        rank = np.empty(len(ctx), dtype=np.int64)
        rank[order] = np.arange(len(ctx)) - np.repeat(starts, np.diff(np.r_[starts, len(ctx)]))
        result: NDArray[np.int64] = self._pointer[requests.context] + rank
        return result

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        n_valid = np.maximum(valid.sum(axis=1), 1)
        target = self._turn(requests) % n_valid
        # The target-th valid slot of each row wins.
        position = np.cumsum(valid, axis=1) - 1
        wins: Matrix = (valid & (position == target[:, None])).astype(np.float64)
        return wins

    def _propensity(
        self,
        requests: RequestBatch,
        arms: NDArray[np.int64],
        valid: NDArray[np.bool_],
        pos: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        # Over time every available route gets the same share.
        result: NDArray[np.float64] = 1.0 / np.maximum(valid.sum(axis=1), 1)
        return result

    def _after_decide(self, requests: RequestBatch, decisions: DecisionBatch) -> None:
        np.add.at(self._pointer, requests.context, 1)


@register
class LeastCost(Policy):
    """Static least-cost routing: the cheapest route, failing over to the next when it is full."""

    name = "least_cost"
    capacity_aware = True

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        result: Matrix = -self.space.price[arms]
        return result


@register
class LeastCostHealth(BetaPolicy):
    """Least-cost routing that skips routes whose recent delivery rate looks unhealthy.

    Health is the pending-aware delivery rate over a short half-life (5 minutes by default): a route
    is unhealthy below ``min_ratio`` of the best candidate's rate. Unhealthy routes are used only when
    nothing healthy has capacity.
    """

    name = "least_cost_health"
    capacity_aware = True

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        *,
        half_life_s: float = 300.0,
        min_ratio: float = 0.8,
        **kw: Any,
    ) -> None:
        super().__init__(space, rng, economics, half_life_s=half_life_s, pending=True, **kw)
        if not 0 < min_ratio <= 1:
            raise ValueError("min_ratio must be in (0, 1]")
        self.min_ratio = min_ratio

    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        rate = np.where(valid, self._means(requests.now)[arms], 0.0)
        healthy = rate >= self.min_ratio * rate.max(axis=1, keepdims=True)
        result: Matrix = -self.space.price[arms] - 1e3 * ~healthy
        return result
