"""The Policy interface: decide for a batch of requests, learn from a batch of feedback.

The public methods are guards and the subclass hooks only choose (habit: public method guards,
private hook). :meth:`Policy.decide` looks candidates up, masks unavailable ones, applies the
exploration floor and the capacity fill, and records propensities; a subclass only says how it
scores candidates (:meth:`Policy._scores`) and what it learns (:meth:`Policy._learn`).

Writing a policy::

    @register
    class Cheapest(Policy):
        name = "cheapest"

        def _scores(self, requests, arms, valid):
            return -self.space.price[arms]

Policies never read the wall clock (time comes with each batch) and draw randomness only from the
injected ``numpy.random.Generator``: the same seed gives the same decisions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from engine.domain.enums import Lane
from engine.policies.batches import DecisionBatch, FeedbackBatch, RequestBatch
from engine.policies.capacity import TokenBuckets, fill
from engine.policies.economics import Economics
from engine.policies.space import ArmSpace

Matrix = NDArray[np.float64]


class Policy(ABC):
    """Base of every routing policy; see the module docstring for how to write one."""

    name: ClassVar[str] = ""
    #: fill routes within their TPS budgets in order of score (else: every request takes its best)
    capacity_aware: bool = False
    #: scores are random draws: propensities are estimated by re-drawing (Monte Carlo)
    stochastic: ClassVar[bool] = False

    def __init__(
        self,
        space: ArmSpace,
        rng: np.random.Generator,
        economics: Economics | None = None,
        *,
        explore: float = 0.0,
        propensity_samples: int = 16,
        propensity_refresh_s: float = 30.0,
        capacity_window_s: float = 5.0,
    ) -> None:
        if not 0.0 <= explore < 1.0:
            raise ValueError("explore must be in [0, 1)")
        if propensity_samples < 1:
            raise ValueError("propensity_samples must be >= 1")
        self.space = space
        self.economics = economics or Economics()
        self.explore = explore
        self.propensity_samples = propensity_samples
        self.propensity_refresh_s = propensity_refresh_s
        self._rng = rng
        self._buckets = TokenBuckets(capacity_window_s)
        self._arms_seen = 0
        self._routes_seen = 0
        # Win probabilities per (context * lanes + lane, candidate slot), and when each was drawn.
        self._win = np.zeros((0, 0))
        self._win_at = np.zeros(0)
        self._win_version = -1

    # -- the interface -------------------------------------------------------------------------

    def decide(self, requests: RequestBatch) -> DecisionBatch:
        """Choose one arm per request (``-1`` where no candidate is available)."""
        self._sync()
        n = len(requests)
        arms, valid = self.space.candidates(requests.context)
        if n == 0 or arms.shape[1] == 0:
            return _empty_decisions(n)
        if requests.avoid is not None and requests.avoid.size:
            routes = self.space.arm_route[arms]
            valid &= ~(routes[:, :, None] == requests.avoid[:, None, :]).any(axis=2)
        scores = np.where(valid, self._scores(requests, arms, valid), -np.inf)
        if self.explore > 0:
            scores = self._explore(scores, valid)
        tokens = self._buckets.refill(requests.now, self.space.tps)
        rows = np.arange(n)
        best = np.argmax(scores, axis=1)
        pos = fill(scores, arms, requests.lane, tokens) if self.capacity_aware else best
        routable = valid.any(axis=1)
        chosen = np.where(routable, arms[rows, pos], -1)
        self._buckets.consume(chosen[routable])
        propensity = np.where(routable, self._propensity(requests, arms, valid, pos), 0.0)
        expected = self._expected(requests, arms, valid)
        explored = routable & (best != np.argmax(np.where(valid, expected, -np.inf), axis=1))
        decisions = DecisionBatch(chosen, propensity, scores[rows, pos], explored)
        self._after_decide(requests, decisions)
        return decisions

    def learn(self, feedback: FeedbackBatch) -> None:
        """Take a batch of submits and receipts into account."""
        self._sync()
        self._learn(feedback)

    # -- hooks -----------------------------------------------------------------------------------

    @abstractmethod
    def _scores(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        """Score of each candidate ``[request, slot]``; higher wins. Invalid slots are masked after."""

    def _expected(self, requests: RequestBatch, arms: NDArray[np.int64], valid: NDArray[np.bool_]) -> Matrix:
        """What the policy believes each candidate is worth, without sampling noise."""
        return self._scores(requests, arms, valid) if not self.stochastic else np.zeros(arms.shape)

    def _learn(self, feedback: FeedbackBatch) -> None:
        """Update statistics; static policies learn nothing."""

    def _grow(self, n_arms: int, n_routes: int) -> None:
        """Resize statistics after arms or routes were added to the space."""

    def _after_decide(self, requests: RequestBatch, decisions: DecisionBatch) -> None:
        """Update decision-time state (e.g. a round-robin pointer)."""

    # -- shared machinery ----------------------------------------------------------------------

    def _sync(self) -> None:
        if self.space.n_arms != self._arms_seen or self.space.n_routes != self._routes_seen:
            self._arms_seen, self._routes_seen = self.space.n_arms, self.space.n_routes
            self._grow(self._arms_seen, self._routes_seen)

    def _explore(self, scores: Matrix, valid: NDArray[np.bool_]) -> Matrix:
        rows = self._rng.random(len(scores)) < self.explore
        if rows.any():
            noise = self._rng.random((int(rows.sum()), scores.shape[1]))
            scores = scores.copy()
            scores[rows] = np.where(valid[rows], noise, -np.inf)
        return scores

    def _propensity(
        self,
        requests: RequestBatch,
        arms: NDArray[np.int64],
        valid: NDArray[np.bool_],
        pos: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        """Probability of choosing ``pos``, mixed with the uniform exploration floor.

        Deterministic policies choose with probability 1. Stochastic ones re-draw their scores
        ``propensity_samples`` times per (context, lane) and count how often each candidate wins;
        the estimate is reused for ``propensity_refresh_s`` seconds, since beliefs move slowly and
        re-drawing for every message would cost more than deciding. A route taken because better
        ones were out of budget gets the route's own estimate, floored at half a sample so that no
        propensity is ever zero.
        """
        uniform: NDArray[np.float64] = self.explore / np.maximum(valid.sum(axis=1), 1)
        if not self.stochastic:
            return (1.0 - self.explore) + uniform
        key = requests.context * len(Lane) + requests.lane
        self._refresh_wins(requests.now, np.unique(key), arms.shape[1])
        p = np.minimum(np.maximum(self._win[key, pos], 0.5 / self.propensity_samples), 1.0)
        result: NDArray[np.float64] = (1.0 - self.explore) * p + uniform
        return result

    def _refresh_wins(self, now: float, keys: NDArray[np.int64], width: int) -> None:
        groups = len(self.space.contexts) * len(Lane)
        if self._win_version != self.space.version or self._win.shape != (groups, width):
            self._win, self._win_at = np.zeros((groups, width)), np.full(groups, -np.inf)
            self._win_version = self.space.version
        stale = keys[now - self._win_at[keys] >= self.propensity_refresh_s]
        if len(stale) == 0:
            return
        m = self.propensity_samples
        contexts, lanes = np.repeat(stale // len(Lane), m), np.repeat(stale % len(Lane), m)
        g_arms, g_valid = self.space.candidates(contexts)
        draws = self._scores(RequestBatch(now, contexts, lanes), g_arms, g_valid)
        winners = np.argmax(np.where(g_valid, draws, -np.inf), axis=1)
        counts = np.zeros((len(stale), width))
        np.add.at(counts, (np.repeat(np.arange(len(stale)), m), winners), 1.0)
        self._win[stale] = counts / m
        self._win_at[stale] = now


def _empty_decisions(n: int) -> DecisionBatch:
    return DecisionBatch(np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, -np.inf), np.zeros(n, bool))
